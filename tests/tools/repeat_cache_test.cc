// RepeatCache: keys, what an entry costs, the two generations (what is kept, what is dropped) and
// the disabled cache.
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

TEST(RepeatCacheTest, EntryBytesCountsKeyResultsAndTheirStrings) {
  const size_t empty = RepeatCache::EntryBytes("", {});
  EXPECT_EQ(RepeatCache::EntryBytes("12345", {}), empty + 5);
  MatchResult r;
  const size_t one = RepeatCache::EntryBytes("", {r});
  EXPECT_EQ(one, empty + sizeof(MatchResult));
  r.claim.text = std::string(100, 'x');
  r.claim.review_url = std::string(40, 'u');
  r.claim.extra_json = "{}";
  EXPECT_EQ(RepeatCache::EntryBytes("", {r}), one + 142);
  EXPECT_EQ(RepeatCache::EntryBytes("", {r, r}), empty + 2 * (sizeof(MatchResult) + 142));
}

TEST(RepeatCacheTest, ReturnsWhatWasPut) {
  RepeatCache cache(1 << 20);
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
  EXPECT_EQ(cache.bytes(), RepeatCache::EntryBytes("a", Results("c2", 0.25f)) +
                               RepeatCache::EntryBytes("empty", {}));
}

// A budget of four entries: generations of two. An entry found again moves to the current
// generation and outlives the others of its own.
TEST(RepeatCacheTest, KeepsWhatIsAskedForAgainAndDropsTheOldest) {
  const size_t entry = RepeatCache::EntryBytes("a", Results("a", 1));
  RepeatCache cache(4 * entry);
  std::vector<MatchResult> out;
  cache.Put("a", Results("a", 1));
  cache.Put("b", Results("b", 1));  // current {a, b}
  cache.Put("c", Results("c", 1));  // previous {a, b}, current {c}
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * entry);
  EXPECT_TRUE(cache.Get("a", &out));  // current {c, a}, previous {b}
  cache.Put("d", Results("d", 1));    // previous {c, a}, current {d}: b dropped
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Get("b", &out));
  EXPECT_TRUE(cache.Get("a", &out));
  EXPECT_TRUE(cache.Get("c", &out));
  EXPECT_TRUE(cache.Get("d", &out));
  for (const char* k : {"e", "f", "g", "h", "i"}) {
    cache.Put(k, Results(k, 1));
    EXPECT_LE(cache.bytes(), 4 * entry);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Get("a", &out));
  EXPECT_TRUE(cache.Get("i", &out));

  // An entry larger than half the budget: a generation of its own.
  MatchResult big;
  big.claim.text = std::string(10 * entry, 'x');
  const size_t big_bytes = RepeatCache::EntryBytes("big", {big});
  cache.Put("big", {big});          // previous {i}, current {big}
  cache.Put("j", Results("j", 1));  // previous {big}, current {j}: i dropped
  EXPECT_EQ(cache.bytes(), big_bytes + entry);
  EXPECT_FALSE(cache.Get("i", &out));
  EXPECT_TRUE(cache.Get("j", &out));
  ASSERT_TRUE(cache.Get("big", &out));
  EXPECT_EQ(out[0].claim.text.size(), 10 * entry);
}

TEST(RepeatCacheTest, NoBytesKeepsNothing) {
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
