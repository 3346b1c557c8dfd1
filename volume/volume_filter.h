// `volume ls --filter` and `volume prune --filter`, Docker's keys: label=KEY[=VALUE],
// label!=KEY[=VALUE] (prune), name=PART, driver=NAME, dangling=true|false.
#pragma once

#include <string>
#include <vector>

#include "volume/volume_store.h"

namespace berth::volume {

class VolumeFilter {
 public:
  /// berth::Error `invalid filter "x"` naming the entry for an unknown key or a bad value.
  explicit VolumeFilter(const std::vector<std::string>& entries);

  /// Whether the volume passes every entry; `in_use`: some container mounts it (dangling
  /// means not).
  bool matches(const VolumeRecord& record, bool in_use) const;

 private:
  struct Entry {
    std::string key;    // "label", "label!", "name", "driver", "dangling"
    std::string name;   // the label's key, the name's part, the driver, "true"/"false"
    std::string value;  // the label's value
    bool has_value = false;
  };
  std::vector<Entry> m_entries;
};

}  // namespace berth::volume
