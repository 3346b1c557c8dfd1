#include "network/dns_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "util/error.h"
#include "util/strings.h"

namespace berth::network {

namespace {

using nlohmann::json;

/// RFC 1035's limits.
constexpr std::size_t k_max_label = 63;
constexpr std::size_t k_max_name = 253;

[[noreturn]] void invalid(const std::string& reason) {
  throw Error("invalid DNS config: " + reason);
}

bool is_ip_address(const std::string& text) {
  in6_addr buffer{};
  return inet_pton(AF_INET, text.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &buffer) == 1;
}

std::vector<std::string> string_array(const json& value, const std::string& what) {
  if (!value.is_array()) invalid(fmt::format("{} must be an array of strings", what));
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) invalid(fmt::format("{} must be an array of strings", what));
    out.push_back(item.get<std::string>());
  }
  return out;
}

/// `value` as a name -> addresses map, names normalised and spellings merged. `what` names
/// the object in messages ("\"names\""), `where` follows a name in them ("", " in views[0]").
std::map<std::string, std::vector<std::string>> name_map(const json& value, const std::string& what,
                                                         const std::string& where) {
  if (!value.is_object()) invalid(fmt::format("{} must be an object", what));
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, addresses] : value.items()) {
    std::string key;
    try {
      key = normalise_dns_name(name);
    } catch (const Error& e) {
      invalid(e.what() + where);
    }
    auto& merged = out[key];
    for (auto& address :
         string_array(addresses, fmt::format("the addresses of \"{}\"{}", name, where))) {
      if (!is_ip_address(address)) {
        invalid(fmt::format("\"{}\" of \"{}\"{} is not an IP address", address, name, where));
      }
      if (std::find(merged.begin(), merged.end(), address) == merged.end()) {
        merged.push_back(std::move(address));
      }
    }
  }
  return out;
}

/// One element of "views", `at` its place ("views[0]").
DnsView view(const json& value, const std::string& at) {
  if (!value.is_object()) invalid(fmt::format("{} must be an object", at));
  DnsView out;
  const auto clients = value.find("clients");
  if (clients == value.end()) invalid(fmt::format("{} has no \"clients\"", at));
  out.clients = string_array(*clients, fmt::format("the clients of {}", at));
  for (const auto& client : out.clients) {
    if (!is_ip_address(client)) {
      invalid(fmt::format("client \"{}\" of {} is not an IP address", client, at));
    }
  }
  if (const auto names = value.find("names"); names != value.end()) {
    out.names = name_map(*names, fmt::format("the names of {}", at), " in " + at);
  }
  return out;
}

}  // namespace

json to_json(const DnsConfig& config) {
  json views = json::array();
  for (const auto& view : config.views) {
    views.push_back(json{{"clients", view.clients}, {"names", view.names}});
  }
  return json{{"listen", config.listen},
              {"port", config.port},
              {"upstreams", config.upstreams},
              {"names", config.names},
              {"views", views}};
}

DnsConfig dns_config_from_json(const json& value) {
  if (!value.is_object()) invalid("not a JSON object");
  DnsConfig config;
  const auto listen = value.find("listen");
  if (listen == value.end() || !listen->is_string() || !is_ip_address(listen->get<std::string>())) {
    invalid("\"listen\" must be an IP address");
  }
  config.listen = listen->get<std::string>();
  if (const auto port = value.find("port"); port != value.end()) {
    if (!port->is_number_unsigned() || port->get<std::uint64_t>() == 0 ||
        port->get<std::uint64_t>() > 65535) {
      invalid("\"port\" must be a number from 1 to 65535");
    }
    config.port = port->get<std::uint16_t>();
  }
  if (const auto upstreams = value.find("upstreams"); upstreams != value.end()) {
    config.upstreams = string_array(*upstreams, "\"upstreams\"");
    for (const auto& upstream : config.upstreams) {
      try {
        parse_dns_upstream(upstream);
      } catch (const Error& e) {
        invalid(e.what());
      }
    }
  }
  if (const auto names = value.find("names"); names != value.end()) {
    config.names = name_map(*names, "\"names\"", "");
  }
  if (const auto views = value.find("views"); views != value.end()) {
    if (!views->is_array()) invalid("\"views\" must be an array");
    for (std::size_t i = 0; i < views->size(); ++i) {
      config.views.push_back(view(views->at(i), fmt::format("views[{}]", i)));
    }
  }
  return config;
}

std::string normalise_dns_name(std::string_view name) {
  const auto bad = [&] { return Error(fmt::format("invalid DNS name \"{}\"", name)); };
  std::string_view body = name;
  if (body.ends_with('.')) body.remove_suffix(1);
  if (body.empty() || body.size() > k_max_name) throw bad();
  for (const auto label : split(body, '.')) {
    if (label.empty() || label.size() > k_max_label) throw bad();
  }
  for (const char c : body) {
    if (c <= ' ' || c > '~' || c == '\\') throw bad();
  }
  return lower(body);
}

DnsUpstream parse_dns_upstream(std::string_view text) {
  const auto bad = [&] { return Error(fmt::format("invalid DNS upstream \"{}\"", text)); };
  DnsUpstream upstream;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw bad();
    upstream.address = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) throw bad();
      port = rest.substr(1);
      if (port.empty()) throw bad();
    }
    in6_addr buffer{};
    if (inet_pton(AF_INET6, upstream.address.c_str(), &buffer) != 1) throw bad();
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    upstream.address = std::string(text);  // a bare IPv6 address
    in6_addr buffer{};
    if (inet_pton(AF_INET6, upstream.address.c_str(), &buffer) != 1) throw bad();
  } else {
    const auto colon = text.find(':');
    upstream.address = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) throw bad();
    }
    in_addr buffer{};
    if (inet_pton(AF_INET, upstream.address.c_str(), &buffer) != 1) throw bad();
  }
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw bad();
    }
    upstream.port = static_cast<std::uint16_t>(value);
  }
  return upstream;
}

}  // namespace berth::network
