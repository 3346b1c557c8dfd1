#!/usr/bin/env bash
# Compose stacks, berth beside its peers in one run: `up -d` and `down` of a 3-service and a
# 20-service (dependency tree) busybox stack with berth, docker-compose 1.29 (Debian's, on a dockerd
# this script starts with its own state) and podman-compose 1.0.3 (Debian's podman, its own
# storage). One service publishes a port that must answer after `up`; nothing may be left after
# `down`. Prints a markdown table: median [min-max] of each tool, the ratios peer/berth against
# issue 7's targets, `ps` on the 20-service stack and each CLI's peak RSS.
# The peers are installed by install-peers.sh (Debian's packages). The host is left as found, even
# on failure (host-state.sh). Network traffic stays on loopback and inside the bridges the engines
# make here: images are imported, never pulled, and no service looks a name up.
#   RUNS=5               runs per case and tool (after one warm-up run)
#   PEERS="docker podman" the peers to run beside berth; PEERS= runs berth alone
#   BERTH=build/berth    the berth binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/host-state.sh
source "$here/host-state.sh"
# shellcheck source=bench/engines.sh
source "$here/engines.sh"
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-5}
peers=${PEERS-docker podman}
started=$SECONDS

tools=(berth)
for peer in $peers; do
  case $peer in
    docker) tools+=(docker-compose) ;;
    podman) tools+=(podman-compose podman-compose-nosleep) ;;
    *) echo "unknown peer: $peer (docker, podman)" >&2; exit 2 ;;
  esac
done
[ -z "$peers" ] || "$here/install-peers.sh"

# ---- the tools' command lines (also given to hyperfine, which splits them on spaces) ----------

# cli TOOL STACK: the command that runs TOOL on STACK's compose file, before its subcommand.
cli() {
  local file=$work/$2/compose.yaml
  # podman-compose runs podman with --pull=never: the image is imported, a pull would go out.
  local podman="--podman-path /usr/bin/podman --podman-run-args=--pull=never -p bench_$2 -f $file"
  case $1 in
    berth) echo "$berth -f $file" ;;
    docker-compose) echo "/usr/bin/docker-compose -p bench_$2 -f $file" ;;
    podman-compose) echo "/usr/bin/podman-compose $podman" ;;
    podman-compose-nosleep) echo "/usr/bin/python3 $work/podman-compose-nosleep.py $podman" ;;
  esac
}
# run_cli TOOL STACK ARGS...: run it, its output into the log (shown if it fails).
run_cli() {
  local -a command
  read -ra command <<<"$(cli "$1" "$2")"
  "${command[@]}" "${@:3}" >>"$work/tools.log" 2>&1 ||
    { echo "failed: ${command[*]} ${*:3}" >&2; tail -n 20 "$work/tools.log" >&2; return 1; }
}

# ---- checks: every service runs and the port answers after `up`; nothing is left after `down` --

# running TOOL STACK: how many of STACK's containers run, as the tool's own engine sees them.
running() {
  local tool=$1 stack=$2
  local -a command
  case $tool in
    berth) "$berth" -f "$work/$stack/compose.yaml" ps -q | wc -l ;;
    # docker-compose's own ps -q lists stopped containers too: ask which of them run.
    docker-compose) read -ra command <<<"$(cli "$tool" "$stack")"
      "${command[@]}" ps -q | xargs -r /usr/bin/docker inspect -f '{{.State.Running}}' |
        grep -c true || true ;;
    # podman-compose's ps prints the podman command around the ids: ask podman by the same label.
    podman-compose*) /usr/bin/podman ps -q --filter "label=io.podman.compose.project=bench_$stack" |
      wc -l ;;
  esac
}
check_up() {
  local tool=$1 stack=$2 expected count
  expected=$(grep -c 'image: bench:1' "$work/$stack/compose.yaml")
  count=$(running "$tool" "$stack")
  [ "$count" -eq "$expected" ] ||
    { echo "$tool, $stack: $count of $expected services running" >&2; exit 1; }
  python3 - "$port" "$tool" <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    if not s.recv(64).startswith(b"HTTP/1."):
        sys.exit(f"{sys.argv[2]}: the published port does not answer")
PY
}
# check_down TOOL: the engine has no container left (each engine here is this script's alone),
# nor a network (podman-compose's down leaves its network by design: that one is removed here).
check_down() {
  local tool=$1 left
  case $tool in
    berth) left=$("$berth" container ls -a -q; "$berth" network ls -q) ;;
    docker-compose) left=$(/usr/bin/docker ps -a -q
      /usr/bin/docker network ls -q --filter label=com.docker.compose.project) ;;
    podman-compose*) left=$(/usr/bin/podman ps -a -q)
      /usr/bin/podman network rm -f bench_small_default bench_tree_default >/dev/null 2>&1 ||
        true ;;
  esac
  [ -z "$left" ] || { echo "$tool: containers or networks left after down: $left" >&2; exit 1; }
}

