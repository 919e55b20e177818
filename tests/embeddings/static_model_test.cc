// The claimmatch-static backend: a saved model loads through LoadSentenceEncoder and encodes each
// text as the normalised (weighted) mean of its token rows; F32 weights reload bit-identically.
#include "embeddings/static_model.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/safetensors.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/text_clean.h"
#include "embeddings/tokenizer.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int kDim = 8;

class StaticModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tok = Tokenizer::Load(
        JoinPath(testing::TestDataDir(), "xlmr-tiny/model/sentencepiece.bpe.model"));
    ASSERT_THAT(tok, IsOk());
    tokenizer_ = *std::move(tok);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    emb_.resize(tokenizer_->vocab_size(), kDim);
    for (int i = 0; i < emb_.size(); ++i) emb_.data()[i] = normal(rng);
    weights_.resize(tokenizer_->vocab_size());
    for (float& w : weights_) w = 0.5f + std::abs(normal(rng));
  }

  // The definition: mean over pooled ids of w[id] * row(id), L2-normalised.
  EmbeddingRow Manual(const std::string& text, const EmbeddingMatrix& emb,
                      const std::vector<float>* weights) const {
    EmbeddingRow v = EmbeddingRow::Zero(kDim);
    int n = 0;
    for (TokenId id : tokenizer_->Encode(text, 512)) {
      if (id < kFirstPooledId) continue;
      v += (weights != nullptr ? (*weights)[id] : 1.f) * emb.row(id);
      ++n;
    }
    if (n > 0) v /= static_cast<float>(n);
    if (v.norm() > 0) v.normalize();
    return v;
  }

  std::vector<std::string> Texts() const {
    return {"The quick brown fox jumps over the lazy dog.", "Vaccines cause autism, says a post.",
            "", "a", "Die Katze sitzt auf der Matte."};
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  EmbeddingMatrix emb_;
  std::vector<float> weights_;
};

