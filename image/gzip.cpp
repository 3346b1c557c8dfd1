#include "image/gzip.h"

#include "image/gzip_writer.h"
#include "image/tar_reader.h"
#include "util/sha256.h"

namespace berth::image {

Digest gzip_stream(const std::string& input_path_or_dash,
                   const std::function<void(const void* data, std::size_t size)>& sink) {
  Sha256Stream sha256;
  GzipWriter gzip(sink);
  TarStream tar(input_path_or_dash,
                input_path_or_dash == "-" ? "standard input" : input_path_or_dash,
                [&](const void* data, std::size_t size) {
                  sha256.update(data, size);
                  gzip.write(data, size);
                });
  // Walking the headers checks the input is a whole tar; their data passes through unread.
  while (tar.next() != nullptr) {
  }
  tar.finish();
  gzip.close();
  return Digest::from_sha256_hex(sha256.finish_hex());
}

}  // namespace berth::image
