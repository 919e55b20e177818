// The claim-matching training data helpers: the documented held-out split of the cross-lingual
// evaluation sets, and Spearman's rank correlation.
#include "tools/training_data.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "tests/test_util.h"

namespace claimmatch::cli {
namespace {

TEST(TrainingDataTest, HeldOutSplitIsTheDocumentedHashRule) {
  int held_out = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string english = absl::StrCat("Sentence number ", i, ".");
    const bool h = IsHeldOutTranslation(english);
    EXPECT_EQ(h, Fingerprint64(absl::StrCat("claimmatch-heldout-v1|", english)) % 10 < 3);
    EXPECT_EQ(h, IsHeldOutTranslation(english));  // a pure function of the English text
    held_out += h ? 1 : 0;
  }
  EXPECT_GT(held_out, 250);  // about 30%
  EXPECT_LT(held_out, 350);
}

TEST(TrainingDataTest, SpearmanUsesAverageRanksForTies) {
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  // x ranks 0, 1.5, 1.5, 3 against y ranks 0..3: r = 4.5 / sqrt(4.5 * 5).
  EXPECT_NEAR(Spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_EQ(Spearman({1}, {1}), 0.0);
}

}  // namespace
}  // namespace claimmatch::cli
