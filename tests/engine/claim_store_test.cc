#include "engine/claim_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "embeddings/file_util.h"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;
using ::claimmatch::testing::StatusIs;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using Outcome = ClaimStore::UpsertOutcome;
using Mode = ClaimStore::Mode;

ClaimRecord MakeClaim(const std::string& id, const std::string& text) {
  ClaimRecord r;
  r.id = id;
  r.text = text;
  r.title = "Title of " + id;
  r.verdict = "False";
  r.verdict_normalized = Verdict::kFalse;
  r.publisher = "Checkers";
  r.language = "en";
  r.claim_date = "2021-03-04";
  return r;
}

auto Tie(const ClaimRecord& r) {
  return std::tie(r.id, r.text, r.title, r.subtitle, r.claimant, r.claim_date, r.verdict,
                  r.verdict_normalized, r.rating_value, r.rating_best, r.rating_worst, r.review_url,
                  r.publisher, r.review_date, r.language, r.extra_json);
}

std::unique_ptr<ClaimStore> OpenOrDie(const std::string& dir, Mode mode = Mode::kReadWrite) {
  absl::StatusOr<std::unique_ptr<ClaimStore>> store = ClaimStore::Open(dir, mode);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

std::vector<Outcome> Outcomes(const std::vector<ClaimStore::UpsertResult>& results) {
  std::vector<Outcome> out;
  for (const auto& r : results) out.push_back(r.outcome);
  return out;
}
std::vector<ClaimRowId> RowIds(const std::vector<ClaimStore::UpsertResult>& results) {
  std::vector<ClaimRowId> out;
  for (const auto& r : results) out.push_back(r.row_id);
  return out;
}

// (seq, row_id, op, record id or "") for every change after `after`.
std::vector<std::tuple<int64_t, ClaimRowId, ClaimStore::ChangeOp, std::string>> Changes(
    const ClaimStore& store, int64_t after, int64_t* last_seq = nullptr) {
  std::vector<std::tuple<int64_t, ClaimRowId, ClaimStore::ChangeOp, std::string>> out;
  absl::StatusOr<int64_t> last =
      store.ChangesSince(after, [&](const ClaimStore::Change& c, const ClaimRecord* r) {
        out.emplace_back(c.seq, c.row_id, c.op, r != nullptr ? r->id : "");
        return absl::OkStatus();
      });
  EXPECT_THAT(last, IsOk());
  if (last_seq != nullptr && last.ok()) *last_seq = *last;
  return out;
}

void OverwriteBytes(const std::string& path, std::streamoff offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << path;
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

TEST(ClaimStoreTest, CreatesThenReopensReadWriteAndReadOnly) {
  const std::string dir = JoinPath(testing::MakeTempDir("store_create"), "db");  // not yet there
  std::string uuid;
  {
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->path(), JoinPath(dir, "claims.sqlite"));
    EXPECT_TRUE(PathExists(store->path()));
    EXPECT_EQ(*store->Count(), 0);
    EXPECT_EQ(*store->LastChangeSeq(), 0);
    absl::StatusOr<std::optional<std::string>> got = store->GetMeta("store_uuid");
    ASSERT_THAT(got, IsOk());
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->size(), 32u);
    uuid = **got;
    ASSERT_THAT(store->UpsertBatch({MakeClaim("a", "The moon is made of cheese")}), IsOk());
  }
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    auto store = OpenOrDie(dir, mode);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->mode(), mode);
    EXPECT_EQ(*store->Count(), 1);
    EXPECT_EQ(*store->GetMeta("store_uuid"), uuid);
  }
}

TEST(ClaimStoreTest, ReadOnlyOpenOfMissingDatabaseIsNotFoundNamingDirectory) {
  const std::string dir = JoinPath(testing::MakeTempDir("store_missing"), "nothing-here");
  EXPECT_THAT(ClaimStore::Open(dir, Mode::kReadOnly),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir)));
  EXPECT_FALSE(PathExists(dir));
}

