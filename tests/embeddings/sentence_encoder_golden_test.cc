// Golden tests: the C++ runtime against what PyTorch + transformers + sentence-transformers
// produce for the tiny XLM-R model in tests/data/xlmr-tiny (see its README.md).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "embeddings/file_util.h"
#include "embeddings/model_dir.h"
#include "embeddings/safetensors.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/tokenizer.h"
#include "embeddings/transformer.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string ModelPath() { return JoinPath(testing::TestDataDir(), "xlmr-tiny/model"); }

const json& Reference() {
  static const json* ref = [] {
    absl::StatusOr<std::string> text =
        ReadFile(JoinPath(testing::TestDataDir(), "xlmr-tiny/reference.json"));
    EXPECT_TRUE(text.ok()) << text.status();
    return new json(json::parse(text.ok() ? *text : "{}"));
  }();
  return *ref;
}

std::vector<std::string> Texts() {
  std::vector<std::string> texts;
  for (const json& row : Reference()["rows"]) texts.push_back(row["text"].get<std::string>());
  return texts;
}

// Expects |got[i] - want[i]| <= tol for all i, reporting the first mismatch.
void ExpectNear(const float* got, const json& want, double tol, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    const double w = want[i].get<double>();
    if (std::abs(got[i] - w) > tol) {
      ADD_FAILURE() << what << ": mismatch at index " << i << ": got " << got[i] << ", want " << w
                    << " (tolerance " << tol << ")";
      return;
    }
  }
}

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto enc = LoadSentenceEncoder(ModelPath());
    ASSERT_THAT(enc, IsOk());
    encoder_ = enc->release();
  }
  static void TearDownTestSuite() {
    delete encoder_;
    encoder_ = nullptr;
  }
  static SentenceEncoder* encoder_;
};
SentenceEncoder* GoldenTest::encoder_ = nullptr;

TEST_F(GoldenTest, ModelInfoComesFromTheDirectory) {
  const ModelInfo& info = encoder_->info();
  EXPECT_EQ(info.dim, 64);
  EXPECT_EQ(info.max_seq_length, 32);
  EXPECT_EQ(info.model_type, "xlm-roberta");
  EXPECT_EQ(info.pooling, Pooling::kMean);
  EXPECT_TRUE(info.normalize);
  EXPECT_EQ(info.weights_hash.size(), 16u);
}

TEST_F(GoldenTest, TokenIdsEqualReferenceOnEveryRow) {
  const json& rows = Reference()["rows"];
  ASSERT_EQ(rows.size(), 38u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<TokenId> want = rows[i]["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(encoder_->Tokenize(rows[i]["text"].get<std::string>()), want) << "row " << i;
  }
}

TEST_F(GoldenTest, MeanNormalizedMatchesReferenceInOneBatch) {
  absl::StatusOr<EmbeddingMatrix> out = encoder_->Encode(Texts());
  ASSERT_THAT(out, IsOk());
  const json& rows = Reference()["rows"];
  ASSERT_EQ(out->rows(), static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    ExpectNear(out->row(i).data(), rows[i]["mean_normalized"], 1e-5, "row " + std::to_string(i));
    EXPECT_NEAR(out->row(i).norm(), 1.0f, 1e-5) << "row " << i;
  }
}

TEST_F(GoldenTest, MatchesSentenceTransformersWhereTokenizersAgree) {
  absl::StatusOr<EmbeddingMatrix> out = encoder_->Encode(Texts());
  ASSERT_THAT(out, IsOk());
  const json& rows = Reference()["rows"];
  int compared = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i]["hf_ids"] != rows[i]["ids"]) continue;  // rows 26, 27, 30 (see README)
    ExpectNear(out->row(i).data(), rows[i]["st_vector"], 1e-5, "row " + std::to_string(i));
    ++compared;
  }
  EXPECT_EQ(compared, 35);
}

