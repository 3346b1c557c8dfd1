#include "network/dns_config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/error_of.h"

namespace berth::network {
namespace {

using nlohmann::json;
using testing::error_of;

TEST(DnsConfig, ParsesEveryField) {
  const DnsConfig config = dns_config_from_json(json::parse(R"({
    "listen": "10.210.3.1", "port": 5353, "upstreams": ["127.0.0.1:5353", "::1"],
    "names": {"web": ["10.210.3.2", "10.210.3.3"], "db": ["10.210.3.4", "fd00::4"]}})"));
  EXPECT_EQ(config.listen, "10.210.3.1");
  EXPECT_EQ(config.port, 5353);
  EXPECT_EQ(config.upstreams, (std::vector<std::string>{"127.0.0.1:5353", "::1"}));
  EXPECT_EQ(config.names.at("web"), (std::vector<std::string>{"10.210.3.2", "10.210.3.3"}));
  EXPECT_EQ(config.names.at("db"), (std::vector<std::string>{"10.210.3.4", "fd00::4"}));
}

TEST(DnsConfig, PortAndUpstreamsAndNamesAreOptional) {
  const DnsConfig config = dns_config_from_json(json{{"listen", "10.0.0.1"}});
  EXPECT_EQ(config.port, 53);
  EXPECT_TRUE(config.upstreams.empty());
  EXPECT_TRUE(config.names.empty());
  EXPECT_TRUE(config.views.empty());
}

TEST(DnsConfig, ParsesViewsInOrderWithNamesNormalisedPerView) {
  const DnsConfig config = dns_config_from_json(json::parse(R"({"listen": "10.210.3.1",
    "names": {"web": ["10.210.3.2"]},
    "views": [{"clients": ["10.210.3.2", "fd00::2"],
               "names": {"DB.": ["10.210.4.2"], "db": ["10.210.4.3", "10.210.4.2"]}},
              {"clients": ["10.210.3.5"], "names": {"cache": ["fd00:4::5"]}},
              {"clients": []}]})"));
  ASSERT_EQ(config.views.size(), 3U);
  EXPECT_EQ(config.views[0].clients, (std::vector<std::string>{"10.210.3.2", "fd00::2"}));
  EXPECT_EQ(config.views[0].names.size(), 1U);
  EXPECT_EQ(config.views[0].names.at("db"), (std::vector<std::string>{"10.210.4.2", "10.210.4.3"}));
  EXPECT_EQ(config.views[1].clients, (std::vector<std::string>{"10.210.3.5"}));
  EXPECT_EQ(config.views[1].names.at("cache"), (std::vector<std::string>{"fd00:4::5"}));
  // A view's names do not leak into the network's own, nor into other views.
  EXPECT_EQ(config.names.size(), 1U);
  EXPECT_FALSE(config.views[1].names.contains("db"));
  EXPECT_TRUE(config.views[2].clients.empty());
  EXPECT_TRUE(config.views[2].names.empty());
}

TEST(DnsConfig, NamesAreNormalisedAndSpellingsMerged) {
  const DnsConfig config = dns_config_from_json(json::parse(R"({"listen": "10.0.0.1",
    "names": {"Web.": ["10.0.0.2"], "web": ["10.0.0.2", "10.0.0.3"], "A.B.c": ["10.0.0.4"]}})"));
  EXPECT_EQ(config.names.size(), 2U);
  EXPECT_EQ(config.names.at("web"), (std::vector<std::string>{"10.0.0.2", "10.0.0.3"}));
  EXPECT_EQ(config.names.at("a.b.c"), (std::vector<std::string>{"10.0.0.4"}));
}

TEST(DnsConfig, RoundTripsThroughJson) {
  DnsConfig config;
  config.listen = "10.0.0.1";
  config.port = 1053;
  config.upstreams = {"192.0.2.1:53"};
  config.names = {{"web", {"10.0.0.2"}}};
  config.views = {{{"10.0.0.2", "fd00::2"}, {{"db", {"10.0.1.2", "10.0.1.3"}}}},
                  {{"10.0.0.3"}, {{"cache", {"fd00:1::4"}}, {"db", {"10.0.1.2"}}}}};
  const DnsConfig again = dns_config_from_json(to_json(config));
  EXPECT_EQ(again.listen, config.listen);
  EXPECT_EQ(again.port, config.port);
  EXPECT_EQ(again.upstreams, config.upstreams);
  EXPECT_EQ(again.names, config.names);
  EXPECT_EQ(again.views, config.views);
  config.views.clear();
  EXPECT_TRUE(dns_config_from_json(to_json(config)).views.empty());
}

TEST(DnsConfig, RejectsWhatItCannotServe) {
  const auto error = [](const std::string& text) {
    return error_of([&] { dns_config_from_json(json::parse(text)); });
  };
  EXPECT_EQ(error("[]"), "invalid DNS config: not a JSON object");
  EXPECT_EQ(error("{}"), "invalid DNS config: \"listen\" must be an IP address");
  EXPECT_EQ(error(R"({"listen": "gateway"})"),
            "invalid DNS config: \"listen\" must be an IP address");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "port": 0})"),
            "invalid DNS config: \"port\" must be a number from 1 to 65535");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "port": 70000})"),
            "invalid DNS config: \"port\" must be a number from 1 to 65535");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "upstreams": "1.1.1.1"})"),
            "invalid DNS config: \"upstreams\" must be an array of strings");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "upstreams": ["dns.example"]})"),
            "invalid DNS config: invalid DNS upstream \"dns.example\"");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "names": {"web": "10.0.0.2"}})"),
            "invalid DNS config: the addresses of \"web\" must be an array of strings");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "names": {"web": ["10.0.0.300"]}})"),
            "invalid DNS config: \"10.0.0.300\" of \"web\" is not an IP address");
  EXPECT_EQ(error(R"({"listen": "10.0.0.1", "names": {"a..b": ["10.0.0.2"]}})"),
            "invalid DNS config: invalid DNS name \"a..b\"");
}

