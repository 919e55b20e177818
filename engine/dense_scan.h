// DenseScan: the exact top k by inner product over a fixed set of vectors held in memory (the
// matcher's snapshot of a flat vector index), with an 8-bit prefilter that proves which rows
// cannot be in the top k, so that only a few rows per query are scored in float.
//
//   build:  one scale per dimension (its largest magnitude maps to 127); each row quantised to
//           signed bytes x (v ~ scale * x), with its error norm |v - scale * x| and |x|.
//   search: query q -> w = q * scale, quantised to signed bytes z with one step t (w ~ t z) ->
//           integer dot products z . x with every row (AMX tiles, AVX-512 VNNI, AVX2 or SSSE3,
//           the widest the CPU has, chosen at run time; the portable loop gives the same
//           integers), i.e.
//           approximate scores a = t (z . x) with |q . v - a| <= |q| |v - scale * x| + |w - t z|
//           |x| =: E (Cauchy-Schwarz, per row) -> float scores q . v of the k + extra best rows by
//           a; the k-th best of those, s_k, is a lower bound of the k-th best score -> float scores
//           of every other row with a + E >= s_k - margin (margin covers float rounding) -> the
//           best k of the rows scored.
//
// The result is therefore exactly SearchExact's (same rows, same order, same scores): every score
// is vectors().row(j).dot(query), computed the same way whatever else is in the batch, and a row
// left out provably scores below the k-th. With the bundled 400-d model and 19,250 claims about
// 86 rows per query (tweets-dev) are scored in float instead of 19,250 with 127-level queries
// (AMX, AVX-512 VNNI, portable), about 110 with the 63-level queries of the AVX2 and SSSE3
// kernels. With AMX (Sapphire Rapids and later; Linux must grant the process the tile state) a
// pass over the codes scores 64 queries, in tiles of 16 queries x 16 rows; batches of fewer than
// 4 queries take the VNNI kernel.
//
// Thread safety: immutable after construction; Search may run concurrently.
#ifndef CLAIMMATCH_ENGINE_DENSE_SCAN_H_
#define CLAIMMATCH_ENGINE_DENSE_SCAN_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "embeddings/types.h"

namespace claimmatch {

// How the integer scores are computed (all kernels give the same integers, so the same results):
// the widest the CPU has is chosen at run time, whatever the build targets.
enum class DenseScanKernel { kAuto, kPortable, kSsse3, kAvx2, kAvx512Vnni, kAmx };

struct DenseScanOptions {
  // false: every row is scored in float (the reference).
  bool prefilter = true;
  // Rows scored in float before the bound is known: k + extra_candidates.
  int extra_candidates = 16;
  // kAuto: DenseScan::BestKernel(); a kernel the CPU lacks is replaced by that one too.
  DenseScanKernel kernel = DenseScanKernel::kAuto;
};

class DenseScan {
 public:
  // (row index, exact inner product).
  using Hit = std::pair<int, float>;

  // Takes the rows (n x d).
  explicit DenseScan(EmbeddingMatrix vectors, const DenseScanOptions& options = {});
  DenseScan(const DenseScan&) = delete;
  DenseScan& operator=(const DenseScan&) = delete;

  // Returns, for each row of `queries` (REQUIRES: queries.cols() == dim()), the up to `k` rows
  // with the largest inner product vectors().row(j).dot(query), best first, equal scores by
  // smaller row index: the same as SearchExact. If `scored` is non-null, adds the number of rows
  // scored in float to it.
  std::vector<std::vector<Hit>> Search(const EmbeddingMatrix& queries, int k,
                                       int64_t* scored = nullptr) const;
  // The same, scoring every row in float: the reference Search is checked against.
  std::vector<std::vector<Hit>> SearchExact(const EmbeddingMatrix& queries, int k) const;

  // Appends vectors().row(j).dot(queries.row(q)) for each j of `rows` to `out` (rows fetched
  // ahead of use: they are scattered in memory).
  void Dots(const EmbeddingMatrix& queries, Eigen::Index q, const std::vector<int>& rows,
            std::vector<float>* out) const;

