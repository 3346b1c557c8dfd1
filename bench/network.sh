#!/usr/bin/env bash
# Per-container network cost: berth beside podman (netavark) in one run. Each engine keeps one
# long-lived container on its own network, so the bridge, the network's rules and its DNS
# responder exist; the measured `run --rm IMAGE true` then pays only the per-container part:
#   (A) --network none    (B) --network NET    (C) --network NET -p 127.0.0.1::80
# B - A is a container's network setup + teardown, C - B its port rule changes (an add and a
# delete). Set-up alone is the difference of two `start`s of a created container.
# Targets (issue): setup under 5 ms, rules under 10 ms per container.
# Containers only run `true` and `sleep`: no lookups, no traffic. Needs root, hyperfine,
# busybox-static, podman, netavark and aardvark-dns (see PEERS.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/common.sh
source "$here/common.sh"
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-20}
work=$(mktemp -d)
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
net=benchnet-$suffix
idle=bench-idle-$suffix
podman_args=(--root "$work/podman" --runroot "$work/podman-run" --tmpdir "$work/podman-tmp"
             --storage-driver vfs --cgroup-manager cgroupfs --events-backend none)

# What netavark may leave behind (PEERS.md): NETAVARK_* chains, a podmanN bridge, ip_forward on.
# Snapshot them now; cleanup removes only what was not there, and reports any other difference.
chains() {  # "table chain" per line, for iptables-save or ip6tables-save
  "$1" 2>/dev/null | awk '/^\*/ {table = substr($1, 2)} /^:/ {print table, substr($1, 2)}' | sort
}
links() { ip -o link | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort; }
host_state() {  # the things the caller checks by hand afterwards
  echo "rules: $(iptables-save | grep -ci -E 'berth|netavark' || true)"
  ip -o link | awk -F': ' '{sub(/@.*/, "", $2); print "link:", $2}' | grep -E 'berth|podman|bv' || true
  ip netns | sed 's/^/netns: /'
  mount | grep -E "berth|$work" | sed 's/^/mount: /' || true
  if [[ -e /run/containers ]]; then echo "dir: /run/containers"; fi
}
chains iptables-save >"$work/chains4.before"
chains ip6tables-save >"$work/chains6.before"
links >"$work/links.before"
host_state >"$work/state.before"
ip_forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
# Rootful netavark keeps its address database and aardvark-dns's config in a fixed host
# directory, whatever podman's --root says.
netavark_run=/run/containers/networks
[[ -e /run/containers ]] && run_containers_before=1 || run_containers_before=
[[ -e $netavark_run ]] && netavark_run_before=1 || netavark_run_before=

# Deletes chains named NETAVARK* that were not there at the start, with the jumps to them.
# iptables-restore --noflush with -D/-F/-X only: `:CHAIN` lines would flush existing chains.
drop_new_netavark_chains() {  # save-command restore-command before-file
  local save=$1 restore=$2 before=$3 batch
  batch=$("$save" 2>/dev/null | python3 -c '
import sys
before = {tuple(line.split()) for line in open(sys.argv[1]) if line.strip()}
tables, table = {}, None
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("*"):
        table = line[1:]
        tables[table] = ([], [])
    elif line.startswith(":") and table:
        chain = line[1:].split()[0]
        if chain.upper().startswith("NETAVARK") and (table, chain) not in before:
            tables[table][0].append(chain)
    elif line.startswith("-A ") and table:
        tables[table][1].append(line)
out = []
for table, (new, rules) in tables.items():
    if not new:
        continue
    out.append("*" + table)
    for rule in rules:
        words = rule.split()
        target = words[words.index("-j") + 1] if "-j" in words else None
        if target in new and words[1] not in new:
            out.append("-D " + rule[3:])
    out += ["-F " + chain for chain in new] + ["-X " + chain for chain in new]
    out.append("COMMIT")
print("\n".join(out))
' "$before")
  [[ -n $batch ]] || return 0
  printf '%s\n' "$batch" | "$restore" --noflush
  echo "removed netavark's leftover $save chains: $(printf '%s\n' "$batch" | sed -n 's/^-X //p' |
    tr '\n' ' ')" >&2
}

