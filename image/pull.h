// Pulling an image from a registry into the store.
#pragma once

#include "image/manifest.h"
#include "image/progress.h"
#include "image/reference.h"
#include "image/store.h"

namespace berth::image {

struct PullOptions {
  Platform platform;              // which image of a multi-platform index
  Progress* progress = nullptr;   // nullptr: print nothing
  unsigned parallel_layers = 3;   // as Docker's max-concurrent-downloads
};

/// Makes `reference` name the registry's current image: asks the registry which manifest it
/// names (one HEAD request), and when the store already has that image complete, only
/// re-points the name. Otherwise fetches the manifest (resolving an index to
/// `options.platform`), config and missing layer blobs (in parallel, each verified against
/// its digest), unpacks the layers, then sets the name and a repo@digest reference.
/// Returns the image manifest's descriptor.
Descriptor pull_image(const ImageStore& store, const Reference& reference,
                      const PullOptions& options);

}  // namespace berth::image