TEST(ClaimStoreTest, ReadOnlyStoreRefusesWrites) {
  const std::string dir = testing::MakeTempDir("store_ro");
  OpenOrDie(dir);
  auto store = OpenOrDie(dir, Mode::kReadOnly);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->UpsertBatch({MakeClaim("a", "x")}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(store->Delete({"a"}), StatusIs(absl::StatusCode::kFailedPrecondition, _));
  EXPECT_THAT(store->SetMeta("k", "v"), StatusIs(absl::StatusCode::kFailedPrecondition, _));
}

TEST(ClaimStoreTest, UpsertReportsAddedUnchangedUpdatedAndKeepsRowId) {
  auto store = OpenOrDie(testing::MakeTempDir("store_upsert"));
  ASSERT_NE(store, nullptr);
  ClaimRecord a = MakeClaim("a", "Vaccines contain microchips");
  a.subtitle = "No, they do not";
  a.claimant = "A blog";
  a.rating_value = 1.5;
  a.rating_best = 5;
  a.review_url = "https://example.org/a";
  a.review_date = "2021-03-05";
  a.extra_json = R"({"k":"v"})";
  const ClaimRecord b = MakeClaim("b", "5G spreads viruses");

  absl::StatusOr<std::vector<ClaimStore::UpsertResult>> first = store->UpsertBatch({a, b});
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(Outcomes(*first), ElementsAre(Outcome::kAdded, Outcome::kAdded));
  EXPECT_THAT(RowIds(*first), ElementsAre(1, 2));

  absl::StatusOr<std::vector<ClaimStore::UpsertResult>> again = store->UpsertBatch({b, a});
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(Outcomes(*again), ElementsAre(Outcome::kUnchanged, Outcome::kUnchanged));
  EXPECT_THAT(RowIds(*again), ElementsAre(2, 1));

  ClaimRecord a2 = a;
  a2.verdict = "Mostly true";
  a2.verdict_normalized = Verdict::kMostlyTrue;
  absl::StatusOr<std::vector<ClaimStore::UpsertResult>> updated = store->UpsertBatch({a2});
  ASSERT_THAT(updated, IsOk());
  EXPECT_THAT(Outcomes(*updated), ElementsAre(Outcome::kUpdated));
  EXPECT_THAT(RowIds(*updated), ElementsAre(1));

  // A rating that changes only from absent to present is a change too.
  ClaimRecord b2 = b;
  b2.rating_worst = 0.0;
  EXPECT_THAT(Outcomes(*store->UpsertBatch({b2})), ElementsAre(Outcome::kUpdated));

  EXPECT_EQ(*store->Count(), 2);
  absl::StatusOr<std::optional<ClaimRecord>> got = store->GetById("a");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(Tie(**got), Tie(a2));
  EXPECT_EQ(Tie(**store->GetById("b")), Tie(b2));
  EXPECT_EQ(*store->GetById("nope"), std::nullopt);
}

TEST(ClaimStoreTest, RepeatedIdWithinBatchAppliesInOrder) {
  auto store = OpenOrDie(testing::MakeTempDir("store_repeat"));
  ASSERT_NE(store, nullptr);
  ClaimRecord x2 = MakeClaim("x", "second text");
  absl::StatusOr<std::vector<ClaimStore::UpsertResult>> got =
      store->UpsertBatch({MakeClaim("x", "first text"), x2, x2});
  ASSERT_THAT(got, IsOk());
  EXPECT_THAT(Outcomes(*got), ElementsAre(Outcome::kAdded, Outcome::kUpdated, Outcome::kUnchanged));
  EXPECT_THAT(RowIds(*got), ElementsAre(1, 1, 1));
  EXPECT_EQ((*store->GetById("x"))->text, "second text");
}

TEST(ClaimStoreTest, FailingRecordLeavesNothingOfTheBatchWritten) {
  auto store = OpenOrDie(testing::MakeTempDir("store_atomic"));
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpsertBatch({MakeClaim("a", "kept")}), IsOk());
  ClaimRecord changed_a = MakeClaim("a", "changed in the failing batch");

  EXPECT_THAT(store->UpsertBatch({MakeClaim("b", "new"), changed_a, MakeClaim("c", "")}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("record 2 (id \"c\"): " + store->path())));
  EXPECT_THAT(store->UpsertBatch({MakeClaim("b", "new"), MakeClaim("c", "")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text_not_empty")));
  EXPECT_THAT(store->UpsertBatch({MakeClaim("b", "new"), MakeClaim("", "no id")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id_not_empty")));
  ClaimRecord nan = MakeClaim("d", "NaN rating");
  nan.rating_value = std::nan("");
  EXPECT_THAT(store->UpsertBatch({MakeClaim("b", "new"), nan}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("record 1 (id \"d\")")));

  EXPECT_EQ(*store->Count(), 1);
  EXPECT_EQ((*store->GetById("a"))->text, "kept");
  EXPECT_EQ(*store->GetById("b"), std::nullopt);
  EXPECT_EQ(*store->LastChangeSeq(), 1);
  // The rolled-back inserts did not consume row ids.
  EXPECT_THAT(RowIds(*store->UpsertBatch({MakeClaim("b", "new")})), ElementsAre(2));
}

TEST(ClaimStoreTest, DeleteCountsOnlyExistingIds) {
  auto store = OpenOrDie(testing::MakeTempDir("store_delete"));
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpsertBatch({MakeClaim("a", "1"), MakeClaim("b", "2")}), IsOk());
  EXPECT_EQ(*store->Delete({"a", "missing", "a"}), 1);
  EXPECT_EQ(*store->Delete({"a", "missing", "a"}), 0);
  EXPECT_EQ(*store->Delete({}), 0);
  EXPECT_EQ(*store->Count(), 1);
  EXPECT_EQ(*store->GetById("a"), std::nullopt);
  EXPECT_EQ((*store->GetById("b"))->text, "2");
}

TEST(ClaimStoreTest, GetByRowIdsKeepsOrderAndMarksMissingRows) {
  auto store = OpenOrDie(testing::MakeTempDir("store_rowids"));
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpsertBatch({MakeClaim("a", "1"), MakeClaim("b", "2"), MakeClaim("c", "3")}),
              IsOk());
  absl::StatusOr<std::vector<std::optional<ClaimRecord>>> got =
      store->GetByRowIds({3, 99, 1, 3, -1});
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0]->id, "c");
  EXPECT_EQ((*got)[1], std::nullopt);
  EXPECT_EQ((*got)[2]->id, "a");
  EXPECT_EQ((*got)[3]->id, "c");
  EXPECT_EQ((*got)[4], std::nullopt);
  EXPECT_EQ(Tie(*(*got)[2]), Tie(MakeClaim("a", "1")));
  EXPECT_THAT(*store->GetByRowIds({}), ::testing::IsEmpty());
}

TEST(ClaimStoreTest, ForEachVisitsInRowIdOrderAndStopsOnError) {
  auto store = OpenOrDie(testing::MakeTempDir("store_foreach"));
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpsertBatch({MakeClaim("z", "1"), MakeClaim("y", "2"), MakeClaim("x", "3")}),
              IsOk());
  ASSERT_THAT(store->Delete({"y"}), IsOk());
  ASSERT_THAT(store->UpsertBatch({MakeClaim("z", "1 changed"), MakeClaim("w", "4")}), IsOk());
  std::vector<std::pair<ClaimRowId, std::string>> seen;
  ASSERT_THAT(store->ForEach([&](ClaimRowId row_id, const ClaimRecord& r) {
    seen.emplace_back(row_id, r.id);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre(Pair(1, "z"), Pair(3, "x"), Pair(4, "w")));

  int calls = 0;
  EXPECT_THAT(store->ForEach([&](ClaimRowId, const ClaimRecord&) {
    ++calls;
    return absl::CancelledError("stop");
  }),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("stop")));
  EXPECT_EQ(calls, 1);
}

TEST(ClaimStoreTest, CountByGroupsMostFrequentFirst) {
  auto store = OpenOrDie(testing::MakeTempDir("store_countby"));
  ASSERT_NE(store, nullptr);
  std::vector<ClaimRecord> records;
  for (int i = 0; i < 6; ++i) {
    ClaimRecord r = MakeClaim(absl::StrCat("c", i), absl::StrCat("claim ", i));
    r.verdict_normalized = i < 3 ? Verdict::kFalse : (i < 5 ? Verdict::kTrue : Verdict::kMixed);
    r.language = i % 2 == 0 ? "en" : "pt-BR";
    r.publisher = i == 0 ? "" : "P";
    r.claim_date = i < 4 ? "2020-01-02" : "";
    records.push_back(r);
  }
  ASSERT_THAT(store->UpsertBatch(records), IsOk());
  EXPECT_THAT(*store->CountBy("claim_date"), ElementsAre(Pair("2020-01-02", 4), Pair("", 2)));
  EXPECT_THAT(*store->CountBy("verdict_norm"),
              ElementsAre(Pair("false", 3), Pair("true", 2), Pair("mixed", 1)));
  EXPECT_THAT(*store->CountBy("language"), ElementsAre(Pair("en", 3), Pair("pt-BR", 3)));
  EXPECT_THAT(*store->CountBy("publisher"), ElementsAre(Pair("P", 5), Pair("", 1)));
  EXPECT_THAT(store->CountBy("text; DROP TABLE claims"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("verdict_norm")));
}

TEST(ClaimStoreTest, ChangeLogKeepsLatestOpPerRowInSeqOrder) {
  using Op = ClaimStore::ChangeOp;
  auto store = OpenOrDie(testing::MakeTempDir("store_changes"));
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->UpsertBatch({MakeClaim("a", "1"), MakeClaim("b", "2"), MakeClaim("c", "3")}),
              IsOk());
  EXPECT_EQ(*store->LastChangeSeq(), 3);
  int64_t last = -1;
  EXPECT_THAT(Changes(*store, 0, &last), ElementsAre(std::make_tuple(1, 1, Op::kUpsert, "a"),
                                                     std::make_tuple(2, 2, Op::kUpsert, "b"),
                                                     std::make_tuple(3, 3, Op::kUpsert, "c")));
  EXPECT_EQ(last, 3);

  ASSERT_THAT(store->UpsertBatch({MakeClaim("b", "2 changed"), MakeClaim("c", "3")}), IsOk());
  ASSERT_THAT(store->Delete({"a", "missing"}), IsOk());
  ASSERT_THAT(store->Delete({"c"}), IsOk());  // the highest row id
  EXPECT_EQ(*store->LastChangeSeq(), 6);      // unchanged "c" and missing id logged nothing
  EXPECT_THAT(Changes(*store, 0, &last), ElementsAre(std::make_tuple(4, 2, Op::kUpsert, "b"),
                                                     std::make_tuple(5, 1, Op::kDelete, ""),
                                                     std::make_tuple(6, 3, Op::kDelete, "")));
  EXPECT_EQ(last, 6);
  EXPECT_THAT(Changes(*store, 4, &last), ElementsAre(std::make_tuple(5, 1, Op::kDelete, ""),
                                                     std::make_tuple(6, 3, Op::kDelete, "")));
  EXPECT_THAT(Changes(*store, 6, &last), ::testing::IsEmpty());
  EXPECT_EQ(last, 6);

  // Row ids are never reused, even the highest one after its deletion.
  EXPECT_THAT(RowIds(*store->UpsertBatch({MakeClaim("d", "4")})), ElementsAre(4));
  EXPECT_THAT(Changes(*store, 6, &last), ElementsAre(std::make_tuple(7, 4, Op::kUpsert, "d")));
  EXPECT_EQ(last, 7);

  // An index ahead of the store must be rebuilt.
  EXPECT_THAT(store->ChangesSince(8, [](const ClaimStore::Change&,
                                        const ClaimRecord*) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("rebuild")));
}

TEST(ClaimStoreTest, MetaSetGetAndOverwrite) {
  auto store = OpenOrDie(testing::MakeTempDir("store_meta"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->GetMeta("model_id"), std::nullopt);
  ASSERT_THAT(store->SetMeta("model_id", "minilm-l6-v2"), IsOk());
  ASSERT_THAT(store->SetMeta("dim", "384"), IsOk());
  ASSERT_THAT(store->SetMeta("model_id", "e5-small"), IsOk());
  EXPECT_EQ(*store->GetMeta("model_id"), "e5-small");
  EXPECT_EQ(*store->GetMeta("dim"), "384");
}

TEST(ClaimStoreTest, MatchesFilterByLanguagePublisherVerdictAndDate) {
  auto store = OpenOrDie(testing::MakeTempDir("store_filter"));
  ASSERT_NE(store, nullptr);
  ClaimRecord a = MakeClaim("a", "1");  // en, Checkers, false, 2021-03-04
  ClaimRecord b = MakeClaim("b", "2");
  b.language = "pt-BR";
  b.publisher = "Lupa";
  b.verdict_normalized = Verdict::kMixed;
  b.claim_date = "2020-12-31T23:00:00Z";
  ClaimRecord c = MakeClaim("c", "3");
  c.language = "PT";
  c.claim_date = "";
  ASSERT_THAT(store->UpsertBatch({a, b, c}), IsOk());
  const std::vector<ClaimRowId> rows = {1, 2, 3, 42};

  EXPECT_THAT(*store->MatchesFilter(rows, ClaimFilter{}), ElementsAre(true, true, true, false));
  ClaimFilter f;
  f.languages = {"pt"};
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(false, true, true, false));
  f = ClaimFilter{};
  f.publishers = {"Lupa", "Other"};
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(false, true, false, false));
  f = ClaimFilter{};
  f.verdicts = {Verdict::kFalse};
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(true, false, true, false));
  f = ClaimFilter{};
  f.claim_date_to = "2020";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(false, true, false, false));
  f.claim_date_to = "2020-12-30";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(false, false, false, false));
  f = ClaimFilter{};
  f.claim_date_from = "2021-01";
  f.claim_date_to = "2021-03-04";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(true, false, false, false));
}

