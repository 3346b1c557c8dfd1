#!/usr/bin/env bash
# Process start-up, the floor under every berth command: `berth --version` beside /bin/true
# and `docker-compose version`, in one run. Shared libraries cost the dynamic loader about a
# millisecond each here, which is why berth links everything but libc statically.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-50}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hyperfine -N --warmup 5 --runs "$runs" --style basic --export-json "$work/result.json" \
  -n /bin/true /bin/true \
  -n berth "$berth --version" \
  -n docker-compose "docker-compose version --short" >/dev/null

python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print(f"start-up ({len(results['berth']['times'])} runs each, median):")
for name in ("/bin/true", "berth", "docker-compose"):
    print(f"  {name:15} {results[name]['median'] * 1000:8.1f} ms")
print(f"  ratio docker-compose / berth: {results['docker-compose']['median'] / results['berth']['median']:.1f}x")
PY
