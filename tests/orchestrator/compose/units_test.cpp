#include "orchestrator/compose/units.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace berth::compose {
namespace {

constexpr std::int64_t k_us = 1'000;
constexpr std::int64_t k_ms = 1'000'000;
constexpr std::int64_t k_s = 1'000'000'000;
constexpr std::int64_t k_min = 60 * k_s;
constexpr std::int64_t k_h = 60 * k_min;

TEST(ParseDuration, Zero) {
  EXPECT_EQ(parse_duration("0"), 0);
  EXPECT_EQ(parse_duration("+0"), 0);
  EXPECT_EQ(parse_duration("-0"), 0);
  EXPECT_EQ(parse_duration("0s"), 0);
  EXPECT_EQ(parse_duration("0.0h"), 0);
}

TEST(ParseDuration, EveryUnit) {
  EXPECT_EQ(parse_duration("1ns"), 1);
  EXPECT_EQ(parse_duration("1us"), k_us);
  EXPECT_EQ(parse_duration("1\xC2\xB5s"), k_us);  // micro sign
  EXPECT_EQ(parse_duration("1\xCE\xBCs"), k_us);  // greek mu
  EXPECT_EQ(parse_duration("1ms"), k_ms);
  EXPECT_EQ(parse_duration("1s"), k_s);
  EXPECT_EQ(parse_duration("1m"), k_min);
  EXPECT_EQ(parse_duration("1h"), k_h);
  EXPECT_EQ(parse_duration("1d"), 24 * k_h);
  EXPECT_EQ(parse_duration("1w"), 168 * k_h);
}

TEST(ParseDuration, CompoundsFractionsAndSigns) {
  EXPECT_EQ(parse_duration("1h2m3.5s"), k_h + 2 * k_min + 3 * k_s + 500 * k_ms);
  EXPECT_EQ(parse_duration("1m30s"), 90 * k_s);
  EXPECT_EQ(parse_duration("90s"), 90 * k_s);
  EXPECT_EQ(parse_duration("300ms"), 300 * k_ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500 * k_ms);
  EXPECT_EQ(parse_duration("1.5h"), 90 * k_min);
  EXPECT_EQ(parse_duration("-1.5h"), -90 * k_min);
  EXPECT_EQ(parse_duration("+10s"), 10 * k_s);
  EXPECT_EQ(parse_duration(".5s"), 500 * k_ms);
  EXPECT_EQ(parse_duration("1.s"), k_s);
  EXPECT_EQ(parse_duration("1s1s"), 2 * k_s);  // units may repeat, as in Go
  EXPECT_EQ(parse_duration("1.000000001s"), k_s + 1);
  EXPECT_EQ(parse_duration("0.0000000001s"), 0);  // below a nanosecond truncates
  EXPECT_EQ(parse_duration("2h45m"), 2 * k_h + 45 * k_min);
}

TEST(ParseDuration, Limits) {
  EXPECT_EQ(parse_duration("9223372036854775807ns"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_duration("9223372036854775808ns"), std::nullopt);
  EXPECT_EQ(parse_duration("2562047h"), 2562047 * k_h);
  EXPECT_EQ(parse_duration("2562048h"), std::nullopt);
  EXPECT_EQ(parse_duration("2562047h48m"), std::nullopt);
}

TEST(ParseDuration, Invalid) {
  for (const char* text : {"", "+", "-", "90", "10 s", "1x", "s", ".s", "1.2.3s", "1h 2m", "1S",
                           "1H", "one second", "1e3s", "--1s", "1s-"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(FormatDuration, BelowOneSecond) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(1), "1ns");
  EXPECT_EQ(format_duration(999), "999ns");
  EXPECT_EQ(format_duration(k_us), "1\xC2\xB5s");
  EXPECT_EQ(format_duration(1500), "1.5\xC2\xB5s");
  EXPECT_EQ(format_duration(k_ms), "1ms");
  EXPECT_EQ(format_duration(1500 * k_us), "1.5ms");
  EXPECT_EQ(format_duration(300 * k_ms), "300ms");
  EXPECT_EQ(format_duration(100 * k_ms + 1), "100.000001ms");
  EXPECT_EQ(format_duration(k_s - 1), "999.999999ms");
}

TEST(FormatDuration, SecondsAndAbove) {
  EXPECT_EQ(format_duration(k_s), "1s");
  EXPECT_EQ(format_duration(1500 * k_ms), "1.5s");
  EXPECT_EQ(format_duration(k_s + 1), "1.000000001s");
  EXPECT_EQ(format_duration(59 * k_s), "59s");
  EXPECT_EQ(format_duration(60 * k_s), "1m0s");
  EXPECT_EQ(format_duration(61 * k_s), "1m1s");
  EXPECT_EQ(format_duration(90 * k_s), "1m30s");
  EXPECT_EQ(format_duration(k_h), "1h0m0s");
  EXPECT_EQ(format_duration(k_h + 2 * k_min + 3500 * k_ms), "1h2m3.5s");
  EXPECT_EQ(format_duration(24 * k_h), "24h0m0s");
  EXPECT_EQ(format_duration(168 * k_h), "168h0m0s");
}

TEST(FormatDuration, Negative) {
  EXPECT_EQ(format_duration(-1), "-1ns");
  EXPECT_EQ(format_duration(-1500 * k_ms), "-1.5s");
  EXPECT_EQ(format_duration(-90 * k_min), "-1h30m0s");
}

TEST(FormatDuration, Extremes) {
  EXPECT_EQ(format_duration(std::numeric_limits<std::int64_t>::max()), "2562047h47m16.854775807s");
  EXPECT_EQ(format_duration(std::numeric_limits<std::int64_t>::min()), "-2562047h47m16.854775808s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (std::int64_t value : {std::int64_t{0}, std::int64_t{1}, 1500 * k_us, 300 * k_ms, 1500 * k_ms,
                             90 * k_s, k_h + 1, -7 * k_h, 999 * k_h + 1}) {
    EXPECT_EQ(parse_duration(format_duration(value)), value) << value;
  }
}

TEST(ParseBytes, PlainNumbers) {
  EXPECT_EQ(parse_bytes("0"), 0);
  EXPECT_EQ(parse_bytes("1024"), 1024);
  EXPECT_EQ(parse_bytes("10.5"), 10);  // fractions of a byte truncate
  EXPECT_EQ(parse_bytes("007"), 7);
}

TEST(ParseBytes, UnitsAre1024BasedAndCaseInsensitive) {
  EXPECT_EQ(parse_bytes("1b"), 1);
  EXPECT_EQ(parse_bytes("1B"), 1);
  EXPECT_EQ(parse_bytes("2k"), 2048);
  EXPECT_EQ(parse_bytes("2K"), 2048);
  EXPECT_EQ(parse_bytes("2kb"), 2048);
  EXPECT_EQ(parse_bytes("2KiB"), 2048);
  EXPECT_EQ(parse_bytes("2kib"), 2048);
  EXPECT_EQ(parse_bytes("2 KiB"), 2048);
  EXPECT_EQ(parse_bytes("512m"), 536870912);
  EXPECT_EQ(parse_bytes("512M"), 536870912);
  EXPECT_EQ(parse_bytes("512mb"), 536870912);
  EXPECT_EQ(parse_bytes("1g"), 1073741824);
  EXPECT_EQ(parse_bytes("1gb"), 1073741824);
  EXPECT_EQ(parse_bytes("1GB"), 1073741824);
  EXPECT_EQ(parse_bytes("1.5g"), 1610612736);
  EXPECT_EQ(parse_bytes("0.5k"), 512);
  EXPECT_EQ(parse_bytes("1t"), 1099511627776);
  EXPECT_EQ(parse_bytes("1p"), 1125899906842624);
  EXPECT_EQ(parse_bytes("8191p"), 9222246136947933184);
}

TEST(ParseBytes, QuirksOfTheGoUnitsGrammar) {
  // docker/go-units accepts a lone "i", a trailing space and "ib" without a unit.
  EXPECT_EQ(parse_bytes("1i"), 1);
  EXPECT_EQ(parse_bytes("1ib"), 1);
  EXPECT_EQ(parse_bytes("1 "), 1);
}

TEST(ParseBytes, Invalid) {
  for (const char* text :
       {"", "k", "-1", "+1", "1x", "1kk", "1kbb", "1.5.5m", "1.", ".5", " 1", "1  k", "1e3", "12q",
        "1 k b", "0x10", "8192p", "99999999999999999999"}) {
    EXPECT_EQ(parse_bytes(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace berth::compose