// Databases ingested before dates were normalised hold dates as written: the filter reads them as
// ingest now would, and a date it cannot read never passes a bound.
TEST(ClaimStoreTest, DateFilterReadsDatesStoredAsWritten) {
  auto store = OpenOrDie(testing::MakeTempDir("store_legacy_dates"));
  ASSERT_NE(store, nullptr);
  ClaimRecord a = MakeClaim("a", "1");
  a.claim_date = "October 5, 2020";
  ClaimRecord b = MakeClaim("b", "2");
  b.claim_date = "yesterday";
  ClaimRecord c = MakeClaim("c", "3");
  c.claim_date = "2019-06-01";
  ASSERT_THAT(store->UpsertBatch({a, b, c}), IsOk());
  const std::vector<ClaimRowId> rows = {1, 2, 3};
  ClaimFilter f;
  f.claim_date_from = "2020";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(true, false, false));
  f = ClaimFilter{};
  f.claim_date_to = "2020-10-04";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(false, false, true));
  f.claim_date_to = "2020-10";
  EXPECT_THAT(*store->MatchesFilter(rows, f), ElementsAre(true, false, true));
}

TEST(ClaimStoreTest, CorruptHeaderIsDataLossWithPathAndHint) {
  const std::string dir = testing::MakeTempDir("store_corrupt");
  OpenOrDie(dir);
  const std::string path = JoinPath(dir, "claims.sqlite");
  OverwriteBytes(path, 0, std::string(100, '\xab'));
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    EXPECT_THAT(ClaimStore::Open(dir, mode),
                StatusIs(absl::StatusCode::kDataLoss,
                         ::testing::AllOf(HasSubstr(path), HasSubstr(".recover"))));
  }
}

