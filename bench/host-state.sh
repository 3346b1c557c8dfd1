# shellcheck shell=bash
# Sourced by benchmarks that start dockerd or podman: what those engines change on the host,
# snapshotted before and put back after. Other things on this machine (berth's own test suite)
# may change the host at the same time, so nothing is restored wholesale: only what the engines
# are known to add is removed, one rule, chain or link at a time, and berth's own rules, links and
# netns are ignored when comparing: berth* and bv*, and its tests' bfw*, bto* (see berth_names).

# What dockerd, containerd, netavark and podman name their rules, chains and links.
engine_re='DOCKER|NETAVARK|docker0|br-[0-9a-f]{12}|podman[0-9]+'
# Kernel settings the engines turn on.
host_sysctls=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.bridge.bridge-nf-call-iptables
              net.bridge.bridge-nf-call-ip6tables)
# Host paths the engines create whatever their configured roots: removed again if they were not
# there before. Directories that others share (/run/netns, /run/crun) are only removed if empty.
# (And the docker CLI's own directory, ~/.docker: the benchmarks point DOCKER_CONFIG elsewhere.)
host_paths=(/etc/docker/key.json /opt/containerd /run/docker /run/containerd /var/lib/docker
            /run/containers /var/lib/containers /var/cache/containers /run/libpod
            "${HOME:-/root}/.docker")
shared_paths=(/run/crun /run/netns /etc/docker /var/lib/containers/cache)
# Host files the engines change in place whatever their configured roots: `podman build` (buildah)
# writes its blob info cache under /var/lib/containers/cache, not in the storage it is given. A
# copy is kept by host_snapshot and put back by host_restore (or the file removed if it is new).
host_files=(/var/lib/containers/cache/blob-info-cache-v1.boltdb)
# Cgroups the engines make with the cgroupfs driver, in each v1 hierarchy or in the v2 tree:
# dockerd's docker/ (BuildKit's docker/buildkit/), podman's libpod_parent/ (and its conmon/),
# buildah's buildah-*/ of RUN steps. Their containers' own cgroups go with the containers.
engine_cgroup_re='/(docker|docker/buildkit|libpod_parent|libpod_parent/conmon|buildah-[^/]+)$'

# Names of links and netns that berth and its test suite make (it may run at the same time).
berth_names='^(berth|bv|bfw|bto)'

# The host's state as text, one file per aspect, comparable with diff. Links and netns by name,
# firewall rules without counters; berth's own (concurrent tests) left out.
host_state() {
  local dir=$1 cmd sysctl
  mkdir -p "$dir"
  ip -o link | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -v -E "$berth_names" | sort \
    >"$dir/links" || true
  ip netns list | awk '{print $1}' | grep -v -E "$berth_names" | sort >"$dir/netns" || true
  for cmd in iptables ip6tables; do
    "$cmd"-save 2>/dev/null | grep -v -E '^#|berth|BERTH' | sed 's/ \[[0-9]*:[0-9]*\]$//' \
      >"$dir/$cmd" || true
  done
  for sysctl in "${host_sysctls[@]}"; do
    echo "$sysctl=$(sysctl -n "$sysctl" 2>/dev/null || echo absent)"
  done >"$dir/sysctls"
  for path in "${host_paths[@]}" "${shared_paths[@]}"; do
    [ -e "$path" ] && echo "$path"
  done >"$dir/paths" || true
  engine_cgroups >"$dir/cgroups"
  for path in "${host_files[@]}"; do
    [ ! -f "$path" ] || sha256sum "$path"
  done >"$dir/files"
}

# engine_cgroups: the engines' cgroup directories (engine_cgroup_re), one a line, sorted.
engine_cgroups() {
  find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | grep -E "$engine_cgroup_re" |
    sort || true
}

# host_snapshot WORK: the host's state, and a copy of each of host_files (by its index).
host_snapshot() {
  local i
  host_state "$1/before"
  mkdir -p "$1/before/copies"
  for i in "${!host_files[@]}"; do
    [ ! -f "${host_files[i]}" ] || cp -p "${host_files[i]}" "$1/before/copies/$i"
  done
}

