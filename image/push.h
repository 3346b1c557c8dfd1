// Pushing an image from the store to a registry.
#pragma once

#include "image/progress.h"
#include "image/reference.h"
#include "image/store.h"

namespace berth::image {

struct PushOptions {
  Progress* progress = nullptr;
  unsigned parallel_layers = 5;  // as Docker's max-concurrent-uploads
};

/// Uploads the image `reference` names (a reference without tag: every tag of that
/// repository) — layers the registry lacks (mounted from another repository of the same
/// registry when the store knows one), then the config and the manifest under its tag.
/// Unknown images: berth::Error `An image does not exist locally with the tag: <name>`.
void push_image(const ImageStore& store, const Reference& reference, const PushOptions& options);

}  // namespace berth::image
