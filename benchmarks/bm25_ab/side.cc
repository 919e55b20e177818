// One side of bm25_ab.sh: compiled once per source tree with -Dclaimmatch=<namespace> and
// -DCLAIMMATCH_AB_SIDE=A or B, so that two builds of Bm25Index live in one process. Exposes
// C functions (names suffixed with the side) for bm25_ab_main.cc: load an index file, run one
// query's windowed top k (Search), and run a batch through SearchAnalyzedBatch.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/bm25_index.h"
#include "engine/text_analysis.h"

#define CLAIMMATCH_AB_CAT2(a, b) a##b
#define CLAIMMATCH_AB_CAT(a, b) CLAIMMATCH_AB_CAT2(a, b)
#define CLAIMMATCH_AB_FN(name) CLAIMMATCH_AB_CAT(name, CLAIMMATCH_AB_SIDE)

namespace {

// FNV-1a over (id, score bits) of every hit: equal hashes for equal results.
void Mix(const std::vector<claimmatch::Bm25Hit>& hits, uint64_t* h) {
  for (const auto& [id, score] : hits) {
    uint32_t bits;
    static_assert(sizeof(bits) == sizeof(score));
    std::memcpy(&bits, &score, sizeof(bits));
    for (const uint64_t v : {static_cast<uint64_t>(id), uint64_t{bits}}) {
      *h = (*h ^ v) * 1099511628211ull;
    }
  }
}

}  // namespace

// Loads `path` with the default options; exits with the error on failure.
extern "C" void* CLAIMMATCH_AB_FN(Bm25AbLoad)(const char* path) {
  absl::StatusOr<claimmatch::Bm25Index> index = claimmatch::Bm25Index::Load(path);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
    std::exit(1);
  }
  return new claimmatch::Bm25Index(std::move(*index));
}

// Search(query, k); returns a hash of the hits.
extern "C" uint64_t CLAIMMATCH_AB_FN(Bm25AbSearch)(const void* index, const char* query, int k) {
  uint64_t h = 1469598103934665603ull;
  Mix(static_cast<const claimmatch::Bm25Index*>(index)->Search(query, k), &h);
  return h;
}

// SearchAnalyzedBatch over `n` queries (each analysed as AnalyzeQueryToTerms, repeated terms
// counted); returns a hash of all hits.
extern "C" uint64_t CLAIMMATCH_AB_FN(Bm25AbBatch)(const void* index, const char* const* queries,
                                                  int n, int k) {
  std::vector<std::vector<claimmatch::Bm25QueryTerm>> terms(n);
  for (int q = 0; q < n; ++q) {
    for (const std::string& t : claimmatch::AnalyzeQueryToTerms(queries[q])) {
      bool seen = false;
      for (claimmatch::Bm25QueryTerm& e : terms[q]) {
        if (e.term == t) {
          ++e.count;
          seen = true;
        }
      }
      if (!seen) terms[q].push_back({t, 1});
    }
  }
  uint64_t h = 1469598103934665603ull;
  for (const auto& hits :
       static_cast<const claimmatch::Bm25Index*>(index)->SearchAnalyzedBatch(terms, k)) {
    Mix(hits, &h);
  }
  return h;
}
