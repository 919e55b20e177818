#include "embeddings/utf8.h"

#include "gtest/gtest.h"

namespace claimmatch {
namespace {

TEST(Utf8Test, AcceptsValidText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Präsident — 大統領 🙂 \xf4\x8f\xbf\xbf"));
}

TEST(Utf8Test, RejectsMalformedSequencesAtTheirOffset) {
  size_t at = 99;
  EXPECT_FALSE(IsValidUtf8("ab\xff", &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf", &at));  // overlong '/'
  EXPECT_EQ(at, 0u);
  EXPECT_FALSE(IsValidUtf8("x\xed\xa0\x80", &at));  // surrogate U+D800
  EXPECT_EQ(at, 1u);
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80", &at));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82", &at));          // truncated
  EXPECT_EQ(at, 0u);
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1", &at));  // bad continuation
}

}  // namespace
}  // namespace claimmatch
