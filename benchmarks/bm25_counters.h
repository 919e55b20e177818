// SetBm25Counters: what Bm25Index's pruned search did, summed over `queries` searches
// (engine/bm25_index.h Bm25SearchStats), as Google Benchmark counters, the same names in every
// benchmark that reports them: per query `windows`, `postings` (essential postings scored),
// `merged`, `candidates`, `probes`, `offered`, `terms`; `skipped_windows` (share of the windows
// visited), `essential_terms` (per window not skipped).
//
// Thread safety: writes `state`'s counters; call from the benchmark's own thread.
#ifndef CLAIMMATCH_BENCHMARKS_BM25_COUNTERS_H_
#define CLAIMMATCH_BENCHMARKS_BM25_COUNTERS_H_

#include <algorithm>
#include <cstdint>

#include "benchmark/benchmark.h"
#include "engine/bm25_index.h"

namespace claimmatch {

// Sets the counters above on `state`. REQUIRES: queries >= 1.
inline void SetBm25Counters(benchmark::State& state, const Bm25SearchStats& stats,
                            int64_t queries) {
  const double per_query = 1.0 / static_cast<double>(queries);
  state.counters["windows"] = static_cast<double>(stats.windows) * per_query;
  state.counters["postings"] = static_cast<double>(stats.postings_scored) * per_query;
  state.counters["merged"] = static_cast<double>(stats.postings_merged) * per_query;
  state.counters["candidates"] = static_cast<double>(stats.candidates) * per_query;
  state.counters["probes"] = static_cast<double>(stats.probes) * per_query;
  state.counters["offered"] = static_cast<double>(stats.offered) * per_query;
  state.counters["skipped_windows"] = static_cast<double>(stats.windows_skipped) /
                                      static_cast<double>(std::max<int64_t>(1, stats.windows));
  state.counters["essential_terms"] =
      static_cast<double>(stats.essential_terms) /
      static_cast<double>(std::max<int64_t>(1, stats.windows - stats.windows_skipped));
  state.counters["terms"] = static_cast<double>(stats.terms) * per_query;
}

}  // namespace claimmatch

#endif  // CLAIMMATCH_BENCHMARKS_BM25_COUNTERS_H_
