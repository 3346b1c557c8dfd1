#include "volume/volume_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"

namespace berth::volume {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

VolumeRecord volume(const std::string& name, std::map<std::string, std::string> labels = {}) {
  VolumeRecord record;
  record.name = name;
  record.labels = std::move(labels);
  return record;
}

TEST(VolumeFilter, LabelsNamesDriversAndDangling) {
  const auto db = volume("shop_db", {{"tier", "data"}, {"keep", ""}});
  const auto cache = volume("shop_cache", {{"tier", "cache"}});
  EXPECT_TRUE(VolumeFilter({}).matches(db, true));
  EXPECT_TRUE(VolumeFilter({"label=tier"}).matches(cache, false));
  EXPECT_TRUE(VolumeFilter({"label=tier=data"}).matches(db, false));
  EXPECT_FALSE(VolumeFilter({"label=tier=data"}).matches(cache, false));
  EXPECT_FALSE(VolumeFilter({"label!=keep"}).matches(db, false));
  EXPECT_TRUE(VolumeFilter({"label!=keep"}).matches(cache, false));
  EXPECT_TRUE(VolumeFilter({"name=db"}).matches(db, false));
  EXPECT_FALSE(VolumeFilter({"name=db"}).matches(cache, false));
  EXPECT_TRUE(VolumeFilter({"driver=local"}).matches(db, false));
  EXPECT_TRUE(VolumeFilter({"dangling=true"}).matches(db, false));
  EXPECT_FALSE(VolumeFilter({"dangling=true"}).matches(db, true));
  EXPECT_TRUE(VolumeFilter({"dangling=0"}).matches(db, true));
  // Every entry must pass.
  EXPECT_FALSE(VolumeFilter({"name=shop", "label=tier=data"}).matches(cache, false));
}

TEST(VolumeFilter, UnknownKeysAndValuesAreErrorsNamingThem) {
  EXPECT_THAT(error_of([] { VolumeFilter({"colour=red"}); }),
              HasSubstr("invalid filter \"colour=red\""));
  EXPECT_THAT(error_of([] { VolumeFilter({"dangling=maybe"}); }),
              HasSubstr("dangling is true or false"));
  EXPECT_THAT(error_of([] { VolumeFilter({"label"}); }), HasSubstr("invalid filter \"label\""));
  EXPECT_THAT(error_of([] { VolumeFilter({"name!=x"}); }), HasSubstr("invalid filter \"name!=x\""));
}

}  // namespace
}  // namespace berth::volume