TEST_F(GoldenTest, BatchedEqualsOneByOneAndAnyBatchSplit) {
  const std::vector<std::string> texts = Texts();
  absl::StatusOr<EmbeddingMatrix> batched = encoder_->Encode(texts);
  ASSERT_THAT(batched, IsOk());
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<EmbeddingMatrix> one = encoder_->Encode({texts[i]});
    ASSERT_THAT(one, IsOk());
    EXPECT_LE((one->row(0) - batched->row(i)).cwiseAbs().maxCoeff(), 1e-6) << "row " << i;
  }
  EncoderOptions small;
  small.max_batch_tokens = 40;  // many tiny mini-batches
  small.threads = 2;
  auto other = LoadSentenceEncoder(ModelPath(), small);
  ASSERT_THAT(other, IsOk());
  absl::StatusOr<EmbeddingMatrix> split = (*other)->Encode(texts);
  ASSERT_THAT(split, IsOk());
  EXPECT_LE((*split - *batched).cwiseAbs().maxCoeff(), 1e-6);
}

TEST_F(GoldenTest, EmptyInputGivesEmptyMatrix) {
  absl::StatusOr<EmbeddingMatrix> out = encoder_->Encode({});
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->rows(), 0);
  EXPECT_EQ(out->cols(), 64);
}

TEST_F(GoldenTest, InvalidUtf8StillEncodes) {
  absl::StatusOr<EmbeddingMatrix> out = encoder_->Encode({std::string("bad \xff\xfe bytes")});
  ASSERT_THAT(out, IsOk());
  EXPECT_NEAR(out->row(0).norm(), 1.0f, 1e-5);
}

// The transformer alone, for CLS states and per-layer states.
class TransformerGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ModelDir> md = ReadModelDir(ModelPath());
    ASSERT_THAT(md, IsOk());
    absl::StatusOr<TransformerConfig> config =
        ParseTransformerConfig(JoinPath(ModelPath(), "config.json"), *md);
    ASSERT_THAT(config, IsOk());
    auto file = SafetensorsFile::Open(md->weights_path);
    ASSERT_THAT(file, IsOk());
    auto t =
        Transformer::Create(*config, std::make_unique<Weights>(std::move(*file)), Pooling::kCls);
    ASSERT_THAT(t, IsOk());
    transformer_ = std::move(*t);
  }
  std::unique_ptr<Transformer> transformer_;
};

TEST_F(TransformerGoldenTest, ClsRawMatchesReference) {
  const json& rows = Reference()["rows"];
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<TokenId> ids = rows[i]["ids"].get<std::vector<TokenId>>();
    const std::vector<EmbeddingMatrix> states = transformer_->HiddenStates(ids);
    ExpectNear(states.back().row(0).data(), rows[i]["cls_raw"], 1e-4, "row " + std::to_string(i));
  }
}

TEST_F(TransformerGoldenTest, PerLayerStatesOfSentence0MatchReference) {
  const json& layers = Reference()["layers_sentence0"];
  const std::vector<TokenId> ids = Reference()["rows"][0]["ids"].get<std::vector<TokenId>>();
  const std::vector<EmbeddingMatrix> states = transformer_->HiddenStates(ids);
  ASSERT_EQ(states.size(), layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    ASSERT_EQ(states[l].rows(), static_cast<Eigen::Index>(layers[l].size()));
    for (size_t t = 0; t < layers[l].size(); ++t) {
      ExpectNear(states[l].row(t).data(), layers[l][t], 1e-4,
                 "layer " + std::to_string(l) + " token " + std::to_string(t));
    }
  }
}