TEST_F(StaticModelTest, EncodeIsNormalisedMeanOfRows) {
  const std::string dir = testing::MakeTempDir("static_f32");
  StaticModelSaveOptions o;
  o.fp16 = false;
  ASSERT_THAT(SaveStaticModel(dir, tokenizer_->serialized(), emb_, {}, o), IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ((*enc)->dim(), kDim);
  EXPECT_EQ((*enc)->info().model_type, "claimmatch-static");
  auto got = (*enc)->Encode(Texts());
  ASSERT_THAT(got, IsOk());
  for (size_t i = 0; i < Texts().size(); ++i) {
    const EmbeddingRow want = Manual(Texts()[i], emb_, nullptr);
    EXPECT_LT((got->row(i) - want).cwiseAbs().maxCoeff(), 1e-6) << Texts()[i];
  }
  EXPECT_NEAR(got->row(0).norm(), 1.0, 1e-6);
  EXPECT_EQ(got->row(2).norm(), 0.f);  // "" has no pooled token: the zero vector
}

TEST_F(StaticModelTest, TokenWeightsScaleRows) {
  const std::string dir = testing::MakeTempDir("static_weights");
  StaticModelSaveOptions o;
  o.fp16 = false;
  ASSERT_THAT(SaveStaticModel(dir, tokenizer_->serialized(), emb_, weights_, o), IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  auto got = (*enc)->Encode(Texts());
  ASSERT_THAT(got, IsOk());
  for (size_t i = 0; i < Texts().size(); ++i) {
    const EmbeddingRow want = Manual(Texts()[i], emb_, &weights_);
    EXPECT_LT((got->row(i) - want).cwiseAbs().maxCoeff(), 1e-6) << Texts()[i];
  }
}

TEST_F(StaticModelTest, F16StorageEncodesWithHalfRoundedRows) {
  const std::string dir = testing::MakeTempDir("static_f16");
  ASSERT_THAT(SaveStaticModel(dir, tokenizer_->serialized(), emb_, {}), IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  EmbeddingMatrix rounded = emb_;
  for (int i = 0; i < rounded.size(); ++i) {
    rounded.data()[i] = HalfToFloat(FloatToHalf(rounded.data()[i]));
  }
  auto got = (*enc)->Encode(Texts());
  ASSERT_THAT(got, IsOk());
  for (size_t i = 0; i < Texts().size(); ++i) {
    EXPECT_LT((got->row(i) - Manual(Texts()[i], rounded, nullptr)).cwiseAbs().maxCoeff(), 1e-6);
  }
}

TEST_F(StaticModelTest, F32ReloadIsBitIdentical) {
  const std::string dir = testing::MakeTempDir("static_bits");
  StaticModelSaveOptions o;
  o.fp16 = false;
  ASSERT_THAT(SaveStaticModel(dir, tokenizer_->serialized(), emb_, {}, o), IsOk());
  auto file = SafetensorsFile::Open(JoinPath(dir, "model.safetensors"));
  ASSERT_THAT(file, IsOk());
  const TensorInfo* t = (*file)->Find(kStaticEmbeddingTensor);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->bytes.size(), emb_.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(t->bytes.data(), emb_.data(), t->bytes.size()), 0);

  // Saving again gives the same bytes; two loads encode identically.
  const std::string dir2 = testing::MakeTempDir("static_bits2");
  ASSERT_THAT(SaveStaticModel(dir2, tokenizer_->serialized(), emb_, {}, o), IsOk());
  EXPECT_EQ(*ReadFile(JoinPath(dir, "model.safetensors")),
            *ReadFile(JoinPath(dir2, "model.safetensors")));
  auto a = LoadSentenceEncoder(dir);
  auto b = LoadSentenceEncoder(dir2);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(*(*a)->Encode(Texts()), *(*b)->Encode(Texts()));
  EXPECT_EQ((*a)->info().weights_hash, (*b)->info().weights_hash);
}

TEST_F(StaticModelTest, RejectsVocabularySmallerThanTokenizer) {
  const std::string dir = testing::MakeTempDir("static_small");
  EmbeddingMatrix small = emb_.topRows(10);
  ASSERT_THAT(SaveStaticModel(dir, tokenizer_->serialized(), small, {}), IsOk());
  EXPECT_THAT(LoadSentenceEncoder(dir),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("vocab_size")));
}

TEST_F(StaticModelTest, RejectsTokenWeightCountMismatch) {
  const std::vector<float> w(3, 1.f);
  EXPECT_THAT(
      SaveStaticModel(testing::MakeTempDir("static_bad"), tokenizer_->serialized(), emb_, w),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("token_weights")));
}

TEST(TextCleanTest, RemovesUrlsHandlesAndSignature) {
  EXPECT_EQ(CleanSocialText("How are butterflies surviving the #AustralianFires? Footage by Julie "
                            "pic.twitter.com/0eJtwJyS1J \xE2\x80\x94 Center for Bio Div "
                            "(@CenterForBioDiv) January 14, 2020"),
            "How are butterflies surviving the AustralianFires? Footage by Julie");
  EXPECT_EQ(CleanSocialText("RT @user: read  this https://t.co/abc now"), "RT : read this now");
  EXPECT_EQ(CleanSocialText("mail me at a@b.com"), "mail me at a@b.com");
  EXPECT_EQ(CleanSocialText("  plain\ttext \n"), "plain text");
  EXPECT_EQ(CleanSocialText(""), "");
}

