#!/usr/bin/env bash
# Writes a compose project of N services (default 100) into DIR: anchors and merge keys,
# extends chains, interpolation with defaults, a .env, ports, volumes, depends_on, healthchecks.
set -euo pipefail
dir=$1
count=${2:-100}
mkdir -p "$dir"
{
  echo 'x-base: &base'
  echo '  restart: unless-stopped'
  echo '  logging:'
  echo '    driver: json-file'
  echo '    options: {max-size: 10m}'
  echo '  environment:'
  echo '    REGION: ${REGION:-eu}'
  echo '    TIER: ${TIER:?set TIER}'
  echo 'services:'
  echo '  base:'
  echo '    <<: *base'
  echo '    image: ${REGISTRY:-localhost:5000}/base:${TAG:-1}'
  echo '    healthcheck:'
  echo '      test: nc -z 127.0.0.1 80'
  echo '      interval: 1m30s'
  for i in $(seq 1 "$count"); do
    echo "  svc$i:"
    echo "    <<: *base"
    echo "    extends: base"
    echo "    image: \${REGISTRY:-localhost:5000}/svc$i:\${TAG:-1}"
    echo "    command: sh -c 'echo svc$i \$\$HOSTNAME && sleep 3600'"
    echo "    ports: [\"$((20000 + i)):80\"]"
    echo "    volumes: [\"data$i:/data\", \"./conf/svc$i:/etc/svc:ro\"]"
    if [ "$i" -gt 1 ]; then echo "    depends_on: [svc$((i - 1))]"; fi
  done
  echo 'volumes:'
  for i in $(seq 1 "$count"); do echo "  data$i:"; done
} > "$dir/compose.yaml"
printf 'TIER=gold\nTAG=2\n' > "$dir/.env"
