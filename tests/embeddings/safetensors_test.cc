// The safetensors reader treats files as hostile input: every malformed case is a clear kDataLoss
// naming the file (and the tensor), never a crash or an out-of-bounds read.
#include "embeddings/safetensors.h"

#include <cstring>
#include <filesystem>

#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A safetensors file from a header JSON (padded to 8 bytes, as writers do) and a data section.
std::string Make(std::string header, const std::string& data) {
  while (header.size() % 8 != 0) header.push_back(' ');
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string Floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

absl::Status Parse(const std::string& bytes) {
  return SafetensorsFile::FromBuffer(bytes, "t.safetensors").status();
}

TEST(SafetensorsTest, ReadsValidFileWithoutCopyingF32) {
  const std::string bytes =
      Make(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":"v"}})",
           Floats({1, 2, 3, 4}));
  auto f = SafetensorsFile::FromBuffer(bytes, "t.safetensors");
  ASSERT_THAT(f, IsOk());
  const TensorInfo* a = (*f)->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ((*f)->metadata().at("k"), "v");
  Weights w(std::move(*f));
  auto m = w.Matrix("a", 2, 2);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ((*m)(1, 0), 3.0f);
  EXPECT_EQ(m->data(), reinterpret_cast<const float*>(w.file().Find("a")->bytes.data()));
}

TEST(SafetensorsTest, TooShortForHeaderLength) {
  EXPECT_THAT(Parse("abc"), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr("t.safetensors"), HasSubstr("too short"))));
}

TEST(SafetensorsTest, HeaderLengthPastEof) {
  std::string bytes = Make(R"({})", "");
  bytes[0] = static_cast<char>(200);
  EXPECT_THAT(Parse(bytes), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("past the end")));
}

