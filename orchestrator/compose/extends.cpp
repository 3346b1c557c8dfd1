#include "orchestrator/compose/extends.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/merge.h"
#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::compose {

namespace {

struct Link {
  std::string path;  // absolute file
  std::string service;
  bool operator==(const Link&) const = default;
};

class ExtendsResolver {
 public:
  ExtendsResolver(const FileLoader& load, bool share_nodes)
      : m_load(load), m_share_nodes(share_nodes) {}

  /// The service `service` of `file` with its own `extends` applied (not written back).
  /// `chain` holds the services whose extends led here; it is never empty when the service
  /// may be missing, since the top-level call names a service that exists.
  YAML::Node resolve(const LoadedFile& file, const std::string& service, std::vector<Link>& chain) {
    const YAML::Node services = file.document["services"];
    const YAML::Node definition = services ? services[service] : YAML::Node();
    if (!definition || !definition.IsMap()) {
      const Link& from = chain.back();
      throw Error(fmt::format("{}: services.{}.extends: service \"{}\" not found in {}",
                              display_of(from.path), from.service, service, file.display));
    }
    const YAML::Node extends = definition["extends"];
    if (!extends) return definition;

    const Link here{file.path, service};
    std::string base_service;
    const LoadedFile* base_file = &file;
    if (extends.IsScalar()) {
      base_service = extends.Scalar();
    } else {
      base_service = extends["service"] ? extends["service"].Scalar() : std::string();
      if (const YAML::Node other = extends["file"]; other && !other.Scalar().empty()) {
        base_file = &m_load(fs::absolute(other.Scalar(), fs::dirname(file.path)));
      }
    }
    if (base_service.empty()) {
      throw Error(fmt::format("{}: services.{}.extends: \"service\" is required",
                              where(file.display, extends), service));
    }
    const Link next{base_file->path, base_service};
    chain.push_back(here);
    if (std::find(chain.begin(), chain.end(), next) != chain.end()) {
      std::vector<std::string> names;
      auto start = std::find(chain.begin(), chain.end(), next);
      for (auto it = start; it != chain.end(); ++it) names.push_back(it->service);
      names.push_back(next.service);
      throw Error(fmt::format("{}: services.{}.extends: circular reference: {}", file.display,
                              service, fmt::join(names, " -> ")));
    }
    YAML::Node base = resolve(*base_file, base_service, chain);
    chain.pop_back();

    YAML::Node local = new_node(YAML::NodeType::Map);
    for (const auto& entry : definition) {
      if (entry.first.Scalar() != "extends") local.force_insert(entry.first, entry.second);
    }
    // The loader adopts or merges the file next, which copies whatever this result shares.
    return m_share_nodes ? merge_services_shared(base, local) : merge_services(base, local);
  }

  void remember(const LoadedFile& file) { m_displays[file.path] = file.display; }

 private:
  std::string display_of(const std::string& path) const {
    auto it = m_displays.find(path);
    return it == m_displays.end() ? path : it->second;
  }

  const FileLoader& m_load;
  bool m_share_nodes;
  std::map<std::string, std::string> m_displays;
};

}  // namespace

void resolve_extends(LoadedFile& file, const FileLoader& load, bool share_nodes) {
  const YAML::Node services = std::as_const(file.document)["services"];
  if (!services || !services.IsMap()) return;
  ExtendsResolver resolver(load, share_nodes);
  resolver.remember(file);
  // Resolve every service against the file as written, then put the results in a new
  // services mapping, so that a chain a -> b -> c reads b's own definition, not an
  // already-merged one (and no key is searched for: yaml-cpp compares keys one by one).
  std::vector<YAML::Node> definitions;
  bool any = false;
  for (const auto& entry : services) {
    if (!entry.second.IsMap() || !entry.second["extends"]) {
      definitions.push_back(entry.second);
      continue;
    }
    std::vector<Link> chain;  // the links that led here; empty at the top
    definitions.push_back(resolver.resolve(file, entry.first.Scalar(), chain));
    any = true;
  }
  if (!any) return;
  YAML::Node rebuilt = new_node(YAML::NodeType::Map);
  std::size_t i = 0;
  for (const auto& entry : services) rebuilt.force_insert(entry.first, definitions[i++]);
  file.document["services"] = rebuilt;
}

}  // namespace berth::compose
