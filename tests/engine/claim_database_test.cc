// ClaimDatabase: the store, both indexes and the manifest kept in agreement through upserts,
// deletes, model changes, corrupt files and interrupted writes.
#include "engine/claim_database.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/safetensors.h"
#include "engine/claim_formats.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::IsOkAndHolds;
using ::claimmatch::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string ModelDir() { return JoinPath(testing::TestDataDir(), "xlmr-tiny/model"); }

ClaimRecord Claim(const std::string& id, const std::string& text, const std::string& title = "") {
  ClaimRecord r;
  r.id = id;
  r.text = text;
  r.title = title;
  r.verdict = "false";
  r.verdict_normalized = Verdict::kFalse;
  r.publisher = "Test Checkers";
  r.language = "en";
  return r;
}

std::vector<ClaimRecord> Claims() {
  return {Claim("c1", "Vaccines cause autism in children.", "No, vaccines do not cause autism"),
          Claim("c2", "The moon landing was filmed in a studio."),
          Claim("c3", "Drinking bleach cures the coronavirus."),
          Claim("c4", "The 2020 election was stolen through voting machines."),
          Claim("c5", "Bill Gates wants to microchip everyone with vaccines.")};
}

class ClaimDatabaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = LoadSentenceEncoder(ModelDir());
    ASSERT_THAT(e, IsOk());
    encoder_ = e->release();
  }
  static void TearDownTestSuite() {
    delete encoder_;
    encoder_ = nullptr;
  }
  void SetUp() override {
    dir_ = testing::MakeTempDir(std::string("db_") +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<ClaimDatabase> OpenDb(ClaimDatabase::Mode mode = ClaimDatabase::Mode::kReadWrite,
                                        const SentenceEncoder* encoder = nullptr) {
    auto db = ClaimDatabase::Open(dir_, mode, encoder ? *encoder : *encoder_);
    EXPECT_THAT(db, IsOk());
    return db.ok() ? std::move(*db) : nullptr;
  }
  ClaimRowId RowOf(const ClaimDatabase& db, const std::string& id) {
    ClaimRowId found = -1;
    EXPECT_THAT(db.store().ForEach([&](ClaimRowId row, const ClaimRecord& r) {
      if (r.id == id) found = row;
      return absl::OkStatus();
    }),
                IsOk());
    return found;
  }
  static SentenceEncoder* encoder_;
  std::string dir_;
};
SentenceEncoder* ClaimDatabaseTest::encoder_ = nullptr;

TEST_F(ClaimDatabaseTest, IngestFillsStoreBothIndexesAndManifest) {
  auto db = OpenDb();
  ASSERT_NE(db, nullptr);
  auto summary = db->Ingest(Claims());
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->added, 5);
  EXPECT_EQ(summary->embedded, 5);
  EXPECT_EQ(db->vectors().size(), 5);
  EXPECT_EQ(db->bm25().size(), 5u);
  EXPECT_EQ(db->manifest().claims, 5);
  EXPECT_EQ(db->manifest().model.weights_hash, encoder_->info().weights_hash);
  EXPECT_THAT(db->Check(), IsOkAndHolds(IsEmpty()));

  // The stored vector is the encoder's vector of claim + "\n" + title.
  const ClaimRowId row = RowOf(*db, "c1");
  auto stored = db->vectors().Get(row);
  ASSERT_THAT(stored, IsOk());
  auto want = encoder_->Encode({ClaimDatabase::DocumentText(Claims()[0])}, TextRole::kDocument);
  ASSERT_THAT(want, IsOk());
  EXPECT_LE((*stored - want->row(0)).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_EQ(ClaimDatabase::DocumentText(Claims()[0]),
            "Vaccines cause autism in children. No, vaccines do not cause autism");

  // BM25 finds claims by their words (title included).
  const auto hits = db->bm25().Search("bleach coronavirus cure", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].first, RowOf(*db, "c3"));

  // Reopened read-only, everything is there and agrees.
  db.reset();
  auto ro = OpenDb(ClaimDatabase::Mode::kReadOnly);
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(ro->vectors().size(), 5);
  EXPECT_EQ(ro->replayed_changes(), 0);
  EXPECT_THAT(ro->Check(), IsOkAndHolds(IsEmpty()));
}

