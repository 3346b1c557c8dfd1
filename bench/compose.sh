#!/usr/bin/env bash
# Compose stacks: `up -d` and `down` of a 3-service and a 20-service (dependency tree)
# busybox stack, one service publishing a port that must answer after `up`; then `ps` and the
# CLI's peak RSS. Medians and ranges of berth's runs. (The peers, docker-compose with dockerd
# and podman-compose, are not in this script yet: see issue 7.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-5}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BERTH_ROOT=$work/root BERTH_RUNROOT=$work/run BERTH_DNS_UPSTREAM=127.0.0.1:9
cleanup() {
  for stack in small tree; do
    [ -f "$work/$stack/compose.yaml" ] && "$berth" -f "$work/$stack/compose.yaml" down -v -t 0 \
      >/dev/null 2>&1 || true
  done
  umount -R "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox root with what the services run: a web server that stops on SIGTERM, sleepers.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/"
for applet in sh true sleep httpd kill; do ln -s busybox "$work/rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/rootfs/etc/group"
echo ok >"$work/rootfs/www/index.html"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$berth" image import "$work/rootfs.tar" bench:1 >/dev/null

# Services trap TERM, so that `down` measures the tool and not a grace period (PEERS.md).
sleeper='["sh", "-c", "sleep 1000 & p=$$!; trap \"kill $$p; exit 0\" TERM; wait $$p"]'
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

# Every service runs and the port answers after `up`; nothing is left after `down`.
check_up() {
  local stack=$1 expected=$2
  local running
  running=$("$berth" -f "$work/$stack/compose.yaml" ps -q | wc -l)
  [ "$running" -eq "$expected" ] || { echo "$stack: $running of $expected running" >&2; exit 1; }
  python3 - "$port" <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    if not s.recv(64).startswith(b"HTTP/1."):
        sys.exit("the published port does not answer")
PY
}
check_down() {
  [ -z "$("$berth" container ls -a -q)" ] || { echo "containers left after down" >&2; exit 1; }
  [ -z "$("$berth" network ls -q)" ] || { echo "networks left after down" >&2; exit 1; }
}

for stack in small tree; do
  file=$work/$stack/compose.yaml
  expected=$(grep -c 'image: bench:1' "$file")
  "$berth" -f "$file" up -d >/dev/null 2>&1
  check_up "$stack" "$expected"
  "$berth" -f "$file" down -t 5 >/dev/null 2>&1
  check_down
  # --prepare runs before every run: each `up` starts from nothing, each `down` from a stack.
  hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$work/$stack-up.json" \
    --prepare "$berth -f $file down -t 5" -n "$stack up" "$berth -f $file up -d" >/dev/null
  hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$work/$stack-down.json" \
    --prepare "$berth -f $file up -d" -n "$stack down" "$berth -f $file down -t 5" >/dev/null
done

# ps on the running 20-service stack, and the CLI's peak RSS for up, ps and down.
tree=$work/tree/compose.yaml
"$berth" -f "$tree" up -d >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 --style basic --export-json "$work/ps.json" \
  -n "tree ps" "$berth -f $tree ps" >/dev/null
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_ps=$(rss "$berth" -f "$tree" ps)
rss_down=$(rss "$berth" -f "$tree" down -t 5)
rss_up=$(rss "$berth" -f "$tree" up -d)
"$berth" -f "$tree" down -t 5 >/dev/null 2>&1

python3 - "$work" "$rss_up" "$rss_ps" "$rss_down" <<'PY'
import json, statistics, sys
work = sys.argv[1]
print(f"{'case':<12} {'median':>9} {'min':>9} {'max':>9}   (seconds, berth)")
for name in ["small-up", "small-down", "tree-up", "tree-down", "ps"]:
    times = json.load(open(f"{work}/{name}.json"))["results"][0]["times"]
    print(f"{name:<12} {statistics.median(times):9.4f} {min(times):9.4f} {max(times):9.4f}")
up, ps, down = (int(v) / 1024 for v in sys.argv[2:5])
print(f"peak RSS of the CLI (MiB): up {up:.1f}, ps {ps:.1f}, down {down:.1f}")
PY