TEST(ClaimStoreTest, CorruptPageFailsIntegrityCheck) {
  const std::string dir = testing::MakeTempDir("store_corrupt_page");
  {
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    std::vector<ClaimRecord> records;
    for (int i = 0; i < 2000; ++i) {
      records.push_back(MakeClaim(absl::StrCat("id", i), std::string(200, 'a' + i % 26)));
    }
    ASSERT_THAT(store->UpsertBatch(records), IsOk());
    EXPECT_THAT(store->CheckIntegrity(), IsOk());
  }
  const std::string path = JoinPath(dir, "claims.sqlite");
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path));
  ASSERT_GT(size, 16 * 4096);
  OverwriteBytes(path, size / 2 / 4096 * 4096, std::string(3 * 4096, '\x5a'));
  auto store = OpenOrDie(dir, Mode::kReadOnly);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->CheckIntegrity(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST(ClaimStoreTest, NewerSchemaVersionIsRefused) {
  const std::string dir = testing::MakeTempDir("store_newer");
  OpenOrDie(dir);  // closed: the WAL is checkpointed into the file
  // user_version is the big-endian 32-bit integer at offset 60 of the database header.
  OverwriteBytes(JoinPath(dir, "claims.sqlite"), 60, std::string("\0\0\0\x02", 4));
  EXPECT_THAT(ClaimStore::Open(dir, Mode::kReadWrite),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("schema version 2 is newer than this claimmatch supports (1)")));
}

