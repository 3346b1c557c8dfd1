// The events journal without containers: its lines, appends from many writers at once, the
// rotation past its size limit, and a follower that keeps up across rotations.
#include "runtime/event_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/event_follower.h"
#include "tests/support/run_berth.h"
#include "util/time_parse.h"
#include "util/unique_fd.h"

namespace berth::runtime {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

JournalEvent numbered(const std::string& action, int number, const std::string& writer = "w") {
  JournalEvent event;
  event.action = action;
  event.id = std::string(64, 'a');
  event.attributes = {{"name", "shop-web-1"}, {"writer", writer}, {"n", std::to_string(number)}};
  return event;
}

/// The events of the file at `path`, in order; a line that is not one fails the test.
std::vector<JournalEvent> events_in(const std::string& path) {
  std::vector<JournalEvent> events;
  if (!std::filesystem::exists(path)) return events;
  const std::string text = testing::read_text(path);
  std::size_t begin = 0;
  for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const auto event = parse_journal_line(std::string_view(text).substr(begin, end - begin));
    EXPECT_TRUE(event) << "not an event: " << text.substr(begin, end - begin);
    if (event) events.push_back(*event);
  }
  EXPECT_EQ(begin, text.size()) << "a line without its end";
  return events;
}

TEST(EventsJournal, AppendsOneJsonLinePerEvent) {
  TempDir dir;
  const std::string path = dir.path() + "/run/events.jsonl";  // its directory made on demand
  JournalEvent event = numbered("die", 1);
  event.attributes["exitCode"] = "137";
  event.attributes["label"] = "<tag> & \"quoted\"";
  ASSERT_EQ(append_event(path, event), std::nullopt);
  ASSERT_EQ(append_event(path, numbered("destroy", 2)), std::nullopt);

  const auto events = events_in(path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "container");
  EXPECT_EQ(events[0].action, "die");
  EXPECT_EQ(events[0].id, std::string(64, 'a'));
  EXPECT_EQ(events[0].attributes, event.attributes);
  EXPECT_EQ(events[1].action, "destroy");
  // Stamped when appended: RFC 3339, UTC, nanoseconds.
  EXPECT_THAT(events[0].time,
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z"));
  EXPECT_LE(events[0].time, events[1].time);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
}

TEST(EventsJournal, SkipsLinesThatAreNoEvents) {
  EXPECT_EQ(parse_journal_line(""), std::nullopt);
  EXPECT_EQ(parse_journal_line("{\"time\":\"2026-11-24T15:00:00Z\",\"action\":\"st"), std::nullopt);
  EXPECT_EQ(parse_journal_line("[1,2]"), std::nullopt);
  EXPECT_EQ(parse_journal_line("{\"time\":\"2026-11-24T15:00:00Z\",\"id\":\"x\"}"), std::nullopt);
  const auto event = parse_journal_line(
      "{\"time\":\"2026-11-24T15:00:00Z\",\"type\":\"container\",\"action\":\"start\","
      "\"id\":\"x\",\"attributes\":{\"name\":\"a\",\"odd\":1}}");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->attributes, (std::map<std::string, std::string>{{"name", "a"}}));
}

TEST(EventsJournal, AFailedAppendIsReportedNotThrown) {
  TempDir dir;
  // A directory where the journal should be: nothing can be appended.
  std::filesystem::create_directories(dir.path() + "/events.jsonl");
  const auto failure = append_event(dir.path() + "/events.jsonl", numbered("start", 1));
  ASSERT_TRUE(failure);
  EXPECT_THAT(*failure, ::testing::HasSubstr("events.jsonl"));
}

TEST(EventsJournal, RotatesPastItsLimitKeepingOneOlderGeneration) {
  TempDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  const std::size_t line = journal_line(numbered("start", 10)).size() + 30;  // time included
  const std::size_t limit = 4 * line;
  for (int n = 10; n < 40; ++n)
    ASSERT_EQ(append_event(path, numbered("start", n), limit), std::nullopt);

  const auto previous = events_in(path + ".1");
  const auto current = events_in(path);
  ASSERT_FALSE(previous.empty());
  // The last append may have rotated the file away: the next one makes it anew.
  if (std::filesystem::exists(path)) {
    EXPECT_LE(std::filesystem::file_size(path), limit);
  }
  EXPECT_LE(std::filesystem::file_size(path + ".1"), limit + line);
  // The two generations hold the latest events without a gap; older ones are gone.
  std::vector<int> kept;
  for (const auto& events : {previous, current}) {
    for (const auto& event : events) kept.push_back(std::stoi(event.attributes.at("n")));
  }
  EXPECT_EQ(kept.back(), 39);
  for (std::size_t i = 1; i < kept.size(); ++i) EXPECT_EQ(kept[i], kept[i - 1] + 1);
  EXPECT_GT(kept.front(), 10);
}

