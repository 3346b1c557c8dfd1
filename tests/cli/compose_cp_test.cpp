// `berth cp` (Compose's) end to end, as root, on crun and runc: which containers of a service
// a copy reaches (every replica into a service, the first or --index out of one), named
// volumes, and Compose's errors.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/compose_fixture.h"

namespace berth::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* k_stack = R"(
services:
  web:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    volumes: [data:/data]
    scale: 2
volumes:
  data: {}
)";

class ComposeCp : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (IsSkipped()) return;
    write_compose(k_stack);
    const auto up = project({"up", "-d"});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    m_work.write("shop/note.txt", "note\n");
  }

  std::string cat(const std::string& container, const std::string& path) {
    return berth({"container", "exec", container, "cat", path}).out;
  }
};

TEST_P(ComposeCp, CopiesIntoEveryReplicaAndOutOfTheFirst) {
  const auto into = project({"cp", m_work.path() + "/shop/note.txt", "web:/tmp/note.txt"});
  ASSERT_EQ(into.exit_code, 0) << into.err;
  EXPECT_THAT(into.err, HasSubstr("Container shop-web-1  Copied"));
  EXPECT_EQ(cat("shop-web-1", "/tmp/note.txt"), "note\n");
  EXPECT_EQ(cat("shop-web-2", "/tmp/note.txt"), "note\n");

  // --index picks the replica, in and out.
  m_work.write("shop/second.txt", "second\n");
  ASSERT_EQ(
      project({"cp", "--index", "2", m_work.path() + "/shop/second.txt", "web:/tmp/"}).exit_code,
      0);
  EXPECT_EQ(cat("shop-web-2", "/tmp/second.txt"), "second\n");
  EXPECT_EQ(berth({"container", "exec", "shop-web-1", "ls", "/tmp/second.txt"}).exit_code, 1);
  const auto out = project({"cp", "--index", "2", "web:/tmp/second.txt", m_work.path() + "/got"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_text(m_work.path() + "/got"), "second\n");
  const auto first = project({"cp", "web:/tmp/second.txt", m_work.path() + "/none"});
  EXPECT_THAT(first.err, HasSubstr("Could not find the file /tmp/second.txt in container "
                                   "shop-web-1"));
  EXPECT_FALSE(stdfs::exists(m_work.path() + "/none"));
}

TEST_P(ComposeCp, APathInANamedVolumeLandsInTheVolume) {
  ASSERT_EQ(project({"cp", m_work.path() + "/shop/note.txt", "web:/data/"}).exit_code, 0);
  EXPECT_EQ(read_text(m_work.path() + "/root/volumes/shop_data/_data/note.txt"), "note\n");
  // Stopped, too.
  ASSERT_EQ(project({"stop"}).exit_code, 0);
  m_work.write("shop/later.txt", "later\n");
  const auto stopped = project({"cp", m_work.path() + "/shop/later.txt", "web:/data/"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(read_text(m_work.path() + "/root/volumes/shop_data/_data/later.txt"), "later\n");
  EXPECT_FALSE(has_mount_under(m_work.path() + "/run")) << "cp left a mount behind";
}

TEST_P(ComposeCp, ReportsComposeErrors) {
  const auto no_service = project({"cp", m_work.path() + "/shop/note.txt", "nosuch:/tmp/"});
  EXPECT_EQ(no_service.exit_code, 1);
  EXPECT_THAT(no_service.err, HasSubstr("no such service: nosuch"));
  EXPECT_THAT(project({"cp", "--index", "5", "web:/etc/hosts", m_work.path()}).err,
              HasSubstr("service \"web\" is not running container #5"));
  EXPECT_THAT(project({"cp", "web:/etc/hosts", "web:/tmp/"}).err,
              HasSubstr("copying between services is not supported"));
  EXPECT_THAT(project({"cp", "a", "b"}).err, HasSubstr("unknown copy direction"));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeCp, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
