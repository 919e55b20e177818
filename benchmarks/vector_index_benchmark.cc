// VectorIndex speed, d = 256 (the project's embedding width), inner product:
//   BM_FlatSingle/<n>         one query against a flat index of n random unit rows (latency).
//   BM_FlatBatch/<n>          a batch of 1,000 queries (BLAS); items/s = queries/s.
//   BM_HnswSingle/<n>         one query, HNSW (M 32, efConstruction 80, efSearch 64) over n
//                             clustered rows. Counters: recall@10 vs flat (200 queries), build_s.
//   BM_IvfPqSingle/<n>        the same for IVF-PQ (defaults: nlist ~4 sqrt(n), pq_m 64, nprobe 32),
//                             plus bytes_per_vector (size of the saved file / n).
//   BM_IvfPqBatch/<n>         IVF-PQ, batches of 1,000 queries.
// Approximate indexes are measured on clustered data (topics > groups of near-paraphrases), since
// uniformly random vectors have no neighbourhood structure and say nothing about recall. Each
// index is built once per process and shared by the benchmarks that use it. HNSW builds take
// about 2 minutes per 100k vectors on 2 cores: its default size here is 50,000; set
// CLAIMMATCH_BENCH_HNSW_N=300000 to measure the full size (4 minutes to build, measured).
// Run with OMP_WAIT_POLICY=passive on a shared machine (see README.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/vector_index.h"

namespace claimmatch {
namespace {

constexpr int kDim = 256;
constexpr int kRecallQueries = 200;

// Random unit rows: no structure (fine for flat latency, useless for recall).
EmbeddingMatrix RandomUnitRows(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  EmbeddingMatrix m(n, kDim);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < kDim; ++j) m(i, j) = normal(rng);
    m.row(i).normalize();
  }
  return m;
}

// Clustered unit rows: n / 10 groups of near-paraphrases (noise norm 0.35 around a group centre)
// spread over n / 1000 topics (group centre = topic + 0.6 noise). Rows and queries of one `seed`
// share the centres; `query_seed` draws the queries.
struct Clustered {
  EmbeddingMatrix rows;
  EmbeddingMatrix queries;
};
Clustered ClusteredRows(int64_t n, int64_t n_queries, uint32_t seed) {
  std::mt19937 rng(seed);
  const float inv_sqrt_dim = 1.0f / std::sqrt(static_cast<float>(kDim));
  std::normal_distribution<float> normal(0.0f, inv_sqrt_dim);
  const int64_t groups = std::max<int64_t>(1, n / 10);
  const int64_t topics = std::max<int64_t>(1, n / 1000);
  EmbeddingMatrix topic(topics, kDim), centre(groups, kDim);
  for (int64_t t = 0; t < topics; ++t) {
    for (int j = 0; j < kDim; ++j) topic(t, j) = normal(rng);
  }
  for (int64_t g = 0; g < groups; ++g) {
    for (int j = 0; j < kDim; ++j) centre(g, j) = topic(g % topics, j) + 0.6f * normal(rng);
    centre.row(g).normalize();
  }
  std::uniform_int_distribution<int64_t> pick(0, groups - 1);
  auto sample = [&](int64_t count) {
    EmbeddingMatrix m(count, kDim);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t g = pick(rng);
      for (int j = 0; j < kDim; ++j) m(i, j) = centre(g, j) + 0.35f * normal(rng);
      m.row(i).normalize();
    }
    return m;
  };
  Clustered c;
  c.rows = sample(n);
  c.queries = sample(n_queries);
  return c;
}