TEST(TextCleanTest, TweetSignatureStartsAtTheLastEmDashBeforeAHandle) {
  const std::string tweet = "Look at this \xE2\x80\x94 Alex Wild (@Myrmecos) August 29, 2017";
  EXPECT_EQ(TweetSignatureStart(tweet), tweet.find("\xE2\x80\x94"));
  EXPECT_EQ(TweetSignatureStart("a \xE2\x80\x94 b \xE2\x80\x94 C (@c) May 1, 2020"), 8u);
  // No em dash, no handle after it, or more than 120 bytes from it: none (the text's size).
  for (const std::string& text : {std::string("Look at this - Alex (@a) May 1, 2020"),
                                  std::string("A claim \xE2\x80\x94 a thought, May 1, 2020"),
                                  absl::StrCat("x \xE2\x80\x94 A (@a) ", std::string(120, 'y'))}) {
    EXPECT_EQ(TweetSignatureStart(text), text.size()) << text;
  }
  EXPECT_EQ(TweetSignatureStart(""), 0u);
}

TEST(TextCleanTest, SplitsTagsOfSeveralWords) {
  EXPECT_EQ(SplitTags("Get one! #PizzaVendingMachine #NowIWantOne"),
            "Get one! PizzaVendingMachine Pizza Vending Machine NowIWantOne Now I Want One");
  EXPECT_EQ(SplitTags("#USAToday (#Election2016) #fake_news #x__y"),
            "USAToday USA Today (Election2016 Election 2016) fake_news fake news x__y x y");
  EXPECT_EQ(SplitTags("#COVID19: vote"), "COVID19 COVID 19: vote");
  // One word, not a hashtag's start, or no word: unchanged.
  EXPECT_EQ(SplitTags("#maga #Trump #MAGA #2020 #x_ a#BigTag # #_x"),
            "#maga #Trump #MAGA #2020 #x_ a#BigTag # #_x");
  // A word that goes on in non-ASCII letters is not split (its words are not all known).
  EXPECT_EQ(SplitTags("#LeMonde\xC3\x89t\xC3\xA9 #VivaM\xC3\xA9xico"),
            "#LeMonde\xC3\x89t\xC3\xA9 #VivaM\xC3\xA9xico");
  // Handles of several words are followed by them, except the signature's.
  EXPECT_EQ(SplitTags("How @BernieSanders won, by @cnn and @AP_Politics \xE2\x80\x94 Jo Doe "
                      "(@JoDoe) April 3, 2016"),
            "How @BernieSanders Bernie Sanders won, by @cnn and @AP_Politics AP Politics "
            "\xE2\x80\x94 Jo Doe (@JoDoe) April 3, 2016");
  EXPECT_EQ(SplitTags("mail a@BigCo.com"), "mail a@BigCo.com");
  EXPECT_EQ(SplitTags(""), "");
}

// With a word breaker, a hashtag no other rule splits is followed by the words it finds (given the
// tag lower-cased); handles, tags it finds nothing in, and tags split by case are left to the
// rules.
TEST(TextCleanTest, BreaksRunTogetherHashtagsWithAWordBreaker) {
  std::vector<std::string> asked;
  const WordBreaker breaker = [&asked](absl::string_view word) {
    asked.emplace_back(word);
    if (word == "texaschurchshooting")
      return std::vector<std::string>{"texas", "church", "shooting"};
    if (word == "blacklivesmatter") return std::vector<std::string>{"black", "lives", "matter"};
    return std::vector<std::string>{};
  };
  EXPECT_EQ(SplitTags("Pray #texaschurchshooting now", breaker),
            "Pray texaschurchshooting texas church shooting now");
  EXPECT_EQ(SplitTags("#Blacklivesmatter", breaker), "Blacklivesmatter black lives matter");
  EXPECT_EQ(SplitTags("#maga @texaschurchshooting #TexasChurch", breaker),
            "#maga @texaschurchshooting TexasChurch Texas Church");
  EXPECT_EQ(asked, (std::vector<std::string>{"texaschurchshooting", "blacklivesmatter", "maga"}));
  EXPECT_EQ(SplitTags("Pray #texaschurchshooting now"), "Pray #texaschurchshooting now");
}

}  // namespace
}  // namespace claimmatch
