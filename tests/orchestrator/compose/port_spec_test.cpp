#include "orchestrator/compose/port_spec.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::compose {
namespace {

std::string render(const std::vector<PortMapping>& mappings) {
  std::string out;
  for (const auto& m : mappings) {
    out += "[" + m.host_ip + "|" + m.published + "->" + std::to_string(m.target) + "/" +
           m.protocol + "]";
  }
  return out;
}

std::string error_of(std::string_view spec) {
  try {
    parse_port_spec(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(PortSpec, ShortForms) {
  EXPECT_EQ(render(parse_port_spec("80")), "[|->80/tcp]");
  EXPECT_EQ(render(parse_port_spec("5001:5000")), "[|5001->5000/tcp]");
  EXPECT_EQ(render(parse_port_spec("127.0.0.1:53:53/UDP")), "[127.0.0.1|53->53/udp]");
  EXPECT_EQ(render(parse_port_spec("[::1]:8080:80")), "[::1|8080->80/tcp]");
  EXPECT_EQ(render(parse_port_spec("::1:8080:80")), "[::1|8080->80/tcp]");
}

TEST(PortSpec, RangesExpandOnePerPort) {
  EXPECT_EQ(render(parse_port_spec("8000-8001:80-81/sctp")),
            "[|8000->80/sctp][|8001->81/sctp]");
  // A host range for one container port lets the engine choose within it.
  EXPECT_EQ(render(parse_port_spec("8000-8010:80")), "[|8000-8010->80/tcp]");
}

TEST(PortSpec, Errors) {
  EXPECT_EQ(error_of("80x"), "invalid port \"80x\"");
  EXPECT_EQ(error_of("70000"), "invalid port \"70000\"");
  EXPECT_EQ(error_of("81-80"), "invalid port \"81-80\"");
  EXPECT_EQ(error_of("80/icmp"), "invalid port \"80/icmp\": unknown protocol \"icmp\"");
  EXPECT_EQ(error_of("300.1.1.1:80:80"),
            "invalid port \"300.1.1.1:80:80\": invalid host IP \"300.1.1.1\"");
  EXPECT_EQ(error_of("8000-8002:80-81"),
            "invalid port \"8000-8002:80-81\": host port range \"8000-8002\" and container "
            "port range \"80-81\" differ in length");
}

TEST(PortSpec, PortNumbers) {
  EXPECT_EQ(parse_port_number("0"), 0);
  EXPECT_EQ(parse_port_number("65535"), 65535);
  EXPECT_FALSE(parse_port_number("65536"));
  EXPECT_FALSE(parse_port_number("-1"));
  EXPECT_FALSE(parse_port_number(""));
  EXPECT_FALSE(parse_port_number("8o"));
}

}  // namespace
}  // namespace berth::compose
