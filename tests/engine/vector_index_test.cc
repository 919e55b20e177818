#include "engine/vector_index.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "tests/test_util.h"

namespace claimmatch {

// Names the parameter in test output (CTest lists "GetParam() = hnsw", not raw bytes).
void PrintTo(VectorIndexType type, std::ostream* os) { *os << VectorIndexTypeName(type); }

namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::MakeTempDir;
using ::claimmatch::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
using Hit = VectorIndex::Hit;

// Rows normalised to unit length.
EmbeddingMatrix UnitRows(const std::vector<std::vector<float>>& rows) {
  EmbeddingMatrix m(rows.size(), rows.empty() ? 0 : rows[0].size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) m(i, j) = rows[i][j];
    m.row(i).normalize();
  }
  return m;
}

auto HitIs(ClaimRowId id, float score) {
  return AllOf(Field(&Hit::id, id), Field(&Hit::score, FloatNear(score, 1e-5f)));
}

std::vector<ClaimRowId> HitIds(const std::vector<Hit>& hits) {
  std::vector<ClaimRowId> ids;
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

// Synthetic embeddings with neighbourhood structure (uniformly random vectors have none, so they
// say nothing about recall): `topics` random directions, each with `groups_per_topic` groups of
// near-paraphrases around it; a sample is a group centre plus noise, normalised.
class ClusteredData {
 public:
  ClusteredData(int dim, int topics, int groups_per_topic, uint32_t seed)
      : dim_(dim), rng_(seed), centers_(topics * groups_per_topic, dim) {
    EmbeddingMatrix topic_centers = Gaussian(topics, 1.0f);
    for (int g = 0; g < centers_.rows(); ++g) {
      centers_.row(g) = topic_centers.row(g / groups_per_topic) + Gaussian(1, 0.6f);
      centers_.row(g).normalize();
    }
  }
  EmbeddingMatrix Sample(int n) {
    std::uniform_int_distribution<int> group(0, centers_.rows() - 1);
    EmbeddingMatrix rows = Gaussian(n, 0.35f);
    for (int i = 0; i < n; ++i) {
      rows.row(i) += centers_.row(group(rng_));
      rows.row(i).normalize();
    }
    return rows;
  }

 private:
  // Rows of N(0, sigma^2 / dim): norm about sigma.
  EmbeddingMatrix Gaussian(int n, float sigma) {
    std::normal_distribution<float> normal(0.0f, sigma / std::sqrt(static_cast<float>(dim_)));
    EmbeddingMatrix m(n, dim_);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < dim_; ++j) m(i, j) = normal(rng_);
    }
    return m;
  }
  int dim_;
  std::mt19937 rng_;
  EmbeddingMatrix centers_;
};

std::vector<ClaimRowId> Iota(int64_t n, ClaimRowId first) {
  std::vector<ClaimRowId> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = first + i;
  return ids;
}

// Mean over queries of |approx top-k ∩ exact top-k| / k.
double RecallAtK(const std::vector<std::vector<Hit>>& approx,
                 const std::vector<std::vector<Hit>>& exact, int k) {
  double sum = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    std::vector<ClaimRowId> truth = HitIds(exact[q]);
    std::set<ClaimRowId> truth_set(truth.begin(),
                                   truth.begin() + std::min<size_t>(k, truth.size()));
    int found = 0;
    for (size_t j = 0; j < approx[q].size() && j < static_cast<size_t>(k); ++j) {
      found += truth_set.count(approx[q][j].id);
    }
    sum += static_cast<double>(found) / k;
  }
  return sum / exact.size();
}

std::unique_ptr<VectorIndex> MakeIndex(int dim, const VectorIndexOptions& options) {
  absl::StatusOr<std::unique_ptr<VectorIndex>> index = VectorIndex::Create(dim, options);
  EXPECT_THAT(index, IsOk());
  return index.ok() ? *std::move(index) : nullptr;
}

VectorIndexOptions OptionsFor(VectorIndexType type) {
  VectorIndexOptions options;
  options.type = type;
  return options;
}

