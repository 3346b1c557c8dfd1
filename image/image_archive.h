// `berth image save` and `load`: images as tar archives that Docker and podman read and
// write. A saved archive is both an OCI image layout (oci-layout, index.json, blobs/) and a
// docker-archive (manifest.json naming the same blobs), as `docker save` writes since 25.0;
// load reads either kind, including the older docker-archive with <id>/layer.tar entries.
#pragma once

#include <string>
#include <vector>

#include "image/store.h"

namespace berth::image {

/// Writes the images `names` (references or ids) to `output` ("-" for standard output).
/// Unknown names: berth::Error `No such image: <name>`, before anything is written.
void save_images(const ImageStore& store, const std::vector<std::string>& names,
                 const std::string& output);

struct LoadedImage {
  Digest id;
  std::vector<std::string> names;  // familiar references
};

/// Reads an archive from `input` ("-" for standard input) into the store; every blob is
/// verified against its digest. Returns what was loaded, in archive order.
std::vector<LoadedImage> load_images(const ImageStore& store, const std::string& input);

}  // namespace berth::image
