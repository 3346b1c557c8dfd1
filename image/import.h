// `berth image import`: an image of one layer made from a root filesystem tar.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/manifest.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/clock.h"

namespace berth::image {

struct ImportOptions {
  std::vector<std::string> changes;  // Dockerfile instructions (`--change`)
  std::string message;               // history comment (`--message`)
  Platform platform;
};

/// Reads the tar at `source` ("-" for standard input; plain, gzip or zstd), stores it as a
/// gzip layer with an OCI manifest and a config carrying `options`, unpacks the layer, and
/// names the image `name` when given. Returns the image id (config digest).
Digest import_rootfs(const ImageStore& store, const std::string& source,
                     const std::optional<Reference>& name, const ImportOptions& options);

using berth::now_rfc3339;

}  // namespace berth::image
