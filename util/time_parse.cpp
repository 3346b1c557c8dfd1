#include "util/time_parse.h"

#include <ctime>
#include <regex>
#include <string>

#include "util/clock.h"
#include "util/error.h"

namespace berth {

namespace {

using std::chrono::system_clock;

/// "5" -> 500000000: the digits of a fraction of a second as nanoseconds.
long long fraction_nanos(const std::string& digits) {
  std::string padded = digits.substr(0, 9);
  padded.resize(9, '0');
  return std::stoll(padded);
}

}  // namespace

std::optional<system_clock::time_point> parse_time(std::string_view text) {
  static const std::regex form(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?)"
      R"((Z|z|[+-]\d{2}:?\d{2})?$)");
  std::match_results<std::string_view::const_iterator> parts;
  if (!std::regex_match(text.begin(), text.end(), parts, form)) return std::nullopt;
  const auto number = [&](int index) {
    return parts[index].matched ? std::stoi(parts[index].str()) : 0;
  };
  std::tm fields{};
  fields.tm_year = number(1) - 1900;
  fields.tm_mon = number(2) - 1;
  fields.tm_mday = number(3);
  fields.tm_hour = number(4);
  fields.tm_min = number(5);
  fields.tm_sec = number(6);
  if (fields.tm_mon > 11 || fields.tm_mday < 1 || fields.tm_mday > 31 || fields.tm_hour > 23 ||
      fields.tm_min > 59 || fields.tm_sec > 60) {
    return std::nullopt;
  }
  std::time_t seconds = 0;
  if (parts[8].matched) {
    seconds = ::timegm(&fields);
    const std::string zone = parts[8].str();
    if (zone != "Z" && zone != "z") {
      const int hours = std::stoi(zone.substr(1, 2));
      const int minutes = std::stoi(zone.substr(zone.size() - 2));
      const int offset = (hours * 60 + minutes) * 60;
      seconds -= zone[0] == '+' ? offset : -offset;
    }
  } else {
    fields.tm_isdst = -1;  // whatever the local zone says for that date
    seconds = std::mktime(&fields);
  }
  const long long nanos = parts[7].matched ? fraction_nanos(parts[7].str()) : 0;
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

system_clock::time_point time_bound_point(const std::string& text) {
  if (const auto time = parse_time(text)) return *time;
  static const std::regex unix_seconds(R"(^(\d+)(?:\.(\d{1,9}))?$)");
  std::smatch parts;
  if (std::regex_match(text, parts, unix_seconds)) {
    const long long nanos = parts[2].matched ? fraction_nanos(parts[2].str()) : 0;
    return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::seconds(std::stoll(parts[1].str())) + std::chrono::nanoseconds(nanos)));
  }
  // A duration (time_bound turns it into the RFC 3339 time it names, and rejects the rest).
  if (text.find_first_of("T-:") == std::string::npos) {
    try {
      if (const auto time = parse_time(time_bound(text))) return *time;
    } catch (const Error&) {
      // Not a duration either: the message below names every form.
    }
  }
  throw Error("invalid time \"" + text +
              "\": expected RFC 3339, Unix seconds or a duration such as 42m");
}

}  // namespace berth