std::vector<ClaimRowId> Iota(int64_t n) {
  std::vector<ClaimRowId> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

struct Built {
  std::unique_ptr<VectorIndex> index;
  EmbeddingMatrix queries;  // from the same distribution as the rows
  double build_s = 0;
  double recall_at_10 = 0;  // vs flat, approximate indexes only
  double bytes_per_vector = 0;
};

std::unique_ptr<VectorIndex> MustBuild(const VectorIndexOptions& options,
                                       const EmbeddingMatrix& rows, double* seconds) {
  absl::StatusOr<std::unique_ptr<VectorIndex>> index = VectorIndex::Create(kDim, options);
  if (!index.ok()) std::abort();
  const auto start = std::chrono::steady_clock::now();
  // Batches of 10,000, as an ingest would do.
  const std::vector<ClaimRowId> all = Iota(rows.rows());
  for (int64_t at = 0; at < rows.rows(); at += 10000) {
    const int64_t n = std::min<int64_t>(10000, rows.rows() - at);
    if (!(*index)->Upsert(absl::MakeConstSpan(all).subspan(at, n), rows.middleRows(at, n)).ok()) {
      std::abort();
    }
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return *std::move(index);
}

double Recall(const VectorIndex& approx, const VectorIndex& flat, const EmbeddingMatrix& queries) {
  auto got = approx.Search(queries, 10);
  auto exact = flat.Search(queries, 10);
  if (!got.ok() || !exact.ok()) std::abort();
  double found = 0;
  for (size_t q = 0; q < exact->size(); ++q) {
    std::set<ClaimRowId> truth;
    for (const auto& h : (*exact)[q]) truth.insert(h.id);
    for (const auto& h : (*got)[q]) found += truth.count(h.id);
  }
  return found / (10.0 * exact->size());
}

// Builds (once per process) the index `name` of n vectors.
Built& GetIndex(VectorIndexType type, int64_t n) {
  static auto* cache = new std::map<std::pair<VectorIndexType, int64_t>, Built>();
  auto [it, inserted] = cache->try_emplace({type, n});
  Built& b = it->second;
  if (!inserted) return b;
  VectorIndexOptions options;
  options.type = type;
  if (type == VectorIndexType::kFlat) {
    b.queries = RandomUnitRows(1000, 2);
    b.index = MustBuild(options, RandomUnitRows(n, 1), &b.build_s);
    return b;
  }
  Clustered data = ClusteredRows(n, 1000, 3);
  b.queries = data.queries;
  b.index = MustBuild(options, data.rows, &b.build_s);
  double flat_s;
  std::unique_ptr<VectorIndex> flat = MustBuild(VectorIndexOptions(), data.rows, &flat_s);
  b.recall_at_10 = Recall(*b.index, *flat, data.queries.topRows(kRecallQueries));
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("claimmatch_vindex_bench_", ::getpid(), ".cmvi"))
                               .string();
  if (!b.index->Save(path, "bench", 0).ok()) std::abort();
  b.bytes_per_vector = static_cast<double>(std::filesystem::file_size(path)) / n;
  std::filesystem::remove(path);
  return b;
}

void SetCounters(benchmark::State& state, const Built& b) {
  state.counters["build_s"] = b.build_s;
  if (b.recall_at_10 > 0) state.counters["recall@10"] = b.recall_at_10;
  if (b.bytes_per_vector > 0) state.counters["bytes_per_vector"] = b.bytes_per_vector;
}

void RunSingle(benchmark::State& state, VectorIndexType type) {
  Built& b = GetIndex(type, state.range(0));
  int64_t q = 0;
  for (auto _ : state) {
    const EmbeddingMatrix query = b.queries.row(q++ % b.queries.rows());
    benchmark::DoNotOptimize(b.index->Search(query, 10));
  }
  state.SetItemsProcessed(state.iterations());
  SetCounters(state, b);
}

void RunBatch(benchmark::State& state, VectorIndexType type) {
  Built& b = GetIndex(type, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(b.index->Search(b.queries, 10));
  state.SetItemsProcessed(state.iterations() * b.queries.rows());
  SetCounters(state, b);
}

void BM_FlatSingle(benchmark::State& state) { RunSingle(state, VectorIndexType::kFlat); }
void BM_FlatBatch(benchmark::State& state) { RunBatch(state, VectorIndexType::kFlat); }
void BM_HnswSingle(benchmark::State& state) { RunSingle(state, VectorIndexType::kHnsw); }
void BM_IvfPqSingle(benchmark::State& state) { RunSingle(state, VectorIndexType::kIvfPq); }
void BM_IvfPqBatch(benchmark::State& state) { RunBatch(state, VectorIndexType::kIvfPq); }

int64_t HnswSize() {
  const char* env = std::getenv("CLAIMMATCH_BENCH_HNSW_N");
  return env != nullptr ? std::atoll(env) : 50000;
}

// Real (wall) time throughout: BLAS and OpenMP work on other threads than the benchmark's.
BENCHMARK(BM_FlatSingle)->Arg(19250)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FlatBatch)
    ->Arg(19250)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();
BENCHMARK(BM_HnswSingle)->Arg(HnswSize())->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IvfPqSingle)->Arg(300000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IvfPqBatch)->Arg(300000)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace claimmatch
