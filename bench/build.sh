#!/usr/bin/env bash
# Dockerfile builds, berth beside its peers in one run: `berth image build` against `docker build`
# on Debian's docker.io 20.10 (a dockerd this script starts with its own state), with its classic
# builder (DOCKER_BUILDKIT=0) and with BuildKit (DOCKER_BUILDKIT=1: 20.10's daemon has BuildKit
# and its Dockerfile frontend built in, so with no `# syntax=` line nothing is pulled), and
# `podman build` (Debian's podman 4.3, buildah inside; its own storage). The Dockerfile has 6
# steps as berth numbers them (ENV and ARG are none; BuildKit does not number FROM scratch either):
# FROM scratch, ADD of a busybox root (nothing is ever pulled), ENV, WORKDIR, COPY, a RUN writing
# a file, an ARG and a RUN doing a little work. Cases per tool:
#   cold    every step run again (--no-cache)
#   cached  nothing changed: every step reused (issue's target: berth under 300 ms)
#   last    the last step's input changed (a build arg only the last RUN uses, a new value in each
#           run): only that step runs. Checked from each tool's own output (berth's and
#           BuildKit's `#N CACHED`, the classic builder's and podman's `Using cache`): berth
#           must reuse every step but the last or the script fails; a peer that does not is
#           reported under the table.
# Prints a markdown table: median [min-max] of each tool, the ratios peer/berth.
# Every build runs with --network none: no step touches any network. dockerd gets a dead proxy
# and 127.0.0.1 as its DNS (engines.sh). The host is left as found, even on failure or Ctrl-C
# (host-state.sh). The peers are installed by install-peers.sh (Debian's packages).
#   RUNS=5               runs per case and tool (after one warm-up run)
#   PEERS="docker podman" the peers to run beside berth; PEERS= runs berth alone
#   BERTH=build/berth    the berth binary
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/host-state.sh
source "$here/host-state.sh"
# shellcheck source=bench/engines.sh
source "$here/engines.sh"
# shellcheck source=bench/common.sh
source "$here/common.sh"
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-5}
peers=${PEERS-docker podman}
started=$SECONDS

tools=(berth)
for peer in $peers; do
  case $peer in
    docker) tools+=(docker docker-buildkit) ;;
    podman) tools+=(podman) ;;
    *) echo "unknown peer: $peer (docker, podman)" >&2; exit 2 ;;
  esac
done
[ -z "$peers" ] || "$here/install-peers.sh"
command -v hyperfine >/dev/null ||
  { echo "hyperfine is missing: bench/install-peers.sh installs it" >&2; exit 1; }

# ---- the tools' command lines (also given to hyperfine, which splits them on spaces) ----------

tag=bench-build:1
# cli TOOL: the command that builds with TOOL, before the case's options and the context.
# (Debian's docker CLI by its path: another docker CLI may come first in PATH.)
cli() {
  case $1 in
    berth) echo "$berth image build --network none --progress plain -t $tag" ;;
    docker) echo "/usr/bin/env DOCKER_BUILDKIT=0 /usr/bin/docker build --network none -t $tag" ;;
    docker-buildkit) echo "/usr/bin/env DOCKER_BUILDKIT=1 /usr/bin/docker build --network none" \
      "--progress plain -t $tag" ;;
    podman) echo "/usr/bin/env TMPDIR=$work/podman/tmp /usr/bin/podman build --network none" \
      "--pull=never -t $tag" ;;
  esac
}
# build TOOL NAME ARGS...: one build by hand, its output in $work/logs/TOOL-NAME (shown on failure).
build() {
  local tool=$1 log=$work/logs/$1-$2
  local -a command
  read -ra command <<<"$(cli "$tool")"
  "${command[@]}" "${@:3}" "$work/ctx" >"$log" 2>&1 ||
    { echo "failed: ${command[*]} ${*:3} $work/ctx" >&2; tail -n 20 "$log" >&2; exit 1; }
}

# ---- checks: which steps a build reused, from the tool's own output ---------------------------

