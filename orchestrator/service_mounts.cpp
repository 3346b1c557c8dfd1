#include "orchestrator/service_mounts.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "orchestrator/model_values.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::orchestrator {

namespace {

using runtime::MountSpec;

std::map<std::string, std::string> string_map(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  if (node && node.IsMap()) {
    for (const auto& entry : node) out[entry.first.Scalar()] = scalar(entry.second);
  }
  return out;
}

/// A number as YAML 1.1 and compose-go read modes: "0440" and "0o440" octal, "288" decimal.
std::uint64_t number_of(const std::string& text, const std::string& what) {
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0o") || digits.starts_with("0O")) {
    digits.remove_prefix(2);
    base = 8;
  } else if (digits.size() > 1 && digits.front() == '0') {
    base = 8;
  }
  std::uint64_t value = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size()) {
    throw Error(fmt::format("{}: \"{}\" is not a number", what, text));
  }
  return value;
}

/// The full name of a volume of the project ("<project>_<key>", or its `name:`).
std::string volume_name(const compose::Project& project, const std::string& key) {
  const YAML::Node volume = child(project.model["volumes"], key);
  return scalar(volume["name"], project.name + "_" + key);
}

MountSpec volume_mount(const compose::Project& project, const YAML::Node& entry) {
  MountSpec mount;
  const std::string type = scalar(entry["type"], "volume");
  mount.target = scalar(entry["target"]);
  mount.read_only = truthy(entry["read_only"]);
  if (type == "bind") {
    mount.type = MountSpec::Type::bind;
    mount.source = scalar(entry["source"]);
    const YAML::Node bind = entry["bind"];
    mount.create_host_path = bind && truthy(bind["create_host_path"]);
    if (bind && bind["propagation"]) mount.options.push_back(scalar(bind["propagation"]));
  } else if (type == "volume") {
    mount.type = MountSpec::Type::volume;
    const std::string key = scalar(entry["source"]);
    if (!key.empty()) mount.source = volume_name(project, key);  // "" is anonymous
    if (const YAML::Node options = entry["volume"]) {
      mount.nocopy = truthy(options["nocopy"]);
      mount.subpath = scalar(options["subpath"]);
    }
  } else if (type == "tmpfs") {
    mount.type = MountSpec::Type::tmpfs;
    if (const YAML::Node options = entry["tmpfs"]) {
      if (options["size"]) {
        mount.tmpfs_size = static_cast<std::int64_t>(
            number_of(scalar(options["size"]), "tmpfs size of " + mount.target));
      }
      if (options["mode"]) {
        mount.tmpfs_mode = static_cast<std::uint32_t>(
            number_of(scalar(options["mode"]), "tmpfs mode of " + mount.target));
      }
    }
  } else {
    throw Error(fmt::format("volume type \"{}\" at {} is not supported here", type, mount.target));
  }
  return mount;
}

/// The first container of `service`, as `volumes_from: [service]` means it.
std::string first_container(const compose::Project& project, const std::string& service) {
  const YAML::Node definition = child(project.model["services"], service);
  if (definition && definition["container_name"]) return scalar(definition["container_name"]);
  return fmt::format("{}-{}-1", project.name, service);
}

