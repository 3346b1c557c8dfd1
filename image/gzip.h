// Turning a tar (plain or compressed) into a gzip layer blob, for `berth image import`.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "image/digest.h"

namespace berth::image {

/// Reads the tar at `input_path_or_dash` ("-" for standard input), plain or compressed with
/// gzip, zstd, xz or bzip2, checks that it is a whole tar archive, and writes a gzip
/// copy of its uncompressed bytes to `sink` as they are read. Returns the diff id: the sha256
/// of the uncompressed tar. Errors are berth::Error `<path>: not a tar archive` and
/// `<path>: <reason>` (truncated, corrupt), <path> being "standard input" for "-";
/// exceptions from `sink` propagate.
Digest gzip_stream(const std::string& input_path_or_dash,
                   const std::function<void(const void* data, std::size_t size)>& sink);

}  // namespace berth::image
