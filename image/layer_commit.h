// A build step's changes as an image layer: the overlay upper directory of the step's
// container (or of the mount COPY wrote into) archived as an OCI layer, with overlay's
// whiteouts turned into the layer format's, and kept as the unpacked layer too.
#pragma once

#include <optional>
#include <string>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/store.h"

namespace berth::image {

/// True when `upper` holds no change at all (an empty directory): the step adds no layer.
bool upper_is_empty(const std::string& upper);

struct CommittedLayer {
  Descriptor blob;  // media type oci_layer_gzip, digest and size of the compressed blob
  Digest diff_id;   // sha256 of the uncompressed tar
  Digest chain_id;  // chain id of the layer on top of `parent_chain`
};

/// Archives `upper` (not mounted any more) as a pax tar: every entry with its type, mode,
/// owner, modification time, xattrs other than overlay's own (trusted.overlay.*), hard
/// links within the layer; a whiteout (a 0/0 character device) becomes an empty file
/// `.wh.<name>`, an opaque directory (trusted.overlay.opaque = "y") the directory followed
/// by `<dir>/.wh..wh..opq`. Entries are sorted by name, so the same tree gives the same tar.
/// The tar is gzip-compressed into a new blob of `store`; then `upper` itself becomes the
/// unpacked layer `layers/<chain id>` (renamed; when another process made that layer first,
/// `upper` is removed instead), which is the format the store unpacks layers to. The caller
/// holds store.lock_shared(). berth::Error `<upper>: <why>`.
CommittedLayer commit_upper_dir(const ImageStore& store, const std::string& upper,
                                const std::optional<Digest>& parent_chain);

}  // namespace berth::image