# ---- the engines: each with its own state under $work (engines.sh) ----------------------------

# podman (engines.sh's setup_podman), plus what podman-compose needs here.
setup_podman_compose() {
  setup_podman
  # podman-compose 1.0.3 sleeps 1 s after each podman call of `up`: the same tool, with that
  # sleep patched out in memory (the installed files untouched), shows what the tool itself costs.
  cat >"$work/podman-compose-nosleep.py" <<'PY'
import podman_compose
run = podman_compose.Podman.run
def run_without_sleep(self, *args, **kwargs):
    return run(self, *args, **dict(kwargs, sleep=0))
podman_compose.Podman.run = run_without_sleep
podman_compose.main()
PY
  # hyperfine's --prepare for an `up` from nothing, as berth's: down, then the network that
  # podman-compose's down leaves.
  cat >"$work/podman-down" <<'SH'
#!/bin/sh
network=$1
shift
"$@" down -t 5 >/dev/null 2>&1
/usr/bin/podman network rm -f "$network" >/dev/null 2>&1 || true
SH
  chmod +x "$work/podman-down"
}

cleanup() {
  set +e
  local stack
  for stack in small tree; do
    [ -f "$work/$stack/compose.yaml" ] || continue
    "$berth" -f "$work/$stack/compose.yaml" down -v -t 0 >/dev/null 2>&1
    [ -z "$dockerd_pid" ] || run_cli docker-compose "$stack" down -v -t 0 2>/dev/null
  done
  stop_dockerd
  if [ -n "$podman_ready" ]; then
    /usr/bin/podman rm -a -f -t 0 >/dev/null 2>&1
    /usr/bin/podman network rm -f bench_small_default bench_tree_default >/dev/null 2>&1
  fi
  umount_under "$work"
  host_restore "$work"
  engines_left
  host_check "$work" && echo "host state: as before the benchmark" >&2
  rm -rf --one-file-system "$work"
}

work=$(mktemp -d /tmp/bench-compose.XXXXXX)
host_snapshot "$work"
trap cleanup EXIT
# Interrupted: still clean up (bash runs the EXIT trap on exit, not on every fatal signal).
trap 'exit 130' INT TERM HUP
mkdir -p "$work/json"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
export BERTH_ROOT=$work/root BERTH_RUNROOT=$work/run BERTH_DNS_UPSTREAM=127.0.0.1:9

# ---- the stacks --------------------------------------------------------------------------------

# A busybox root with what the services run: a web server that stops on SIGTERM, sleepers.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/"
for applet in sh true sleep httpd kill; do ln -s busybox "$work/rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/rootfs/etc/group"
echo ok >"$work/rootfs/www/index.html"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

# Services trap TERM, so that `down` measures the tool and not a grace period (PEERS.md).
# ($$ is compose's escape for the container shell's $.)
# shellcheck disable=SC2016
sleeper='["sh", "-c", "sleep 1000 & p=$$!; trap \"kill $$p; exit 0\" TERM; wait $$p"]'
# shellcheck disable=SC2016
web='["sh", "-c", "httpd -f -p 80 -h /www & p=$$!; trap \"kill $$p; exit 0\" TERM; wait $$p"]'
mkdir -p "$work/small" "$work/tree"
cat >"$work/small/compose.yaml" <<EOF
services:
  web: {image: bench:1, command: $web, ports: ["127.0.0.1:$port:80"], depends_on: [cache, db]}
  cache: {image: bench:1, command: $sleeper}
  db: {image: bench:1, command: $sleeper}
