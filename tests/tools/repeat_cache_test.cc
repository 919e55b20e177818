// RepeatCache: keys, the two generations (what is kept, what is dropped) and the disabled cache.
#include "tools/repeat_cache.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace claimmatch::cli {
namespace {

std::vector<MatchResult> Results(const std::string& claim_id, float score) {
  MatchResult r;
  r.claim.id = claim_id;
  r.score = score;
  return {r};
}

TEST(RepeatCacheTest, KeySeparatesTextFromDate) {
  // Plain concatenation would make both "abc".
  EXPECT_NE(RepeatCache::Key("bc", "a"), RepeatCache::Key("c", "ab"));
  EXPECT_NE(RepeatCache::Key("text", ""), RepeatCache::Key("text", "2020-01-01"));
  EXPECT_EQ(RepeatCache::Key("text", "2020-01-01"), RepeatCache::Key("text", "2020-01-01"));
}

TEST(RepeatCacheTest, ReturnsWhatWasPut) {
  RepeatCache cache(8);
  std::vector<MatchResult> out;
  EXPECT_FALSE(cache.Get("a", &out));
  cache.Put("a", Results("c1", 0.5f));
  ASSERT_TRUE(cache.Get("a", &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].claim.id, "c1");
  EXPECT_EQ(out[0].score, 0.5f);
  cache.Put("a", Results("c2", 0.25f));  // replaces
  ASSERT_TRUE(cache.Get("a", &out));
  EXPECT_EQ(out[0].claim.id, "c2");
  cache.Put("empty", {});  // no results is a result too
  out = Results("x", 1);
  ASSERT_TRUE(cache.Get("empty", &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(cache.size(), 2u);
}

// Capacity 4: generations of 2. An entry found again moves to the current generation and outlives
// the others of its own.
TEST(RepeatCacheTest, KeepsWhatIsAskedForAgainAndDropsTheOldest) {
  RepeatCache cache(4);
  std::vector<MatchResult> out;
  cache.Put("a", Results("a", 1));
  cache.Put("b", Results("b", 1));  // current {a, b}
  cache.Put("c", Results("c", 1));  // previous {a, b}, current {c}
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.Get("a", &out));  // current {c, a}, previous {b}
  cache.Put("d", Results("d", 1));    // previous {c, a}, current {d}: b dropped
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Get("b", &out));
  EXPECT_TRUE(cache.Get("a", &out));
  EXPECT_TRUE(cache.Get("c", &out));
  EXPECT_TRUE(cache.Get("d", &out));
  for (const char* k : {"e", "f", "g", "h", "i"}) cache.Put(k, Results(k, 1));
  EXPECT_LE(cache.size(), 4u);
  EXPECT_FALSE(cache.Get("a", &out));
  EXPECT_TRUE(cache.Get("i", &out));
}

TEST(RepeatCacheTest, CapacityZeroKeepsNothing) {
  RepeatCache cache(0);
  EXPECT_FALSE(cache.enabled());
  cache.Put("a", Results("a", 1));
  std::vector<MatchResult> out;
  EXPECT_FALSE(cache.Get("a", &out));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(RepeatCache(1).enabled());
}

}  // namespace
}  // namespace claimmatch::cli
