#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/layer_unpack.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/unique_fd.h"

namespace berth::image {
namespace {

constexpr std::string_view k_ref_name = "org.opencontainers.image.ref.name";
constexpr std::string_view k_oci_layout = R"({"imageLayoutVersion":"1.0.0"})";
constexpr std::size_t k_write_buffer = 256 * 1024;
// Docker takes an image id prefix of at least 4 hex digits.
constexpr std::size_t k_min_id_prefix = 4;

std::string errno_text(const std::string& path) {
  return fmt::format("{}: {}", path, std::strerror(errno));
}

[[noreturn]] void throw_errno(const std::string& path) {
  throw Error(errno_text(path));
}

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno(path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// mkdir -p.
void make_directories(const std::string& path) {
  if (fs::is_directory(path)) {
    return;
  }
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      throw_errno(part);
    }
    if (slash == std::string::npos) {
      break;
    }
  }
}

/// A file with a unique name under tmp/, removed unless it is published by rename.
class TempFile {
 public:
  TempFile(const std::string& tmp_dir, std::string_view prefix)
      : m_path(fmt::format("{}/{}XXXXXX", tmp_dir, prefix)) {
    m_fd = Fd(::mkostemp(m_path.data(), O_CLOEXEC));
    if (m_fd.get() < 0) {
      throw_errno(tmp_dir);
    }
  }
  ~TempFile() { discard(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return m_fd.get(); }
  const std::string& path() const { return m_path; }

  /// Closes the file; a failed close can be the first report of a failed write.
  void close() {
    if (::close(m_fd.release()) != 0) {
      throw_errno(m_path);
    }
  }

  /// Renames the file to `target`. With `keep_existing`, an existing target wins (it has the
  /// same content: blobs are named by digest) and ours is dropped.
  void publish(const std::string& target, bool keep_existing) {
    if (keep_existing && exists(target)) {
      discard();
      return;
    }
    if (::rename(m_path.c_str(), target.c_str()) != 0) {
      throw_errno(target);
    }
    m_done = true;
  }

  void discard() noexcept {
    m_fd.reset();
    if (!m_done) {
      ::unlink(m_path.c_str());
      m_done = true;
    }
  }

 private:
  std::string m_path;
  Fd m_fd;
  bool m_done = false;
};

/// Removes `name` (relative to `dir_fd`) and everything under it. Symlinks are never
/// followed, and directories are made writable before their entries are removed: layers hold
/// read-only directories, whiteout devices and links pointing anywhere. Returns the bytes of
/// the regular files removed. `path` names the entry in errors.
std::int64_t remove_at(int dir_fd, const std::string& name, const std::string& path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return 0;
    }
    throw_errno(path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      throw_errno(path);
    }
    return S_ISREG(st.st_mode) ? st.st_size : 0;
  }
  if ((st.st_mode & S_IRWXU) != S_IRWXU &&
      ::fchmodat(dir_fd, name.c_str(), (st.st_mode & 07777) | S_IRWXU, 0) != 0) {
    throw_errno(path);
  }
  Fd dir(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) {
    throw_errno(path);
  }
  // Names first, removal after: a directory is not modified while it is being read.
  std::vector<std::string> names;
  {
    Fd listing(::dup(dir.get()));
    DIR* stream = listing.get() < 0 ? nullptr : ::fdopendir(listing.get());
    if (stream == nullptr) {
      throw_errno(path);
    }
    listing.release();
    while (const dirent* entry = ::readdir(stream)) {
      const std::string_view entry_name = entry->d_name;
      if (entry_name != "." && entry_name != "..") {
        names.emplace_back(entry_name);
      }
    }
    ::closedir(stream);
  }
  std::int64_t freed = 0;
  for (const auto& entry : names) {
    freed += remove_at(dir.get(), entry, path + "/" + entry);
  }
  dir.reset();
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    throw_errno(path);
  }
  return freed;
}

std::int64_t remove_tree(const std::string& path) {
  return remove_at(AT_FDCWD, path, path);
}