TEST_F(ClaimDatabaseTest, IngestingTheSameRecordsTwiceChangesNothing) {
  auto db = OpenDb();
  ASSERT_THAT(db->Ingest(Claims()), IsOk());
  auto again = db->Ingest(Claims());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->added, 0);
  EXPECT_EQ(again->updated, 0);
  EXPECT_EQ(again->unchanged, 5);
  EXPECT_EQ(again->embedded, 0);
  EXPECT_EQ(db->vectors().size(), 5);
}

TEST_F(ClaimDatabaseTest, UpdatedRecordReplacesItsVectorAndTerms) {
  auto db = OpenDb();
  ASSERT_THAT(db->Ingest(Claims()), IsOk());
  const ClaimRowId row = RowOf(*db, "c2");
  std::vector<ClaimRecord> update = {
      Claim("c2", "Sharks were seen swimming on a flooded highway.")};
  auto summary = db->Ingest(update);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->updated, 1);
  EXPECT_EQ(RowOf(*db, "c2"), row);  // same row id
  EXPECT_EQ(db->vectors().size(), 5);
  auto want = encoder_->Encode({update[0].text}, TextRole::kDocument);
  ASSERT_THAT(want, IsOk());
  auto stored = db->vectors().Get(row);
  ASSERT_THAT(stored, IsOk());
  EXPECT_LE((*stored - want->row(0)).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_TRUE(db->bm25().Search("moon landing studio", 5).empty());
  EXPECT_EQ(db->bm25().Search("sharks highway", 1)[0].first, row);
}

TEST_F(ClaimDatabaseTest, DeleteRemovesFromStoreAndBothIndexes) {
  auto db = OpenDb();
  ASSERT_THAT(db->Ingest(Claims()), IsOk());
  const ClaimRowId row = RowOf(*db, "c3");
  const std::vector<std::string> ids = {"c3", "no-such-id"};
  auto summary = db->Delete(ids);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->deleted, 1);
  EXPECT_EQ(db->vectors().size(), 4);
  EXPECT_FALSE(db->bm25().Contains(row));
  EXPECT_THAT(db->vectors().Get(row), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_EQ(db->manifest().claims, 4);
  db.reset();
  auto ro = OpenDb(ClaimDatabase::Mode::kReadOnly);
  EXPECT_EQ(ro->vectors().size(), 4);
  EXPECT_THAT(ro->Check(), IsOkAndHolds(IsEmpty()));
}

// A copy of the tiny model with F16 weights: same architecture, different weights hash.
std::string HalfPrecisionModel() {
  const std::string dir = testing::MakeTempDir("half_model");
  std::filesystem::copy(
      ModelDir(), dir,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  auto f = SafetensorsFile::Open(JoinPath(dir, "model.safetensors"));
  EXPECT_THAT(f, IsOk());
  std::vector<std::vector<float>> storage;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, t] : (*f)->tensors()) {
    storage.emplace_back(t.num_elements());
    std::memcpy(storage.back().data(), t.bytes.data(), t.bytes.size());
  }
  size_t i = 0;
  for (const auto& [name, t] : (*f)->tensors()) {
    tensors.push_back({name, t.shape, storage[i++], DType::kF16});
  }
  auto bytes = SerializeSafetensors(tensors);
  EXPECT_THAT(WriteFileAtomically(JoinPath(dir, "model.safetensors"), *bytes), IsOk());
  return dir;
}

