#include "image/config_change.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::image {
namespace {

using nlohmann::json;

json applied(std::initializer_list<const char*> changes) {
  json config = json::object();
  for (const char* change : changes) apply_config_change(config, change);
  return config;
}

std::string error_of(const char* change) {
  try {
    applied({change});
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigChange, CommandsInJsonAndShellForm) {
  EXPECT_EQ(applied({R"(CMD ["nc", "-l", "-p", "80"])"})["Cmd"], json({"nc", "-l", "-p", "80"}));
  EXPECT_EQ(applied({"cmd echo hi && sleep 1"})["Cmd"],
            json({"/bin/sh", "-c", "echo hi && sleep 1"}));
  EXPECT_EQ(applied({R"(ENTRYPOINT ["/bin/sh"])"})["Entrypoint"], json({"/bin/sh"}));
  // Not a JSON array of strings: Docker runs it as a shell command.
  EXPECT_EQ(applied({"CMD [1, 2]"})["Cmd"], json({"/bin/sh", "-c", "[1, 2]"}));
}

TEST(ConfigChange, EnvReplacesAndAppends) {
  const json config = applied({"ENV A=1 B=\"two words\"", "ENV A=3", "ENV C legacy form"});
  EXPECT_EQ(config["Env"], json({"A=3", "B=two words", "C=legacy form"}));
}

TEST(ConfigChange, PortsLabelsVolumesAndStrings) {
  const json config =
      applied({"EXPOSE 80 53/udp", "LABEL a=b \"c d\"=e", "VOLUME /data /logs",
               R"(VOLUME ["/cache"])", "USER 1000:1000", "WORKDIR /srv", "STOPSIGNAL SIGINT"});
  EXPECT_EQ(config["ExposedPorts"], json({{"80/tcp", json::object()}, {"53/udp", json::object()}}));
  EXPECT_EQ(config["Labels"], json({{"a", "b"}, {"c d", "e"}}));
  EXPECT_EQ(
      config["Volumes"],
      json({{"/data", json::object()}, {"/logs", json::object()}, {"/cache", json::object()}}));
  EXPECT_EQ(config["User"], "1000:1000");
  EXPECT_EQ(config["WorkingDir"], "/srv");
  EXPECT_EQ(config["StopSignal"], "SIGINT");
}

TEST(ConfigChange, ErrorsNameTheChange) {
  EXPECT_EQ(error_of("RUN make"),
            "invalid change \"RUN make\": unknown instruction RUN (allowed: CMD, ENTRYPOINT, ENV, "
            "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)");
  EXPECT_EQ(error_of("CMD"), "invalid change \"CMD\": CMD needs an argument");
  EXPECT_EQ(error_of("EXPOSE 70000"), "invalid change \"EXPOSE 70000\": invalid port \"70000\"");
  EXPECT_EQ(error_of("EXPOSE 80/icmp"),
            "invalid change \"EXPOSE 80/icmp\": invalid protocol \"icmp\"");
  EXPECT_EQ(error_of("LABEL novalue"),
            "invalid change \"LABEL novalue\": \"novalue\" is not key=value");
  EXPECT_EQ(error_of("ENV A=\"open"), "invalid change \"ENV A=\"open\": unterminated double quote");
}

}  // namespace
}  // namespace berth::image
