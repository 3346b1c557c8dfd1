# shellcheck shell=bash disable=SC2154
# Sourced by the benchmarks that run berth's peers (compose.sh, build.sh): dockerd and rootful
# podman, each with state of its own under the caller's $work, started and stopped by the caller.
# Processes are stopped by their pid only, never by name. The caller snapshots the host first
# (host-state.sh) and, on exit: stop_dockerd, umount_under "$work", host_restore, engines_left.
# (SC2154: $work is the caller's. podman_ready tells the caller's cleanup that podman was used.)

# shellcheck disable=SC2034
dockerd_pid='' containerd_pid='' podman_ready=''

# wait_gone PID SECONDS: whether the process ended in time.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# dockerd with its own data, exec root, socket, pidfile and trust key (else /etc/docker/key.json),
# no default bridge (compose makes its own networks; builds run with --network none), the host's
# loopback as the upstream of its containers' DNS, and a dead proxy for its registry client, so
# that nothing it might try to pull leaves the machine. The docker CLI gets a config directory of
# its own too (BuildKit's CLI writes ~/.docker/.buildNodeID otherwise), with an empty config.json:
# podman reads DOCKER_CONFIG as well, and fails if that file is missing. Both are unset again
# when dockerd stops.
start_dockerd() {
  export DOCKER_HOST=unix://$work/docker.sock DOCKER_CONFIG=$work/docker-config
  mkdir -p "$DOCKER_CONFIG"
  echo '{}' >"$DOCKER_CONFIG/config.json"
  echo "{\"deprecated-key-path\": \"$work/key.json\"}" >"$work/daemon.json"
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY='' \
    setsid /usr/sbin/dockerd --data-root "$work/docker" --exec-root "$work/docker-run" \
      --pidfile "$work/dockerd.pid" --host "$DOCKER_HOST" --config-file "$work/daemon.json" \
      --bridge none --dns 127.0.0.1 >"$work/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  local deadline=$((SECONDS + 30))
  until /usr/bin/docker version >/dev/null 2>&1; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "dockerd did not start:" >&2; tail -n 20 "$work/dockerd.log" >&2; exit 1
    fi
    sleep 0.1
  done
  dockerd_pid=$(cat "$work/dockerd.pid")
  # Its containerd, to stop by pid should dockerd not take it down.
  containerd_pid=$(pgrep -P "$dockerd_pid" -x containerd || true)
}
stop_dockerd() {
  local pid
  for pid in $dockerd_pid $containerd_pid; do
    kill -TERM "$pid" 2>/dev/null || continue
    wait_gone "$pid" 30 || kill -KILL "$pid" 2>/dev/null || true
  done
  dockerd_pid='' containerd_pid=''
  unset DOCKER_HOST DOCKER_CONFIG
}
# dockerd_rss: the peak RSS of dockerd and its containerd, "NAME KIB" a line.
dockerd_rss() {
  local pid
  for pid in $dockerd_pid $containerd_pid; do
    awk -v name="$(cat "/proc/$pid/comm")" '/VmHWM/ {print name, $2}' "/proc/$pid/status"
  done
}

# Rootful podman with its own storage, network configs and tmp dir (CONTAINERS_STORAGE_CONF,
# CONTAINERS_CONF); Debian's containers.conf plus ulimits that fit this host's hard limits (root
# has no CAP_SYS_RESOURCE here: PEERS.md), no systemd, no events journal. (Its aardvark-dns would
# forward unknown names to the host's resolver: nothing run here looks any name up.)
setup_podman() {
  sed -e '/^\[containers\]$/a default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]' \
      -e "/^\\[network\\]\$/a network_config_dir = \"$work/podman/networks\"" \
      -e "/^\\[engine\\]\$/a tmp_dir = \"$work/podman/tmp\"" \
      -e '/^\[engine\]$/a cgroup_manager = "cgroupfs"\nevents_logger = "none"' \
      /usr/share/containers/containers.conf >"$work/containers.conf"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$work/podman/root" "$work/podman/run" >"$work/storage.conf"
  export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
  # shellcheck disable=SC2034
  podman_ready=1
}

# umount_under DIR: the mounts the engines left under DIR (overlays, netns), deepest first.
umount_under() {
  findmnt -rn -o TARGET | grep "^$1/" | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
}

# engines_left: warn of the engines' processes still alive: those that name $work (conmon,
# containerd-shim) and netavark's DNS server.
engines_left() {
  local left aardvark
  left=$(pgrep -f -- "$work" | tr '\n' ' ')
  aardvark=$(cat /run/containers/networks/aardvark-dns/aardvark.pid 2>/dev/null)
  [ -n "$aardvark" ] && kill -0 "$aardvark" 2>/dev/null && left+=" aardvark-dns $aardvark"
  [ -z "${left// /}" ] || echo "WARNING: processes left: $left" >&2
}