// The four unit rows most tests use, with ids 7, 42, 9, 1000.
const std::vector<ClaimRowId> kIds = {7, 42, 9, 1000};
EmbeddingMatrix FourRows() {
  return UnitRows({{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {1, 1, 1, 1}});
}

class VectorIndexTest : public ::testing::TestWithParam<VectorIndexType> {
 protected:
  void SetUp() override {
    index_ = MakeIndex(4, OptionsFor(GetParam()));
    ASSERT_NE(index_, nullptr);
    ASSERT_THAT(index_->Upsert(kIds, FourRows()), IsOk());
  }
  std::unique_ptr<VectorIndex> index_;
};

TEST_P(VectorIndexTest, IdenticalVectorIsTopHit) {
  absl::StatusOr<std::vector<std::vector<Hit>>> hits =
      index_->Search(UnitRows({{0, 1, 0, 0}, {1, 1, 1, 1}}), 1);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(*hits, ElementsAre(ElementsAre(HitIs(42, 1.0f)), ElementsAre(HitIs(1000, 1.0f))));
  EXPECT_EQ(index_->size(), 4);
  EXPECT_EQ(index_->dim(), 4);
  EXPECT_EQ(index_->type(), GetParam());
}

TEST_P(VectorIndexTest, HitsAreOrderedBestFirst) {
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = index_->Search(UnitRows({{2, 1, 0, 0}}), 3);
  ASSERT_THAT(hits, IsOk());
  // <(2,1,0,0)/sqrt5, rows>: id 7 -> 0.894, id 1000 -> 0.671, id 42 -> 0.447.
  EXPECT_THAT(*hits, ElementsAre(ElementsAre(HitIs(7, 2 / std::sqrt(5.0f)),
                                             HitIs(1000, 3 / (2 * std::sqrt(5.0f))),
                                             HitIs(42, 1 / std::sqrt(5.0f)))));
}

TEST_P(VectorIndexTest, UpsertReplacesTheVector) {
  ASSERT_THAT(index_->Upsert({42}, UnitRows({{0, 0, 0, 1}})), IsOk());
  EXPECT_EQ(index_->size(), 4);
  absl::StatusOr<std::vector<std::vector<Hit>>> hits =
      index_->Search(UnitRows({{0, 1, 0, 0}, {0, 0, 0, 1}}), 4);
  ASSERT_THAT(hits, IsOk());
  // The old (0,1,0,0) is gone: only id 1000 shares a component with it now.
  EXPECT_THAT((*hits)[0], ElementsAre(HitIs(1000, 0.5f), Field(&Hit::score, FloatNear(0, 1e-5f)),
                                      Field(&Hit::score, FloatNear(0, 1e-5f)),
                                      Field(&Hit::score, FloatNear(0, 1e-5f))));
  EXPECT_THAT((*hits)[1][0], HitIs(42, 1.0f));
  EXPECT_THAT(HitIds((*hits)[1]), UnorderedElementsAre(7, 42, 9, 1000));
  absl::StatusOr<EmbeddingRow> row = index_->Get(42);
  ASSERT_THAT(row, IsOk());
  EXPECT_THAT(std::vector<float>(row->data(), row->data() + 4),
              ElementsAre(FloatNear(0, 1e-6f), FloatNear(0, 1e-6f), FloatNear(0, 1e-6f),
                          FloatNear(1, 1e-6f)));
}

TEST_P(VectorIndexTest, RemoveDropsVectorsAndIgnoresMissingIds) {
  ASSERT_THAT(index_->Remove({42, 12345, 7}), IsOk());
  EXPECT_EQ(index_->size(), 2);
  EXPECT_FALSE(index_->Contains(42));
  EXPECT_TRUE(index_->Contains(9));
  EXPECT_THAT(index_->Get(42), StatusIs(absl::StatusCode::kNotFound, HasSubstr("42")));
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = index_->Search(UnitRows({{0, 1, 0, 0}}), 10);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT((*hits)[0], ElementsAre(HitIs(1000, 0.5f), HitIs(9, 0.0f)));
  ASSERT_THAT(index_->Remove({9, 1000}), IsOk());
  EXPECT_EQ(index_->size(), 0);
  hits = index_->Search(UnitRows({{0, 1, 0, 0}}), 10);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(*hits, ElementsAre(IsEmpty()));
}

TEST_P(VectorIndexTest, KAboveSizeReturnsEveryVector) {
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = index_->Search(UnitRows({{0, 0, 1, 0}}), 50);
  ASSERT_THAT(hits, IsOk());
  ASSERT_THAT((*hits)[0], SizeIs(4));
  EXPECT_THAT((*hits)[0][0], HitIs(9, 1.0f));
  EXPECT_THAT(HitIds((*hits)[0]), UnorderedElementsAre(7, 42, 9, 1000));
}

TEST_P(VectorIndexTest, EmptyIndexAndNoQueriesGiveNoHits) {
  std::unique_ptr<VectorIndex> empty = MakeIndex(4, OptionsFor(GetParam()));
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = empty->Search(UnitRows({{0, 0, 1, 0}}), 5);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(*hits, ElementsAre(IsEmpty()));
  hits = index_->Search(EmbeddingMatrix(0, 4), 5);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(*hits, IsEmpty());
}

TEST_P(VectorIndexTest, WrongDimIsInvalidArgument) {
  EXPECT_THAT(index_->Upsert({1}, UnitRows({{1, 0, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dim")));
  EXPECT_THAT(index_->Search(UnitRows({{1, 0, 0, 0, 0}}), 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dim")));
  EXPECT_EQ(index_->size(), 4);
}

TEST_P(VectorIndexTest, BadArgumentsAreInvalidArgumentAndChangeNothing) {
  EXPECT_THAT(index_->Upsert({1, 2}, UnitRows({{1, 0, 0, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 ids for 1 rows")));
  EXPECT_THAT(index_->Upsert({-3}, UnitRows({{1, 0, 0, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative id -3")));
  EXPECT_THAT(index_->Upsert({5, 5}, UnitRows({{1, 0, 0, 0}, {0, 1, 0, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id 5 appears twice")));
  EmbeddingMatrix nan_row = UnitRows({{1, 0, 0, 0}});
  nan_row(0, 2) = std::nanf("");
  EXPECT_THAT(index_->Upsert({5}, nan_row),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NaN")));
  EXPECT_THAT(index_->Search(UnitRows({{1, 0, 0, 0}}), 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("k must be > 0")));
  EXPECT_EQ(index_->size(), 4);
  EXPECT_FALSE(index_->Contains(5));
}

TEST_P(VectorIndexTest, GetReturnsTheStoredVector) {
  absl::StatusOr<EmbeddingRow> row = index_->Get(1000);
  ASSERT_THAT(row, IsOk());
  EXPECT_THAT(std::vector<float>(row->data(), row->data() + 4),
              ElementsAre(0.5f, 0.5f, 0.5f, 0.5f));
  EXPECT_THAT(index_->Get(8), StatusIs(absl::StatusCode::kNotFound, HasSubstr("8")));
}

TEST_P(VectorIndexTest, SaveLoadRoundTripGivesIdenticalResults) {
  const std::string path = JoinPath(MakeTempDir("vindex_roundtrip"), "vectors.cmvi");
  ASSERT_THAT(index_->Remove({9}), IsOk());
  ASSERT_THAT(index_->Save(path, "xlmr-tiny@abc", 77), IsOk());
  int64_t seq = -1;
  absl::StatusOr<std::unique_ptr<VectorIndex>> loaded =
      VectorIndex::Load(path, "xlmr-tiny@abc", &seq);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(seq, 77);
  EXPECT_EQ((*loaded)->size(), 3);
  EXPECT_EQ((*loaded)->dim(), 4);
  EXPECT_EQ((*loaded)->type(), GetParam());
  const EmbeddingMatrix queries = UnitRows({{2, 1, 0, 0}, {0, 0, 1, 1}});
  absl::StatusOr<std::vector<std::vector<Hit>>> before = index_->Search(queries, 4);
  absl::StatusOr<std::vector<std::vector<Hit>>> after = (*loaded)->Search(queries, 4);
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(after, IsOk());
  ASSERT_THAT(*after, SizeIs(2));
  for (int q = 0; q < 2; ++q) {
    ASSERT_THAT((*after)[q], SizeIs(3));
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ((*after)[q][j].id, (*before)[q][j].id);
      EXPECT_EQ((*after)[q][j].score, (*before)[q][j].score);  // bit-identical
    }
  }
  // The loaded index stays mutable, with the same semantics.
  ASSERT_THAT((*loaded)->Upsert({9}, UnitRows({{0, 0, 1, 0}})), IsOk());
  EXPECT_EQ((*loaded)->size(), 4);
  absl::StatusOr<std::vector<std::vector<Hit>>> hits =
      (*loaded)->Search(UnitRows({{0, 0, 1, 0}}), 1);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(*hits, ElementsAre(ElementsAre(HitIs(9, 1.0f))));
}

TEST_P(VectorIndexTest, EmptyExpectedModelSkipsTheCheckAndNullSeqIsFine) {
  const std::string path = JoinPath(MakeTempDir("vindex_anymodel"), "vectors.cmvi");
  ASSERT_THAT(index_->Save(path, "some-model", 5), IsOk());
  absl::StatusOr<std::unique_ptr<VectorIndex>> loaded = VectorIndex::Load(path, "", nullptr);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->size(), 4);
}

TEST_P(VectorIndexTest, ConcurrentSearchesAgreeWithSerialOnes) {
  ClusteredData data(16, 5, 10, /*seed=*/11);
  const EmbeddingMatrix rows = data.Sample(500);
  std::unique_ptr<VectorIndex> index = MakeIndex(16, OptionsFor(GetParam()));
  ASSERT_THAT(index->Upsert(Iota(500, 0), rows), IsOk());
  ASSERT_THAT(index->Remove(Iota(20, 0)), IsOk());
  const EmbeddingMatrix queries = data.Sample(40);
  std::vector<std::vector<ClaimRowId>> serial;  // single queries: batches may round differently
  for (int q = 0; q < queries.rows(); ++q) {
    absl::StatusOr<std::vector<std::vector<Hit>>> hits = index->Search(queries.row(q), 5);
    ASSERT_THAT(hits, IsOk());
    ASSERT_THAT((*hits)[0], SizeIs(5));
    serial.push_back(HitIds((*hits)[0]));
  }
  std::vector<std::vector<std::vector<ClaimRowId>>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int q = 0; q < queries.rows(); ++q) {  // single queries, as interactive lookups do
        absl::StatusOr<std::vector<std::vector<Hit>>> hits = index->Search(queries.row(q), 5);
        got[t].push_back(hits.ok() ? HitIds((*hits)[0]) : std::vector<ClaimRowId>{-1});
        absl::StatusOr<EmbeddingRow> row = index->Get(100 + q);
        if (!row.ok()) got[t].back().push_back(-2);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    ASSERT_THAT(got[t], SizeIs(queries.rows()));
    for (int q = 0; q < queries.rows(); ++q) EXPECT_EQ(got[t][q], serial[q]);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VectorIndexTest,
                         ::testing::Values(VectorIndexType::kFlat, VectorIndexType::kHnsw,
                                           VectorIndexType::kIvfPq),
                         [](const ::testing::TestParamInfo<VectorIndexType>& info) {
                           return std::string(VectorIndexTypeName(info.param));
                         });

TEST(VectorIndexCreateTest, RejectsBadOptions) {
  VectorIndexOptions options;
  EXPECT_THAT(VectorIndex::Create(0, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dim")));
  options.type = VectorIndexType::kIvfPq;
  options.pq_m = 7;
  EXPECT_THAT(
      VectorIndex::Create(64, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pq_m 7 does not divide dim 64")));
  options.pq_m = 0;
  options.nprobe = 0;
  EXPECT_THAT(VectorIndex::Create(64, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nprobe")));
  options = VectorIndexOptions();
  options.type = VectorIndexType::kHnsw;
  options.hnsw_m = 1;
  EXPECT_THAT(VectorIndex::Create(64, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hnsw_m")));
}

// --- Loading hostile files ----------------------------------------------------------------------

class VectorIndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = JoinPath(MakeTempDir("vindex_file"), "vectors.cmvi");
    std::unique_ptr<VectorIndex> index = MakeIndex(4, VectorIndexOptions());
    ASSERT_NE(index, nullptr);
    ASSERT_THAT(index->Upsert(kIds, FourRows()), IsOk());
    ASSERT_THAT(index->Save(path_, "model-a", 12), IsOk());
    absl::StatusOr<std::string> bytes = ReadFile(path_);
    ASSERT_THAT(bytes, IsOk());
    bytes_ = *bytes;
  }
  void Rewrite(const std::string& bytes) { ASSERT_THAT(WriteFileAtomically(path_, bytes), IsOk()); }
  absl::Status LoadStatus(absl::string_view model = "model-a") {
    return VectorIndex::Load(path_, model, nullptr).status();
  }
  // Byte offsets of the version 1 header ("model-a" is 7 bytes).
  static constexpr size_t kVersionAt = 4;
  static constexpr size_t kSeqAt = 24;
  static constexpr size_t kPayloadAt = 4 + 4 + 4 + 4 + 8 + 8 + 6 * 4 + 4 + 7 + 8 + 8 + 8;

  std::string path_;
  std::string bytes_;
};

TEST_F(VectorIndexFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(VectorIndex::Load(path_ + ".nope", "", nullptr),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("vectors.cmvi.nope")));
}

TEST_F(VectorIndexFileTest, TruncatedFileIsDataLoss) {
  for (size_t len :
       {size_t{0}, size_t{3}, size_t{20}, kPayloadAt - 1, kPayloadAt + 10, bytes_.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("truncated to ", len, " of ", bytes_.size()));
    Rewrite(bytes_.substr(0, len));
    EXPECT_THAT(LoadStatus(), StatusIs(absl::StatusCode::kDataLoss,
                                       AllOf(HasSubstr(path_), HasSubstr("claimmatch reindex"))));
  }
}

TEST_F(VectorIndexFileTest, FlippedPayloadByteIsDataLoss) {
  ASSERT_GT(bytes_.size(), kPayloadAt + 100);
  for (size_t at : {kPayloadAt, kPayloadAt + 50, bytes_.size() - 1}) {
    std::string corrupt = bytes_;
    corrupt[at] ^= 0x10;
    Rewrite(corrupt);
    EXPECT_THAT(LoadStatus(),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(path_), HasSubstr("payload checksum mismatch"))));
  }
}

TEST_F(VectorIndexFileTest, FlippedHeaderByteIsDataLoss) {
  std::string corrupt = bytes_;
  corrupt[kSeqAt] ^= 0x01;  // last_change_seq 12 -> 13 would silently skip a change
  Rewrite(corrupt);
  EXPECT_THAT(LoadStatus(), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr(path_), HasSubstr("header checksum"))));
}

TEST_F(VectorIndexFileTest, WrongMagicIsDataLoss) {
  std::string corrupt = bytes_;
  corrupt[0] = 'X';
  Rewrite(corrupt);
  EXPECT_THAT(LoadStatus(), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr(path_), HasSubstr("bad magic"))));
}

TEST_F(VectorIndexFileTest, FutureVersionIsDataLoss) {
  std::string future = bytes_;
  future[kVersionAt] = 2;
  Rewrite(future);
  EXPECT_THAT(LoadStatus(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(path_), HasSubstr("format version 2"),
                             HasSubstr("reads version 1"), HasSubstr("claimmatch reindex --db"))));
}

TEST_F(VectorIndexFileTest, OtherModelIsFailedPrecondition) {
  EXPECT_THAT(LoadStatus("model-b"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path_), HasSubstr("built with model 'model-a'"),
                             HasSubstr("not 'model-b'"))));
}

// A flat index scores fewer than 20 queries itself (Eigen) and larger batches through FAISS's
// BLAS path: the same hits, scores equal up to float rounding; equal scores come in insertion
// order.
TEST(VectorIndexFlatTest, SmallAndLargeBatchesFindTheSameHits) {
  ClusteredData data(32, /*topics=*/20, /*groups_per_topic=*/10, /*seed=*/5);
  const EmbeddingMatrix rows = data.Sample(3000);
  std::unique_ptr<VectorIndex> index = MakeIndex(32, OptionsFor(VectorIndexType::kFlat));
  std::vector<ClaimRowId> ids(rows.rows());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<ClaimRowId>(3 * i + 1);
  ASSERT_THAT(index->Upsert(ids, rows), IsOk());
  const EmbeddingMatrix queries = data.Sample(25);
  absl::StatusOr<std::vector<std::vector<Hit>>> batch = index->Search(queries, 10);
  ASSERT_THAT(batch, IsOk());
  for (int q = 0; q < queries.rows(); ++q) {
    absl::StatusOr<std::vector<std::vector<Hit>>> one = index->Search(queries.row(q), 10);
    ASSERT_THAT(one, IsOk());
    ASSERT_EQ(HitIds((*one)[0]), HitIds((*batch)[q])) << q;
    for (int j = 0; j < 10; ++j) EXPECT_NEAR((*one)[0][j].score, (*batch)[q][j].score, 1e-5f);
  }
  // The same vector under three ids: equal scores, in the order they were added.
  std::unique_ptr<VectorIndex> dup = MakeIndex(4, OptionsFor(VectorIndexType::kFlat));
  ASSERT_THAT(dup->Upsert({50, 20, 90, 5},
                          UnitRows({{0, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}})),
              IsOk());
  absl::StatusOr<std::vector<std::vector<Hit>>> tied = dup->Search(UnitRows({{1, 0, 0, 0}}), 4);
  ASSERT_THAT(tied, IsOk());
  EXPECT_THAT(HitIds((*tied)[0]), ElementsAre(20, 90, 5, 50));
}

// --- Approximate indexes on structured data -----------------------------------------------------

constexpr int kDim = 64;

TEST(VectorIndexIvfPqTest, StaysExactUntilItCanTrainThenConverts) {
  VectorIndexOptions options = OptionsFor(VectorIndexType::kIvfPq);
  options.ivf_nlist = 64;
  options.pq_m = 16;
  std::unique_ptr<VectorIndex> index = MakeIndex(kDim, options);
  ClusteredData data(kDim, /*topics=*/40, /*groups_per_topic=*/30, /*seed=*/1);
  const EmbeddingMatrix first = data.Sample(kIvfPqMinTrainingVectors - 1);
  ASSERT_THAT(index->Upsert(Iota(first.rows(), 0), first), IsOk());
  absl::StatusOr<EmbeddingRow> exact = index->Get(123);
  ASSERT_THAT(exact, IsOk());
  EXPECT_EQ(*exact, first.row(123));  // still flat: bit-exact
  const EmbeddingMatrix second = data.Sample(1000);
  ASSERT_THAT(index->Upsert(Iota(second.rows(), first.rows()), second), IsOk());
  EXPECT_EQ(index->size(), first.rows() + second.rows());
  absl::StatusOr<EmbeddingRow> approx = index->Get(123);
  ASSERT_THAT(approx, IsOk());
  EXPECT_NE(*approx, first.row(123));            // now a PQ reconstruction,
  EXPECT_GT(approx->dot(first.row(123)), 0.9f);  // close to the original
  // Remove / upsert / round trip on the trained index.
  ASSERT_THAT(index->Remove({123, 124}), IsOk());
  EXPECT_EQ(index->size(), first.rows() + second.rows() - 2);
  EXPECT_THAT(index->Get(123), StatusIs(absl::StatusCode::kNotFound, HasSubstr("123")));
  const EmbeddingMatrix moved = first.row(5);
  ASSERT_THAT(index->Upsert({124}, moved), IsOk());
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = index->Search(moved, 2);
  ASSERT_THAT(hits, IsOk());
  EXPECT_THAT(HitIds((*hits)[0]), UnorderedElementsAre(5, 124));  // same code, same score
  const std::string path = JoinPath(MakeTempDir("vindex_ivfpq"), "vectors.cmvi");
  ASSERT_THAT(index->Save(path, "m", 3), IsOk());
  absl::StatusOr<std::unique_ptr<VectorIndex>> loaded = VectorIndex::Load(path, "m", nullptr);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->size(), index->size());
  const EmbeddingMatrix queries = data.Sample(20);
  absl::StatusOr<std::vector<std::vector<Hit>>> before = index->Search(queries, 10);
  absl::StatusOr<std::vector<std::vector<Hit>>> after = (*loaded)->Search(queries, 10);
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(after, IsOk());
  for (int q = 0; q < 20; ++q) EXPECT_EQ(HitIds((*after)[q]), HitIds((*before)[q]));
  // Concurrent single-query searches on the trained index agree with serial ones.
  std::vector<std::vector<ClaimRowId>> serial;
  for (int q = 0; q < 20; ++q) {
    absl::StatusOr<std::vector<std::vector<Hit>>> hits = index->Search(queries.row(q), 10);
    ASSERT_THAT(hits, IsOk());
    serial.push_back(HitIds((*hits)[0]));
  }
  std::vector<std::vector<std::vector<ClaimRowId>>> got(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int q = 0; q < 20; ++q) {
        absl::StatusOr<std::vector<std::vector<Hit>>> hits = index->Search(queries.row(q), 10);
        got[t].push_back(hits.ok() ? HitIds((*hits)[0]) : std::vector<ClaimRowId>{-1});
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 3; ++t) EXPECT_EQ(got[t], serial);
}

// The index's own search (coarse step by DenseScan, codes scored from a table of the query's
// products with the codebooks: the default) finds what FAISS's search finds: the same hits with
// the same scores, for single queries and a batch, at nprobe 1 (a wrong list changes the hits)
// and 8.
TEST(VectorIndexIvfPqTest, OwnIvfSearchEqualsFaissSearch) {
  ClusteredData data(kDim, /*topics=*/50, /*groups_per_topic=*/20, /*seed=*/7);
  const EmbeddingMatrix rows = data.Sample(kIvfPqMinTrainingVectors);
  const EmbeddingMatrix queries = data.Sample(200);
  // pq_m 4, 8 and 2: the list scan sums a pair of codes' bytes four, eight, or one at a time.
  for (const auto& [nprobe, pq_m] : {std::pair{1, 4}, std::pair{8, 8}, std::pair{8, 2}}) {
    std::vector<std::unique_ptr<VectorIndex>> indexes;
    for (bool fast : {true, false}) {
      VectorIndexOptions options = OptionsFor(VectorIndexType::kIvfPq);
      options.ivf_nlist = 120;
      options.pq_m = pq_m;
      options.nprobe = nprobe;
      options.fast_ivf_search = fast;
      indexes.push_back(MakeIndex(kDim, options));
      ASSERT_THAT(indexes.back()->TrainFor(rows, rows.rows()), IsOk());
      ASSERT_THAT(indexes.back()->Upsert(Iota(rows.rows(), 0), rows), IsOk());
    }
    absl::StatusOr<std::vector<std::vector<Hit>>> fast = indexes[0]->Search(queries, 10);
    absl::StatusOr<std::vector<std::vector<Hit>>> faiss = indexes[1]->Search(queries, 10);
    ASSERT_THAT(fast, IsOk());
    ASSERT_THAT(faiss, IsOk());
    for (int q = 0; q < queries.rows(); ++q) {
      // 4-byte codes make equal scores common (the same code in the same list), and FAISS orders
      // ties as its heap leaves them: scores must agree place by place, and every hit scoring
      // above the last place must be in both lists.
      const std::vector<Hit>& a = (*fast)[q];
      const std::vector<Hit>& b = (*faiss)[q];
      ASSERT_EQ(a.size(), b.size()) << q;
      const std::vector<ClaimRowId> b_ids = HitIds(b);
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_NEAR(a[i].score, b[i].score, 1e-5f)
            << "nprobe " << nprobe << " pq_m " << pq_m << " query " << q;
        if (a[i].score > a.back().score + 1e-5f) {
          EXPECT_THAT(b_ids, Contains(a[i].id))
              << "nprobe " << nprobe << " pq_m " << pq_m << " query " << q;
        }
      }
      absl::StatusOr<std::vector<std::vector<Hit>>> one = indexes[0]->Search(queries.row(q), 10);
      ASSERT_THAT(one, IsOk());
      EXPECT_EQ(HitIds((*one)[0]), HitIds((*fast)[q])) << q;
    }
  }
}

// InnerProducts gives what Get(id)->dot(query) gives (a trained IVF-PQ index from its codes, the
// others from the vectors), nullopt for ids it does not hold, and refuses a query of another dim.
TEST(VectorIndexIvfPqTest, InnerProductsEqualDotsOfTheStoredVectors) {
  ClusteredData data(kDim, /*topics=*/30, /*groups_per_topic=*/20, /*seed=*/9);
  const EmbeddingMatrix rows = data.Sample(kIvfPqMinTrainingVectors + 100);
  const EmbeddingMatrix queries = data.Sample(5);
  for (VectorIndexType type : {VectorIndexType::kIvfPq, VectorIndexType::kFlat}) {
    VectorIndexOptions options = OptionsFor(type);
    options.ivf_nlist = 64;
    options.pq_m = 16;
    std::unique_ptr<VectorIndex> index = MakeIndex(kDim, options);
    ASSERT_THAT(index->Upsert(Iota(rows.rows(), 0), rows), IsOk());
    if (type == VectorIndexType::kIvfPq) {
      ASSERT_EQ(index->ivf_lists(), 64);  // trained
    }
    const std::vector<ClaimRowId> ids = {0, 17, 5000, -3, 9000, 1000000};
    for (int q = 0; q < queries.rows(); ++q) {
      const EmbeddingRow query = queries.row(q);
      absl::StatusOr<std::vector<std::optional<float>>> dots = index->InnerProducts(query, ids);
      ASSERT_THAT(dots, IsOk());
      ASSERT_EQ(dots->size(), ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        absl::StatusOr<EmbeddingRow> v = index->Get(ids[i]);
        ASSERT_EQ((*dots)[i].has_value(), v.ok()) << ids[i];
        if (v.ok()) {
          EXPECT_NEAR(*(*dots)[i], v->dot(query), 1e-5f) << ids[i];
        }
      }
      EXPECT_FALSE((*dots)[3].has_value());
      EXPECT_FALSE((*dots)[5].has_value());
    }
    EXPECT_THAT(index->InnerProducts(EmbeddingRow::Zero(kDim + 1), ids),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dim")));
  }
}

// The defaults chosen in benchmarks/README.md "Scale": IVF-PQ codes of dim / 4 bytes (a divisor
// of dim, as FAISS requires) and 32 lists visited per query.
TEST(VectorIndexIvfPqTest, DefaultsAreQuarterDimCodesAndNprobe32) {
  const VectorIndexOptions defaults;
  EXPECT_EQ(defaults.pq_m, 0);  // 0 = DefaultPqM(dim)
  EXPECT_EQ(defaults.nprobe, 32);
  EXPECT_EQ(defaults.ivf_nlist, 0);
  EXPECT_EQ(DefaultPqM(400), 100);
  EXPECT_EQ(DefaultPqM(512), 128);
  EXPECT_EQ(DefaultPqM(384), 96);
  EXPECT_EQ(DefaultPqM(10), 2);  // 10 / 4 = 2 divides 10
  EXPECT_EQ(DefaultPqM(30), 6);  // 30 / 4 = 7 does not; 6 does
  EXPECT_EQ(DefaultPqM(7), 1);   // prime: one sub-quantizer
  EXPECT_EQ(DefaultPqM(3), 1);
  for (int dim : {64, 100, 256, 300, 768, 1024}) EXPECT_EQ(dim % DefaultPqM(dim), 0) << dim;
  // Create accepts the defaults for any dim (pq_m = 0 is resolved, never rejected).
  for (int dim : {7, 400}) {
    VectorIndexOptions options;
    options.type = VectorIndexType::kIvfPq;
    EXPECT_THAT(VectorIndex::Create(dim, options), IsOk()) << dim;
  }
}

TEST(VectorIndexIvfPqTest, AutoNlistAndTrainingSampleSize) {
  EXPECT_EQ(AutoIvfNlist(0), 1);
  EXPECT_EQ(AutoIvfNlist(9984), 400);  // 4 * 99.92
  EXPECT_EQ(AutoIvfNlist(1000000), 4000);
  const VectorIndexOptions defaults;
  EXPECT_EQ(IvfPqTrainingSampleSize(defaults, 1000000), 64 * 4000);
  EXPECT_EQ(IvfPqTrainingSampleSize(defaults, 20000), 20000);  // all of them: 64 * 566 > 20,000
  EXPECT_EQ(IvfPqTrainingSampleSize(defaults, 5000), 5000);    // never more than there are
  VectorIndexOptions fixed;
  fixed.ivf_nlist = 100;
  EXPECT_EQ(IvfPqTrainingSampleSize(fixed, 1000000), kIvfPqMinTrainingVectors);
}

// An index that trained itself at the threshold keeps min(4 sqrt(n), n / 39) = 256 lists; once it
// holds about 16,384 vectors (4 sqrt(n) = 512 = 2 x 256) it asks to be re-trained. One trained with
// TrainFor() for its final size does not, and finds what flat finds as well.
TEST(VectorIndexIvfPqTest, OutgrownIndexAsksForRetrainingAndTrainForSizesTheLists) {
  constexpr int kDim16 = 16;
  VectorIndexOptions options = OptionsFor(VectorIndexType::kIvfPq);
  ClusteredData data(kDim16, /*topics=*/60, /*groups_per_topic=*/40, /*seed=*/3);
  const EmbeddingMatrix rows = data.Sample(16384);
  std::unique_ptr<VectorIndex> grown = MakeIndex(kDim16, options);
  ASSERT_THAT(
      grown->Upsert(Iota(kIvfPqMinTrainingVectors, 0), rows.topRows(kIvfPqMinTrainingVectors)),
      IsOk());
  EXPECT_EQ(grown->ivf_lists(), 256);
  EXPECT_FALSE(grown->NeedsRetraining());
  const int64_t rest = 16000 - kIvfPqMinTrainingVectors;
  ASSERT_THAT(grown->Upsert(Iota(rest, kIvfPqMinTrainingVectors),
                            rows.middleRows(kIvfPqMinTrainingVectors, rest)),
              IsOk());
  EXPECT_FALSE(grown->NeedsRetraining());  // 16,000: 4 sqrt(n) = 506 < 512
  ASSERT_THAT(grown->Upsert(Iota(384, 16000), rows.bottomRows(384)), IsOk());
  EXPECT_TRUE(grown->NeedsRetraining());

  std::unique_ptr<VectorIndex> fresh = MakeIndex(kDim16, options);
  EXPECT_EQ(fresh->ivf_lists(), 0);  // untrained
  EXPECT_FALSE(fresh->NeedsRetraining());
  ASSERT_THAT(fresh->TrainFor(rows, /*expected_size=*/16384), IsOk());
  EXPECT_EQ(fresh->ivf_lists(), 420);  // min(4 sqrt(16,384) = 512, 16,384 / 39 = 420)
  EXPECT_EQ(fresh->size(), 0);
  ASSERT_THAT(fresh->Upsert(Iota(16384, 0), rows), IsOk());
  EXPECT_EQ(fresh->size(), 16384);
  EXPECT_FALSE(fresh->NeedsRetraining());
  absl::StatusOr<EmbeddingRow> approx = fresh->Get(77);
  ASSERT_THAT(approx, IsOk());
  EXPECT_GT(approx->dot(rows.row(77)), 0.9f);  // a PQ reconstruction of the row

  // A fixed ivf_nlist is the user's choice: never "outgrown".
  VectorIndexOptions fixed = options;
  fixed.ivf_nlist = 64;
  std::unique_ptr<VectorIndex> pinned = MakeIndex(kDim16, fixed);
  ASSERT_THAT(pinned->Upsert(Iota(16384, 0), rows), IsOk());
  EXPECT_EQ(pinned->ivf_lists(), 64);
  EXPECT_FALSE(pinned->NeedsRetraining());
}

TEST(VectorIndexIvfPqTest, TrainForRefusesWhatItCannotDo) {
  ClusteredData data(kDim, /*topics=*/10, /*groups_per_topic=*/10, /*seed=*/5);
  const EmbeddingMatrix rows = data.Sample(kIvfPqMinTrainingVectors);
  std::unique_ptr<VectorIndex> flat = MakeIndex(kDim, OptionsFor(VectorIndexType::kFlat));
  EXPECT_THAT(flat->TrainFor(rows, 20000),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("flat index")));
  std::unique_ptr<VectorIndex> ivf = MakeIndex(kDim, OptionsFor(VectorIndexType::kIvfPq));
  EXPECT_THAT(ivf->TrainFor(rows.topRows(100), 20000),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a training sample of 100 vectors; IVF-PQ needs at least 9984")));
  EXPECT_THAT(ivf->TrainFor(rows.leftCols(8), 20000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sample has dim 8")));
  EmbeddingMatrix bad = rows;
  bad(3, 3) = std::nanf("");
  EXPECT_THAT(ivf->TrainFor(bad, 20000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NaN")));
  EXPECT_EQ(ivf->ivf_lists(), 0);
  ASSERT_THAT(ivf->Upsert({1}, rows.topRows(1)), IsOk());
  EXPECT_THAT(ivf->TrainFor(rows, 20000),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("of 1 vectors")));
}

// Recall@10 of an approximate index against flat, on 12,000 clustered vectors and 200 queries.
double RecallVsFlat(const VectorIndexOptions& options, int64_t n_remove) {
  ClusteredData data(kDim, /*topics=*/40, /*groups_per_topic=*/30, /*seed=*/7);
  const EmbeddingMatrix rows = data.Sample(kIvfPqMinTrainingVectors);
  const EmbeddingMatrix queries = data.Sample(200);
  std::unique_ptr<VectorIndex> flat = MakeIndex(kDim, VectorIndexOptions());
  std::unique_ptr<VectorIndex> approx = MakeIndex(kDim, options);
  const std::vector<ClaimRowId> ids = Iota(rows.rows(), 100);
  EXPECT_THAT(flat->Upsert(ids, rows), IsOk());
  EXPECT_THAT(approx->Upsert(ids, rows), IsOk());
  const std::vector<ClaimRowId> removed(ids.begin(), ids.begin() + n_remove);
  EXPECT_THAT(flat->Remove(removed), IsOk());
  EXPECT_THAT(approx->Remove(removed), IsOk());
  EXPECT_EQ(approx->size(), flat->size());
  absl::StatusOr<std::vector<std::vector<Hit>>> exact = flat->Search(queries, 10);
  absl::StatusOr<std::vector<std::vector<Hit>>> got = approx->Search(queries, 10);
  EXPECT_THAT(exact, IsOk());
  EXPECT_THAT(got, IsOk());
  if (!exact.ok() || !got.ok()) return 0;
  for (const auto& hits : *got) {
    for (const Hit& h : hits) EXPECT_GE(h.id, 100 + n_remove) << "a removed id came back";
  }
  const double recall = RecallAtK(*got, *exact, 10);
  std::cout << VectorIndexTypeName(options.type) << " recall@10 vs flat: " << recall << "\n";
  return recall;
}

TEST(VectorIndexRecallTest, IvfPqRecallAt10VsFlat) {
  VectorIndexOptions options = OptionsFor(VectorIndexType::kIvfPq);
  options.ivf_nlist = 64;
  options.pq_m = 16;
  EXPECT_GE(RecallVsFlat(options, /*n_remove=*/0), 0.8);
}

TEST(VectorIndexRecallTest, HnswRecallAt10VsFlat) {
  EXPECT_GE(RecallVsFlat(OptionsFor(VectorIndexType::kHnsw), /*n_remove=*/0), 0.95);
}

TEST(VectorIndexRecallTest, HnswRecallHoldsWithTombstones) {
  // 2,000 of 12,000 removed: tombstones (under a quarter of the slots), no rebuild.
  EXPECT_GE(RecallVsFlat(OptionsFor(VectorIndexType::kHnsw), /*n_remove=*/2000), 0.95);
}

TEST(VectorIndexHnswTest, RemovingMostVectorsRebuildsAndKeepsTheRest) {
  std::unique_ptr<VectorIndex> index = MakeIndex(kDim, OptionsFor(VectorIndexType::kHnsw));
  ClusteredData data(kDim, 10, 10, /*seed=*/3);
  const EmbeddingMatrix rows = data.Sample(400);
  ASSERT_THAT(index->Upsert(Iota(400, 0), rows), IsOk());
  // Replace 50 (tombstones: 50 of 450 slots), then remove 250 more (crosses a quarter: rebuild).
  ASSERT_THAT(index->Upsert(Iota(50, 0), rows.topRows(50)), IsOk());
  ASSERT_THAT(index->Remove(Iota(250, 100)), IsOk());
  EXPECT_EQ(index->size(), 150);
  const std::string path = JoinPath(MakeTempDir("vindex_hnsw"), "vectors.cmvi");
  ASSERT_THAT(index->Save(path, "m", 1), IsOk());
  absl::StatusOr<std::unique_ptr<VectorIndex>> loaded = VectorIndex::Load(path, "m", nullptr);
  ASSERT_THAT(loaded, IsOk());
  for (const VectorIndex* idx : {index.get(), loaded->get()}) {
    EXPECT_EQ(idx->size(), 150);
    for (ClaimRowId id : {0, 49, 50, 99, 350, 399}) {
      absl::StatusOr<std::vector<std::vector<Hit>>> hits = idx->Search(rows.row(id), 1);
      ASSERT_THAT(hits, IsOk());
      EXPECT_THAT(*hits, ElementsAre(ElementsAre(HitIs(id, 1.0f))));
    }
    EXPECT_FALSE(idx->Contains(100));
    EXPECT_FALSE(idx->Contains(349));
  }
  // Tombstones survive a round trip too: remove a few (no rebuild), save, load.
  ASSERT_THAT(index->Remove({0, 1, 2}), IsOk());
  ASSERT_THAT(index->Save(path, "m", 2), IsOk());
  loaded = VectorIndex::Load(path, "m", nullptr);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ((*loaded)->size(), 147);
  absl::StatusOr<std::vector<std::vector<Hit>>> hits = (*loaded)->Search(rows.row(1), 147);
  ASSERT_THAT(hits, IsOk());
  EXPECT_EQ((*hits)[0].size(), 147u);
  for (const Hit& h : (*hits)[0]) EXPECT_GT(h.id, 2);
}

}  // namespace
}  // namespace claimmatch
