// Reading times back for `events --since/--until`: RFC 3339 in its forms, Unix seconds and
// durations, as Docker's API takes them.
#include "util/time_parse.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "util/clock.h"

namespace berth {
namespace {

using std::chrono::system_clock;
using testing::error_of;

system_clock::time_point unix_time(long long seconds, long long nanos = 0) {
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

TEST(EventsTimeParse, ReadsRfc3339WithFractionsAndZones) {
  EXPECT_EQ(parse_time("2026-11-24T15:00:01Z"), unix_time(1795532401));
  EXPECT_EQ(parse_time("2026-11-24T15:00:01.123456789Z"), unix_time(1795532401, 123456789));
  EXPECT_EQ(parse_time("2026-11-24T15:00:01.5Z"), unix_time(1795532401, 500000000));
  EXPECT_EQ(parse_time("2026-11-24T16:30:01+01:30"), unix_time(1795532401));
  EXPECT_EQ(parse_time("2026-11-24T13:00:01-02:00"), unix_time(1795532401));
  // What berth writes reads back as the same time.
  const auto now = system_clock::now();
  EXPECT_EQ(parse_time(rfc3339(now)), now);
}

TEST(EventsTimeParse, ShorterFormsAreLocalTime) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(parse_time("2026-11-24T15:00:01"), unix_time(1795532401));
  EXPECT_EQ(parse_time("2026-11-24T15:00"), unix_time(1795532400));
  EXPECT_EQ(parse_time("2026-11-24"), unix_time(1795478400));
  ::unsetenv("TZ");
  ::tzset();
}

TEST(EventsTimeParse, RejectsWhatIsNoTime) {
  EXPECT_EQ(parse_time(""), std::nullopt);
  EXPECT_EQ(parse_time("yesterday"), std::nullopt);
  EXPECT_EQ(parse_time("2026-13-24T15:00:01Z"), std::nullopt);
  EXPECT_EQ(parse_time("2026-11-24T15:00:01ZZ"), std::nullopt);
}

TEST(EventsTimeParse, BoundsTakeUnixSecondsAndDurations) {
  EXPECT_EQ(time_bound_point("1795532401"), unix_time(1795532401));
  EXPECT_EQ(time_bound_point("1795532401.25"), unix_time(1795532401, 250000000));
  EXPECT_EQ(time_bound_point("2026-11-24T15:00:01Z"), unix_time(1795532401));
  const auto ten_minutes_ago = system_clock::now() - std::chrono::minutes(10);
  const auto bound = time_bound_point("10m");
  EXPECT_LT(std::chrono::abs(bound - ten_minutes_ago), std::chrono::seconds(5));
  EXPECT_EQ(error_of([] { time_bound_point("soon"); }),
            "invalid time \"soon\": expected RFC 3339, Unix seconds or a duration such as 42m");
  EXPECT_EQ(error_of([] { time_bound_point("2026-11-24T25:00:00Z"); }),
            "invalid time \"2026-11-24T25:00:00Z\": expected RFC 3339, Unix seconds or a "
            "duration such as 42m");
}

}  // namespace
}  // namespace berth