TEST_F(ClaimDatabaseTest, OtherModelIsRefusedUntilReindexed) {
  ASSERT_THAT(OpenDb()->Ingest(Claims()), IsOk());
  auto other = LoadSentenceEncoder(HalfPrecisionModel());
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadOnly, **other).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("was built with model"), HasSubstr("claimmatch reindex"),
                             HasSubstr(encoder_->info().weights_hash),
                             HasSubstr((*other)->info().weights_hash))));
  DatabaseOptions reindex;
  reindex.for_reindex = true;
  auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, **other, reindex);
  ASSERT_THAT(db, IsOk());
  auto summary = (*db)->Reindex();
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->embedded, 5);
  db->reset();
  auto ro = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadOnly, **other);
  ASSERT_THAT(ro, IsOk());
  EXPECT_EQ((*ro)->manifest().model.weights_hash, (*other)->info().weights_hash);
  EXPECT_THAT((*ro)->Check(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadOnly, *encoder_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

TEST_F(ClaimDatabaseTest, CorruptOrTruncatedFilesAreReportedWithTheRepair) {
  ASSERT_THAT(OpenDb()->Ingest(Claims()), IsOk());
  for (const char* file :
       {ClaimDatabase::kVectorsFile, ClaimDatabase::kBm25File, ClaimDatabase::kManifestFile}) {
    const std::string path = JoinPath(dir_, file);
    auto original = ReadFile(path);
    ASSERT_THAT(original, IsOk());
    for (const std::string& bad : {original->substr(0, original->size() / 2),
                                   std::string(*original).replace(original->size() - 3, 1, "#")}) {
      ASSERT_THAT(WriteFileAtomically(path, bad), IsOk());
      EXPECT_THAT(ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadOnly, *encoder_).status(),
                  StatusIs(absl::StatusCode::kDataLoss,
                           AllOf(HasSubstr(file), HasSubstr("claimmatch reindex --db"))))
          << file;
    }
    // reindex repairs it.
    DatabaseOptions reindex;
    reindex.for_reindex = true;
    auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, *encoder_, reindex);
    ASSERT_THAT(db, IsOk());
    ASSERT_THAT((*db)->Reindex(), IsOk());
    db->reset();
    auto ro = OpenDb(ClaimDatabase::Mode::kReadOnly);
    ASSERT_NE(ro, nullptr);
    EXPECT_THAT(ro->Check(), IsOkAndHolds(IsEmpty())) << file;
  }
}

TEST_F(ClaimDatabaseTest, IndexesBehindTheStoreAreReplayedFromItsLog) {
  ASSERT_THAT(OpenDb()->Ingest(Claims()), IsOk());
  {
    // An interrupted ingest: the store committed, the index files were never saved.
    auto store = ClaimStore::Open(dir_, ClaimStore::Mode::kReadWrite);
    ASSERT_THAT(store, IsOk());
    std::vector<ClaimRecord> more = {Claim("c6", "Eating garlic prevents infection.")};
    ASSERT_THAT((*store)->UpsertBatch(more), IsOk());
    ASSERT_THAT((*store)->Delete(std::vector<std::string>{"c1"}), IsOk());
  }
  auto ro = OpenDb(ClaimDatabase::Mode::kReadOnly);
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(ro->replayed_changes(), 2);
  EXPECT_EQ(ro->vectors().size(), 5);
  EXPECT_THAT(ro->Check(), IsOkAndHolds(IsEmpty()));
  ro.reset();
  auto rw = OpenDb();  // saves the caught-up files
  EXPECT_EQ(rw->replayed_changes(), 2);
  rw.reset();
  auto again = OpenDb(ClaimDatabase::Mode::kReadOnly);
  EXPECT_EQ(again->replayed_changes(), 0);
  EXPECT_EQ(again->manifest().claims, 5);
  EXPECT_EQ(again->bm25().Search("garlic infection", 1)[0].first, RowOf(*again, "c6"));
}