TEST(SafetensorsTest, HugeHeaderLengthIsRejectedBeforeReading) {
  std::string bytes = Make(R"({})", "");
  bytes[5] = 1;  // 2^40
  EXPECT_THAT(Parse(bytes), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exceeds the limit")));
}

TEST(SafetensorsTest, HeaderNotJson) {
  EXPECT_THAT(Parse(Make("{not json", "")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not valid JSON")));
}

TEST(SafetensorsTest, DuplicateKey) {
  EXPECT_THAT(Parse(Make(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                            "a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                         Floats({1}))),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("duplicate key 'a'")));
}

TEST(SafetensorsTest, OffsetsOutOfRange) {
  EXPECT_THAT(
      Parse(Make(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", Floats({1}))),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr("tensor 'w'"), HasSubstr("outside"))));
  EXPECT_THAT(
      Parse(Make(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", Floats({1, 2, 3}))),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("tensor 'w'")));
}

TEST(SafetensorsTest, OverlappingTensors) {
  EXPECT_THAT(Parse(Make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                            "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         Floats({1, 2, 3}))),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("overlap")));
}

TEST(SafetensorsTest, UnsupportedDtype) {
  EXPECT_THAT(
      Parse(Make(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", Floats({1, 2}))),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("tensor 'w'"), HasSubstr("unsupported dtype I64"))));
}

TEST(SafetensorsTest, ByteSizeDisagreesWithDtypeAndShape) {
  EXPECT_THAT(
      Parse(Make(R"({"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", Floats({1, 2}))),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("needs 6")));
}

// Fields of the wrong JSON type are refused (kDataLoss naming the file), never thrown past the
// reader.
TEST(SafetensorsTest, FieldsOfTheWrongTypeAreDataLoss) {
  for (const char* header : {R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})",
                             R"({"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}})",
                             R"({"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})",
                             R"({"w":[1,2]})", R"({"__metadata__":{"format":5}})"}) {
    EXPECT_THAT(Parse(Make(header, Floats({1}))),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.safetensors")))
        << header;
  }
}

TEST(SafetensorsTest, NegativeOrFractionalShape) {
  EXPECT_THAT(
      Parse(Make(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", Floats({1}))),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("whole number")));
}

TEST(SafetensorsTest, MissingTensorAndWrongShapeNameTheTensor) {
  auto f = SafetensorsFile::FromBuffer(
      Make(R"({"roberta.w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
           Floats({1, 2, 3, 4})),
      "t.safetensors");
  ASSERT_THAT(f, IsOk());
  Weights w(std::move(*f));
  EXPECT_THAT(w.Matrix("w", 2, 2), IsOk());  // the "roberta." prefix is tolerated
  EXPECT_THAT(w.Matrix("v", 2, 2),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing tensor 'v'")));
  EXPECT_THAT(w.Matrix("w", 4, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("tensor 'roberta.w' has shape [2, 2], expected [4, 1]")));
}

TEST(SafetensorsTest, HalfAndBFloat16AreWidened) {
  const uint16_t half[] = {FloatToHalf(1.5f), FloatToHalf(-2.25f)};
  const uint16_t bf[] = {0x3fc0, 0xc010};  // 1.5, -2.25
  std::string data(reinterpret_cast<const char*>(half), 4);
  data.append(reinterpret_cast<const char*>(bf), 4);
  auto f =
      SafetensorsFile::FromBuffer(Make(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},
               "b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})",
                                       data),
                                  "t");
  ASSERT_THAT(f, IsOk());
  Weights w(std::move(*f));
  auto h = w.Vector("h", 2);
  auto b = w.Vector("b", 2);
  ASSERT_THAT(h, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ((*h)(0), 1.5f);
  EXPECT_EQ((*h)(1), -2.25f);
  EXPECT_EQ((*b)(0), 1.5f);
  EXPECT_EQ((*b)(1), -2.25f);
}

TEST(SafetensorsTest, HalfConversionRoundTripsAndRounds) {
  for (float v : {0.0f, -0.0f, 1.0f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, -3.140625f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(v)), v) << v;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0f + 1.0f / 4096)), 1.0f);  // ties to even
}

TEST(SafetensorsTest, SerializeRoundTrip) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {0.5f, -1};
  auto bytes = SerializeSafetensors({{"z", {2, 3}, a, DType::kF32}, {"b", {2}, b, DType::kF16}},
                                    {{"format", "pt"}});
  ASSERT_THAT(bytes, IsOk());
  auto f = SafetensorsFile::FromBuffer(*bytes, "rt");
  ASSERT_THAT(f, IsOk());
  Weights w(std::move(*f));
  auto z = w.Matrix("z", 2, 3);
  ASSERT_THAT(z, IsOk());
  EXPECT_EQ((*z)(1, 2), 6.0f);
  auto bv = w.Vector("b", 2);
  ASSERT_THAT(bv, IsOk());
  EXPECT_EQ((*bv)(0), 0.5f);
  EXPECT_EQ(w.file().metadata().at("format"), "pt");
  EXPECT_THAT(SerializeSafetensors({{"bad", {4}, b, DType::kF32}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'bad'")));
}

// Every byte-level truncation of the real model file is rejected cleanly.
TEST(SafetensorsTest, TruncatedRealModelIsDataLoss) {
  auto full = ReadFile(JoinPath(testing::TestDataDir(), "xlmr-tiny/model/model.safetensors"));
  ASSERT_THAT(full, IsOk());
  for (size_t cut : {size_t{0}, size_t{7}, size_t{100}, full->size() / 2, full->size() - 1}) {
    EXPECT_THAT(Parse(full->substr(0, cut)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.safetensors")))
        << "cut at " << cut;
  }
}

// The model loader names the tensor or config field that is wrong.
class ModelLoaderErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir(
        "loader_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::copy(JoinPath(testing::TestDataDir(), "xlmr-tiny/model"), dir_,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
  }
  // Rewrites model.safetensors, keeping all tensors but `drop`, and reshaping `reshape`.
  void RewriteWeights(const std::string& drop, const std::string& reshape) {
    auto f = SafetensorsFile::Open(JoinPath(dir_, "model.safetensors"));
    ASSERT_THAT(f, IsOk());
    std::vector<std::vector<float>> storage;
    std::vector<TensorToWrite> tensors;
    for (const auto& [name, t] : (*f)->tensors()) {
      if (name == drop) continue;
      storage.emplace_back(t.num_elements());
      std::memcpy(storage.back().data(), t.bytes.data(), t.bytes.size());
      std::vector<int64_t> shape = t.shape;
      if (name == reshape) shape = {t.num_elements()};
      tensors.push_back({name, shape, storage.back(), DType::kF32});
    }
    auto bytes = SerializeSafetensors(tensors);
    ASSERT_THAT(bytes, IsOk());
    ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "model.safetensors"), *bytes), IsOk());
  }
  std::string dir_;
};

TEST_F(ModelLoaderErrorTest, MissingTensor) {
  RewriteWeights("encoder.layer.1.output.dense.bias", "");
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("missing tensor 'encoder.layer.1.output.dense.bias'")));
}

TEST_F(ModelLoaderErrorTest, WrongShape) {
  RewriteWeights("", "encoder.layer.0.attention.self.key.weight");
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("tensor 'encoder.layer.0.attention.self.key.weight' has shape "
                                 "[4096], expected [64, 64]")));
}

TEST_F(ModelLoaderErrorTest, F16CheckpointLoadsAndStaysClose) {
  auto f = SafetensorsFile::Open(JoinPath(dir_, "model.safetensors"));
  ASSERT_THAT(f, IsOk());
  std::vector<std::vector<float>> storage;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, t] : (*f)->tensors()) {
    storage.emplace_back(t.num_elements());
    std::memcpy(storage.back().data(), t.bytes.data(), t.bytes.size());
    tensors.push_back({name, t.shape, storage.back(), DType::kF16});
  }
  auto ref = LoadSentenceEncoder(dir_);
  ASSERT_THAT(ref, IsOk());
  auto bytes = SerializeSafetensors(tensors);
  ASSERT_THAT(bytes, IsOk());
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "model.safetensors"), *bytes), IsOk());
  auto half = LoadSentenceEncoder(dir_);
  ASSERT_THAT(half, IsOk());
  auto a = (*ref)->Encode({"The election was stolen."});
  auto b = (*half)->Encode({"The election was stolen."});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_GT(a->row(0).dot(b->row(0)), 0.99f);
  EXPECT_NE((*ref)->info().weights_hash, (*half)->info().weights_hash);
}

TEST_F(ModelLoaderErrorTest, UnknownArchitecture) {
  auto cfg = ReadFile(JoinPath(dir_, "config.json"));
  ASSERT_THAT(cfg, IsOk());
  std::string text = *cfg;
  text.replace(text.find("\"xlm-roberta\""), 13, "\"gpt2\"");
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "config.json"), text), IsOk());
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("config.json"), HasSubstr("model_type \"gpt2\""))));
}

