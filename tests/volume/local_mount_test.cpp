#include "volume/local_mount.h"

#include <sys/mount.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

namespace berth::volume {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

TEST(LocalMount, NoOptionsIsAPlainDirectory) {
  EXPECT_FALSE(local_mount_of({}).has_value());
}

TEST(LocalMount, SplitsFlagsFromFilesystemData) {
  const auto tmpfs = local_mount_of(
      {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,uid=1000,noexec,ro,rw"}});
  ASSERT_TRUE(tmpfs.has_value());
  EXPECT_EQ(tmpfs->type, "tmpfs");
  EXPECT_EQ(tmpfs->device, "tmpfs");
  EXPECT_EQ(tmpfs->data, "size=64m,uid=1000");
  EXPECT_EQ(tmpfs->flags, static_cast<unsigned long>(MS_NOEXEC));  // rw undid ro
  const auto bind = local_mount_of({{"type", "none"}, {"device", "/srv/data"}, {"o", "bind"}});
  ASSERT_TRUE(bind.has_value());
  EXPECT_EQ(bind->flags, static_cast<unsigned long>(MS_BIND));
  EXPECT_EQ(bind->data, "");
}

TEST(LocalMount, IncompleteOrUnknownOptionsAreErrors) {
  EXPECT_THAT(error_of([] {
                local_mount_of({{"size", "1g"}});
              }),
              HasSubstr("invalid option: \"size\""));
  EXPECT_THAT(error_of([] {
                local_mount_of({{"type", "tmpfs"}});
              }),
              HasSubstr("missing required option: \"device\""));
  EXPECT_THAT(error_of([] {
                local_mount_of({{"device", "/dev/sdb"}});
              }),
              HasSubstr("missing required option: \"type\""));
  EXPECT_THAT(error_of([] {
                local_mount_of({{"type", "none"}, {"device", "rel"}, {"o", "bind"}});
              }),
              HasSubstr("bind device \"rel\" is not an absolute path"));
}

TEST(LocalMount, KnowsItsMountPoints) {
  EXPECT_TRUE(is_mount_point("/proc"));
  EXPECT_FALSE(is_mount_point("/proc/self"));
  EXPECT_TRUE(has_mount_under("/proc"));
}

}  // namespace
}  // namespace berth::volume