TEST(ClaimStoreTest, ConcurrentReadersSeeMonotoneCountsWhileWriterUpserts) {
  auto store = OpenOrDie(testing::MakeTempDir("store_concurrent"));
  ASSERT_NE(store, nullptr);
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 50;
  std::atomic<bool> done{false};
  absl::Mutex mu;
  std::vector<std::string> errors;
  auto report = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    errors.push_back(s.ToString());
  };
  std::vector<std::thread> readers;
  std::atomic<int64_t> reads{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int64_t last_count = 0;
      int64_t last_seq = 0;
      while (!done.load()) {
        absl::StatusOr<int64_t> count = store->Count();
        if (!count.ok()) return report(count.status());
        if (*count < last_count || *count % kPerBatch != 0) {
          return report(absl::InternalError(absl::StrCat("count ", *count, " after ", last_count)));
        }
        last_count = *count;
        absl::StatusOr<int64_t> seq = store->LastChangeSeq();
        if (!seq.ok()) return report(seq.status());
        if (*seq < last_seq) return report(absl::InternalError("seq went back"));
        last_seq = *seq;
        absl::StatusOr<std::vector<std::optional<ClaimRecord>>> rows =
            store->GetByRowIds({1, 2, 3});
        if (!rows.ok()) return report(rows.status());
        ++reads;
      }
    });
  }
  for (int b = 0; b < kBatches; ++b) {
    std::vector<ClaimRecord> batch;
    for (int i = 0; i < kPerBatch; ++i) {
      batch.push_back(MakeClaim(absl::StrCat("b", b, "_", i), absl::StrCat("claim ", b, i)));
    }
    ASSERT_THAT(store->UpsertBatch(batch), IsOk());
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(*store->Count(), kBatches * kPerBatch);
}

