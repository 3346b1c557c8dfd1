#include "image/layer_commit.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "image/gzip_writer.h"
#include "image/upper_tar.h"
#include "util/error.h"
#include "util/sha256.h"

namespace berth::image {

bool upper_is_empty(const std::string& upper) {
  DIR* stream = ::opendir(upper.c_str());
  if (stream == nullptr) {
    throw Error(upper + ": " + std::strerror(errno));
  }
  bool empty = true;
  errno = 0;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  const int error = errno;
  ::closedir(stream);
  if (empty && error != 0) {
    throw Error(upper + ": " + std::strerror(error));
  }
  return empty;
}

namespace {

/// Runs `step`, its berth::Error prefixed with `upper`: the store's and gzip's errors name
/// their own files, not the layer being committed.
template <typename Step>
void naming_upper(const std::string& upper, Step step) {
  try {
    step();
  } catch (const Error& e) {
    wrap(e, upper);
  }
}

}  // namespace

CommittedLayer commit_upper_dir(const ImageStore& store, const std::string& upper,
                                const std::optional<Digest>& parent_chain) {
  CommittedLayer layer;
  layer.blob.media_type = media::oci_layer_gzip;
  Sha256Stream tar_sha256;
  BlobWriter blob = store.new_blob();
  {
    // The fastest level: a build commits a layer at every step. Declared after `blob`, so
    // destroyed first: a stream abandoned on an error writes nothing more to it.
    GzipWriter gzip([&blob](const void* data, std::size_t size) { blob.write(data, size); },
                    GzipWriter::k_fast_level);
    write_upper_tar(upper, [&](const void* data, std::size_t size) {
      tar_sha256.update(data, size);
      naming_upper(upper, [&] { gzip.write(data, size); });
    });
    naming_upper(upper, [&] { gzip.close(); });
  }
  layer.diff_id = Digest::from_sha256_hex(tar_sha256.finish_hex());
  // The parent's chain id stands for its whole stack: chain(parent..., diff) in one step.
  layer.chain_id = parent_chain ? chain_ids({*parent_chain, layer.diff_id}).back() : layer.diff_id;
  naming_upper(upper, [&] {
    layer.blob.size = static_cast<std::int64_t>(blob.size());
    layer.blob.digest = blob.commit();
    store.adopt_layer(upper, layer.blob.digest, layer.diff_id, layer.chain_id);
  });
  return layer;
}

}  // namespace berth::image
