// The loader's pipeline. Each phase lives in its own file; this one only sequences them:
//
//   files + .env -> project name -> per file: parse (anchors, << merge keys) -> interpolate
//   -> schema check -> canonical long syntax -> include -> extends -> merge into the model
//   -> unicity -> profiles -> defaults (names, default network, env_file) -> semantic checks
//   -> dependency order
#include "orchestrator/compose/loader.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "orchestrator/compose/canonical.h"
#include "orchestrator/compose/discovery.h"
#include "orchestrator/compose/extends.h"
#include "orchestrator/compose/interpolate.h"
#include "orchestrator/compose/merge.h"
#include "orchestrator/compose/normalize.h"
#include "orchestrator/compose/schema.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/compose/yaml_tree.h"
#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::compose {

namespace {

/// Splits "a,b" / "a:b" lists of COMPOSE_* variables, dropping empty parts.
std::vector<std::string> split_list(std::string_view text, std::string_view separator) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto at = text.find(separator);
    const std::string_view part = text.substr(0, at);
    if (!part.empty()) parts.emplace_back(part);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + separator.size());
  }
  return parts;
}

/// How a file is named in messages: relative to the working directory when inside it.
std::string display_name(const std::string& path, const std::string& working_dir) {
  if (path == "-") return "<stdin>";
  const std::string prefix = working_dir == "/" ? "/" : working_dir + "/";
  if (path.starts_with(prefix)) return path.substr(prefix.size());
  return path;
}

/// A compose file read but not yet processed.
struct SourceFile {
  std::string path;     // absolute, or "-"
  std::string display;  // for messages
  YAML::Node document;  // parsed, merge keys expanded
};

/// State shared by the phases while one project (or an included one) is loaded.
class Pipeline {
 public:
  Pipeline(const Environment& env, bool interpolate, std::string working_dir, std::string home,
           std::shared_ptr<std::set<std::string>> warned)
      : m_env(env),
        m_interpolate(interpolate),
        m_working_dir(std::move(working_dir)),
        m_home(std::move(home)),
        m_warned(std::move(warned)) {}

