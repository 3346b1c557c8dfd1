#include "orchestrator/containers/image_users.h"

#include "orchestrator/containers/project_containers.h"
#include "util/error.h"

namespace berth::containers {

std::vector<image::ImageUser> image_users(const ContainerStore& store) {
  std::vector<image::ImageUser> users;
  for (const auto& record : store.list()) {
    image::ImageUser user;
    user.container_id = record.id;
    try {
      user.image_id = image::Digest::parse(record.image_id);
    } catch (const Error&) {
      // A record without an image id still holds its layers.
    }
    user.running = is_active(store.live_state(record.id).state.status);
    user.layer_dirs = record.lower_dirs;
    users.push_back(std::move(user));
  }
  return users;
}

}  // namespace berth::containers
