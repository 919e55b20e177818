// Latency of one lookup and throughput of batch scoring, end to end through the Matcher (model,
// FAISS, BM25, re-ranker, SQLite), against a real claim database.
//
//   BM_Lookup/<mode>        one query per call (tweets-dev texts in turn); counters p50_ms, p99_ms
//   BM_ScoreBatch/<batch>   MatchBatch over `batch` texts; items_per_second = records/s (one
//   thread)
//
// The database comes from CLAIMMATCH_BENCH_DB (built beforehand, e.g. by scripts/run.sh or
// `claimmatch ingest`), queries from CLAIMMATCH_BENCH_QUERIES (a TSV id<TAB>text; default: the
// repository's tests/data/claims-dev/tweets-dev.tsv). Without a database the benchmarks skip.
// The Matcher's in-memory snapshot (engine/matcher.h) is built before timing, as process start-up.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "embeddings/sentence_encoder.h"
#include "engine/claim_database.h"
#include "engine/matcher.h"

namespace claimmatch {
namespace {

struct Fixture {
  std::unique_ptr<SentenceEncoder> encoder;
  std::unique_ptr<ClaimDatabase> db;
  std::unique_ptr<Matcher> matcher;
  std::vector<std::string> queries;
  std::string error;
};

const Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    const char* db = std::getenv("CLAIMMATCH_BENCH_DB");
    if (db == nullptr) {
      f->error = "set CLAIMMATCH_BENCH_DB to a claim database";
      return f;
    }
    auto manifest = ClaimDatabase::ReadManifest(db);
    if (!manifest.ok()) {
      f->error = std::string(manifest.status().message());
      return f;
    }
    EncoderOptions eo;
    eo.threads = 1;
    auto enc = LoadSentenceEncoder(manifest->model.path, eo);
    if (!enc.ok()) {
      f->error = std::string(enc.status().message());
      return f;
    }
    f->encoder = std::move(*enc);
    auto opened = ClaimDatabase::Open(db, ClaimDatabase::Mode::kReadOnly, *f->encoder);
    if (!opened.ok()) {
      f->error = std::string(opened.status().message());
      return f;
    }
    f->db = std::move(*opened);
    RerankerModel reranker = RerankerModel::Default();
    f->matcher = std::make_unique<Matcher>(*f->db, reranker);
    // The in-memory snapshot is built once per process (part of start-up, not of a lookup).
    if (absl::Status st = f->matcher->Prepare(); !st.ok()) {
      f->error = std::string(st.message());
      return f;
    }
    const char* q = std::getenv("CLAIMMATCH_BENCH_QUERIES");
    std::ifstream in(q != nullptr ? q
                                  : CLAIMMATCH_SOURCE_DIR "/tests/data/claims-dev/tweets-dev.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const size_t tab = line.find('\t');
      if (tab != std::string::npos) f->queries.push_back(line.substr(tab + 1));
    }
    if (f->queries.empty()) f->error = "no queries";
    return f;
  }();
  return *f;
}

void BM_Lookup(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  MatchOptions options;
  options.mode = static_cast<MatchMode>(state.range(0));
  std::vector<double> ms;
  size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = f.matcher->Match(f.queries[i++ % f.queries.size()], options);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(r);
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  state.counters["claims"] = static_cast<double>(f.db->vectors().size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Lookup)
    ->Arg(static_cast<int>(MatchMode::kHybrid))
    ->Arg(static_cast<int>(MatchMode::kLexical))
    ->Arg(static_cast<int>(MatchMode::kDense))
    ->Iterations(1000)
    ->Unit(benchmark::kMillisecond);

void BM_ScoreBatch(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  std::vector<std::string> batch;
  for (int i = 0; i < state.range(0); ++i) batch.push_back(f.queries[i % f.queries.size()]);
  MatchOptions options;
  options.k = 1;
  for (auto _ : state) benchmark::DoNotOptimize(f.matcher->MatchBatch(batch, options));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ScoreBatch)->Arg(256)->Arg(2048)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace claimmatch
