# shellcheck shell=bash
# Shared by the benchmark scripts (sourced).

# busybox_rootfs_tar DIR [APPLET...]: a busybox root filesystem in DIR/rootfs (sh, true, sleep
# and the APPLETs given; root in passwd and group), packed as DIR/rootfs.tar for `image import`
# (or a Dockerfile's ADD) by berth and its peers.
busybox_rootfs_tar() {
  local dir=$1 applet
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc"
  cp /bin/busybox "$dir/rootfs/bin/"
  for applet in sh true sleep "${@:2}"; do ln -s busybox "$dir/rootfs/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/rootfs/etc/passwd"
  echo 'root:x:0:' >"$dir/rootfs/etc/group"
  tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
}