cleanup() {
  set +e
  "$berth" container rm -f "$idle" starter >/dev/null 2>&1
  [[ -n ${berth_net_id:-} ]] && "$berth" network rm "$net" >/dev/null 2>&1
  podman "${podman_args[@]}" rm -f -a >/dev/null 2>&1
  podman "${podman_args[@]}" network rm -f "$net" >/dev/null 2>&1
  # aardvark-dns, if netavark left it running with the config directory this run created.
  if [[ -z $netavark_run_before ]]; then
    for pid in $(pgrep -f "aardvark-dns --config $netavark_run/" 2>/dev/null); do kill "$pid"; done
    rm -rf "$netavark_run"
    [[ -n $run_containers_before ]] || rmdir /run/containers 2>/dev/null
  fi
  drop_new_netavark_chains iptables-save iptables-restore "$work/chains4.before"
  drop_new_netavark_chains ip6tables-save ip6tables-restore "$work/chains6.before"
  for link in $(links | comm -13 "$work/links.before" - | grep -E '^podman[0-9]+$'); do
    ip link del "$link" && echo "removed netavark's leftover bridge $link" >&2
  done
  echo "$ip_forward_before" >/proc/sys/net/ipv4/ip_forward
  host_state >"$work/state.after"
  if ! diff "$work/state.before" "$work/state.after" >"$work/state.diff"; then
    echo "host not as found (< before, > after):" >&2
    cat "$work/state.diff" >&2
  fi
  umount -R "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# Before any berth call: berth's state in the work dir, never in /root or /var.
export BERTH_ROOT=$work/root
export BERTH_RUNROOT=$work/run
# berth-dns forwards unknown names to a dead loopback port, never off the machine.
export BERTH_DNS_UPSTREAM=127.0.0.1:9

# Rootful podman asks for RLIMIT_NOFILE 1048576, above this host's hard limit (root has no
# CAP_SYS_RESOURCE): Debian's containers.conf plus ulimits that fit (see PEERS.md), netavark
# as the backend, and network definitions in the work dir instead of /etc/containers/networks.
python3 - /usr/share/containers/containers.conf "$work" >"$work/containers.conf" <<'PY'
import sys
text, work = open(sys.argv[1]).read(), sys.argv[2]
text = text.replace("[containers]", '[containers]\ndefault_ulimits = ["nofile=4096:4096", '
                    '"nproc=4096:4096"]', 1)
text = text.replace("[network]", f'[network]\nnetwork_backend = "netavark"\n'
                    f'network_config_dir = "{work}/podman-networks"', 1)
print(text)
PY
export CONTAINERS_CONF=$work/containers.conf

# One busybox root filesystem for both.
busybox_rootfs_tar "$work"
"$berth" image import "$work/rootfs.tar" bench:1 >/dev/null
podman "${podman_args[@]}" import -q "$work/rootfs.tar" bench:1 >/dev/null

# The networks, each kept active by one sleeping container.
berth_net_id=$("$berth" network create "$net")
"$berth" container run -d --network "$net" --name "$idle" bench:1 sleep 1000 >/dev/null
podman "${podman_args[@]}" network create "$net" >/dev/null
podman "${podman_args[@]}" run -d --network "$net" --name "$idle" bench:1 sleep 1000 >/dev/null

b="$berth container run --rm"
p="podman ${podman_args[*]} run --rm"
hyperfine -N --warmup 3 --runs "$runs" --style basic --export-json "$work/run.json" \
  -n berth-none "$b --network none bench:1 true" \
  -n berth-net "$b --network $net bench:1 true" \
  -n berth-port "$b --network $net -p 127.0.0.1::80 bench:1 true" \
  -n podman-none "$p --network none bench:1 true" \
  -n podman-net "$p --network $net bench:1 true" \
  -n podman-port "$p --network $net -p 127.0.0.1::80 bench:1 true" >/dev/null

# Set-up alone: `start` of a created container (its network made, nothing torn down while
# timed); each run's container is made, and the last one removed, outside the timing.
bs="$berth container"
ps="podman ${podman_args[*]}"
fresh() {  # engine-command network: the prepare step, a fresh created container "starter"
  echo "sh -c '$1 rm -f starter >/dev/null 2>&1; $1 create --name starter --network $2 bench:1 sleep 1000 >/dev/null'"
}
hyperfine -N --runs "$runs" --style basic --export-json "$work/start.json" \
  --prepare "$(fresh "$bs" none)" -n berth-none "$bs start starter" \
  --prepare "$(fresh "$bs" "$net")" -n berth-net "$bs start starter" \
  --prepare "$(fresh "$ps" none)" -n podman-none "$ps start starter" \
  --prepare "$(fresh "$ps" "$net")" -n podman-net "$ps start starter" >/dev/null
$bs rm -f starter >/dev/null
$ps rm -f -t 0 starter >/dev/null

python3 - "$work/run.json" "$work/start.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: r["median"] * 1000 for name, r in results.items()}
start = {r["command"]: r["median"] * 1000 for r in json.load(open(sys.argv[2]))["results"]}
def row(label, berth, podman, note=""):
    ratio = f"{podman / berth:8.1f}x" if berth > 0 and podman > 0 else "      n/a"
    print(f"  {label:34}{berth:9.1f}{podman:10.1f}{ratio}  {note}".rstrip())
n = len(results["berth-none"]["times"])
print(f"run --rm IMAGE true, median ms of {n} runs each (podman's network: netavark):")
print(f"  {'':34}{'berth':>9}{'podman':>10}{'podman/berth':>13}")
cases = (("none", "(A) --network none"), ("net", "(B) --network NET"),
         ("port", "(C) --network NET -p 127.0.0.1::80"))
for key, label in cases:
    row(label, median[f"berth-{key}"], median[f"podman-{key}"])
def diff(engine, a, b):
    return median[f"{engine}-{a}"] - median[f"{engine}-{b}"]
row("network setup+teardown (B - A)", diff("berth", "net", "none"),
    diff("podman", "net", "none"))
row("network setup (start, NET - none)", start["berth-net"] - start["berth-none"],
    start["podman-net"] - start["podman-none"], "target: berth under 5 ms")
row("port rule changes (C - B)", diff("berth", "port", "net"),
    diff("podman", "port", "net"), "target: berth under 10 ms")
PY
