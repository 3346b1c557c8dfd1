#include "orchestrator/containers/project_images.h"

#include <exception>
#include <thread>

#include <fmt/format.h>

#include "image/pull.h"
#include "image/push.h"
#include "image/reference.h"

namespace berth::containers {

namespace {

/// `move(image)` for every image on a thread of its own, between `doing` and `done` lines.
std::vector<std::string> each_image(const ServiceImages& images, const char* verb,
                                    const char* doing, const char* done,
                                    const std::function<void(const std::string&)>& progress,
                                    const std::function<void(const std::string&)>& move) {
  std::vector<std::pair<std::string, std::string>> work;  // image, its first service
  for (const auto& [image, services] : images) work.emplace_back(image, services.front());
  std::vector<std::string> failures(work.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < work.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto& [image, service] = work[i];
      try {
        progress(fmt::format("Image {}  {}", image, doing));
        move(image);
        progress(fmt::format("Image {}  {}", image, done));
      } catch (const std::exception& e) {
        failures[i] = fmt::format("service \"{}\": {} {}: {}", service, verb, image, e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::erase_if(failures, [](const std::string& failure) { return failure.empty(); });
  return failures;
}

}  // namespace

std::vector<std::string> pull_service_images(
    const image::ImageStore& store, const ServiceImages& images,
    const std::function<void(const std::string&)>& progress) {
  return each_image(images, "pull", "Pulling", "Pulled", progress, [&](const std::string& image) {
    image::pull_image(store, image::parse_reference(image), {});
  });
}

std::vector<std::string> push_service_images(
    const image::ImageStore& store, const ServiceImages& images,
    const std::function<void(const std::string&)>& progress) {
  return each_image(images, "push", "Pushing", "Pushed", progress, [&](const std::string& image) {
    image::push_image(store, image::parse_reference(image), {});
  });
}

}  // namespace berth::containers