/// A directory under tmp/ that is removed with its content unless it was renamed away.
class TempDirectory {
 public:
  explicit TempDirectory(const std::string& tmp_dir) : m_path(tmp_dir + "/layer-XXXXXX") {
    if (::mkdtemp(m_path.data()) == nullptr) {
      throw_errno(tmp_dir);
    }
    // mkdtemp makes it 0700; the layer root becomes the container's "/" unless the tar says.
    if (::chmod(m_path.c_str(), 0755) != 0) {
      const std::string message = errno_text(m_path);
      ::rmdir(m_path.c_str());
      throw Error(message);
    }
  }
  ~TempDirectory() {
    if (!m_path.empty()) {
      try {
        remove_tree(m_path);
      } catch (const Error&) {
        // Left for the next garbage collection, which empties tmp/.
      }
    }
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  const std::string& path() const { return m_path; }
  void release() { m_path.clear(); }

 private:
  std::string m_path;
};

/// An flock on `path` (created if missing); released when the descriptor is closed.
Fd lock_file(const std::string& path, int operation) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    throw_errno(path);
  }
  while (::flock(fd.get(), operation) != 0) {
    if (errno != EINTR) {
      throw_errno(path);
    }
  }
  return fd;
}

/// Creates the layout's directories and oci-layout (last, so that it marks a complete layout).
void ensure_layout(const std::string& dir) {
  make_directories(dir);
  for (const char* sub : {"/blobs", "/blobs/sha256", "/layers", "/tmp"}) {
    const std::string path = dir + sub;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      throw_errno(path);
    }
  }
  const std::string layout = dir + "/oci-layout";
  if (!exists(layout)) {
    TempFile file(dir + "/tmp", "oci-layout-");
    write_all(file.fd(), k_oci_layout.data(), k_oci_layout.size(), file.path());
    if (::fchmod(file.fd(), 0644) != 0) {
      throw_errno(file.path());
    }
    file.close();
    file.publish(layout, true);
  }
}

/// Every entry of index.json; an unnamed one (see add_unnamed) has an empty name.
std::vector<ImageRecord> read_index(const std::string& dir) {
  const std::string path = dir + "/index.json";
  const auto text = fs::read_file_if_exists(path);
  if (!text) {
    return {};
  }
  const auto value = nlohmann::json::parse(*text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    throw Error(fmt::format("{}: not a JSON object", path));
  }
  const auto manifests = value.find("manifests");
  if (manifests == value.end()) {
    return {};
  }
  if (!manifests->is_array()) {
    throw Error(fmt::format("{}: \"manifests\" is not an array", path));
  }
  std::vector<ImageRecord> records;
  for (const auto& entry : *manifests) {
    ImageRecord record;
    record.manifest = descriptor_from_json(entry, path);
    const auto name = record.manifest.annotations.find(std::string(k_ref_name));
    if (name != record.manifest.annotations.end()) {
      record.name = name->second;
      record.manifest.annotations.erase(name);
    }
    records.push_back(std::move(record));
  }
  return records;
}

/// Replaces index.json by one listing `records`, sorted by name (then digest, for unnamed
/// entries) so that the file is stable. The caller holds index.lock.
void write_index(const std::string& dir, std::vector<ImageRecord> records) {
  std::sort(records.begin(), records.end(), [](const ImageRecord& a, const ImageRecord& b) {
    return std::tie(a.name, a.manifest.digest) < std::tie(b.name, b.manifest.digest);
  });
  nlohmann::ordered_json index;
  index["schemaVersion"] = 2;
  index["mediaType"] = media::oci_index;
  index["manifests"] = nlohmann::ordered_json::array();
  for (const auto& record : records) {
    Descriptor descriptor = record.manifest;
    if (!record.name.empty()) {
      descriptor.annotations[std::string(k_ref_name)] = record.name;
    }
    index["manifests"].push_back(nlohmann::ordered_json(to_json_value(descriptor)));
  }
  const std::string text = index.dump();
  TempFile file(dir + "/tmp", "index-");
  write_all(file.fd(), text.data(), text.size(), file.path());
  if (::fchmod(file.fd(), 0644) != 0) {
    throw_errno(file.path());
  }
  file.close();
  file.publish(dir + "/index.json", false);
}