  // Returns whether this CPU can run `kernel` (kPortable and kAuto: always).
  static bool Supported(DenseScanKernel kernel);
  // Returns the widest kernel this CPU can run (kAmx, kAvx512Vnni, kAvx2, kSsse3, else kPortable).
  static DenseScanKernel BestKernel();
  // Returns "amx-int8", "avx512-vnni", "avx2", "ssse3", "portable" or "auto".
  static const char* KernelName(DenseScanKernel kernel);
  // Returns the kernel this scan computes its integer scores with.
  DenseScanKernel kernel() const { return kernel_; }
  // For tests: returns each query's integer scores z . (x + 128) against every row (size()
  // entries), computed by kernel() or, with `portable`, by the portable loop from the same
  // quantised queries; empty if queries.cols() != dim() or there are no rows.
  std::vector<std::vector<int32_t>> IntegerScoresForTest(const EmbeddingMatrix& queries,
                                                         bool portable) const;

  const EmbeddingMatrix& vectors() const { return vectors_; }
  int size() const { return static_cast<int>(vectors_.rows()); }
  int dim() const { return static_cast<int>(vectors_.cols()); }

 private:
  static constexpr int kBlock = 16;         // rows per block of the quantised layout
  static constexpr int kGroup = 16;         // queries per pass over the codes
  static constexpr int kAmxGroup = 64;      // the same with AMX tiles
  static constexpr int kAmxMinQueries = 4;  // fewer: AVX-512 VNNI (a tile holds 16)

  // Queries per pass over the codes with kernel().
  int PassQueries() const { return kernel_ == DenseScanKernel::kAmx ? kAmxGroup : kGroup; }

  // Quantises `query` (dim() floats) into `z` (padded_dims_ bytes); returns the step t and sets
  // `*residual` to |q * scale - t z| and `*offset` to 128 * sum(z).
  float QuantiseQuery(const float* query, int8_t* z, float* residual, int64_t* offset) const;
  // Integer scores of `nq` (1..kGroup, with AMX 1..kAmxGroup) quantised queries (padded_dims_
  // bytes each, consecutive) against every row: scores[q * padded_rows_ + j] = z . (x_j + 128)
  // (with AMX `scores` has room for nq rounded up to 16 queries); `portable`: by the portable loop
  // (nq <= kGroup) instead of the compiled kernel.
  // With AMX tiles, also writes each query's largest score per group of 64 rows to
  // row_group_max[q * row_groups_ + r] (room for nq rounded up to 16 queries) and returns true;
  // returns false when it wrote none.
  bool IntegerScores(const int8_t* queries, int nq, int32_t* scores, bool portable,
                     int32_t* row_group_max) const;
  // Quantises `queries` and computes their integer scores in passes of up to PassQueries() (by
  // kernel()) or kGroup queries (by the portable loop): calls fn(b, m, scores, row_group_max,
  // step, residual, offset) for the queries b .. b + m - 1 of each pass, with
  // scores[t * padded_rows_ + j], row_group_max[t * row_groups_ + r] (null unless IntegerScores
  // wrote them) and step[t], residual[t], offset[t] (QuantiseQuery's) for query b + t. Search and
  // IntegerScoresForTest.
  template <typename Fn>
  void ScorePasses(const EmbeddingMatrix& queries, bool portable, Fn fn) const;
  // The query's top k from its integer scores (see the top of this file).
  // `row_group_max`: its row_groups_ group maxima, or null.
  std::vector<Hit> SearchOne(const EmbeddingMatrix& queries, Eigen::Index q, const int32_t* scores,
                             const int32_t* row_group_max, float step, float residual,
                             int64_t offset, int k, int64_t* scored) const;
  // Top k of `hits` (sorted, truncated).
  static void KeepBest(std::vector<Hit>& hits, int k);

  EmbeddingMatrix vectors_;
  DenseScanOptions options_;
  DenseScanKernel kernel_;
  int padded_dims_ = 0;            // dim() rounded up to a multiple of 4
  int padded_rows_ = 0;            // size() rounded up to a multiple of 64 rows (4 blocks)
  int row_groups_ = 0;             // padded_rows_ / 64
  EmbeddingRow scale_;             // per dimension
  std::vector<float> error_norm_;  // per row: |v - scale * x| (rounded up)
  std::vector<float> code_norm_;   // per row: |x| (rounded up)
  float max_error_norm_ = 0, max_code_norm_ = 0, max_row_norm_ = 0;
  std::vector<uint8_t> codes_;  // x + 128, blocks of kBlock rows, see dense_scan.cc
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_DENSE_SCAN_H_
