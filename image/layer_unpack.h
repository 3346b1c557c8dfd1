// Unpacking one layer blob (a tar, plain, gzip or zstd) into an empty directory, in the
// form overlayfs reads as a lower layer.
#pragma once

#include <string>

#include "image/digest.h"

namespace berth::image {

/// Extracts the layer tar at `blob_path` into `target_dir` (an existing, empty directory)
/// and returns the layer's diff id: the sha256 of the uncompressed tar stream.
///
/// - Compression (none, gzip, zstd) is detected from the content.
/// - OCI whiteouts become overlay whiteouts: `.wh.<name>` a 0:0 character device `<name>`,
///   `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory.
/// - Owners, modes (setuid/setgid/sticky included), xattrs, mtimes, hard links, symlinks,
///   device nodes and fifos are kept. Parent directories missing from the tar are made 0755.
/// - An entry whose name or hard-link target is absolute or has a ".." component is refused:
///   berth::Error `layer <blob_path>: entry "<name>" escapes the layer root`. Nothing is ever
///   resolved through a symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): an entry or
///   hard-link target whose parent path goes through a symlink of the layer is refused with
///   `layer <blob_path>: entry "<name>" goes through a symlink`, so a symlink cannot
///   redirect a later entry outside `target_dir`.
/// - A corrupt or truncated archive is berth::Error `layer <blob_path>: <libarchive's reason>`.
/// On error `target_dir` is left partly filled; the caller extracts into a temporary
/// directory and publishes it by rename only on success.
Digest unpack_layer(const std::string& blob_path, const std::string& target_dir);

/// The diff id of a layer blob without extracting it (decompress and hash).
Digest layer_diff_id(const std::string& blob_path);

}  // namespace berth::image
