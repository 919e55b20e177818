// ClaimStore speed:
//   BM_UpsertBatch/1000       one UpsertBatch of 1,000 new synthetic claims per iteration, each
//                             batch one transaction with synchronous=FULL (items/s = records/s).
//   BM_GetByRowIds/100000/10  GetByRowIds of 10 random row ids in a store of 100,000 claims
//                             (the per-query top-k display lookup).
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/claim_store.h"

namespace claimmatch {
namespace {

ClaimRecord SyntheticClaim(int64_t i) {
  ClaimRecord r;
  r.id = absl::StrCat("bench-", i);
  r.text = absl::StrCat("Synthetic claim number ", i,
                        " says that something happened somewhere to someone, which it did not.");
  r.title = absl::StrCat("Fact check ", i, ": no, it did not happen");
  r.claimant = "A social media post";
  r.claim_date = "2023-05-17";
  r.verdict = "False";
  r.verdict_normalized = Verdict::kFalse;
  r.review_url = absl::StrCat("https://factcheck.example.org/", i);
  r.publisher = i % 3 == 0 ? "Checkers" : "Truth Desk";
  r.review_date = "2023-05-18";
  r.language = i % 2 == 0 ? "en" : "pt-BR";
  r.extra_json = "{}";
  return r;
}

std::string FreshDir(absl::string_view name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    absl::StrCat("claimmatch_bench_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::unique_ptr<ClaimStore> OpenOrDie(const std::string& dir, benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<ClaimStore>> store =
      ClaimStore::Open(dir, ClaimStore::Mode::kReadWrite);
  if (!store.ok()) state.SkipWithError(store.status().ToString().c_str());
  return store.ok() ? *std::move(store) : nullptr;
}

void BM_UpsertBatch(benchmark::State& state) {
  const std::string dir = FreshDir("upsert");
  std::unique_ptr<ClaimStore> store = OpenOrDie(dir, state);
  if (store == nullptr) return;
  const int64_t batch_size = state.range(0);
  int64_t next = 0;
  std::vector<ClaimRecord> batch(batch_size);
  for (auto _ : state) {
    state.PauseTiming();
    for (ClaimRecord& r : batch) r = SyntheticClaim(next++);
    state.ResumeTiming();
    absl::StatusOr<std::vector<ClaimStore::UpsertResult>> got = store->UpsertBatch(batch);
    if (!got.ok()) state.SkipWithError(got.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_UpsertBatch)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_GetByRowIds(benchmark::State& state) {
  const std::string dir = FreshDir("lookup");
  std::unique_ptr<ClaimStore> store = OpenOrDie(dir, state);
  if (store == nullptr) return;
  const int64_t n = state.range(0);
  std::vector<ClaimRecord> batch;
  for (int64_t i = 0; i < n; ++i) {
    batch.push_back(SyntheticClaim(i));
    if (batch.size() == 10'000 || i + 1 == n) {
      if (!store->UpsertBatch(batch).ok()) return state.SkipWithError("populating failed");
      batch.clear();
    }
  }
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<ClaimRowId> row(1, n);
  std::vector<ClaimRowId> ids(state.range(1));
  for (auto _ : state) {
    for (ClaimRowId& id : ids) id = row(rng);
    absl::StatusOr<std::vector<std::optional<ClaimRecord>>> got = store->GetByRowIds(ids);
    if (!got.ok()) state.SkipWithError(got.status().ToString().c_str());
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(state.iterations());  // lookups/s
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GetByRowIds)->Args({100'000, 10})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace claimmatch