  /// Reads and parses one file.
  /// `read_stdin` serves "-" (only -f names it); empty: this process's standard input.
  SourceFile read(const std::string& path,
                  const std::function<std::string()>& read_stdin = {}) const {
    std::string content;
    if (path == "-") {
      content =
          read_stdin ? read_stdin() : std::string(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      content = fs::read_file(path);
    }
    std::string display = display_name(path, m_working_dir);
    YAML::Node document = parse_compose_yaml(content, display);
    return {path, std::move(display), std::move(document)};
  }

  /// Runs every per-file phase and merges the files, in order, into one model.
  YAML::Node load(std::vector<SourceFile> files, const std::string& project_dir,
                  std::vector<std::string>& include_stack) {
    YAML::Node model;
    bool first = true;
    for (auto& source : files) {
      LoadedFile file = prepare(source, project_dir);
      apply_includes(file, project_dir, include_stack);
      // The first file is adopted next, which consumes what extends leaves shared or tagged.
      resolve_extends(
          file,
          [this](const std::string& path) -> const LoadedFile& { return load_extended(path); },
          first);
      // The first file becomes the model without a deep copy (the common one-file case).
      model = first ? adopt_document(file.document) : merge_documents(model, file.document);
      first = false;
    }
    if (first) model = new_node(YAML::NodeType::Map);
    enforce_unicity(model);
    return model;
  }

 private:
  /// interpolate -> schema check -> canonical form, for one parsed file.
  LoadedFile prepare(SourceFile& source, const std::string& base_dir) {
    if (m_interpolate) {
      interpolate_tree(source.document, m_env.lookup(), source.display,
                       [this](std::string_view name) { warn_unset(name); });
    }
    schema::validate_document(source.document, source.display);
    if (std::as_const(source.document)["version"]) {
      // Compose v2 ignores it too; saying so once per file helps people clean up old files.
      spdlog::warn("{}: the attribute `version` is obsolete, it will be ignored", source.display);
      source.document.remove("version");
    }
    CanonicalContext context{source.display, base_dir, m_home};
    return {canonicalize(source.document, context), source.display, source.path};
  }

  void warn_unset(std::string_view name) {
    if (m_warned->insert(std::string(name)).second) {
      spdlog::warn("The \"{}\" variable is not set. Defaulting to a blank string.", name);
    }
  }

  /// A file named by `extends: {file: ...}`, loaded once, paths relative to its own directory.
  const LoadedFile& load_extended(const std::string& path) {
    if (auto it = m_extended.find(path); it != m_extended.end()) return it->second;
    SourceFile source = read(path);
    LoadedFile file = prepare(source, fs::dirname(path));
    auto [it, inserted] = m_extended.emplace(path, std::move(file));
    // Only ever a base for other services, so its results may share nodes.
    resolve_extends(
        it->second,
        [this](const std::string& other) -> const LoadedFile& { return load_extended(other); },
        true);
    return it->second;
  }

  /// `include`: each entry is loaded as a project of its own (own directory, own .env) and
  /// its resources are added to this file's; a resource defined on both sides is an error.
  void apply_includes(LoadedFile& file, const std::string& base_dir,
                      std::vector<std::string>& include_stack) {
    const YAML::Node includes = file.document["include"];
    if (!includes) return;
    for (std::size_t i = 0; i < includes.size(); ++i) {
      const YAML::Node entry = includes[i];
      std::vector<std::string> paths;
      std::string project_dir;
      std::vector<std::string> env_files;
      const YAML::Node path_node = entry.IsMap() ? entry["path"] : entry;
      if (path_node.IsSequence()) {
        for (const auto& p : path_node) paths.push_back(fs::absolute(p.Scalar(), base_dir));
      } else if (path_node.IsScalar()) {
        paths.push_back(fs::absolute(path_node.Scalar(), base_dir));
      }
      if (paths.empty()) {
        throw Error(fmt::format("{}: include[{}]: \"path\" is required", file.display, i));
      }
      if (entry.IsMap() && entry["project_directory"]) {
        project_dir = fs::absolute(entry["project_directory"].Scalar(), base_dir);
      } else {
        project_dir = fs::dirname(paths.front());
      }
      if (entry.IsMap() && entry["env_file"]) {
        const YAML::Node env_node = entry["env_file"];
        if (env_node.IsSequence()) {
          for (const auto& e : env_node) env_files.push_back(fs::absolute(e.Scalar(), base_dir));
        } else {
          env_files.push_back(fs::absolute(env_node.Scalar(), base_dir));
        }
      }
      for (const auto& path : paths) {
        if (std::find(include_stack.begin(), include_stack.end(), path) != include_stack.end()) {
          std::vector<std::string> chain(include_stack.begin(), include_stack.end());
          chain.push_back(path);
          throw Error(fmt::format("{}: include cycle: {}", file.display, fmt::join(chain, " -> ")));
        }
      }
      // The included project sees the shell and its own env files, not ours.
      Environment env(m_env.shell());
      if (env_files.empty()) {
        const std::string dot_env = project_dir + "/.env";
        if (fs::is_file(dot_env)) env_files.push_back(dot_env);
      }
      for (const auto& env_file : env_files) {
        env.add_file_entries(read_dotenv_file(env_file, env.lookup()));
      }
      Pipeline included(env, m_interpolate, m_working_dir, m_home, m_warned);
      std::vector<SourceFile> sources;
      for (const auto& path : paths) sources.push_back(included.read(path));
      include_stack.insert(include_stack.end(), paths.begin(), paths.end());
      const YAML::Node model = included.load(std::move(sources), project_dir, include_stack);
      include_stack.resize(include_stack.size() - paths.size());
      add_included(file, model, display_name(paths.front(), m_working_dir));
    }
    file.document.remove("include");
  }

  static void add_included(LoadedFile& file, const YAML::Node& model, const std::string& included) {
    for (const char* kind : {"services", "networks", "volumes", "secrets", "configs"}) {
      const YAML::Node theirs = model[kind];
      if (!theirs || !theirs.IsMap()) continue;
      YAML::Node ours = file.document[kind];
      if (!ours || !ours.IsMap()) {
        file.document[kind] = new_node(YAML::NodeType::Map);
        ours = file.document[kind];
      }
      for (const auto& entry : theirs) {
        const std::string& key = entry.first.Scalar();
        if (ours[key]) {
          throw Error(fmt::format("{}: {}.{} conflicts with the one imported from {}", file.display,
                                  kind, key, included));
        }
        ours[key] = entry.second;
      }
    }
  }

  const Environment& m_env;
  bool m_interpolate;
  std::string m_working_dir;
  std::string m_home;
  std::shared_ptr<std::set<std::string>> m_warned;
  std::map<std::string, LoadedFile> m_extended;
};

/// The files to load, absolute: -f, else COMPOSE_FILE, else discovery from the working dir.
std::vector<std::string> locate_files(const LoadOptions& options, const Environment& env,
                                      const std::string& working_dir) {
  std::vector<std::string> files;
  if (!options.files.empty()) {
    for (const auto& f : options.files) {
      files.push_back(f == "-" ? f : fs::absolute(f, working_dir));
    }
  } else if (auto from_env = env.get("COMPOSE_FILE"); from_env && !from_env->empty()) {
    const std::string separator = env.get("COMPOSE_PATH_SEPARATOR").value_or(":");
    for (const auto& f : split_list(*from_env, separator.empty() ? ":" : separator)) {
      files.push_back(fs::absolute(f, working_dir));
    }
  } else {
    return find_default_files(working_dir);
  }
  for (const auto& f : files) {
    if (f != "-" && !fs::is_file(f)) {
      throw Error(fmt::format("{}: no such file", display_name(f, working_dir)));
    }
  }
  return files;
}

/// Adds .env (or the --env-file files) of the project to the environment.
std::vector<std::string> load_env_files(const LoadOptions& options, Environment& env,
                                        const std::string& working_dir,
                                        const std::string& project_dir) {
  std::vector<std::string> read;
  if (!options.env_files.empty()) {
    for (const auto& f : options.env_files) read.push_back(fs::absolute(f, working_dir));
  } else if (!is_truthy(env.get("COMPOSE_DISABLE_ENV_FILE").value_or(""))) {
    const std::string dot_env = project_dir + "/.env";
    if (fs::is_file(dot_env)) read.push_back(dot_env);
  }
  for (const auto& f : read) env.add_file_entries(read_dotenv_file(f, env.lookup()));
  return read;
}

/// -p > COMPOSE_PROJECT_NAME > `name:` (last file that has one, interpolated) > directory.
std::string resolve_project_name(const LoadOptions& options, const Environment& env,
                                 const std::vector<SourceFile>& files,
                                 const std::string& project_dir) {
  if (!options.project_name.empty()) {
    check_project_name(options.project_name, "-p");
    return options.project_name;
  }
  if (auto from_env = env.get("COMPOSE_PROJECT_NAME"); from_env && !from_env->empty()) {
    check_project_name(*from_env, "COMPOSE_PROJECT_NAME");
    return *from_env;
  }
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    const YAML::Node name = it->document["name"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) continue;
    std::string value = name.Scalar();
    if (options.interpolate) {
      try {
        value = interpolate(value, env.lookup());
      } catch (const Error& e) {
        throw Error(fmt::format("{}: name: {}", where(it->display, name), e.what()));
      }
    }
    check_project_name(value, fmt::format("name: in {}", it->display));
    return value;
  }
  std::string name = normalize_project_name(fs::basename(project_dir));
  if (name.empty()) {
    throw Error(fmt::format(
        "project name could not be derived from directory \"{}\": give one with -p or name:",
        project_dir));
  }
  return name;
}

}  // namespace

