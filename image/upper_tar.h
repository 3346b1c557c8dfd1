// An overlay upper directory (what a build step changed) written as an OCI layer tar: overlay's
// whiteouts and opaque directories turned into the layer format's `.wh.` files.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace berth::image {

/// Writes `upper` (not mounted) as an uncompressed pax tar to `sink`, as
/// commit_upper_dir (image/layer_commit.h) describes: entries relative ("etc/passwd",
/// "app/"), no entry for the root; type, mode, owner, mtime (whole seconds, as Docker), and
/// xattrs other than overlay's own (trusted.overlay.*, user.overlay.*), as SCHILY.xattr
/// records; a second name of an inode as a hard link to the first; a 0/0 character device
/// as the empty file `.wh.<name>` (mode 0600); an opaque directory as the directory followed
/// at once by `<dir>/.wh..wh..opq`. Each directory's entries come in the order of their tar
/// names, a directory's content right after it, so the same tree gives the same bytes.
/// Sockets are skipped, as Docker does. A file with overlay's redirect or metacopy xattr
/// (whose content is partly in a lower layer) is refused. Errors are berth::Error
/// `<upper>: <entry>: <why>`; exceptions from `sink` propagate.
void write_upper_tar(const std::string& upper,
                     const std::function<void(const void* data, std::size_t size)>& sink);

}  // namespace berth::image
