#include "cmd/image_output.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "util/strings.h"

namespace berth::cmd {

Table::Table(std::vector<std::string> headers) {
  m_rows.push_back(std::move(headers));
}

void Table::add(std::vector<std::string> row) {
  m_rows.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<std::size_t> widths;
  for (const auto& row : m_rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], utf8_length(row[i]));
    }
  }
  std::string out;
  for (const auto& row : m_rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - utf8_length(row[i]) + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::optional<TimePoint> parse_time(std::string_view text) {
  std::tm parts{};
  int year = 0;
  int month = 0;
  int consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &parts.tm_mday,
                  &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with('.')) {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const long hours = std::stol(std::string(rest.substr(1, 2)));
    const long minutes = std::stol(std::string(rest.substr(4, 2)));
    offset = (hours * 3600 + minutes * 60) * (rest[0] == '-' ? -1 : 1);
  } else if (rest != "Z") {
    return std::nullopt;
  }
  const std::time_t seconds = ::timegm(&parts) - offset;
  return std::chrono::system_clock::from_time_t(seconds);
}

std::optional<TimePoint> created_of(const image::ImageSummary& summary) {
  const auto& raw = summary.config.raw;
  if (!raw.is_object() || !raw.contains("created") || !raw["created"].is_string())
    return std::nullopt;
  return parse_time(raw["created"].get<std::string>());
}

std::string time_ago(const std::optional<TimePoint>& when) {
  if (!when) return "N/A";
  using namespace std::chrono;
  const auto seconds = duration_cast<std::chrono::seconds>(system_clock::now() - *when).count();
  const auto plural = [](long long n, const char* unit) {
    return fmt::format("{} {}{} ago", n, unit, n == 1 ? "" : "s");
  };
  if (seconds < 1) return "Less than a second ago";
  if (seconds < 60) return plural(seconds, "second");
  const long long minutes = seconds / 60;
  if (minutes == 1) return "About a minute ago";
  if (minutes < 60) return plural(minutes, "minute");
  const long long hours = minutes / 60;
  if (hours == 1) return "About an hour ago";
  if (hours < 48) return plural(hours, "hour");
  const long long days = hours / 24;
  if (days < 14) return plural(days, "day");
  if (days < 60) return plural(days / 7, "week");
  if (days < 730) return plural(days / 30, "month");
  return plural(days / 365, "year");
}

nlohmann::ordered_json inspect_json(const image::ImageSummary& summary) {
  using nlohmann::json;
  const json& raw = summary.config.raw;
  json tags = json::array();
  for (const auto& name : summary.repo_tags)
    tags.push_back(image::parse_reference(name).familiar());
  json digests = json::array();
  for (const auto& name : summary.repo_digests) {
    const auto reference = image::parse_reference(name);
    digests.push_back(reference.familiar_name() + "@" + reference.digest);
  }
  json layers = json::array();
  for (const auto& diff_id : summary.config.diff_ids) layers.push_back(diff_id.str());
  // Docker's field order, so output diffs cleanly against `docker image inspect`.
  nlohmann::ordered_json out;
  out["Id"] = summary.id.str();
  out["RepoTags"] = tags;
  out["RepoDigests"] = digests;
  out["Parent"] = "";
  out["Comment"] = raw.value("comment", "");
  out["Created"] = raw.value("created", "");
  out["Author"] = raw.value("author", "");
  out["Config"] = raw.value("config", json::object());
  out["Architecture"] = summary.config.platform.architecture;
  if (!summary.config.platform.variant.empty()) out["Variant"] = summary.config.platform.variant;
  out["Os"] = summary.config.platform.os;
  out["Size"] = summary.size;
  out["RootFS"] = {{"Type", "layers"}, {"Layers", layers}};
  out["Descriptor"] = image::to_json_value(summary.manifest);
  return out;
}

bool confirm(std::string_view question) {
  std::cout << question << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace berth::cmd