# delete_engine_rules CMD: every rule that jumps to an engine's chain or names an engine's link
# (in the built-in chains), then the engine's own chains, in every table; then the FORWARD policy
# as it was (dockerd may set it to DROP).
delete_engine_rules() {
  local cmd=$1 snapshot=$2 table rule chain action policy
  command -v "$cmd" >/dev/null || return 0
  for table in filter nat mangle raw; do
    "$cmd"-save -t "$table" 2>/dev/null | grep -E '^-A ' | grep -E "$engine_re" |
      grep -v -E '^-A (DOCKER|NETAVARK)' | while IFS= read -r rule; do
      # iptables-save quotes comments as a shell would: let the shell split the rule.
      eval "set -- ${rule#-A }"
      "$cmd" -w -t "$table" -D "$@" || true
    done
    # Chains refer to each other: flush them all before deleting any.
    for action in -F -X; do
      "$cmd"-save -t "$table" 2>/dev/null | sed -n -E 's/^:((DOCKER|NETAVARK)[^ ]*) .*/\1/p' |
        while read -r chain; do "$cmd" -w -t "$table" "$action" "$chain" || true; done
    done
  done
  policy=$(sed -n 's/^:FORWARD \([A-Z]*\).*/\1/p' "$snapshot/$cmd" | head -1)
  [ -z "$policy" ] || "$cmd" -w -P FORWARD "$policy" || true
}

# host_restore WORK: put back what the engines changed since host_snapshot WORK.
host_restore() {
  local before=$1/before link line name value path i
  [ -d "$before" ] || return 0
  # Links the engines made (their bridges; veths go with their netns), if not there before.
  while read -r link; do
    grep -qx -- "$link" "$before/links" || ip link delete "$link" 2>/dev/null || true
  done < <(ip -o link | awk -F': ' '{sub(/@.*/, "", $2); print $2}' |
           grep -E '^(docker0|br-[0-9a-f]{12}|podman[0-9]+)$')
  delete_engine_rules iptables "$before"
  delete_engine_rules ip6tables "$before"
  while IFS= read -r line; do
    name=${line%%=*} value=${line#*=}
    [ "$value" = absent ] || [ "$(sysctl -n "$name" 2>/dev/null)" = "$value" ] ||
      sysctl -q -w "$name=$value" || true
  done <"$before/sysctls"
  # Cgroups the engines made (empty now that their processes are gone), deepest first.
  engine_cgroups | sort -r | while read -r path; do
    grep -qx -- "$path" "$before/cgroups" || rmdir "$path" 2>/dev/null || true
  done
  # Files changed in place: the copy put back (renamed over it, never half-written), or removed.
  for i in "${!host_files[@]}"; do
    path=${host_files[i]}
    if [ -f "$before/copies/$i" ]; then
      cmp -s "$before/copies/$i" "$path" ||
        { cp -p "$before/copies/$i" "$path.bench-restore" && mv -f "$path.bench-restore" "$path"; }
    else
      rm -f "$path"
    fi
  done
  for path in "${host_paths[@]}"; do
    grep -qx -- "$path" "$before/paths" || rm -rf "$path"
  done
  for path in "${shared_paths[@]}"; do
    grep -qx -- "$path" "$before/paths" || rmdir "$path" 2>/dev/null || true
  done
}

# host_check WORK: compare the host with the snapshot; print what differs, as a warning.
host_check() {
  local work=$1 aspect status=0
  host_state "$work/after"
  for aspect in links netns iptables ip6tables sysctls paths cgroups files; do
    if ! diff -u "$work/before/$aspect" "$work/after/$aspect" >"$work/after/$aspect.diff"; then
      echo "WARNING: the host's $aspect differ from before the benchmark:" >&2
      sed -n '3,$p' "$work/after/$aspect.diff" | grep -E '^[-+]' >&2
      status=1
    fi
  done
  return "$status"
}