EOF
{
  echo "services:"
  echo "  s0: {image: bench:1, command: $web, ports: [\"127.0.0.1:$port:80\"]}"
  for i in $(seq 1 19); do
    echo "  s$i: {image: bench:1, command: $sleeper, depends_on: [s$(((i - 1) / 2))]}"
  done
} >"$work/tree/compose.yaml"

# ---- the measurements --------------------------------------------------------------------------

# timed ARGS...: hyperfine -N with ARGS, its results only in the JSON file ARGS name; its errors
# shown, its advice about outliers (this machine is shared) not.
timed() {
  hyperfine -N --style basic "$@" 2>&1 >/dev/null |
    { grep -v -e 'Statistical outliers' -e '^ *$' >&2 || true; }
}

# bench_stack TOOL STACK: checked once by hand, then `up -d` from nothing and `down` of a running
# stack, each in one hyperfine run; --prepare puts the stack in the state the case starts from.
bench_stack() {
  local tool=$1 stack=$2 quick=$1 tool_cli reset
  tool_cli=$(cli "$tool" "$stack")
  reset="$tool_cli down -t 5"
  [[ $tool != podman-compose* ]] || reset="$work/podman-down bench_${stack}_default $tool_cli"
  # Bringing a stack up untimed (the first check, preparing a `down`) needs no 1 s sleeps: the
  # same podman-compose without them does it. The timed runs are checked below, sleeps and all.
  [ "$tool" != podman-compose ] || quick="podman-compose-nosleep"
  run_cli "$quick" "$stack" up -d
  check_up "$tool" "$stack"
  run_cli "$quick" "$stack" down -t 5
  check_down "$tool"
  timed --warmup 1 --runs "$runs" --export-json "$work/json/$stack-up-$tool.json" \
    --prepare "$reset" -n "$tool $stack up" "$tool_cli up -d"
  check_up "$tool" "$stack"
  # podman-compose's `down` has no sleep: the patched one would time the same code again.
  [ "$tool" != podman-compose-nosleep ] || { run_cli "$tool" "$stack" down -t 5; return; }
  timed --warmup 1 --runs "$runs" --export-json "$work/json/$stack-down-$tool.json" \
    --prepare "$(cli "$quick" "$stack") up -d" -n "$tool $stack down" "$tool_cli down -t 5"
  check_down "$tool"
}

# rss ARGS...: the peak RSS of a command (GNU time), in KiB.
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

# bench_ps_rss TOOL: `ps` on the running 20-service stack; peak RSS of `up -d`, `ps`, `down`.
bench_ps_rss() {
  local tool=$1 tool_cli ps_runs=$runs ps_warmup=1
  local -a command
  tool_cli=$(cli "$tool" tree)
  read -ra command <<<"$tool_cli"
  [ "$tool" != berth ] || ps_runs=30 ps_warmup=3
  echo "$tool $(rss "${command[@]}" up -d)" >>"$work/rss-up"
  timed --warmup "$ps_warmup" --runs "$ps_runs" --export-json "$work/json/ps-$tool.json" \
    -n "$tool tree ps" "$tool_cli ps"
  echo "$tool $(rss "${command[@]}" ps)" >>"$work/rss-ps"
  echo "$tool $(rss "${command[@]}" down -t 5)" >>"$work/rss-down"
  check_down "$tool"
}

# bench_tool TOOL: both stacks, then ps and RSS (not for the patched podman-compose: same code).
bench_tool() {
  bench_stack "$1" small
  bench_stack "$1" tree
  [ "$1" = podman-compose-nosleep ] || bench_ps_rss "$1"
}

"$berth" image import "$work/rootfs.tar" bench:1 >/dev/null
bench_tool berth

if [[ " ${tools[*]} " == *" docker-compose "* ]]; then
  start_dockerd
  # docker-compose pulls an image it cannot find: make sure it is there first.
  /usr/bin/docker import "$work/rootfs.tar" bench:1 >/dev/null
  /usr/bin/docker image inspect bench:1 >/dev/null
  bench_tool docker-compose
  # The engine's own memory, for the record: the CLI is not all of docker-compose's cost.
  dockerd_rss >"$work/engine-rss"
  stop_dockerd
fi

if [[ " ${tools[*]} " == *" podman-compose "* ]]; then
  setup_podman_compose
  /usr/bin/podman import -q "$work/rootfs.tar" bench:1 >/dev/null
  /usr/bin/podman image exists bench:1
  bench_tool podman-compose
  bench_tool podman-compose-nosleep
