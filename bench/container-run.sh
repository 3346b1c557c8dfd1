#!/usr/bin/env bash
# `run --rm IMAGE true`: berth against bare `crun run` of the same root filesystem and
# `podman run --rm` (Debian's podman, its own storage), side by side in one run, as ratios;
# then the memory of an idle berth monitor beside podman's conmon.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
source "$here/common.sh"
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-20}
work=$(mktemp -d)
podman_args=(--root "$work/podman" --runroot "$work/podman-run" --storage-driver vfs
             --cgroup-manager cgroupfs --events-backend none)
cleanup() {
  "$berth" container rm -f bench-idle >/dev/null 2>&1 || true
  podman "${podman_args[@]}" rm -f bench-idle >/dev/null 2>&1 || true
  crun --root "$work/crun" delete -f bench-crun >/dev/null 2>&1 || true
  umount -R "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export BERTH_ROOT=$work/root BERTH_RUNROOT=$work/run

# Rootful podman asks for RLIMIT_NOFILE 1048576, above this host's hard limit (root has no
# CAP_SYS_RESOURCE): give it Debian's containers.conf plus ulimits that fit (see PEERS.md).
{
  cat /usr/share/containers/containers.conf
  printf '\n' 
} | python3 -c '
import sys
text = sys.stdin.read()
print(text.replace("[containers]", "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]", 1))
' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf

# One busybox root filesystem for all three.
busybox_rootfs_tar "$work"
"$berth" image import "$work/rootfs.tar" bench:1 >/dev/null
podman "${podman_args[@]}" import -q "$work/rootfs.tar" bench:1 >/dev/null

# Bare crun: a bundle with the same root, no network namespace changes beyond crun's own.
mkdir -p "$work/bundle"
(cd "$work/bundle" && crun spec)
python3 - "$work/bundle/config.json" "$work/rootfs" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["process"]["terminal"] = False
config["process"]["args"] = ["true"]
config["root"] = {"path": sys.argv[2], "readonly": True}
json.dump(config, open(sys.argv[1], "w"))
PY

hyperfine -N --warmup 3 --runs "$runs" --style basic --export-json "$work/run.json" \
  -n crun "crun --root $work/crun run --bundle $work/bundle bench-crun" \
  -n berth "$berth container run --rm --network none bench:1 true" \
  -n podman "podman ${podman_args[*]} run --rm --network none bench:1 true" >/dev/null

# Idle monitors: one sleeping container each.
"$berth" container run -d --network none --name bench-idle bench:1 sleep 1000 >/dev/null
podman "${podman_args[@]}" run -d --name bench-idle --network none bench:1 sleep 1000 >/dev/null
sleep 0.5
state=$(ls -d "$work"/run/containers/*/state.json)
berth_monitor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["monitor_pid"])' "$state")
conmon=$(pgrep -f "conmon.*$work" | head -1 || true)
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

python3 - "$work/run.json" "$(rss "$berth_monitor")" "${conmon:+$(rss "$conmon")}" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
crun, berth, podman = results["crun"], results["berth"], results["podman"]
print(f"run --rm IMAGE true ({len(berth['times'])} runs each, median):")
for name, r in (("crun run (bare)", crun), ("berth", berth), ("podman", podman)):
    print(f"  {name:16} {r['median'] * 1000:8.1f} ms")
print(f"  berth / crun:   {berth['median'] / crun['median']:.2f}x (target at most 2.5x)")
print(f"  podman / berth: {podman['median'] / berth['median']:.1f}x (target at least 10x)")
conmon = sys.argv[3]
print(f"idle monitor RSS: berth {int(sys.argv[2]) / 1024:.2f} MiB"
      + (f", podman's conmon {int(conmon) / 1024:.2f} MiB" if conmon else ", conmon not found"))
PY