/// Removes every entry of `dir` whose name is not in `keep`; the bytes freed.
std::int64_t sweep(const std::string& dir, const std::set<std::string>& keep) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return 0;
    }
    throw_errno(dir);
  }
  std::vector<std::string> names;
  {
    Fd listing(::dup(fd.get()));
    DIR* stream = listing.get() < 0 ? nullptr : ::fdopendir(listing.get());
    if (stream == nullptr) {
      throw_errno(dir);
    }
    listing.release();
    while (const dirent* entry = ::readdir(stream)) {
      const std::string name = entry->d_name;
      if (name != "." && name != ".." && !keep.contains(name)) {
        names.push_back(name);
      }
    }
    ::closedir(stream);
  }
  std::int64_t freed = 0;
  for (const auto& name : names) {
    freed += remove_at(fd.get(), name, dir + "/" + name);
  }
  return freed;
}

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The repository part of a stored name ("docker.io/library/redis:7@sha256:..." ->
/// "docker.io/library/redis"): a tag's ':' comes after the last '/'.
std::string repository_of(std::string_view name) {
  name = name.substr(0, name.find('@'));
  const auto colon = name.rfind(':');
  const auto slash = name.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    name = name.substr(0, colon);
  }
  return std::string(name);
}

ImageSummary summarise(const ImageStore& store, const std::vector<ImageRecord>& records,
                       const Descriptor& descriptor) {
  ImageSummary summary;
  summary.manifest = descriptor;
  const Manifest manifest = store.manifest(descriptor);
  summary.id = manifest.config.digest;
  summary.config = store.config(manifest);
  for (const auto& layer : manifest.layers) {
    summary.size += layer.size;
  }
  for (const auto& record : records) {
    if (record.manifest.digest != descriptor.digest || record.name.empty()) {
      continue;
    }
    const auto at = record.name.find('@');
    if (at == std::string::npos) {
      summary.repo_tags.push_back(record.name);
    } else {
      summary.repo_digests.push_back(repository_of(record.name) + record.name.substr(at));
    }
  }
  for (auto* names : {&summary.repo_tags, &summary.repo_digests}) {
    std::sort(names->begin(), names->end());
    names->erase(std::unique(names->begin(), names->end()), names->end());
  }
  return summary;
}

}  // namespace

// --- StoreLock -----------------------------------------------------------------------------

StoreLock::StoreLock(int fd) : m_fd(fd) {}

