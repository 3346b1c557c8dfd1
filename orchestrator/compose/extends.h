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
///
/// With `share_nodes`, results may share nodes with their bases and keep merge tags below the
/// keys merged (merge_services_shared): only for a file that adopt_document takes next (the
/// first one) or that is only ever used as a base. Later -f files need plain copies, because
/// their merge into the model still reads the tags.
void resolve_extends(LoadedFile& file, const FileLoader& load, bool share_nodes);

}  // namespace berth::compose
