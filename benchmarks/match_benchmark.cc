// Latency of one lookup and throughput of batch scoring, end to end through the Matcher (model,
// FAISS, BM25, re-ranker, SQLite), against a real claim database.
//
//   BM_Lookup/<mode>/<parallel>   one query per call (tweets-dev texts in turn); counters p50_ms,
//                           p99_ms (wall), cpu_ms (mean process CPU per query, both threads);
//                           <parallel> 1: MatchOptions::parallel_channels (BM25 on the Matcher's
//                           worker thread while this one runs the dense channel), as lookup does
//   BM_LookupLexicalK/<k>   lexical mode with lexical_candidates = k (BM25 top k), same counters
//   BM_Bm25TopK/<k>          the BM25 top k alone, with what the pruned search did per query
//   BM_ScoreBatch/<batch>   MatchBatch over `batch` texts; items_per_second = records/s (one
//   thread)
//   BM_DenseScan/<prefilter>/<extra>   the dense top 50 of every query (engine/dense_scan.h) over
//                           the database's vectors, with the 8-bit prefilter (1) or scoring every
//                           row in float (0), <extra> rows scored before the bound; counters
//                           same_as_exact (share of queries whose top 50 equals SearchExact's:
//                           must be 1), scored_per_query (rows scored in float), build_s (CPU
//                           seconds to build); items_per_second = queries/s
//
// The database comes from CLAIMMATCH_BENCH_DB (built beforehand, e.g. by scripts/run.sh or
// `claimmatch ingest`), queries from CLAIMMATCH_BENCH_QUERIES (a TSV id<TAB>text; default: the
// repository's tests/data/claims-dev/tweets-dev.tsv). Without a database the benchmarks skip.
// The Matcher's in-memory snapshot (engine/matcher.h) is built before timing, as process start-up.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bm25_counters.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/text_clean.h"
#include "engine/claim_database.h"
#include "engine/dense_scan.h"
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

// Times `options` lookups over the queries in turn: wall-time percentiles and mean process CPU.
void RunLookups(benchmark::State& state, const MatchOptions& options) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  std::vector<double> ms;
  size_t i = 0;
  const std::clock_t cpu0 = std::clock();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = f.matcher->Match(f.queries[i++ % f.queries.size()], options);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(r);
  }
  const double cpu_ms = 1e3 * static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  state.counters["cpu_ms"] = cpu_ms / static_cast<double>(ms.size());
  state.counters["claims"] = static_cast<double>(f.db->vectors().size());
  state.SetItemsProcessed(state.iterations());
}

void BM_Lookup(benchmark::State& state) {
  MatchOptions options;
  options.mode = static_cast<MatchMode>(state.range(0));
  options.parallel_channels = state.range(1) != 0;
  RunLookups(state, options);
}
BENCHMARK(BM_Lookup)
    ->Args({static_cast<int>(MatchMode::kHybrid), 0})
    ->Args({static_cast<int>(MatchMode::kHybrid), 1})
    ->Args({static_cast<int>(MatchMode::kLexical), 0})
    ->Args({static_cast<int>(MatchMode::kDense), 0})
    ->Iterations(1000)
    ->Unit(benchmark::kMillisecond);

void BM_LookupLexicalK(benchmark::State& state) {
  MatchOptions options;
  options.mode = MatchMode::kLexical;
  options.lexical_candidates = static_cast<int>(state.range(0));
  RunLookups(state, options);
}
BENCHMARK(BM_LookupLexicalK)
    ->Arg(10)
    ->Arg(25)
    ->Arg(50)
    ->Arg(100)
    ->Iterations(1000)
    ->Unit(benchmark::kMillisecond);

// The BM25 top k alone (Bm25Index::Search over the raw query text, one thread) with what the
// pruned search did per query (engine/bm25_index.h Bm25SearchStats).
void BM_Bm25TopK(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  const int k = static_cast<int>(state.range(0));
  Bm25SearchStats stats;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.db->bm25().Search(f.queries[i++ % f.queries.size()], k, &stats));
  }
  SetBm25Counters(state, stats, state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bm25TopK)->Arg(50)->Arg(60)->Arg(100)->Iterations(1000)->Unit(benchmark::kMillisecond);

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

// The database's vectors (store order) and the queries' dense embeddings, built once.
struct DenseData {
  EmbeddingMatrix vectors;
  EmbeddingMatrix queries;
  std::string error;
};

const DenseData& GetDense() {
  static DenseData* d = [] {
    auto* d = new DenseData;
    const Fixture& f = Get();
    if (!f.error.empty()) {
      d->error = f.error;
      return d;
    }
    std::vector<EmbeddingRow> rows;
    absl::Status st = f.db->store().ForEach([&](ClaimRowId row, const ClaimRecord&) {
      absl::StatusOr<EmbeddingRow> v = f.db->vectors().Get(row);
      if (v.ok()) rows.push_back(*std::move(v));
      return absl::OkStatus();
    });
    if (!st.ok() || rows.empty()) {
      d->error = "cannot read the vectors";
      return d;
    }
    d->vectors.resize(static_cast<Eigen::Index>(rows.size()), rows[0].size());
    for (size_t i = 0; i < rows.size(); ++i) d->vectors.row(i) = rows[i];
    std::vector<std::string> social;
    // As the matcher embeds queries (Matcher::Candidates).
    for (const std::string& q : f.queries) social.push_back(CleanSocialText(SplitTags(q)));
    absl::StatusOr<EmbeddingMatrix> e = f.db->encoder().Encode(social, TextRole::kQuery);
    if (!e.ok()) {
      d->error = std::string(e.status().message());
      return d;
    }
    d->queries = *std::move(e);
    return d;
  }();
  return *d;
}

void BM_DenseScan(benchmark::State& state) {
  const DenseData& d = GetDense();
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  DenseScanOptions options;
  options.prefilter = state.range(0) != 0;
  options.extra_candidates = static_cast<int>(state.range(1));
  const auto t0 = std::clock();
  const DenseScan scan(d.vectors, options);
  const double build_s = static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
  constexpr int kTop = 50;
  const auto exact = scan.SearchExact(d.queries, kTop);
  int64_t scored = 0;
  const auto fast = scan.Search(d.queries, kTop, &scored);
  int64_t same = 0;
  for (Eigen::Index q = 0; q < d.queries.rows(); ++q) same += fast[q] == exact[q];
  for (auto _ : state) benchmark::DoNotOptimize(scan.Search(d.queries, kTop));
  const double nq = static_cast<double>(d.queries.rows());
  state.counters["same_as_exact"] = static_cast<double>(same) / nq;
  state.counters["scored_per_query"] = static_cast<double>(scored) / nq;
  state.counters["build_s"] = build_s;
  state.SetItemsProcessed(state.iterations() * d.queries.rows());
}
BENCHMARK(BM_DenseScan)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({1, 16})
    ->Args({1, 50})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace claimmatch