# check_steps TOOL NAME CASE: the build whose output is $work/logs/TOOL-NAME reused every step but
# FROM (CASE cached), or every step but FROM and the last, which ran (CASE last). berth failing
# this fails the script; a peer failing it is reported under the table.
check_steps() {
  local tool=$1 log=$work/logs/$1-$2 expected=$3 verdict want="every step after FROM reused"
  [ "$expected" != last ] || want+=" but the last"
  verdict=$(python3 - "$tool" "$log" "$expected" <<'PY'
import re, sys
tool, log, expected = sys.argv[1:]
steps = []  # [instruction, reused]
if tool in ("berth", "docker-buildkit"):
    # `#N [i/n] INSTRUCTION`, later `#N CACHED` (BuildKit prints the vertices in any order).
    vertices = {}
    for line in open(log):
        if m := re.match(r"#(\d+) \[(\d+)/\d+\] (.*)", line):
            vertices.setdefault(m[1], [int(m[2]), m[3].strip(), False])
        elif (m := re.match(r"#(\d+) CACHED", line)) and m[1] in vertices:
            vertices[m[1]][2] = True
    steps = [[text, reused] for _, text, reused in sorted(vertices.values())]
else:
    # `Step i/n : INSTRUCTION` or `STEP i/n: INSTRUCTION`, then `---> Using cache` if reused.
    step_re, reused_re = {"docker": (r"Step \d+/\d+ : (.*)", r" ---> Using cache"),
                          "podman": (r"STEP \d+/\d+: (.*)", r"--> Using cache")}[tool]
    for line in open(log):
        if m := re.match(step_re, line):
            steps.append([m[1].strip(), False])
        elif re.match(reused_re, line) and steps:
            steps[-1][1] = True
steps = [s for s in steps if not s[0].upper().startswith("FROM ")]
want = [True] * len(steps)
if expected == "last" and want:
    want[-1] = False
got = [reused for _, reused in steps]
reused = sum(got)
if len(steps) >= 4 and got == want:
    print(f"ok: {reused} of {len(steps)} steps after FROM reused")
else:
    print("; ".join(f"{text[:40]} {'reused' if r else 'ran'}" for text, r in steps) or "no steps")
PY
)
  case $verdict in
    ok:*) echo "$tool, $expected: $verdict" >&2 ;;
    *) echo "$tool, $expected: expected $want, got: $verdict" >&2
       [ "$tool" != berth ] || { cat "$log" >&2; exit 1; }
       echo "$tool: $expected: $verdict" >>"$work/peer-checks" ;;
  esac
}

# ---- the engines: each with its own state under $work (engines.sh) ----------------------------

cleanup() {
  set +e
  stop_dockerd
  umount_under "$work"
  host_restore "$work"
  engines_left
  host_check "$work" && echo "host state: as before the benchmark" >&2
  rm -rf --one-file-system "$work"
}

work=$(mktemp -d /tmp/bench-build.XXXXXX)
host_snapshot "$work"
trap cleanup EXIT
# Interrupted: still clean up (bash runs the EXIT trap on exit, not on every fatal signal).
trap 'exit 130' INT TERM HUP
mkdir -p "$work/json" "$work/logs"
export BERTH_ROOT=$work/root BERTH_RUNROOT=$work/run BERTH_DNS_UPSTREAM=127.0.0.1:9

# ---- the build context -------------------------------------------------------------------------

# A busybox root with what the RUN steps call, added by the Dockerfile; a small app directory.
busybox_rootfs_tar "$work/base" cat find sort xargs sha256sum
mkdir -p "$work/ctx/app/conf"
mv "$work/base/rootfs.tar" "$work/ctx/"
printf '#!/bin/sh\necho hello\n' >"$work/ctx/app/main.sh"
seq 1 2000 >"$work/ctx/app/data.txt"
echo 'level = 3' >"$work/ctx/app/conf/app.conf"
# ($GREETING and $LAST are the build's, not this script's.)
# shellcheck disable=SC2016
printf '%s\n' 'FROM scratch' 'ADD rootfs.tar /' 'ENV GREETING=berth' 'WORKDIR /app' \
  'COPY app/ /app/' 'RUN echo "$GREETING" >/app/greeting.txt' 'ARG LAST=0' \
  'RUN echo "$LAST" >/app/last.txt && find /bin /app -type f | sort | xargs sha256sum >/app/sums' \
  >"$work/ctx/Dockerfile"

# ---- the measurements --------------------------------------------------------------------------

# timed ARGS...: hyperfine -N with ARGS, its results only in the JSON file ARGS name; its errors
# shown, its advice about outliers and slow first runs (this machine is shared) not.
timed() {
  hyperfine -N --style basic "$@" 2>&1 >/dev/null |
    { grep -v -e 'Statistical outliers' -e 'first benchmarking run' -e '^ *$' >&2 || true; }
}

# bench_tool TOOL: the three cases, each checked by hand once, then timed.
bench_tool() {
  local tool=$1 command
  command=$(cli "$tool")
  echo "$tool: cold" >&2
  timed --warmup 1 --runs "$runs" --export-json "$work/json/cold-$tool.json" \
    -n "$tool cold" "$command --no-cache $work/ctx"
  # The --no-cache builds need not have filled the cache: one build does, the next is checked.
  echo "$tool: cached" >&2
  build "$tool" fill
  build "$tool" cached
  check_steps "$tool" cached cached
  timed --warmup 1 --runs "$runs" --export-json "$work/json/cached-$tool.json" \
    -n "$tool cached" "$command $work/ctx"
  # The last step's input: LAST, a value no build of this tool has had before in each run (the
  # cache would have the step otherwise): `check` by hand (also the warm-up), then 1..RUNS, one
  # run each (hyperfine's parameter scan).
  echo "$tool: last step changed" >&2
  build "$tool" last --build-arg LAST=check
  check_steps "$tool" last last
  timed --runs 1 --parameter-scan n 1 "$runs" --export-json "$work/json/last-$tool.json" \
    "$command --build-arg LAST={n} $work/ctx"
}

