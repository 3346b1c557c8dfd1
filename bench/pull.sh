#!/usr/bin/env bash
# Pulling from a registry on loopback: berth against skopeo (Debian's, copying to an OCI
# directory) on the same 3-layer, ~100 MB image, in one run, as a ratio; then a pull of an
# image berth already has, which must stay under 50 ms. berth's pull also unpacks the layers,
# which skopeo's copy does not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$here/../build/berth}
runs=${RUNS:-10}
layer_mb=${LAYER_MB:-33}
work=$(mktemp -d)
registry_pid=
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A registry of our own on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
health:
  storagedriver:
    enabled: false
log:
  level: error
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done

# Three layers of incompressible data, pushed as three one-layer images, then tied into one
# 3-layer image by a config and manifest of our own.
export BERTH_ROOT=$work/source BERTH_CONFIG=$work/none.json DOCKER_CONFIG=$work/docker
repo=127.0.0.1:$port/bench/big
for i in 1 2 3; do
  mkdir -p "$work/tree$i/data"
  head -c "$((layer_mb * 1000 * 1000))" /dev/urandom >"$work/tree$i/data/layer$i"
  tar -C "$work/tree$i" -cf "$work/layer$i.tar" .
  "$berth" image import "$work/layer$i.tar" "$repo:part$i" >/dev/null
  "$berth" image push -q "$repo:part$i"
done
python3 - "$work" "$repo" "$port" <<'PY'
import hashlib, json, subprocess, sys
work, repo, port = sys.argv[1], sys.argv[2], sys.argv[3]
layers, diff_ids = [], []
store = f"{work}/source/images"
index = json.load(open(f"{store}/index.json"))
for i in (1, 2, 3):
    entry = next(m for m in index["manifests"]
                 if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == f"{repo}:part{i}")
    manifest = json.load(open(f"{store}/blobs/sha256/{entry['digest'][7:]}"))
    config = json.load(open(f"{store}/blobs/sha256/{manifest['config']['digest'][7:]}"))
    layers.append(manifest["layers"][0])
    diff_ids.append(config["rootfs"]["diff_ids"][0])
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
base = f"http://127.0.0.1:{port}/v2/bench/big"
location = subprocess.check_output(["curl", "-sfi", "-X", "POST", f"{base}/blobs/uploads/"]).decode()
upload = next(l.split(":", 1)[1].strip() for l in location.splitlines() if l.lower().startswith("location:"))
sep = "&" if "?" in upload else "?"
subprocess.run(["curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream",
                "--data-binary", "@-", f"{upload}{sep}digest={config_digest}"], input=config, check=True)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": config_digest, "size": len(config)},
                       "layers": layers}).encode()
subprocess.run(["curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.manifest.v1+json",
                "--data-binary", "@-", f"{base}/manifests/1"], input=manifest, check=True)
PY

export BERTH_ROOT=$work/pulled
hyperfine --warmup 1 --runs "$runs" --style basic --export-json "$work/cold.json" \
  --prepare "rm -rf '$work/pulled' '$work/skopeo'" \
  -n berth "$berth image pull -q $repo:1" \
  -n skopeo "skopeo copy -q --src-tls-verify=false docker://$repo:1 oci:$work/skopeo:1" >/dev/null
"$berth" image pull -q "$repo:1" >/dev/null
hyperfine -N --warmup 3 --runs 30 --style basic --export-json "$work/warm.json" \
  -n present "$berth image pull -q $repo:1" >/dev/null

python3 - "$work/cold.json" "$work/warm.json" "$layer_mb" <<'PY'
import json, sys
cold = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
warm = json.load(open(sys.argv[2]))["results"][0]
mb = 3 * int(sys.argv[3])
berth, skopeo = cold["berth"], cold["skopeo"]
print(f"pull of a 3-layer, {mb} MB image from a registry on loopback ({len(berth['times'])} runs each, median):")
print(f"  berth (pull + unpack)   {berth['median'] * 1000:8.1f} ms")
print(f"  skopeo copy (no unpack) {skopeo['median'] * 1000:8.1f} ms")
print(f"  ratio skopeo / berth: {skopeo['median'] / berth['median']:.2f}x")
print(f"pull of an image already present: {warm['median'] * 1000:.1f} ms median (target < 50 ms)")
PY