// Pooling modes and prompts come from the directory: copy the model and change its configs.
class ModelVariantTest : public ::testing::Test {
 protected:
  std::string CopyModel(const std::string& name) {
    const std::string dir = testing::MakeTempDir(name);
    std::filesystem::copy(ModelPath(), dir,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    return dir;
  }
};

// Configuration files whose fields have the wrong JSON type are refused with an error naming the
// model directory or file, not thrown.
TEST_F(ModelVariantTest, ConfigFieldsOfTheWrongTypeAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1_Pooling/config.json", R"({"word_embedding_dimension": "64"})"},
      {"modules.json",
       R"([{"idx": 0, "path": 5, "type": "sentence_transformers.models.Transformer"}])"},
      {"config_sentence_transformers.json", R"({"prompts": {"query": 5}})"},
      {"sentence_bert_config.json", R"({"max_seq_length": "long"})"},
  };
  for (const auto& [file, content] : cases) {
    const std::string dir = CopyModel("typed");
    ASSERT_THAT(WriteFileAtomically(JoinPath(dir, file), content), IsOk());
    auto enc = LoadSentenceEncoder(dir);
    EXPECT_FALSE(enc.ok()) << file;
    EXPECT_THAT(enc.status().message(), HasSubstr(dir)) << file;
  }
  const std::string dir = CopyModel("typed_config");
  absl::StatusOr<std::string> config = ReadFile(JoinPath(dir, "config.json"));
  ASSERT_THAT(config, IsOk());
  json cfg = json::parse(*config);
  cfg["hidden_act"] = 5;
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "config.json"), cfg.dump()), IsOk());
  auto enc = LoadSentenceEncoder(dir);
  EXPECT_FALSE(enc.ok());
  EXPECT_THAT(enc.status().message(), HasSubstr("config.json"));
}

TEST_F(ModelVariantTest, ClsPoolingGivesNormalizedClsState) {
  const std::string dir = CopyModel("cls");
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "1_Pooling/config.json"),
                                  R"({"word_embedding_dimension": 64,
                                      "pooling_mode_cls_token": true,
                                      "pooling_mode_mean_tokens": false})"),
              IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ((*enc)->info().pooling, Pooling::kCls);
  const json& row = Reference()["rows"][3];
  absl::StatusOr<EmbeddingMatrix> out = (*enc)->Encode({row["text"].get<std::string>()});
  ASSERT_THAT(out, IsOk());
  std::vector<float> cls = row["cls_raw"].get<std::vector<float>>();
  Eigen::Map<Eigen::RowVectorXf> want(cls.data(), cls.size());
  want.normalize();
  EXPECT_LE((out->row(0) - want).cwiseAbs().maxCoeff(), 1e-4);
}

TEST_F(ModelVariantTest, WithoutNormalizeModuleRowsAreRawMeans) {
  const std::string dir = CopyModel("nonorm");
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "modules.json"), R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])"),
              IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  EXPECT_FALSE((*enc)->info().normalize);
  absl::StatusOr<EmbeddingMatrix> out = (*enc)->Encode(Texts());
  ASSERT_THAT(out, IsOk());
  const json& rows = Reference()["rows"];
  for (size_t i = 0; i < rows.size(); ++i) {
    Eigen::RowVectorXf unit = out->row(i).normalized();
    ExpectNear(unit.data(), rows[i]["mean_normalized"], 1e-5, "row " + std::to_string(i));
  }
  EXPECT_GT(std::abs(out->row(0).norm() - 1.0f), 1e-3f);  // really not normalised
}

TEST_F(ModelVariantTest, QueryPromptIsPrepended) {
  const std::string dir = CopyModel("prompt");
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir, "config_sentence_transformers.json"),
                                  R"({"prompts": {"query": "query: ", "passage": "passage: "},
                                      "default_prompt_name": null})"),
              IsOk());
  auto enc = LoadSentenceEncoder(dir);
  ASSERT_THAT(enc, IsOk());
  auto tok = Tokenizer::Load(JoinPath(dir, "sentencepiece.bpe.model"));
  ASSERT_THAT(tok, IsOk());
  EXPECT_EQ((*enc)->Tokenize("vaccines", TextRole::kQuery), (*tok)->Encode("query: vaccines", 32));
  EXPECT_EQ((*enc)->Tokenize("vaccines", TextRole::kDocument),
            (*tok)->Encode("passage: vaccines", 32));
  EXPECT_EQ((*enc)->Tokenize("vaccines"), (*tok)->Encode("vaccines", 32));
}

}  // namespace
}  // namespace claimmatch