bench_tool berth
# The image of berth's last timed build has that build's value: its last step did run.
last=$("$berth" container run --rm --network none "$tag" cat /app/last.txt)
[ "$last" = "$runs" ] ||
  { echo "berth: the image of the last build has LAST=$last, not $runs" >&2; exit 1; }

if [[ " ${tools[*]} " == *" docker "* ]]; then
  start_dockerd
  bench_tool docker
  bench_tool docker-buildkit
  # The engine's own memory, for the record: the CLI is not where docker's builds run.
  dockerd_rss >"$work/engine-rss"
  stop_dockerd
fi

if [[ " ${tools[*]} " == *" podman "* ]]; then
  setup_podman
  mkdir -p "$work/podman/tmp"
  bench_tool podman
fi

# ---- the table ---------------------------------------------------------------------------------

versions=("$("$berth" --version 2>&1 | head -n 1)")
if [[ " ${tools[*]} " == *" docker "* ]]; then
  versions+=("$(/usr/sbin/dockerd --version | sed 's/^Docker version/dockerd/')"
             "$(/usr/bin/docker --version | sed 's/^Docker version/docker CLI/')")
fi
[[ " ${tools[*]} " != *" podman "* ]] ||
  versions+=("$(/usr/bin/podman --version | sed 's/ version//')")
versions+=("$(hyperfine --version)")
machine="$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)),"
machine+=" $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM,"
machine+=" $(sed -n 's/^PRETTY_NAME="*\([^"]*\)"*$/\1/p' /etc/os-release), kernel $(uname -r)"

python3 - "$work" "$runs" "$((SECONDS - started))" "$machine" "$(printf '%s; ' "${versions[@]}")" \
  "${tools[@]}" <<'PY'
import json, os, statistics, sys
work, runs, elapsed, machine, versions, tools = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                                 sys.argv[4], sys.argv[5], sys.argv[6:])
names = {"berth": "berth", "docker": "docker build (classic)",
         "docker-buildkit": "docker build (BuildKit)", "podman": "podman build"}
peers = [t for t in tools if t != "berth"]

def times(case, tool):
    path = f"{work}/json/{case}-{tool}.json"
    # The parameter scan of the `last` case: one result a value, one run each.
    return [t for r in json.load(open(path))["results"] for t in r["times"]]

def cell(ts):
    return f"{statistics.median(ts):.3g} [{min(ts):.3g}-{max(ts):.3g}]"

cases = [("cold", "cold (`--no-cache`)"), ("cached", "fully cached rebuild"),
         ("last", "last step's input changed")]
print(f"\nDockerfile builds (6 steps, FROM scratch): seconds, median [min-max] of {runs} runs "
      f"after a warm-up\n")
print(f"Machine: {machine}. Versions: {versions.rstrip('; ')}.\n")
def row(cells):
    print("| " + " | ".join(cells) + " |")
header = ["case"] + [names[t] for t in tools] + [f"{names[p]} / berth" for p in peers]
row(header + ["target"])
row(["---"] * (len(header) + 1))
for case, label in cases:
    ts = {t: times(case, t) for t in tools}
    berth = statistics.median(ts["berth"])
    target = ""
    if case == "cached":
        target = (f"berth < 300 ms: {'met' if berth < 0.300 else 'NOT met'} "
                  f"({berth * 1000:.0f} ms)")
    row([label] + [cell(ts[t]) for t in tools]
        + [f"{statistics.median(ts[p]) / berth:.1f}x" for p in peers] + [target])
print()
print("Every build: --network none. Checked by hand before each case is timed, from each tool's "
      "own output: the cached rebuild reuses every step, the changed last step is the only one "
      "that runs (berth's 'last' case: also its image).")
if os.path.exists(f"{work}/peer-checks"):
    for line in open(f"{work}/peer-checks"):
        print(f"NOT as expected: {line.strip()}")
if os.path.exists(f"{work}/engine-rss"):
    engine = ", ".join(f"{name} {int(kib) / 1024:.0f} MiB"
                       for name, kib in (line.split() for line in open(f"{work}/engine-rss")))
    print(f"docker's builds run in its daemon: peak RSS {engine}.")
print(f"Run time of this benchmark: {elapsed // 60} min {elapsed % 60} s.")
PY
