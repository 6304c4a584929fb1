#include "server/store/read_cache.h"

#include "gtest/gtest.h"

namespace silta::store {
namespace {

TEST(ReadCacheTest, KeepsWhatWasReadUntilAChangeClearsIt) {
  ReadCache<std::string> cache(10);
  EXPECT_FALSE(cache.Get("case-1").has_value());
  cache.Put("case-1", "v1", cache.generation());
  EXPECT_EQ(cache.Get("case-1"), "v1");

  cache.Clear();

  EXPECT_FALSE(cache.Get("case-1").has_value());
}

// A reader that read the store before a change committed must not put the
// old row back after the change cleared the cache.
TEST(ReadCacheTest, AReadFromBeforeAChangeIsNotKept) {
  ReadCache<std::string> cache(10);
  const uint64_t read_at = cache.generation();  // the reader starts, reads "old"
  cache.Clear();                                // a writer commits "new"

  cache.Put("case-1", "old", read_at);

  EXPECT_FALSE(cache.Get("case-1").has_value());
  cache.Put("case-1", "new", cache.generation());
  EXPECT_EQ(cache.Get("case-1"), "new");
}

TEST(ReadCacheTest, StaysWithinItsBound) {
  ReadCache<int> cache(3);
  for (int i = 0; i < 3; ++i) cache.Put(std::to_string(i), i, cache.generation());
  EXPECT_EQ(cache.Get("2"), 2);

  cache.Put("3", 3, cache.generation());

  EXPECT_EQ(cache.Get("3"), 3);
  EXPECT_FALSE(cache.Get("0").has_value()) << "started again empty when full";
}

}  // namespace
}  // namespace silta::store
