#include "server/store/read_cache.h"

#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace silta::store {
namespace {

template <typename V>
std::shared_ptr<const V> Shared(V v) {
  return std::make_shared<const V>(std::move(v));
}

// What the cache holds for `key`, copied; nullopt if nothing.
template <typename V>
std::optional<V> Held(const ReadCache<V>& cache, absl::string_view key) {
  std::shared_ptr<const V> v = cache.Get(key);
  if (v == nullptr) return std::nullopt;
  return *v;
}

TEST(ReadCacheTest, KeepsWhatWasReadUntilAChangeClearsIt) {
  ReadCache<std::string> cache(10);
  EXPECT_EQ(Held(cache, "case-1"), std::nullopt);
  cache.Put("case-1", Shared<std::string>("v1"), cache.generation());
  EXPECT_EQ(Held(cache, "case-1"), "v1");

  cache.Clear();

  EXPECT_EQ(Held(cache, "case-1"), std::nullopt);
}

// A reader that read the store before a change committed must not put the
// old row back after the change cleared the cache.
TEST(ReadCacheTest, AReadFromBeforeAChangeIsNotKept) {
  ReadCache<std::string> cache(10);
  const uint64_t read_at = cache.generation();  // the reader starts, reads "old"
  cache.Clear();                                // a writer commits "new"

  cache.Put("case-1", Shared<std::string>("old"), read_at);

  EXPECT_EQ(Held(cache, "case-1"), std::nullopt);
  cache.Put("case-1", Shared<std::string>("new"), cache.generation());
  EXPECT_EQ(Held(cache, "case-1"), "new");
}

// Values are shared, not copied: one got before a change stays whole for
// the reader that holds it.
TEST(ReadCacheTest, AValueGotBeforeAChangeStaysWholeForItsReader) {
  ReadCache<std::string> cache(10);
  cache.Put("case-1", Shared<std::string>("v1"), cache.generation());
  const std::shared_ptr<const std::string> got = cache.Get("case-1");

  cache.Clear();
  cache.Put("case-1", Shared<std::string>("v2"), cache.generation());

  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, "v1");
  EXPECT_EQ(Held(cache, "case-1"), "v2");
}

TEST(ReadCacheTest, StaysWithinItsBound) {
  ReadCache<int> cache(3);
  for (int i = 0; i < 3; ++i) cache.Put(std::to_string(i), Shared(i), cache.generation());
  EXPECT_EQ(Held(cache, "2"), 2);

  cache.Put("3", Shared(3), cache.generation());

  EXPECT_EQ(Held(cache, "3"), 3);
  EXPECT_EQ(Held(cache, "0"), std::nullopt) << "started again empty when full";
}

}  // namespace
}  // namespace silta::store
