#include "volume/volume_filter.h"

#include <fmt/format.h>

#include "util/error.h"

namespace berth::volume {

VolumeFilter::VolumeFilter(const std::vector<std::string>& entries) {
  for (const std::string& text : entries) {
    const auto equals = text.find('=');
    if (equals == std::string::npos) throw Error(fmt::format("invalid filter \"{}\"", text));
    Entry entry;
    entry.key = text.substr(0, equals);
    const std::string rest = text.substr(equals + 1);
    if (entry.key.ends_with('!')) {
      if (entry.key != "label!") throw Error(fmt::format("invalid filter \"{}\"", text));
    } else if (entry.key != "label" && entry.key != "name" && entry.key != "driver" &&
               entry.key != "dangling") {
      throw Error(
          fmt::format("invalid filter \"{}\": the keys are label, name, driver, dangling", text));
    }
    if (entry.key.starts_with("label")) {
      const auto value = rest.find('=');
      entry.name = rest.substr(0, value);
      entry.has_value = value != std::string::npos;
      if (entry.has_value) entry.value = rest.substr(value + 1);
    } else {
      entry.name = rest;
    }
    if (entry.key == "dangling") {
      if (rest == "1") entry.name = "true";
      if (rest == "0") entry.name = "false";
      if (entry.name != "true" && entry.name != "false") {
        throw Error(fmt::format("invalid filter \"{}\": dangling is true or false", text));
      }
    }
    m_entries.push_back(std::move(entry));
  }
}

bool VolumeFilter::matches(const VolumeRecord& record, bool in_use) const {
  for (const Entry& entry : m_entries) {
    if (entry.key == "label" || entry.key == "label!") {
      const auto found = record.labels.find(entry.name);
      const bool has =
          found != record.labels.end() && (!entry.has_value || found->second == entry.value);
      if (has != (entry.key == "label")) return false;
    } else if (entry.key == "name") {
      if (record.name.find(entry.name) == std::string::npos) return false;
    } else if (entry.key == "driver") {
      if (record.driver != entry.name) return false;
    } else if (entry.key == "dangling") {
      if (in_use == (entry.name == "true")) return false;
    }
  }
  return true;
}

}  // namespace berth::volume
