// The image store under <root>/images, with OCI image-layout semantics:
//
//   images/oci-layout              {"imageLayoutVersion":"1.0.0"}
//   images/index.json              OCI index: one manifest descriptor per reference, the
//                                  reference (Reference::str()) in the annotation
//                                  "org.opencontainers.image.ref.name"
//   images/blobs/sha256/<hex>      manifests, configs, layer blobs, by digest
//   images/layers/<chain hex>/     a layer unpacked (its diff only), shared by every image
//                                  whose stack has that chain id; overlay lowers stack them
//   images/tmp/                    blobs and layers being written; never read
//   images/lock                    flock: shared while adding content, exclusive for GC
//   images/index.lock              flock: exclusive around each read-modify-write of index.json
//
// Everything becomes visible by rename only once complete and verified, so a process killed
// at any point leaves no partial blob, layer or index; what it left in tmp/ is removed by
// the next garbage collection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"

namespace berth::image {

/// An flock on a store lock file, released when the object dies.
class StoreLock {
 public:
  StoreLock(StoreLock&&) noexcept;
  StoreLock& operator=(StoreLock&&) noexcept;
  ~StoreLock();

 private:
  friend class ImageStore;
  explicit StoreLock(int fd);
  int m_fd = -1;
};

/// A blob being written: data goes to a temp file while its sha256 is computed; commit()
/// checks digest and size and only then renames it into blobs/. Destroyed without commit, it
/// removes its temp file.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();

  void write(const void* data, std::size_t size);
  void write(std::string_view data) { write(data.data(), data.size()); }
  std::size_t size() const;
  /// Verifies and publishes. With `expected`, a mismatch is berth::Error
  /// `blob <expected>: digest mismatch (got sha256:...)` or `...: size mismatch (expected N
  /// bytes, got M)` and nothing is published. Returns the blob's digest.
  Digest commit(const std::optional<Digest>& expected = std::nullopt,
                std::optional<std::int64_t> expected_size = std::nullopt);

 private:
  friend class ImageStore;
  struct State;
  explicit BlobWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

/// One entry of index.json: a reference and the manifest it names.
struct ImageRecord {
  std::string name;     // Reference::str(): "docker.io/library/redis:7", or repo@digest
  Descriptor manifest;  // media type, digest, size of the image manifest
};

/// What `image ls` and `inspect` show, gathered from the index, manifests and configs.
struct ImageSummary {
  Digest id;  // the config digest (Docker's image id)
  Descriptor manifest;
  std::vector<std::string> repo_tags;     // Reference::str() of name:tag references
  std::vector<std::string> repo_digests;  // repo@sha256:... references
  std::int64_t size = 0;                  // sum of layer blob sizes
  ImageConfig config;
};

class ImageStore {
 public:
  /// The store under `<root>/images`; directories are created on first write.
  explicit ImageStore(std::string root);

  const std::string& directory() const { return m_dir; }

  // --- locks -----------------------------------------------------------------------------
  /// Held by anything that adds content (pull, load, import, build) for its whole duration.
  StoreLock lock_shared() const;
  /// Held by garbage collection (rm, prune): waits for adders to finish.
  StoreLock lock_exclusive() const;

  // --- blobs -----------------------------------------------------------------------------
  std::string blob_path(const Digest& digest) const;
  bool has_blob(const Digest& digest) const;
  /// The blob's bytes; berth::Error `blob sha256:...: not in the store` when absent.
  std::string read_blob(const Digest& digest) const;
  BlobWriter new_blob() const;
  /// Writes small blobs (manifests, configs) in one go; a no-op when present.
  Digest put_blob(std::string_view data) const;

  // --- layers ----------------------------------------------------------------------------
  std::string layer_path(const Digest& chain_id) const;
  bool has_layer(const Digest& chain_id) const;
  /// Unpacks the layer blob `blob` into layers/<chain_id> (via tmp/ and rename) unless it is
  /// there; checks that its diff id is `diff_id` (berth::Error `layer sha256:...: diff id
  /// mismatch` otherwise). Safe when two processes unpack the same layer at once.
  void unpack_layer(const Digest& blob, const Digest& diff_id, const Digest& chain_id) const;
  /// Makes `dir`, a layer already in unpacked form (a build step's overlay upper directory),
  /// the layer layers/<chain_id> by rename, its root made 0755 as unpacking makes it. When
  /// the layer is there already (another build made it first), `dir` is removed instead;
  /// when `dir` is on another file system, the layer is unpacked from the blob `blob`
  /// (checked against `diff_id`) and `dir` removed. Either way `dir` is gone afterwards.
  void adopt_layer(const std::string& dir, const Digest& blob, const Digest& diff_id,
                   const Digest& chain_id) const;
  /// The overlay lower dirs of an image's rootfs, top layer first (overlay's lowerdir order).
  std::vector<std::string> layer_stack(const ImageConfig& config) const;

  // --- references ------------------------------------------------------------------------
  std::vector<ImageRecord> records() const;
  /// The manifest a reference names, if any. A reference with a digest also matches by
  /// manifest digest alone.
  std::optional<Descriptor> resolve(const Reference& reference) const;
  /// Finds an image by what a user typed: a reference (`redis`, `redis:7`), a full or short
  /// (at least 4 hex digits... as Docker) image id, or "sha256:<id>". nullopt if none.
  std::optional<Descriptor> find(std::string_view name_or_id) const;
  /// Points `reference` at `manifest`. An image the name leaves that nothing else names stays
  /// as an unnamed entry (Docker's dangling <none>:<none>).
  void set_reference(const Reference& reference, const Descriptor& manifest) const;
  /// Removes a reference; false when it did not exist.
  bool remove_reference(const Reference& reference) const;
  /// Keeps `manifest` in the index without a name (Docker's <none>:<none>: an image loaded
  /// or imported without one) unless the index already has it. Such entries are not in
  /// records(), but images(), find() by id and garbage collection see them.
  void add_unnamed(const Descriptor& manifest) const;
  /// Drops the unnamed entry of `manifest`; false when there was none.
  bool remove_unnamed(const Digest& manifest) const;

  // --- images ----------------------------------------------------------------------------
  Manifest manifest(const Descriptor& descriptor) const;
  ImageConfig config(const Manifest& manifest) const;
  /// One summary per distinct manifest in the index.
  std::vector<ImageSummary> images() const;
  ImageSummary summary(const Descriptor& manifest) const;

  // --- garbage collection (caller holds lock_exclusive) -----------------------------------
  /// Removes every blob and layer no index entry reaches, and everything in tmp/. Returns
  /// the bytes freed.
  /// `kept_layers`: unpacked layer directories (layer_stack's paths) that stay whatever the
  /// index says, because containers mount them.
  std::int64_t collect_garbage(const std::set<std::string>& kept_layers = {}) const;

 private:
  std::string m_dir;
};

}  // namespace berth::image