// A child process is SIGKILLed while its write transaction is open (with uncommitted pages
// already spilled into the WAL); meanwhile a reader in this process is not blocked. Reopening
// shows exactly the pre-transaction state.
TEST(ClaimStoreTest, WriterKilledMidTransactionLeavesPreviousState) {
  const std::string dir = testing::MakeTempDir("store_kill");
  const std::string path = JoinPath(dir, "claims.sqlite");
  {
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    std::vector<ClaimRecord> records;
    for (int i = 0; i < 10; ++i) records.push_back(MakeClaim(absl::StrCat("pre", i), "before"));
    ASSERT_THAT(store->UpsertBatch(records), IsOk());
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    absl::StatusOr<std::unique_ptr<ClaimStore>> store = ClaimStore::Open(dir, Mode::kReadWrite);
    if (!store.ok()) ::_exit(2);
    std::vector<ClaimRecord> records;
    for (int i = 0; i < 200'000; ++i) {
      records.push_back(MakeClaim(absl::StrCat("big", i), std::string(300, 'a' + i % 26)));
    }
    records[0] = MakeClaim("pre0", "changed by the killed writer");
    if (::write(ready[1], "r", 1) != 1) ::_exit(3);
    (void)(*store)->UpsertBatch(records);
    ::_exit(0);  // not reached in time: the parent kills us first
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  const std::string wal = path + "-wal";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::error_code ec;
  while (std::filesystem::file_size(wal, ec) < (4u << 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(std::filesystem::file_size(wal, ec), 4u << 20) << "the writer never spilled to the WAL";
  {
    auto reader = OpenOrDie(dir, Mode::kReadOnly);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(*reader->Count(), 10);
    EXPECT_EQ((*reader->GetById("pre0"))->text, "before");
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer finished or failed before it was killed";
  EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);

  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->Count(), 10);
  EXPECT_EQ(*store->LastChangeSeq(), 10);
  EXPECT_EQ((*store->GetById("pre0"))->text, "before");
  EXPECT_EQ(*store->GetById("big1"), std::nullopt);
  EXPECT_THAT(store->CheckIntegrity(), IsOk());
  EXPECT_THAT(RowIds(*store->UpsertBatch({MakeClaim("after", "x")})), ElementsAre(11));
}

}  // namespace
}  // namespace claimmatch