TEST_F(ClaimDatabaseTest, ReadOnlyOpenOfMissingDatabaseIsNotFound) {
  EXPECT_THAT(ClaimDatabase::Open(JoinPath(dir_, "nope"), ClaimDatabase::Mode::kReadOnly, *encoder_)
                  .status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  EXPECT_THAT(ClaimDatabase::ReadManifest(dir_).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a claim database")));
}

// A manifest whose checksum is right but whose fields have the wrong JSON types (a hostile or
// hand-made file) is refused with kDataLoss naming it, not thrown.
TEST_F(ClaimDatabaseTest, ManifestFieldsOfTheWrongTypeAreDataLoss) {
  ASSERT_THAT(OpenDb()->Ingest({Claim("c1", "Garlic cures every infection.")}), IsOk());
  const std::string path = JoinPath(dir_, "manifest.json");
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_THAT(text, IsOk());
  for (const char* key : {"metric", "index_type", "claims", "model"}) {
    nlohmann::json j = nlohmann::json::parse(*text);
    j.erase("checksum");
    j[key] = nlohmann::json::array({"x"});
    j["checksum"] = FingerprintHex(Fingerprint64(j.dump()));
    ASSERT_THAT(WriteFileAtomically(path, j.dump(2)), IsOk());
    EXPECT_THAT(ClaimDatabase::ReadManifest(dir_).status(),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("manifest.json")))
        << key;
  }
}

TEST_F(ClaimDatabaseTest, ManyBatchesWithPeriodicSaves) {
  std::vector<ClaimRecord> many;
  for (int i = 0; i < 250; ++i) {
    many.push_back(Claim("m" + std::to_string(i), "Claim number " + std::to_string(i) +
                                                      " about topic " + std::to_string(i % 7)));
  }
  DatabaseOptions options;
  options.batch_size = 20;
  options.save_every = 3;
  std::vector<int64_t> progress;
  options.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 250);
    progress.push_back(done);
  };
  auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, *encoder_, options);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Ingest(many), IsOk());
  EXPECT_EQ(progress.size(), 13u);
  EXPECT_EQ(progress.back(), 250);
  EXPECT_EQ((*db)->vectors().size(), 250);
  EXPECT_THAT((*db)->Check(/*sample=*/250), IsOkAndHolds(IsEmpty()));
}

// 16,500 distinct synthetic claims: four words drawn (by a fixed rule) from a small vocabulary.
std::vector<ClaimRecord> SyntheticClaims(int n) {
  const std::vector<std::string> subjects = {"The governor", "A senator", "The mayor",
                                             "Vaccines",     "Windmills", "The president",
                                             "Teachers",     "Farmers",   "A celebrity"};
  const std::vector<std::string> verbs = {"banned", "caused", "funded", "cut", "doubled", "hid"};
  const std::vector<std::string> objects = {"cancer", "taxes",  "the border", "schools",
                                            "crime",  "prices", "the budget", "jobs"};
  std::vector<ClaimRecord> claims;
  for (int i = 0; i < n; ++i) {
    claims.push_back(
        Claim(absl::StrCat("s", i),
              absl::StrCat(subjects[i % 9], " ", verbs[(i / 9) % 6], " ", objects[(i / 54) % 8],
                           " in ", 1500 + i / 432, " and claim ", i, ".")));
  }
  return claims;
}