StoreLock::StoreLock(StoreLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

// --- BlobWriter ----------------------------------------------------------------------------

struct BlobWriter::State {
  explicit State(const std::string& dir)
      : blob_dir(dir + "/blobs/sha256"), file(dir + "/tmp", "blob-") {
    buffer.reserve(k_write_buffer);
  }

  void flush() {
    write_all(file.fd(), buffer.data(), buffer.size(), file.path());
    buffer.clear();
  }

  std::string blob_dir;
  TempFile file;
  Sha256Stream hash;
  std::string buffer;
  std::size_t size = 0;
  bool committed = false;
};

BlobWriter::BlobWriter(std::unique_ptr<State> state) : m_state(std::move(state)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

void BlobWriter::write(const void* data, std::size_t size) {
  if (!m_state || m_state->committed) {
    throw std::logic_error("BlobWriter::write after commit");
  }
  State& state = *m_state;
  const char* bytes = static_cast<const char*>(data);
  state.hash.update(bytes, size);
  state.size += size;
  if (state.buffer.size() + size > k_write_buffer) {
    state.flush();
  }
  if (size >= k_write_buffer) {
    write_all(state.file.fd(), bytes, size, state.file.path());
  } else {
    state.buffer.append(bytes, size);
  }
}

std::size_t BlobWriter::size() const {
  return m_state ? m_state->size : 0;
}

Digest BlobWriter::commit(const std::optional<Digest>& expected,
                          std::optional<std::int64_t> expected_size) {
  if (!m_state || m_state->committed) {
    throw std::logic_error("BlobWriter::commit called twice");
  }
  State& state = *m_state;
  // Whatever happens below, this writer is finished; on failure its temp file goes now.
  state.committed = true;
  try {
    state.flush();
    const Digest got = Digest::from_sha256_hex(state.hash.finish_hex());
    const std::string name = expected ? expected->str() : got.str();
    if (expected_size && *expected_size != static_cast<std::int64_t>(state.size)) {
      throw Error(fmt::format("blob {}: size mismatch (expected {} bytes, got {})", name,
                              *expected_size, state.size));
    }
    if (expected && *expected != got) {
      throw Error(fmt::format("blob {}: digest mismatch (got {})", name, got.str()));
    }
    if (::fchmod(state.file.fd(), 0444) != 0) {
      throw_errno(state.file.path());
    }
    state.file.close();
    state.file.publish(state.blob_dir + "/" + got.hex(), true);
    return got;
  } catch (...) {
    state.file.discard();
    throw;
  }
}

// --- ImageStore ----------------------------------------------------------------------------

ImageStore::ImageStore(std::string root)
    : m_dir((root.ends_with('/') ? root : root + "/") + "images") {}

StoreLock ImageStore::lock_shared() const {
  ensure_layout(m_dir);
  return StoreLock(lock_file(m_dir + "/lock", LOCK_SH).release());
}

StoreLock ImageStore::lock_exclusive() const {
  ensure_layout(m_dir);
  return StoreLock(lock_file(m_dir + "/lock", LOCK_EX).release());
}

std::string ImageStore::blob_path(const Digest& digest) const {
  return m_dir + "/blobs/sha256/" + digest.hex();
}

bool ImageStore::has_blob(const Digest& digest) const {
  return !digest.empty() && fs::is_file(blob_path(digest));
}

std::string ImageStore::read_blob(const Digest& digest) const {
  auto content = digest.empty() ? std::nullopt : fs::read_file_if_exists(blob_path(digest));
  if (!content) {
    throw Error(fmt::format("blob {}: not in the store", digest.str()));
  }
  return std::move(*content);
}

BlobWriter ImageStore::new_blob() const {
  ensure_layout(m_dir);
  return BlobWriter(std::make_unique<BlobWriter::State>(m_dir));
}

Digest ImageStore::put_blob(std::string_view data) const {
  const Digest digest = Digest::of(data);
  if (has_blob(digest)) {
    return digest;
  }
  BlobWriter writer = new_blob();
  writer.write(data);
  return writer.commit(digest);
}

std::string ImageStore::layer_path(const Digest& chain_id) const {
  return m_dir + "/layers/" + chain_id.hex();
}

bool ImageStore::has_layer(const Digest& chain_id) const {
  return !chain_id.empty() && fs::is_directory(layer_path(chain_id));
}

void ImageStore::unpack_layer(const Digest& blob, const Digest& diff_id,
                              const Digest& chain_id) const {
  if (has_layer(chain_id)) {
    return;
  }
  if (!has_blob(blob)) {
    throw Error(fmt::format("blob {}: not in the store", blob.str()));
  }
  ensure_layout(m_dir);
  TempDirectory unpacked(m_dir + "/tmp");
  const Digest got = image::unpack_layer(blob_path(blob), unpacked.path());
  if (got != diff_id) {
    throw Error(fmt::format("layer {}: diff id mismatch (config says {}, content is {})",
                            blob.str(), diff_id.str(), got.str()));
  }
  const std::string target = layer_path(chain_id);
  if (::rename(unpacked.path().c_str(), target.c_str()) == 0) {
    unpacked.release();
    return;
  }
  // Another process published the same layer first: ours is dropped with `unpacked`.
  if (errno != EEXIST && errno != ENOTEMPTY) {
    throw_errno(target);
  }
}

void ImageStore::adopt_layer(const std::string& dir, const Digest& blob, const Digest& diff_id,
                             const Digest& chain_id) const {
  const std::string target = layer_path(chain_id);
  if (!has_layer(chain_id)) {
    ensure_layout(m_dir);
    // The layer tar has no entry for the root, so the blob unpacks to a 0755 root: the
    // adopted directory must be the same layer, whatever mode its creator gave it.
    if (::chmod(dir.c_str(), 0755) != 0) {
      throw_errno(dir);
    }
    // rename(2) would replace an empty directory: has_layer above keeps an existing layer,
    // and a non-empty one published meanwhile makes the rename fail.
    if (::rename(dir.c_str(), target.c_str()) == 0) {
      return;
    }
    if (errno == EXDEV) {
      unpack_layer(blob, diff_id, chain_id);
    } else if (errno != EEXIST && errno != ENOTEMPTY) {
      throw_errno(target);
    }
  }
  remove_tree(dir);
}

std::vector<std::string> ImageStore::layer_stack(const ImageConfig& config) const {
  const std::vector<Digest> chain = chain_ids(config.diff_ids);
  std::vector<std::string> lower;
  lower.reserve(chain.size());
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    lower.push_back(layer_path(*it));
  }
  return lower;
}

std::vector<ImageRecord> ImageStore::records() const {
  auto all = read_index(m_dir);
  std::erase_if(all, [](const ImageRecord& record) { return record.name.empty(); });
  return all;
}

std::optional<Descriptor> ImageStore::resolve(const Reference& reference) const {
  const auto all = read_index(m_dir);
  const std::string name = reference.str();
  for (const auto& record : all) {
    if (record.name == name) {
      return record.manifest;
    }
  }
  // The manifest digest alone identifies the content, whatever names it has (or none).
  if (!reference.digest.empty()) {
    for (const auto& record : all) {
      if (record.manifest.digest.str() == reference.digest) {
        return record.manifest;
      }
    }
  }
  return std::nullopt;
}

std::optional<Descriptor> ImageStore::find(std::string_view name_or_id) const {
  const auto all = read_index(m_dir);
  std::string_view hex = name_or_id;
  if (hex.starts_with("sha256:")) {
    hex.remove_prefix(7);
  }
  const bool full_id = hex.size() == 64 && is_hex(hex);
  if (!full_id) {
    // Docker's order: a name first, then an id prefix.
    std::optional<Reference> reference;
    try {
      reference = parse_reference(name_or_id);
    } catch (const Error&) {
      // Not a reference; perhaps an id.
    }
    if (reference) {
      const std::string name = reference->str();
      for (const auto& record : all) {
        if (record.name == name) {
          return record.manifest;
        }
      }
    }
    if (hex.size() < k_min_id_prefix || !is_hex(hex)) {
      return std::nullopt;
    }
  }
  // An id is a config digest: read each distinct manifest once.
  std::map<Digest, Digest> config_of;
  std::optional<Descriptor> found;
  Digest found_id;
  for (const auto& record : all) {
    auto known = config_of.find(record.manifest.digest);
    if (known == config_of.end()) {
      Digest id;
      try {
        id = manifest(record.manifest).config.digest;
      } catch (const Error&) {
        // A manifest that cannot be read has no id to match.
      }
      known = config_of.emplace(record.manifest.digest, id).first;
    }
    const Digest& id = known->second;
    if (id.empty() || !id.hex().starts_with(hex)) {
      continue;
    }
    if (!found) {
      found = record.manifest;
      found_id = id;
    } else if (id != found_id) {
      throw Error(fmt::format("image id prefix \"{}\" is ambiguous", name_or_id));
    }
  }
  return found;
}

namespace {

/// True when two manifests describe the same image (config digest); false when either
/// cannot be read.
bool same_config(const ImageStore& store, const Descriptor& a, const Descriptor& b) {
  try {
    return store.manifest(a).config.digest == store.manifest(b).config.digest;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

void ImageStore::set_reference(const Reference& reference, const Descriptor& manifest) const {
  ensure_layout(m_dir);
  const Fd lock = lock_file(m_dir + "/index.lock", LOCK_EX);
  auto all = read_index(m_dir);
  ImageRecord record{reference.str(), manifest};
  record.manifest.annotations.erase(std::string(k_ref_name));
  std::optional<Descriptor> replaced;
  for (const auto& r : all) {
    if (r.name == record.name && r.manifest.digest != manifest.digest) replaced = r.manifest;
  }
  // A named image is no longer a dangling one.
  std::erase_if(all, [&](const ImageRecord& r) {
    return r.name == record.name || (r.name.empty() && r.manifest.digest == manifest.digest);
  });
  // The image the name left stays, as Docker's <none>:<none>, until rm or prune; unless it
  // is the same image (same config) in another manifest, e.g. recompressed by a save/load.
  if (replaced && !same_config(*this, *replaced, manifest) &&
      std::none_of(all.begin(), all.end(),
                   [&](const ImageRecord& r) { return r.manifest.digest == replaced->digest; })) {
    all.push_back(ImageRecord{"", *replaced});
  }
  all.push_back(std::move(record));
  write_index(m_dir, std::move(all));
}

bool ImageStore::remove_unnamed(const Digest& manifest) const {
  if (!fs::is_file(m_dir + "/index.json")) {
    return false;
  }
  const Fd lock = lock_file(m_dir + "/index.lock", LOCK_EX);
  auto all = read_index(m_dir);
  const auto removed = std::erase_if(
      all, [&](const ImageRecord& r) { return r.name.empty() && r.manifest.digest == manifest; });
  if (removed == 0) {
    return false;
  }
  write_index(m_dir, std::move(all));
  return true;
}

bool ImageStore::remove_reference(const Reference& reference) const {
  if (!fs::is_file(m_dir + "/index.json")) {
    return false;
  }
  const Fd lock = lock_file(m_dir + "/index.lock", LOCK_EX);
  auto all = read_index(m_dir);
  const std::string name = reference.str();
  const auto removed = std::erase_if(all, [&](const ImageRecord& r) { return r.name == name; });
  if (removed == 0) {
    return false;
  }
  write_index(m_dir, std::move(all));
  return true;
}

void ImageStore::add_unnamed(const Descriptor& manifest) const {
  ensure_layout(m_dir);
  const Fd lock = lock_file(m_dir + "/index.lock", LOCK_EX);
  auto all = read_index(m_dir);
  if (std::any_of(all.begin(), all.end(),
                  [&](const ImageRecord& r) { return r.manifest.digest == manifest.digest; })) {
    return;
  }
  ImageRecord record{"", manifest};
  record.manifest.annotations.erase(std::string(k_ref_name));
  all.push_back(std::move(record));
  write_index(m_dir, std::move(all));
}

Manifest ImageStore::manifest(const Descriptor& descriptor) const {
  return parse_manifest(read_blob(descriptor.digest), "manifest " + descriptor.digest.str());
}

ImageConfig ImageStore::config(const Manifest& manifest) const {
  return ImageConfig::parse(read_blob(manifest.config.digest),
                            "config " + manifest.config.digest.str());
}

std::vector<ImageSummary> ImageStore::images() const {
  const auto all = read_index(m_dir);
  std::set<Digest> seen;
  std::vector<ImageSummary> summaries;
  for (const auto& record : all) {
    if (seen.insert(record.manifest.digest).second) {
      summaries.push_back(summarise(*this, all, record.manifest));
    }
  }
  return summaries;
}

ImageSummary ImageStore::summary(const Descriptor& manifest) const {
  return summarise(*this, read_index(m_dir), manifest);
}

std::int64_t ImageStore::collect_garbage(const std::set<std::string>& kept_layers) const {
  if (!fs::is_directory(m_dir)) {
    return 0;
  }
  std::set<std::string> blobs;
  std::set<std::string> layers;
  for (const auto& dir : kept_layers) {
    if (dir.starts_with(m_dir + "/layers/")) layers.insert(dir.substr(m_dir.size() + 8));
  }
  for (const auto& record : read_index(m_dir)) {
    blobs.insert(record.manifest.digest.hex());
    // A broken image keeps what can still be read of it; the rest goes.
    try {
      const Manifest image = manifest(record.manifest);
      blobs.insert(image.config.digest.hex());
      for (const auto& layer : image.layers) {
        blobs.insert(layer.digest.hex());
      }
      for (const auto& chain : chain_ids(config(image).diff_ids)) {
        layers.insert(chain.hex());
      }
    } catch (const Error&) {
    }
  }
  return sweep(m_dir + "/blobs/sha256", blobs) + sweep(m_dir + "/layers", layers) +
         sweep(m_dir + "/tmp", {});
}

}  // namespace berth::image
