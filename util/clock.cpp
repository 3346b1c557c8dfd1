#include "util/clock.h"

#include <chrono>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "util/error.h"

namespace berth {

std::string now_rfc3339() {
  return rfc3339(std::chrono::system_clock::now());
}

std::string rfc3339(std::chrono::system_clock::time_point time_point) {
  const auto since_epoch = time_point.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds);
  const std::time_t time = seconds.count();
  std::tm parts{};
  ::gmtime_r(&time, &parts);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", parts.tm_year + 1900,
                     parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                     nanos.count());
}

std::string time_bound(const std::string& text) {
  if (text.find('T') != std::string::npos || text.find('-') != std::string::npos) return text;
  // Go's duration syntax, as Docker parses --since: numbers with units, summed.
  static const std::regex whole(R"(^((\d+(\.\d+)?)(h|ms|m|s))+$)");
  if (!std::regex_match(text, whole)) {
    throw Error("invalid time \"" + text + "\": expected RFC 3339 or a duration such as 42m");
  }
  static const std::regex part(R"((\d+(?:\.\d+)?)(h|ms|m|s))");
  double seconds = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), part), end; it != end; ++it) {
    const double value = std::stod((*it)[1].str());
    const std::string unit = (*it)[2].str();
    seconds += unit == "h"   ? value * 3600
               : unit == "m" ? value * 60
               : unit == "s" ? value
                             : value / 1000;
  }
  const auto back = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(seconds));
  return rfc3339(std::chrono::system_clock::now() - back);
}

}  // namespace berth
