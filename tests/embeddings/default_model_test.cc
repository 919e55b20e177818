// Smoke test of the bundled default model (models/default): it loads through
// LoadSentenceEncoder and ranks a paraphrase of a claim above an unrelated claim.
#include <string>
#include <vector>

#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/text_clean.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;

TEST(DefaultModelTest, LoadsAndRanksParaphraseFirst) {
  auto enc = LoadSentenceEncoder(JoinPath(CLAIMMATCH_SOURCE_DIR_DEFAULT, "models/default"));
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ((*enc)->info().model_type, "claimmatch-static");
  EXPECT_EQ((*enc)->dim(), 400);
  const std::vector<std::string> texts = {
      CleanSocialText("Drinking bleach will cure you of the coronavirus! https://t.co/x @who"),
      "Drinking bleach cures COVID-19.", "The Eiffel Tower was sold for scrap metal twice.",
      "A photograph shows a shark swimming on a flooded highway after a hurricane."};
  auto e = (*enc)->Encode(texts);
  ASSERT_THAT(e, IsOk());
  for (int i = 0; i < e->rows(); ++i) EXPECT_NEAR(e->row(i).norm(), 1.0, 1e-5);
  const float paraphrase = e->row(0).dot(e->row(1));
  EXPECT_GT(paraphrase, e->row(0).dot(e->row(2)) + 0.2f);
  EXPECT_GT(paraphrase, e->row(0).dot(e->row(3)) + 0.2f);
}

}  // namespace
}  // namespace claimmatch
