// Containers' events as Docker reports them (create, start, die, stop, kill, pause, destroy,
// ...), appended to the store's events journal (runtime/event_journal.h) by the berth process
// that causes each one; the monitor appends its own (start, die, oom, health_status) with
// the attributes given in its config.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// `<runroot>/events.jsonl`.
std::string events_journal(const ContainerStore& store);

/// The attributes of every event of `record`, as Docker's: its labels (the image's under the
/// container's), name and image as the user gave it.
std::map<std::string, std::string> event_attributes(const ContainerRecord& record);

/// Appends the event `action` of `record`, with `extra` attributes (exitCode, signal, ...)
/// over event_attributes. Never fails what caused it: a failure is logged at debug level.
void record_event(const ContainerStore& store, const ContainerRecord& record,
                  std::string_view action, const std::map<std::string, std::string>& extra = {});

}  // namespace berth::containers