/// One service's `secrets` or `configs` entry.
void add_file_mount(const compose::Project& project, const std::string& service, bool secret,
                    const YAML::Node& entry, ServiceMounts& out) {
  const char* kind = secret ? "secret" : "config";
  const std::string key = scalar(entry["source"]);
  const YAML::Node definition = child(project.model[secret ? "secrets" : "configs"], key);
  const auto fail = [&](const std::string& why) {
    return Error(fmt::format("service \"{}\": {} \"{}\" {}", service, kind, key, why));
  };
  if (truthy(definition["external"])) {
    throw fail(
        "is external: that needs a swarm, which berth does not have; give it a file, "
        "environment or content source");
  }
  std::string target = scalar(entry["target"], key);
  if (!target.starts_with("/")) target = (secret ? "/run/secrets/" : "/") + target;
  const bool owned = entry["uid"] || entry["gid"] || entry["mode"];
  runtime::InjectedFile file;
  file.target = target;
  const auto id_of = [&](const char* field) {
    return static_cast<std::uint32_t>(
        number_of(scalar(entry[field]), fmt::format("{} {} {}", kind, key, field)));
  };
  if (entry["uid"]) file.uid = id_of("uid");
  if (entry["gid"]) file.gid = id_of("gid");
  if (entry["mode"]) file.mode = id_of("mode") & 07777;
  if (definition["file"]) {
    const std::string path = scalar(definition["file"]);
    if (!owned) {
      MountSpec mount;
      mount.type = MountSpec::Type::bind;
      mount.source = path;
      mount.target = target;
      mount.read_only = true;
      out.mounts.push_back(std::move(mount));
      return;
    }
    const auto content = fs::read_file_if_exists(path);
    if (!content) throw fail(fmt::format("cannot be read from {}", path));
    file.content = *content;
  } else if (definition["environment"]) {
    const std::string variable = scalar(definition["environment"]);
    const auto value = project.environment.find(variable);
    if (value == project.environment.end()) {
      throw fail(fmt::format("comes from the environment variable {}, which is not set", variable));
    }
    file.content = value->second;
  } else if (definition["content"]) {
    file.content = scalar(definition["content"]);
  } else {
    throw fail("has no file, environment or content source");
  }
  out.files.push_back(std::move(file));
}

}  // namespace

std::vector<ProjectVolume> project_volumes(const compose::Project& project) {
  std::vector<ProjectVolume> volumes;
  const YAML::Node top = project.model["volumes"];
  if (!top || !top.IsMap()) return volumes;
  for (const auto& entry : top) {
    ProjectVolume volume;
    volume.key = entry.first.Scalar();
    const YAML::Node definition = entry.second;
    volume.external = truthy(definition["external"]);
    volume.spec.name = volume_name(project, volume.key);
    volume.spec.driver = scalar(definition["driver"], "local");
    volume.spec.options = string_map(definition["driver_opts"]);
    volume.spec.labels = string_map(definition["labels"]);
    if (!volume.external) {
      volume.spec.labels[k_project_label] = project.name;
      volume.spec.labels[k_volume_label] = volume.key;
    }
    volumes.push_back(std::move(volume));
  }
  std::sort(volumes.begin(), volumes.end(),
            [](const ProjectVolume& a, const ProjectVolume& b) { return a.key < b.key; });
  return volumes;
}

ServiceMounts service_mounts(const compose::Project& project, const std::string& service) {
  const YAML::Node definition = child(project.model["services"], service);
  if (!definition) throw Error(fmt::format("no such service: {}", service));
  ServiceMounts out;
  if (const YAML::Node volumes = definition["volumes"]) {
    for (const auto& entry : volumes) {
      try {
        out.mounts.push_back(volume_mount(project, entry));
      } catch (const Error& e) {
        wrap(e, fmt::format("service \"{}\"", service));
      }
    }
  }
  if (const YAML::Node from = definition["volumes_from"]) {
    for (const auto& entry : from) {
      const std::string text = scalar(entry);
      if (text.starts_with("container:")) {
        out.volumes_from.push_back(text.substr(10));
        continue;
      }
      const auto colon = text.find(':');
      const std::string name = text.substr(0, colon);
      out.volumes_from.push_back(first_container(project, name) +
                                 (colon == std::string::npos ? "" : text.substr(colon)));
    }
  }
  for (const bool secret : {true, false}) {
    if (const YAML::Node entries = definition[secret ? "secrets" : "configs"]) {
      for (const auto& entry : entries) add_file_mount(project, service, secret, entry, out);
    }
  }
  return out;
}

}  // namespace berth::orchestrator
