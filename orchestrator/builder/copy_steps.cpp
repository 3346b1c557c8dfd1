// COPY, ADD and WORKDIR: steps that write files into the stage's root from the host side
// (image/dockerfile/sources.h), through an overlay mounted in a private namespace.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "image/dockerfile/lexer.h"
#include "image/dockerfile/sources.h"
#include "image/http.h"
#include "image/layer_commit.h"
#include "image/pull.h"
#include "image/reference.h"
#include "image/tar_reader.h"
#include "orchestrator/builder/build_session.h"
#include "orchestrator/builder/step_root.h"
#include "orchestrator/containers/copy_unpack.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/safe_open.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/unique_fd.h"

namespace berth::builder {

using image::dockerfile::Instruction;
using nlohmann::json;
namespace df = image::dockerfile;
namespace stdfs = std::filesystem;

namespace {

/// A file of the step's root, "" when it has none (an image without /etc/passwd).
std::string read_in_root(int root, const std::string& path) {
  const Fd fd = open_in_root(root, path, O_RDONLY | O_CLOEXEC);
  if (!fd) return "";
  std::string content;
  char buffer[8192];
  for (ssize_t got; (got = ::read(fd.get(), buffer, sizeof buffer)) > 0;) {
    content.append(buffer, static_cast<std::size_t>(got));
  }
  return content;
}

/// The id of `name` in a passwd or group file's content (its third field), nullopt if absent.
std::optional<unsigned> id_in(const std::string& content, const std::string& name) {
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    const std::string line = content.substr(start, end - start);
    start = end + 1;
    std::vector<std::string> fields;
    std::size_t from = 0;
    for (std::size_t colon; (colon = line.find(':', from)) != std::string::npos; from = colon + 1)
      fields.push_back(line.substr(from, colon - from));
    fields.push_back(line.substr(from));
    if (fields.size() >= 3 && fields[0] == name) {
      try {
        return static_cast<unsigned>(std::stoul(fields[2]));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

/// `--chown=user[:group]` (names or ids) in the step's root. Docker: a user without a group
/// gives the group of the same number (or, for a name, the user's own id).
Owner resolve_owner(int root, const std::string& spec, const std::string& where) {
  const auto colon = spec.find(':');
  const std::string user = spec.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const auto lookup = [&](const std::string& name, const char* file) -> unsigned {
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
      return static_cast<unsigned>(std::stoul(name));
    const auto id = id_in(read_in_root(root, file), name);
    if (!id)
      throw Error(fmt::format("{}: --chown={}: unable to find {} {}", where, spec,
                              file == std::string("etc/passwd") ? "user" : "group", name));
    return *id;
  };
  Owner owner;
  owner.uid = lookup(user, "etc/passwd");
  owner.gid = group.empty() ? owner.uid : lookup(group, "etc/group");
  return owner;
}

std::optional<mode_t> parse_chmod(const StageRun& run, const Instruction& instruction,
                                  const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("01234567") != std::string::npos || text.size() > 4)
    run.fail(instruction, fmt::format("invalid chmod parameter: {}", text));
  return static_cast<mode_t>(std::stoul(text, nullptr, 8));
}

/// Where a --from source comes from: another stage's final state, or an image.
struct FromRoot {
  std::vector<std::string> lower_dirs;
  std::string identity;  // the stage's cache id or the image's id
  std::string label;     // "stage build", "image alpine"
};

FromRoot from_root(StageRun& run, const Instruction& instruction, const std::string& from) {
  if (const auto index = find_stage(run.session.file, from, run.index)) {
    const BuildState source = run.session.stages.at(*index).get();
    return {source.lower_dirs(run.session.images), source.cache_id, "stage " + from};
  }
  if (find_stage(run.session.file, from, run.session.file.stages.size())) {
    run.fail(instruction,
             fmt::format("--from={}: a stage can only copy from an earlier stage", from));
  }
  const image::ImageStore& images = run.session.images;
  auto found = images.find(from);
  if (!found || run.session.options.pull) {
    try {
      found = image::pull_image(images, image::parse_reference(from), {});
    } catch (const Error& e) {
      if (!found) run.fail(instruction, fmt::format("--from={}: {}", from, e.what()));
    }
  }
  const image::ImageConfig config = images.config(images.manifest(*found));
  return {images.layer_stack(config), images.manifest(*found).config.digest.str(), "image " + from};
}

bool is_url(std::string_view source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

/// ADD <url>: fetched into `dir` under the URL's last path element; 0600 as Docker makes it,
/// with the Last-Modified time when the server gives one.
std::string download(const std::string& url, const std::string& dir, const std::string& checksum) {
  std::string name = url.substr(url.find("://") + 3);
  name = name.substr(0, name.find_first_of("?#"));
  name = name.find('/') == std::string::npos ? "" : name.substr(name.rfind('/') + 1);
  if (name.empty()) name = "__unnamed__";
  stdfs::create_directories(dir);
  const std::string path = dir + "/" + name;
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
  Sha256Stream hash;
  image::HttpClient client;
  image::HttpRequest request;
  request.url = url;
  request.follow_redirects = true;
  image::BodySink sink;
  sink.write = [&](const void* data, std::size_t size) {
    hash.update(std::string_view(static_cast<const char*>(data), size));
    for (std::size_t done = 0; done < size;) {
      const ssize_t wrote = ::write(fd.get(), static_cast<const char*>(data) + done, size - done);
      if (wrote < 0) throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
      done += static_cast<std::size_t>(wrote);
    }
  };
  const image::HttpResponse response = client.perform(request, sink);
  if (response.status < 200 || response.status > 299) {
    throw Error(fmt::format("ADD {}: the server answered {}", url, response.status));
  }
  const std::string digest = "sha256:" + hash.finish_hex();
  if (!checksum.empty() && checksum != digest) {
    throw Error(
        fmt::format("ADD {}: checksum mismatch: expected {}, got {}", url, checksum, digest));
  }
  if (const auto modified = response.header("Last-Modified")) {
    struct tm tm {};
    if (::strptime(modified->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
      const timespec times[2] = {{::timegm(&tm), 0}, {::timegm(&tm), 0}};
      ::futimens(fd.get(), times);
    }
  }
  return name;
}

/// A context file, opened inside the context (a symlink in it cannot lead to a host file),
/// as a path TarStream can open; invalid when it is not a regular file.
struct ContextFile {
  Fd fd;
  std::string path() const { return fmt::format("/proc/self/fd/{}", fd.get()); }
};

ContextFile open_context_file(int context_fd, const std::string& relative) {
  Fd fd = open_in_root(context_fd, relative, O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return {std::move(fd)};
}

/// True when the context file `relative` is a tar archive (plain or compressed) ADD extracts.
bool is_archive(int context_fd, const std::string& relative) {
  const ContextFile file = open_context_file(context_fd, relative);
  if (!file.fd) return false;
  try {
    image::TarStream tar(file.path(), relative);
    return tar.next() != nullptr;
  } catch (const Error&) {
    return false;
  }
}

/// The directory `dest` in the root, made with its parents (0755) when missing.
Fd open_destination_dir(int root, const std::string& dest, const std::string& where) {
  std::string path;
  for (const auto part : split(dest, '/')) {
    if (part.empty()) continue;
    path += "/" + std::string(part);
    if (::mkdirat(open_in_root(root, fs::dirname(path), O_PATH | O_DIRECTORY | O_CLOEXEC).get(),
                  std::string(part).c_str(), 0755) != 0 &&
        errno != EEXIST) {
      throw Error(fmt::format("{}: {}: {}", where, path, std::strerror(errno)));
    }
  }
  Fd fd = open_in_root(root, dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (!fd) throw Error(fmt::format("{}: {}: {}", where, dest, std::strerror(errno)));
  return fd;
}

/// ADD of a local archive: its entries extracted into `target` (made when missing), with
/// their owners from the archive unless --chown gives one.
void extract_archive(int context_fd, const std::string& archive, int root,
                     const std::string& target, const std::string& where,
                     const std::optional<Owner>& owner) {
  const Fd dir = open_destination_dir(root, target, where);
  const ContextFile file = open_context_file(context_fd, archive);
  if (!file.fd) throw Error(fmt::format("{}: {}: not a file", where, archive));
  image::TarStream tar(file.path(), archive);
  containers::UnpackTarget unpack;
  unpack.label = target;
  unpack.owner.mode =
      owner ? containers::Ownership::Mode::fixed : containers::Ownership::Mode::archive;
  if (owner) {
    unpack.owner.uid = owner->uid;
    unpack.owner.gid = owner->gid;
  }
  const int dir_fd = dir.get();
  unpack.open_dir = [dir_fd](const std::string& relative) {
    return open_beneath(dir_fd, relative, O_PATH | O_DIRECTORY | O_CLOEXEC);
  };
  containers::unpack_archive(tar, unpack);
}

/// What a step left in its scratch directory's upper directory, committed as its layer
/// (none when it changed nothing).
CachedStep commit_step(const StageRun& run, const std::string& scratch) {
  CachedStep step;
  const std::string upper = scratch + "/upper";
  if (!image::upper_is_empty(upper)) {
    const image::CommittedLayer layer =
        image::commit_upper_dir(run.session.images, upper, run.state.top_chain());
    step.blob = layer.blob;
    step.diff_id = layer.diff_id;
  }
  step.created = now_rfc3339();
  return step;
}

/// Removes a step's scratch directory when the step ends, however it ends.
struct ScratchGuard {
  std::string dir;
  ~ScratchGuard() {
    std::error_code error;
    stdfs::remove_all(dir, error);
  }
};

}  // namespace

void copy_instruction(StageRun& run, const Instruction& instruction) {
  const bool add = instruction.keyword == "ADD";
  if (add) {
    df::check_flags(instruction, {"chown", "chmod", "link", "checksum", "keep-git-dir"},
                    run.session.file_name);
  } else {
    df::check_flags(instruction, {"from", "chown", "chmod", "link"}, run.session.file_name);
  }
  const auto lookup = run.lookup();
  const char escape = run.session.file.escape;
  const auto flag = [&](const char* name) -> std::string {
    const df::Flag* found = df::find_flag(instruction, name);
    return found ? df::expand_word(found->value, lookup, escape) : "";
  };
  const std::string from = flag("from");
  const std::string chown = flag("chown");
  const std::optional<mode_t> chmod = parse_chmod(run, instruction, flag("chmod"));
  const std::string checksum = flag("checksum");

  std::vector<std::string> words;
  if (instruction.json_form) {
    for (const auto& arg : instruction.args) words.push_back(df::expand_word(arg, lookup, escape));
  } else {
    words = df::expand_words(instruction.text, lookup, escape);
  }
  if (words.size() < 2) {
    run.fail(instruction, fmt::format("{} requires at least two arguments, but only one was "
                                      "provided. Destination could not be determined",
                                      instruction.keyword));
  }
  const std::string dest = words.back();
  words.pop_back();

  const std::string scratch = run.session.new_scratch();
  const ScratchGuard guard{scratch};
  // Sources by kind: heredocs (written to scratch), URLs (downloaded there), the context's
  // archives (ADD extracts them) and its other files, or another stage's or image's files.
  std::vector<std::string> heredoc_files, downloads, archives, plain, patterns;
  json key = {{"keyword", instruction.keyword},
              {"dest", dest},
              {"workdir", run.state.config().value("WorkingDir", "")},
              {"chown", chown},
              {"chmod", chmod ? static_cast<int>(*chmod) : -1}};
  std::size_t source_count = 0;
  for (const auto& word : words) {
    const auto heredoc = std::find_if(
        instruction.heredocs.begin(), instruction.heredocs.end(),
        [&](const df::Heredoc& h) { return word.starts_with("<<") && word.ends_with(h.name); });
    if (heredoc != instruction.heredocs.end()) {
      stdfs::create_directories(scratch + "/heredoc");
      fs::write_file_atomic(scratch + "/heredoc/" + heredoc->name, heredoc->content);
      heredoc_files.push_back(heredoc->name);
      key["heredocs"].push_back({heredoc->name, heredoc->content});
      ++source_count;
    } else if (add && is_url(word)) {
      try {
        downloads.push_back(download(word, scratch + "/download", checksum));
      } catch (const Error& e) {
        run.fail(instruction, e.what());
      }
      key["urls"].push_back(word);
      ++source_count;
    } else if (!from.empty()) {
      patterns.push_back(word);
      ++source_count;
    } else {
      const df::SourceRoot context{run.session.context_fd, "build context", &run.session.ignore};
      std::vector<std::string> matched;
      try {
        matched = df::match_sources(context, word);
      } catch (const Error& e) {
        run.fail(instruction, e.what());
      }
      for (auto& path : matched) {
        if (add && is_archive(run.session.context_fd, path)) {
          archives.push_back(path);
        } else {
          plain.push_back(path);
        }
        ++source_count;
      }
    }
  }
  // "." and ".." name directories as well as a trailing slash does (BuildKit's rule).
  const bool dest_is_dir = dest.ends_with('/') || dest == "." || dest == ".." ||
                           dest.ends_with("/.") || dest.ends_with("/..");
  if (source_count > 1 && !dest_is_dir) {
    run.fail(instruction, fmt::format("When using {} with more than one source file, the "
                                      "destination must be a directory and end with a /",
                                      instruction.keyword));
  }

  std::optional<FromRoot> source_root;
  if (!from.empty()) {
    source_root = from_root(run, instruction, from);
    key["from"] = source_root->identity;
    key["patterns"] = patterns;
  }
  if (!plain.empty() || !archives.empty()) {
    std::vector<std::string> all = plain;
    all.insert(all.end(), archives.begin(), archives.end());
    const df::SourceRoot context{run.session.context_fd, "build context", &run.session.ignore};
    key["context"] = {plain, archives, df::hash_sources(context, all)};
  }
  if (!downloads.empty()) {
    for (const auto& name : downloads) {
      key["downloads"].push_back(sha256_hex(fs::read_file(scratch + "/download/" + name)));
    }
  }

  const std::string workdir = run.state.config().value("WorkingDir", "/");
  const std::string where = run.session.where(instruction.line);
  std::vector<std::vector<std::string>> from_layers;
  if (source_root) from_layers.push_back(source_root->lower_dirs);
  run.file_step(
      instruction, key.dump(), instruction.original + " # buildkit", "", [&](BuildOutput::Vertex&) {
        with_step_root(
            run.state.lower_dirs(run.session.images), scratch, from_layers,
            [&](const StepRoots& roots) {
              df::CopyOptions options;
              options.mode = chmod;
              if (!chown.empty()) {
                const Owner owner = resolve_owner(roots.root, chown, where);
                options.uid = owner.uid;
                options.gid = owner.gid;
              }
              if (source_root) {
                options.keep_source_owner = chown.empty();
                const df::SourceRoot root{roots.sources.at(0), source_root->label, nullptr};
                std::vector<std::string> paths;
                for (const auto& pattern : patterns) {
                  for (auto& path : df::match_sources(root, pattern))
                    paths.push_back(std::move(path));
                }
                df::copy_sources(root, paths, roots.root, dest, workdir, options);
              }
              if (!plain.empty()) {
                const df::SourceRoot context{run.session.context_fd, "build context",
                                             &run.session.ignore};
                df::copy_sources(context, plain, roots.root, dest, workdir, options);
              }
              for (const auto& [dir, names] : {std::pair{scratch + "/heredoc", heredoc_files},
                                               std::pair{scratch + "/download", downloads}}) {
                if (names.empty()) continue;
                const Fd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                const df::SourceRoot root{fd.get(), "build", nullptr};
                df::copy_sources(root, names, roots.root, dest, workdir, options);
              }
              for (const auto& archive : archives) {
                const std::string target = dest.starts_with('/') ? dest : workdir + "/" + dest;
                extract_archive(run.session.context_fd, archive, roots.root, target, where,
                                chown.empty() ? std::nullopt
                                              : std::optional<Owner>({*options.uid, *options.gid}));
              }
            });
        return commit_step(run, scratch);
      });
}

void workdir_instruction(StageRun& run, const Instruction& instruction) {
  const std::string path = df::expand_word(instruction.text, run.lookup(), run.session.file.escape);
  if (path.empty()) run.fail(instruction, "WORKDIR requires exactly one argument");
  const std::string dir = stdfs::path(absolute_workdir(run, path)).lexically_normal().string();
  run.state.config()["WorkingDir"] = dir;
  const std::string user = run.state.config().value("User", "");

  run.file_step(instruction, json{{"WORKDIR", dir}, {"user", user}}.dump(),
                instruction.original + " # buildkit", "", [&](BuildOutput::Vertex&) {
                  const std::string scratch = run.session.new_scratch();
                  const ScratchGuard guard{scratch};
                  const std::string where = run.session.where(instruction.line);
                  with_step_root(run.state.lower_dirs(run.session.images), scratch, {},
                                 [&](const StepRoots& roots) {
                                   const Fd fd = open_destination_dir(roots.root, dir, where);
                                   // As BuildKit: the directory belongs to the stage's USER.
                                   if (!user.empty()) {
                                     const Owner owner = resolve_owner(roots.root, user, where);
                                     const Fd target = open_in_root(
                                         roots.root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                     if (target) (void)::fchown(target.get(), owner.uid, owner.gid);
                                   }
                                 });
                  return commit_step(run, scratch);
                });
}

}  // namespace berth::builder
