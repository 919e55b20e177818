// Benchmarks of engine/bm25_index (see benchmarks/README.md for the figures and the command):
//
//   BM_Bm25Search/<n_claims>            exact top-100 with block-max MaxScore (Bm25Index::Search)
//                                       on the index as a claim database opens it (Save + Load:
//                                       documents numbered by length)
//   BM_Bm25SearchAsAdded/<n_claims>     the same on the index as built by Add (insertion order)
//   BM_Bm25SearchExhaustive/<n_claims>  the same results scoring every matching claim (baseline)
//
// Corpus: n synthetic claims with claim, title and subtitle fields whose lengths are copied from a
// random real Snopes claim and whose words are drawn from the pooled words of all real claims
// (fixed seed), so term frequencies follow the real, Zipfian distribution. Queries: the 199
// tweets of CheckThat! tweets-dev, as raw text (analysis is part of the timed query). Each
// iteration runs every query once, timing each in thread CPU time (the machines are shared);
// counters give the per-query p50_ms / p99_ms over all iterations, queries/s (items_per_second,
// from the same CPU times), the CPU time to build the index (build_s) and to save and load it
// (reload_s), and per query what Search did (Bm25SearchStats: postings scored, candidates, probes,
// windows skipped, essential terms per window visited).
// Data: $CLAIMMATCH_TEST_DATA, else the source tree's tests/data.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bm25_counters.h"
#include "engine/bm25_index.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

std::string DataDir() {
  const char* env = std::getenv("CLAIMMATCH_TEST_DATA");
  return std::string(env != nullptr ? env : CLAIMMATCH_TEST_DATA_DEFAULT) + "/claims-dev";
}

struct RealClaims {
  std::vector<std::vector<std::string>> fields;  // per claim: claim, title, subtitle
  std::vector<std::string> words;                // every whitespace-separated word occurrence
};

const RealClaims& Claims() {
  static const RealClaims* const claims = [] {
    auto* c = new RealClaims;
    std::ifstream in(DataDir() + "/snopes-claims.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      std::vector<std::string> fields;
      for (const char* f : {"claim", "title", "subtitle"}) {
        fields.push_back(j.contains(f) ? j[f].get<std::string>() : "");
        for (absl::string_view w : absl::StrSplit(fields.back(), ' ', absl::SkipWhitespace())) {
          c->words.emplace_back(w);
        }
      }
      c->fields.push_back(std::move(fields));
    }
    if (c->fields.empty()) std::abort();  // no data: see DataDir()
    return c;
  }();
  return *claims;
}

const std::vector<std::string>& Queries() {
  static const std::vector<std::string>* const queries = [] {
    auto* q = new std::vector<std::string>;
    std::ifstream in(DataDir() + "/tweets-dev.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const std::vector<std::string> cols = absl::StrSplit(line, absl::MaxSplits('\t', 1));
      if (cols.size() == 2) q->push_back(cols[1]);
    }
    return q;
  }();
  return *queries;
}

// CPU time of this thread, in seconds: robust to other processes sharing the cores.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Corpus {
  Bm25Index added;   // as built by Add
  Bm25Index loaded;  // after Save + Load
  double build_seconds = 0;
  double reload_seconds = 0;
};

// The indexes of `n` synthetic claims, built once per size.
const Corpus& SyntheticCorpus(int n) {
  static auto* const cache = new std::map<int, std::unique_ptr<Corpus>>;
  std::unique_ptr<Corpus>& slot = (*cache)[n];
  if (slot) return *slot;
  const RealClaims& real = Claims();
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<size_t> pick_claim(0, real.fields.size() - 1);
  std::uniform_int_distribution<size_t> pick_word(0, real.words.size() - 1);
  std::vector<std::vector<std::string>> docs(n);
  for (auto& doc : docs) {
    for (const std::string& field : real.fields[pick_claim(rng)]) {
      const size_t len = std::count(field.begin(), field.end(), ' ') + (field.empty() ? 0 : 1);
      std::string text;
      for (size_t i = 0; i < len; ++i) {
        if (i) text.push_back(' ');
        text += real.words[pick_word(rng)];
      }
      doc.push_back(std::move(text));
    }
  }
  slot = std::make_unique<Corpus>();
  double start = ThreadCpuSeconds();
  for (int i = 0; i < n; ++i) {
    if (!slot->added.Add(i, docs[i]).ok()) std::abort();
  }
  slot->build_seconds = ThreadCpuSeconds() - start;
  const std::string path = "/tmp/bm25_benchmark." + std::to_string(getpid()) + ".bm25";
  start = ThreadCpuSeconds();
  if (!slot->added.Save(path).ok()) std::abort();
  absl::StatusOr<Bm25Index> loaded = Bm25Index::Load(path);
  if (!loaded.ok()) std::abort();
  slot->loaded = *std::move(loaded);
  slot->reload_seconds = ThreadCpuSeconds() - start;
  std::remove(path.c_str());
  return *slot;
}

enum class Mode { kLoaded, kAsAdded, kExhaustive };

template <Mode kMode>
void RunQueries(benchmark::State& state) {
  const Corpus& corpus = SyntheticCorpus(static_cast<int>(state.range(0)));
  const Bm25Index& index = kMode == Mode::kAsAdded ? corpus.added : corpus.loaded;
  const std::vector<std::string>& queries = Queries();
  std::vector<double> latencies_ms;
  Bm25SearchStats stats;
  for (auto _ : state) {
    double total = 0;
    for (const std::string& q : queries) {
      const double start = ThreadCpuSeconds();
      std::vector<Bm25Hit> hits = kMode == Mode::kExhaustive ? index.SearchExhaustive(q, 100)
                                                             : index.Search(q, 100, &stats);
      benchmark::DoNotOptimize(hits);
      const double s = ThreadCpuSeconds() - start;
      total += s;
      latencies_ms.push_back(s * 1e3);
    }
    state.SetIterationTime(total);
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto quantile = [&](double p) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * latencies_ms.size()))];
  };
  state.counters["p50_ms"] = quantile(0.50);
  state.counters["p99_ms"] = quantile(0.99);
  state.counters["build_s"] = corpus.build_seconds;
  state.counters["reload_s"] = corpus.reload_seconds;
  if (kMode != Mode::kExhaustive) {
    SetBm25Counters(state, stats, static_cast<int64_t>(latencies_ms.size()));
  }
  state.SetItemsProcessed(static_cast<int64_t>(latencies_ms.size()));
}

void BM_Bm25Search(benchmark::State& state) { RunQueries<Mode::kLoaded>(state); }
void BM_Bm25SearchAsAdded(benchmark::State& state) { RunQueries<Mode::kAsAdded>(state); }
void BM_Bm25SearchExhaustive(benchmark::State& state) { RunQueries<Mode::kExhaustive>(state); }

BENCHMARK(BM_Bm25Search)
    ->Arg(33'000)
    ->Arg(300'000)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bm25SearchAsAdded)
    ->Arg(33'000)
    ->Arg(300'000)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bm25SearchExhaustive)
    ->Arg(33'000)
    ->Arg(300'000)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace claimmatch
