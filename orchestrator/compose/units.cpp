#include "orchestrator/compose/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace berth::compose {
namespace {

constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Nanoseconds per duration unit; 0 for an unknown unit.
std::int64_t duration_unit(std::string_view unit) {
  static const std::array<std::pair<std::string_view, std::int64_t>, 10> k_units{{
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
      {"\xCE\xBCs", 1'000},  // U+03BC greek small letter mu
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
      {"d", 86'400'000'000'000},
      {"w", 604'800'000'000'000},
  }};
  for (const auto& [name, nanos] : k_units) {
    if (name == unit) {
      return nanos;
    }
  }
  return 0;
}

/// Consumes leading digits of `s` into `value`; false on int64 overflow.
bool leading_int(std::string_view& s, std::int64_t& value) {
  value = 0;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (value > (k_max - (s[i] - '0')) / 10) {
      return false;
    }
    value = value * 10 + (s[i] - '0');
  }
  s.remove_prefix(i);
  return true;
}

/// Consumes leading fraction digits; like Go it stops gaining precision instead of failing.
void leading_fraction(std::string_view& s, std::int64_t& value, double& scale) {
  value = 0;
  scale = 1;
  bool overflow = false;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow || value > (k_max - (s[i] - '0')) / 10) {
      overflow = true;
      continue;
    }
    value = value * 10 + (s[i] - '0');
    scale *= 10;
  }
  s.remove_prefix(i);
}

/// Parses one "<number><unit>" element from the front of `s` into nanoseconds.
std::optional<std::int64_t> duration_element(std::string_view& s) {
  if (!(s[0] == '.' || is_digit(s[0]))) {
    return std::nullopt;
  }
  const std::size_t before = s.size();
  std::int64_t whole = 0;
  if (!leading_int(s, whole)) {
    return std::nullopt;
  }
  const bool has_whole = s.size() != before;
  std::int64_t fraction = 0;
  double scale = 1;
  bool has_fraction = false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    const std::size_t at = s.size();
    leading_fraction(s, fraction, scale);
    has_fraction = s.size() != at;
  }
  if (!has_whole && !has_fraction) {
    return std::nullopt;
  }
  std::size_t unit_length = 0;
  while (unit_length < s.size() && s[unit_length] != '.' && !is_digit(s[unit_length])) {
    ++unit_length;
  }
  const std::int64_t unit = duration_unit(s.substr(0, unit_length));
  s.remove_prefix(unit_length);
  if (unit == 0 || whole > k_max / unit) {
    return std::nullopt;
  }
  std::int64_t value = whole * unit;
  if (fraction > 0) {
    // Same floating-point step as Go, so results agree to the nanosecond.
    const auto part = static_cast<std::int64_t>(static_cast<double>(fraction) *
                                                (static_cast<double>(unit) / scale));
    if (__builtin_add_overflow(value, part, &value)) {
      return std::nullopt;
    }
  }
  return value;
}

/// Writes the fraction digits of v (prec of them, trailing zeros dropped) before `w`.
std::uint64_t format_fraction(std::array<char, 32>& buf, std::size_t& w, std::uint64_t v,
                              int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const auto digit = static_cast<char>(v % 10);
    print = print || digit != 0;
    if (print) {
      buf[--w] = static_cast<char>('0' + digit);
    }
    v /= 10;
  }
  if (print) {
    buf[--w] = '.';
  }
  return v;
}

void format_integer(std::array<char, 32>& buf, std::size_t& w, std::uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

std::optional<std::int64_t> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return 0;
  }
  if (s.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  while (!s.empty()) {
    const auto element = duration_element(s);
    if (!element || __builtin_add_overflow(total, *element, &total)) {
      return std::nullopt;
    }
  }
  return negative ? -total : total;
}

std::string format_duration(std::int64_t nanoseconds) {
  std::array<char, 32> buf{};
  std::size_t w = buf.size();
  const bool negative = nanoseconds < 0;
  std::uint64_t u = negative ? 0 - static_cast<std::uint64_t>(nanoseconds)
                             : static_cast<std::uint64_t>(nanoseconds);
  constexpr std::uint64_t k_second = 1'000'000'000;
  if (u < k_second) {
    // Below one second Go switches to the largest unit that keeps an integer part.
    int prec = 0;
    buf[--w] = 's';
    if (u == 0) {
      buf[--w] = '0';
      return std::string(buf.data() + w, buf.size() - w);
    }
    if (u < 1'000) {
      buf[--w] = 'n';
    } else if (u < 1'000'000) {
      prec = 3;
      buf[--w] = '\xB5';
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    u = format_fraction(buf, w, u, prec);
    format_integer(buf, w, u);
  } else {
    buf[--w] = 's';
    u = format_fraction(buf, w, u, 9);
    format_integer(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      format_integer(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        format_integer(buf, w, u);
      }
    }
  }
  if (negative) {
    buf[--w] = '-';
  }
  return std::string(buf.data() + w, buf.size() - w);
}

std::optional<std::int64_t> parse_bytes(std::string_view text) {
  // Grammar of go-units: ^\d+(\.\d+)* ?[kmgtp]?i?b?$ (case-insensitive); a second fraction
  // group matches the pattern but fails float parsing, so it is rejected here directly.
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) {
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) {
      ++i;
    }
    if (i == start) {
      return std::nullopt;
    }
  }
  double number = 0;
  if (std::from_chars(text.data(), text.data() + i, number).ec != std::errc{}) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(i);
  if (!rest.empty() && rest[0] == ' ') {
    rest.remove_prefix(1);
  }
  double multiplier = 1;
  static const std::string_view k_units = "kmgtp";
  if (!rest.empty()) {
    const auto unit = k_units.find(static_cast<char>(rest[0] | 0x20));
    if (unit != std::string_view::npos) {
      multiplier = std::pow(1024.0, static_cast<double>(unit + 1));
      rest.remove_prefix(1);
    }
  }
  if (!rest.empty() && (rest[0] | 0x20) == 'i') {
    rest.remove_prefix(1);
  }
  if (!rest.empty() && (rest[0] | 0x20) == 'b') {
    rest.remove_prefix(1);
  }
  const double bytes = number * multiplier;
  if (!rest.empty() || !(bytes < 9223372036854775808.0)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(bytes);
}

}  // namespace berth::compose
