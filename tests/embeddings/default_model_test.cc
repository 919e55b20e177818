// Smoke test of the bundled default model (models/default): it loads through
// LoadSentenceEncoder and ranks a paraphrase of a claim above an unrelated claim; threaded cold
// encoding gives the one-thread result.
#include <fstream>
#include <string>
#include <vector>

#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/text_clean.h"
#include "embeddings/tokenizer.h"
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

// Encode on four threads, with the word cache cold (every mini-batch misses words at the same
// time as the others), gives the rows of a one-thread encoder and sentencepiece's ids.
TEST(DefaultModelTest, ThreadedColdEncodeMatchesOneThread) {
  const std::string dir = JoinPath(CLAIMMATCH_SOURCE_DIR_DEFAULT, "models/default");
  EncoderOptions four;
  four.threads = 4;
  four.max_batch_tokens = 256;  // many mini-batches
  EncoderOptions one;
  one.threads = 1;
  auto enc4 = LoadSentenceEncoder(dir, four);
  auto enc1 = LoadSentenceEncoder(dir, one);
  ASSERT_THAT(enc4, IsOk());
  ASSERT_THAT(enc1, IsOk());
  std::vector<std::string> texts;
  std::ifstream in(JoinPath(testing::TestDataDir(), "claims-dev/tweets-dev.tsv"));
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) texts.push_back(line.substr(tab + 1));
  }
  ASSERT_GT(texts.size(), 150u);
  auto e4 = (*enc4)->Encode(texts);
  auto e1 = (*enc1)->Encode(texts);
  ASSERT_THAT(e4, IsOk());
  ASSERT_THAT(e1, IsOk());
  ASSERT_EQ(e4->rows(), e1->rows());
  for (int i = 0; i < e4->rows(); ++i) {
    EXPECT_LT((e4->row(i) - e1->row(i)).cwiseAbs().maxCoeff(), 1e-6f) << texts[i];
  }
  TokenizerOptions off;
  off.word_cache_size = 0;
  auto plain = Tokenizer::Load(JoinPath(dir, "sentencepiece.bpe.model"), off);
  ASSERT_THAT(plain, IsOk());
  const int max_tokens = (*enc4)->info().max_seq_length;
  for (const std::string& t : texts)
    EXPECT_EQ((*enc4)->Tokenize(t), (*plain)->Encode(t, max_tokens));
}

}  // namespace
}  // namespace claimmatch