fi

# ---- the table ---------------------------------------------------------------------------------

python3 - "$work" "$runs" "$((SECONDS - started))" "${tools[@]}" <<'PY'
import json, os, statistics, sys
work, runs, elapsed, tools = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
names = {"berth": "berth", "docker-compose": "docker-compose 1.29",
         "podman-compose": "podman-compose 1.0.3", "podman-compose-nosleep": "same, sleep removed"}
peers = [t for t in tools if t != "berth"]

def times(name, tool):
    path = f"{work}/json/{name}-{tool}.json"
    return json.load(open(path))["results"][0]["times"] if os.path.exists(path) else None

def cell(tool, key, ts):
    if ts:
        return f"{statistics.median(ts):.3g} [{min(ts):.3g}-{max(ts):.3g}]"
    return "(no sleep in `down`)" if tool == "podman-compose-nosleep" and "down" in key else "-"

# Targets of issue 7, on the ratio docker-compose / berth or on berth's own number.
targets = {"tree-up": ("docker-compose", 10), "tree-down": ("docker-compose", 5)}
cases = [("small-up", "3 services `up -d`"), ("small-down", "3 services `down`"),
         ("tree-up", "20 services (tree) `up -d`"), ("tree-down", "20 services (tree) `down`"),
         ("ps", "20 services `ps`")]
print(f"\nCompose stacks: seconds, median [min-max] of {runs} runs after a warm-up "
      f"(berth `ps`: 30 runs)\n")
print("| case | " + " | ".join(names[t] for t in tools) + " | "
      + " | ".join(f"{names[p]} / berth" for p in peers) + " | target |")
print("|---" * (2 + len(tools) + len(peers)) + "|")
for key, label in cases:
    ts = {t: times(key, t) for t in tools}
    berth = statistics.median(ts["berth"])
    ratios = [f"{statistics.median(ts[p]) / berth:.1f}x" if ts[p] else "-" for p in peers]
    target = ""
    if key in targets:
        peer, want = targets[key]
        if ts.get(peer):
            got = statistics.median(ts[peer]) / berth
            target = f"{peer} / berth >= {want}x: {'met' if got >= want else 'NOT met'}"
    elif key == "ps":
        target = f"berth < 10 ms: {'met' if berth < 0.010 else 'NOT met'} ({berth * 1000:.1f} ms)"
    print(f"| {label} | " + " | ".join(cell(t, key, ts[t]) for t in tools) + " | "
          + " | ".join(ratios) + f" | {target} |")

def rss(step):
    rows = dict(line.split() for line in open(f"{work}/rss-{step}"))
    return {tool: int(kib) / 1024 for tool, kib in rows.items()}
up, ps, down = rss("up"), rss("ps"), rss("down")
berth_peak = max(up["berth"], ps["berth"], down["berth"])
print("| CLI peak RSS, MiB (up / ps / down) | "
      + " | ".join(f"{up[t]:.1f} / {ps[t]:.1f} / {down[t]:.1f}" if t in up else "(same)"
                   for t in tools) + " | "
      + " | ".join(f"{max(up[p], ps[p], down[p]) / berth_peak:.1f}x" if p in up else "-"
                   for p in peers)
      + f" | berth < 10 MiB: {'met' if berth_peak < 10 else 'NOT met'} ({berth_peak:.1f} MiB) |")
print()
if "podman-compose" in tools:
    print("podman-compose 1.0.3 sleeps 1 s after each podman call of `up`; 'sleep removed' is the "
          "same tool with that sleep patched out in memory. Its `down` has no sleep (not timed "
          "twice) and leaves the project network, which is removed before each timed `up`.")
if os.path.exists(f"{work}/engine-rss"):
    engine = ", ".join(f"{name} {int(kib) / 1024:.0f} MiB"
                       for name, kib in (line.split() for line in open(f"{work}/engine-rss")))
    print(f"docker-compose's CLI is not all of its memory: the engine's peak RSS: {engine}.")
print("Peak RSS is GNU time's %M: the largest process the CLI waited for (podman-compose: podman).")
print(f"Run time of this benchmark: {elapsed // 60} min {elapsed % 60} s.")
PY