TEST(EventsJournal, ManyWritersNeitherInterleaveNorLoseLinesAcrossRotations) {
  TempDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  constexpr int k_writers = 4;
  constexpr int k_events = 300;
  std::vector<std::thread> writers;
  for (int w = 0; w < k_writers; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 0; n < k_events; ++n) {
        JournalEvent event = numbered("start", n, std::to_string(w));
        event.attributes["padding"] = std::string(200, 'x');
        append_event(path, event, 64 * 1024);
      }
    });
  }
  for (auto& writer : writers) writer.join();

  // Kept: the latest events, so for each writer still there its latest, in its order,
  // without a gap.
  std::map<std::string, std::vector<int>> kept;
  for (const auto& file : {path + ".1", path}) {
    for (const auto& event : events_in(file)) {
      kept[event.attributes.at("writer")].push_back(std::stoi(event.attributes.at("n")));
    }
  }
  ASSERT_FALSE(kept.empty());
  for (const auto& [writer, numbers] : kept) {
    EXPECT_EQ(numbers.back(), k_events - 1) << "writer " << writer;
    for (std::size_t i = 1; i < numbers.size(); ++i) {
      EXPECT_EQ(numbers[i], numbers[i - 1] + 1) << "writer " << writer;
    }
  }
}

/// follow_journal on a thread, stopped through a pipe, its events gathered.
class Follower {
 public:
  Follower(const std::string& path, FollowOptions options) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    m_stop_read.reset(ends[0]);
    m_stop_write.reset(ends[1]);
    options.stop_fd = m_stop_read.get();
    m_thread = std::thread([this, path, options] {
      follow_journal(path, options, [this](const JournalEvent& event) {
        std::lock_guard lock(m_mutex);
        m_events.push_back(event);
        m_changed.notify_all();
      });
      m_done = true;
    });
  }
  ~Follower() { stop(); }

  void stop() {
    if (!m_thread.joinable()) return;
    if (::write(m_stop_write.get(), "x", 1) != 1) ADD_FAILURE() << "cannot stop the follower";
    m_thread.join();
  }
  /// Waits up to 5 s until `count` events have come; the numbers ("n") of those that did.
  std::vector<int> numbers(std::size_t count) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, std::chrono::seconds(5), [&] { return m_events.size() >= count; });
    std::vector<int> numbers;
    for (const auto& event : m_events) numbers.push_back(std::stoi(event.attributes.at("n")));
    return numbers;
  }
  bool done() const { return m_done; }

 private:
  Fd m_stop_read;
  Fd m_stop_write;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<JournalEvent> m_events;
  std::atomic<bool> m_done = false;
  std::thread m_thread;
};

TEST(EventsFollow, SeesOnlyWhatIsAppendedAfterItStarts) {
  TempDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  for (int n = 0; n < 3; ++n) ASSERT_EQ(append_event(path, numbered("create", n)), std::nullopt);
  Follower follower(path, {});
  // Once a marker shows, the follower reads from the end it found.
  std::vector<int> seen;
  for (int attempt = 0; attempt < 100 && seen.empty(); ++attempt) {
    append_event(path, numbered("marker", 100));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    seen = follower.numbers(0);
  }
  ASSERT_FALSE(seen.empty());
  for (int number : seen) EXPECT_EQ(number, 100);
  const std::size_t markers = seen.size();
  append_event(path, numbered("start", 4));
  const auto after = follower.numbers(markers + 1);
  ASSERT_EQ(after.size(), markers + 1);
  EXPECT_EQ(after.back(), 4);
  follower.stop();
  EXPECT_TRUE(follower.done());
}

TEST(EventsFollow, KeepsUpAcrossRotations) {
  TempDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  const std::size_t limit = 3 * journal_line(numbered("start", 10)).size() + 60;
  // Before the journal exists: the follower takes the new file from its start.
  Follower follower(path, {});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<int> expected;
  for (int n = 10; n < 40; ++n) {
    ASSERT_EQ(append_event(path, numbered("start", n), limit), std::nullopt);
    expected.push_back(n);
    // One event at a time, as a follower lagging a whole generation behind loses it.
    ASSERT_EQ(follower.numbers(expected.size()), expected);
  }
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
}

TEST(EventsFollow, ReplaysBothGenerationsSinceATimeAndEndsAtUntil) {
  TempDir dir;
  const std::string path = dir.path() + "/events.jsonl";
  const std::size_t limit = 4 * journal_line(numbered("start", 10)).size() + 60;
  for (int n = 0; n < 6; ++n) {
    JournalEvent event = numbered("start", n);
    event.time = "2026-11-24T15:00:0" + std::to_string(n) + ".000000000Z";
    ASSERT_EQ(append_event(path, event, limit), std::nullopt);
  }
  ASSERT_TRUE(std::filesystem::exists(path + ".1"));
  FollowOptions options;
  // 15:00:01 to 15:00:04, both included; the until is long past, so it ends at once.
  options.since = parse_time("2026-11-24T15:00:01Z");
  options.until = parse_time("2026-11-24T15:00:04Z");
  Follower follower(path, options);
  EXPECT_THAT(follower.numbers(4), ElementsAre(1, 2, 3, 4));
  for (int i = 0; i < 100 && !follower.done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(follower.done());
}

}  // namespace
}  // namespace berth::runtime
