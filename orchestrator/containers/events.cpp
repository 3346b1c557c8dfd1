#include "orchestrator/containers/events.h"

#include <spdlog/spdlog.h>

#include "runtime/event_journal.h"

namespace berth::containers {

std::string events_journal(const ContainerStore& store) {
  return store.runroot() + "/events.jsonl";
}

std::map<std::string, std::string> event_attributes(const ContainerRecord& record) {
  std::map<std::string, std::string> attributes;
  // Docker's container labels include its image's; the container's own win.
  if (const auto labels = record.image_config.find("Labels");
      labels != record.image_config.end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      if (value.is_string()) attributes[key] = value.get<std::string>();
    }
  }
  for (const auto& [key, value] : record.spec.labels) attributes[key] = value;
  attributes["name"] = record.name;
  attributes["image"] = record.image;
  return attributes;
}

void record_event(const ContainerStore& store, const ContainerRecord& record,
                  std::string_view action, const std::map<std::string, std::string>& extra) {
  try {
    runtime::JournalEvent event;
    event.action = action;
    event.id = record.id;
    event.attributes = event_attributes(record);
    for (const auto& [key, value] : extra) event.attributes[key] = value;
    if (const auto failure = runtime::append_event(events_journal(store), std::move(event))) {
      spdlog::debug("event {} of {} not recorded: {}", action, record.name, *failure);
    }
  } catch (const std::exception& e) {
    spdlog::debug("event {} of {} not recorded: {}", action, record.name, e.what());
  }
}

}  // namespace berth::containers
