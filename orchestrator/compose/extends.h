// `extends`: a service built on another one, from the same file or another file.
#pragma once

#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// A canonical compose file, loaded on demand, with the name to use for it in messages.
struct LoadedFile {
  YAML::Node document;
  std::string display;  // the file as messages name it
  std::string path;     // absolute
};

/// Loads another file named by `extends.file` (an absolute path), canonical and with its
/// relative paths resolved against its own directory. Cached by the caller.
using FileLoader = std::function<const LoadedFile&(const std::string& path)>;

/// Replaces, in `file.document`, each service that has `extends` by the merge of its base
/// service (resolved recursively, chains allowed) and itself. Cycles are errors naming the chain.
void resolve_extends(LoadedFile& file, const FileLoader& load);

}  // namespace berth::compose
