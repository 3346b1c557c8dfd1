#include "orchestrator/compose/config_hash.h"

#include "orchestrator/compose/emit.h"
#include "util/sha256.h"

namespace berth::compose {

std::string service_config_hash(const YAML::Node& model, const std::string& service) {
  std::vector<std::string> path{"services", service};
  nlohmann::ordered_json json = to_json_value(model["services"][service], path);
  for (const char* key : {"build", "pull_policy", "scale", "depends_on", "profiles"}) {
    json.erase(key);
  }
  // `deploy:` may be written empty (null); only a mapping has replicas to leave out.
  if (json.contains("deploy") && json["deploy"].is_object()) {
    json["deploy"].erase("replicas");
    if (json["deploy"].empty()) json.erase("deploy");
  }
  return sha256_hex(json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace berth::compose