// An ivfpq database trains itself at 9,984 claims (256 lists). The ingest that takes it past
// about 16,384 claims re-trains it on a sample of the store, sized for all of them, and
// re-embeds every claim; reindex trains for the full size directly.
TEST_F(ClaimDatabaseTest, OutgrownIvfPqIndexIsRetrainedByIngestAndSizedByReindex) {
  auto model = LoadSentenceEncoder(
      JoinPath(testing::TestDataDir(), "../../models/default"));  // fast: a static model
  ASSERT_THAT(model, IsOk());
  const std::vector<ClaimRecord> claims = SyntheticClaims(16500);
  DatabaseOptions options;
  options.vector_index.type = VectorIndexType::kIvfPq;
  options.vector_index.pq_m = 8;  // 50-d sub-vectors: PQ training in a fraction of the default's
  std::vector<std::string> notes;
  options.note = [&](absl::string_view note) { notes.emplace_back(note); };
  {
    auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, **model, options);
    ASSERT_THAT(db, IsOk());
    absl::StatusOr<WriteSummary> first =
        (*db)->Ingest(absl::MakeConstSpan(claims).subspan(0, 10000));
    ASSERT_THAT(first, IsOk());
    EXPECT_EQ(first->retrained, 0);
    EXPECT_EQ((*db)->vectors().ivf_lists(), 256);
    absl::StatusOr<WriteSummary> second = (*db)->Ingest(absl::MakeConstSpan(claims).subspan(10000));
    ASSERT_THAT(second, IsOk());
    EXPECT_EQ(second->added, 6500);
    EXPECT_EQ(second->retrained, 16500);
    EXPECT_EQ((*db)->vectors().ivf_lists(), 423);  // min(4 sqrt(16,500) = 514, 16,500 / 39)
    EXPECT_FALSE((*db)->vectors().NeedsRetraining());
    EXPECT_THAT(notes, ElementsAre("training the ivfpq vector index on 10000 of the 10000 records",
                                   HasSubstr("re-training it for 16500 claims")));
  }
  // The saved index is the retrained one, complete and consistent with the store.
  auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, **model, options);
  ASSERT_THAT(db, IsOk());
  EXPECT_EQ((*db)->replayed_changes(), 0);
  EXPECT_EQ((*db)->vectors().size(), 16500);
  EXPECT_EQ((*db)->vectors().ivf_lists(), 423);
  EXPECT_THAT((*db)->Check(/*sample=*/64), IsOkAndHolds(IsEmpty()));
  // A stored claim's own text finds it.
  auto query = (*model)->Encode({ClaimDatabase::DocumentText(claims[12345])}, TextRole::kDocument);
  ASSERT_THAT(query, IsOk());
  auto hits = (*db)->vectors().Search(*query, 5);
  ASSERT_THAT(hits, IsOk());
  EXPECT_EQ(RowOf(**db, "s12345"), (*hits)[0][0].id);
  // Reindex trains once, for all 16,500.
  absl::StatusOr<WriteSummary> reindexed = (*db)->Reindex();
  ASSERT_THAT(reindexed, IsOk());
  EXPECT_EQ(reindexed->embedded, 16500);
  EXPECT_EQ((*db)->vectors().ivf_lists(), 423);
  absl::StatusOr<Manifest> manifest = ClaimDatabase::ReadManifest(dir_);
  ASSERT_THAT(manifest, IsOk());
  EXPECT_EQ(manifest->ivf_lists, 423);
  EXPECT_THAT((*db)->Check(/*sample=*/64), IsOkAndHolds(IsEmpty()));
}

// A new ivfpq database is trained once, for everything the first ingest brings: no re-training.
TEST_F(ClaimDatabaseTest, FirstIngestTrainsIvfPqForAllItsRecords) {
  auto model = LoadSentenceEncoder(JoinPath(testing::TestDataDir(), "../../models/default"));
  ASSERT_THAT(model, IsOk());
  const std::vector<ClaimRecord> claims = SyntheticClaims(16500);
  DatabaseOptions options;
  options.vector_index.type = VectorIndexType::kIvfPq;
  options.vector_index.pq_m = 8;
  std::vector<std::string> notes;
  options.note = [&](absl::string_view note) { notes.emplace_back(note); };
  auto db = ClaimDatabase::Open(dir_, ClaimDatabase::Mode::kReadWrite, **model, options);
  ASSERT_THAT(db, IsOk());
  absl::StatusOr<WriteSummary> summary = (*db)->Ingest(claims);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->added, 16500);
  EXPECT_EQ(summary->embedded, 16500);
  EXPECT_EQ(summary->retrained, 0);
  EXPECT_EQ((*db)->vectors().ivf_lists(), 423);
  EXPECT_THAT(notes, ElementsAre("training the ivfpq vector index on 16500 of the 16500 records"));
  EXPECT_THAT((*db)->Check(/*sample=*/64), IsOkAndHolds(IsEmpty()));
  // The manifest records the lists (claimmatch info shows them without loading the index).
  absl::StatusOr<Manifest> manifest = ClaimDatabase::ReadManifest(dir_);
  ASSERT_THAT(manifest, IsOk());
  EXPECT_EQ(manifest->index_type, "ivfpq");
  EXPECT_EQ(manifest->ivf_lists, 423);
}

}  // namespace
}  // namespace claimmatch