Project load_project(const LoadOptions& options) {
  NodeArena arena;  // every tree built below shares one pool (see yaml_util.h)
  const std::string working_dir =
      options.working_dir.empty() ? fs::current_directory() : options.working_dir;
  Environment env =
      options.environment ? Environment(*options.environment) : Environment::from_process();

  // COMPOSE_FILE, COMPOSE_PROFILES and COMPOSE_PROJECT_NAME may come from .env, so it is read
  // before the files are known: from --project-directory, the first -f file's directory, or
  // the working directory. If the project directory turns out to be elsewhere (discovery
  // upward, COMPOSE_FILE), .env is read again from there.
  Project project;
  const Environment shell_only = env;
  std::string env_dir = working_dir;
  if (!options.project_directory.empty()) {
    env_dir = fs::absolute(options.project_directory, working_dir);
  } else if (!options.files.empty() && options.files.front() != "-") {
    env_dir = fs::dirname(fs::absolute(options.files.front(), working_dir));
  }
  project.env_files = load_env_files(options, env, working_dir, env_dir);
  project.config_files = locate_files(options, env, working_dir);
  std::string project_dir = env_dir;
  if (options.project_directory.empty() && project.config_files.front() != "-") {
    project_dir = fs::dirname(project.config_files.front());
  }
  if (project_dir != env_dir && options.env_files.empty()) {
    env = shell_only;
    project.env_files = load_env_files(options, env, working_dir, project_dir);
  }
  project.working_dir = project_dir;

  const std::string home = env.get("HOME").value_or("/root");
  auto warned = std::make_shared<std::set<std::string>>();
  Pipeline pipeline(env, options.interpolate, working_dir, home, warned);
  std::vector<SourceFile> sources;
  for (const auto& path : project.config_files)
    sources.push_back(pipeline.read(path, options.read_stdin));

  project.name = resolve_project_name(options, env, sources, project_dir);
  env.set_default("COMPOSE_PROJECT_NAME", project.name);

  std::vector<std::string> include_stack(project.config_files.begin(), project.config_files.end());
  YAML::Node model = pipeline.load(std::move(sources), project_dir, include_stack);

  std::vector<std::string> profiles = options.profiles;
  if (profiles.empty()) {
    profiles = split_list(env.get("COMPOSE_PROFILES").value_or(""), ",");
  }
  project.declared_profiles = declared_profiles(model);
  project.active_profiles = profiles;
  if (const YAML::Node services = model["services"]; services && services.IsMap()) {
    for (const auto& entry : services) project.declared_services.push_back(entry.first.Scalar());
  }
  apply_profiles(model, profiles);
  apply_defaults(model, project.name, project_dir, env);
  validate_model(model);
  project.start_order = start_order(model);
  project.model = model;
  project.environment = env.all();
  return project;
}

std::vector<std::string> Project::service_names() const {
  std::vector<std::string> names;
  if (const YAML::Node services = model["services"]) {
    for (const auto& entry : services) names.push_back(entry.first.Scalar());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Project::image_of(const std::string& service) const {
  const YAML::Node definition = model["services"][service];
  if (definition["image"]) return definition["image"].Scalar();
  return fmt::format("{}-{}", name, service);
}

}  // namespace berth::compose
