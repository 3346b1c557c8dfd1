#!/usr/bin/env bash
# Installs what bench/compose.sh compares berth with: Debian's docker.io + docker-compose 1.29 and
# podman + podman-compose 1.0.3, plus hyperfine and GNU time. Idempotent, and quick when all of it
# is already there. No daemon is started: the benchmark starts dockerd itself, with its own state.
set -euo pipefail
packages=(docker.io docker-compose podman podman-compose crun netavark aardvark-dns conmon
          catatonit hyperfine time busybox-static iptables)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Debian's maintainer scripts start the services they install (dockerd, containerd) unless
# policy-rc.d says no. Only a policy file this script created is removed again.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
remove_policy() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap remove_policy EXIT

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
# A machine whose package lists are missing or stale needs one update first.
install || { apt-get update -q >/dev/null && install; }
echo "installed: ${missing[*]}" >&2
