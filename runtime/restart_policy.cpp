#include "runtime/restart_policy.h"

#include "util/error.h"

namespace berth::runtime {

RestartPolicy restart_policy_of(const std::string& text) {
  RestartPolicy policy;
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  if (name == "no" || name.empty()) {
    policy.name = RestartPolicy::Name::no;
  } else if (name == "always") {
    policy.name = RestartPolicy::Name::always;
  } else if (name == "unless-stopped") {
    policy.name = RestartPolicy::Name::unless_stopped;
  } else if (name == "on-failure") {
    policy.name = RestartPolicy::Name::on_failure;
  } else {
    throw Error("invalid restart policy \"" + text +
                "\": expected no, always, unless-stopped or on-failure[:max-retries]");
  }
  if (colon != std::string::npos) {
    const std::string count = text.substr(colon + 1);
    if (policy.name != RestartPolicy::Name::on_failure || count.empty() || count.size() > 9 ||
        count.find_first_not_of("0123456789") != std::string::npos) {
      throw Error("invalid restart policy \"" + text + "\": only on-failure takes a retry count");
    }
    policy.max_retries = std::stoi(count);
  }
  return policy;
}

}  // namespace berth::runtime