TEST(DnsConfig, RejectsViewsItCannotServe) {
  const auto error = [](const std::string& views) {
    return error_of([&] {
      dns_config_from_json(json::parse(R"({"listen": "10.0.0.1", "views": )" + views + "}"));
    });
  };
  EXPECT_EQ(error(R"({"clients": []})"), "invalid DNS config: \"views\" must be an array");
  EXPECT_EQ(error(R"([{"clients": []}, "10.0.0.2"])"),
            "invalid DNS config: views[1] must be an object");
  EXPECT_EQ(error(R"([{"names": {}}])"), "invalid DNS config: views[0] has no \"clients\"");
  EXPECT_EQ(error(R"([{"clients": "10.0.0.2"}])"),
            "invalid DNS config: the clients of views[0] must be an array of strings");
  EXPECT_EQ(error(R"([{"clients": [10]}])"),
            "invalid DNS config: the clients of views[0] must be an array of strings");
  EXPECT_EQ(error(R"([{"clients": ["web"]}])"),
            "invalid DNS config: client \"web\" of views[0] is not an IP address");
  EXPECT_EQ(error(R"([{"clients": ["10.0.0.2/24"]}])"),
            "invalid DNS config: client \"10.0.0.2/24\" of views[0] is not an IP address");
  EXPECT_EQ(error(R"([{"clients": ["10.0.0.2"], "names": ["db"]}])"),
            "invalid DNS config: the names of views[0] must be an object");
  EXPECT_EQ(error(R"([{"clients": ["10.0.0.2"], "names": {"db": "10.0.1.2"}}])"),
            "invalid DNS config: the addresses of \"db\" in views[0] must be an array of strings");
  EXPECT_EQ(error(R"([{"clients": ["10.0.0.2"], "names": {"db": ["db.example"]}}])"),
            "invalid DNS config: \"db.example\" of \"db\" in views[0] is not an IP address");
  EXPECT_EQ(error(R"([{"clients": ["10.0.0.2"], "names": {"a b": ["10.0.1.2"]}}])"),
            "invalid DNS config: invalid DNS name \"a b\" in views[0]");
}

TEST(DnsConfig, NormalisesNames) {
  EXPECT_EQ(normalise_dns_name("Web"), "web");
  EXPECT_EQ(normalise_dns_name("web.Example."), "web.example");
  EXPECT_EQ(normalise_dns_name("my_svc-1"), "my_svc-1");
  EXPECT_EQ(error_of([] { normalise_dns_name("."); }), "invalid DNS name \".\"");
  EXPECT_EQ(error_of([] { normalise_dns_name(""); }), "invalid DNS name \"\"");
  EXPECT_EQ(error_of([] { normalise_dns_name("a b"); }), "invalid DNS name \"a b\"");
  EXPECT_EQ(error_of([] { normalise_dns_name("a\\b"); }), "invalid DNS name \"a\\b\"");
  EXPECT_EQ(error_of([] { normalise_dns_name(std::string(64, 'a')); }),
            "invalid DNS name \"" + std::string(64, 'a') + "\"");
  EXPECT_EQ(normalise_dns_name(std::string(63, 'a')), std::string(63, 'a'));
}

TEST(DnsConfig, ParsesUpstreams) {
  const auto check = [](const std::string& text, const std::string& address, int port) {
    const DnsUpstream upstream = parse_dns_upstream(text);
    EXPECT_EQ(upstream.address, address) << text;
    EXPECT_EQ(upstream.port, port) << text;
  };
  check("192.0.2.1", "192.0.2.1", 53);
  check("127.0.0.1:5353", "127.0.0.1", 5353);
  check("::1", "::1", 53);
  check("fd00::53", "fd00::53", 53);
  check("[::1]", "::1", 53);
  check("[fd00::53]:1053", "fd00::53", 1053);
  for (const char* bad : {"", "host", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "[::1",
                          "[::1]:", "[::1]x", "[1.2.3.4]:53", "1.2.3:53", "::g"}) {
    EXPECT_EQ(error_of([&] { parse_dns_upstream(bad); }),
              std::string("invalid DNS upstream \"") + bad + "\"");
  }
}

}  // namespace
}  // namespace berth::network
