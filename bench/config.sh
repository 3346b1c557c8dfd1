#!/usr/bin/env bash
# `config -q` on a generated 100-service project: berth against docker-compose (Debian's
# Python docker-compose 1.29, which needs no engine for `config`), one run, as a ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/gen-project.sh" "$work/project" 100
cd "$work/project"
"$berth" config -q  # fails loudly if berth cannot load it
docker-compose config -q

hyperfine --warmup 3 --runs "$runs" --style basic --export-json "$work/result.json" \
  -n berth "$berth config -q" \
  -n docker-compose "docker-compose config -q" >/dev/null

python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
berth, peer = results["berth"], results["docker-compose"]
print(f"config -q, 100 services ({len(berth['times'])} runs each, median):")
for name, r in (("berth", berth), ("docker-compose", peer)):
    print(f"  {name:15} {r['median'] * 1000:8.1f} ms  (min {r['min'] * 1000:.1f}, max {r['max'] * 1000:.1f})")
print(f"  ratio docker-compose / berth: {peer['median'] / berth['median']:.1f}x")
PY