TEST_F(ModelLoaderErrorTest, UnknownPooling) {
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "1_Pooling/config.json"),
                                  R"({"pooling_mode_weightedmean_tokens": true})"),
              IsOk());
  EXPECT_THAT(
      LoadSentenceEncoder(dir_).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("1_Pooling/config.json"),
                     HasSubstr("unsupported pooling mode 'pooling_mode_weightedmean_tokens'"))));
}

TEST_F(ModelLoaderErrorTest, UnknownModule) {
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "modules.json"), R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}])"),
              IsOk());
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unsupported module 'sentence_transformers.models.Dense'")));
}

TEST_F(ModelLoaderErrorTest, MalformedConfigJson) {
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "config.json"), "{\"model_type\": "), IsOk());
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("config.json"), HasSubstr("not valid JSON"))));
}

TEST_F(ModelLoaderErrorTest, MissingFilesAreNamed) {
  std::filesystem::remove(JoinPath(dir_, "sentencepiece.bpe.model"));
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("sentencepiece")));
  EXPECT_THAT(LoadSentenceEncoder("/no/such/model").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/no/such/model")));
}

TEST_F(ModelLoaderErrorTest, CorruptTokenizer) {
  ASSERT_THAT(WriteFileAtomically(JoinPath(dir_, "sentencepiece.bpe.model"), "garbage"), IsOk());
  EXPECT_THAT(LoadSentenceEncoder(dir_).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a valid sentencepiece model")));
}

}  // namespace
}  // namespace claimmatch
