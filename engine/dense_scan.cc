#include "engine/dense_scan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define CLAIMMATCH_DENSE_SCAN_X86 1
#endif
#if defined(__AVX512F__) && defined(__AVX512VNNI__)
#define CLAIMMATCH_DENSE_SCAN_VNNI 1
#endif

namespace claimmatch {
namespace {

// Largest magnitude of a quantised query byte for `kernel` (see the kernels below): 127 where the
// integer products cannot saturate, 63 for pmaddubsw. A coarser query only loosens the bounds
// (about 110 instead of 86 rows per query scored in float with the bundled model and 19,250
// claims), never the result.
int QueryLevels(DenseScanKernel kernel) {
  return kernel == DenseScanKernel::kAvx2 || kernel == DenseScanKernel::kSsse3 ? 63 : 127;
}

// A float rounded up to the next representable value (a safe upper bound of `x` >= 0).
float RoundUp(double x) {
  const float f = static_cast<float>(x);
  return static_cast<double>(f) >= x ? f : std::nextafter(f, std::numeric_limits<float>::max());
}

// Calls `fn(j)` for every j < n with scores[j] >= threshold, ascending. Blocks of 16 scores with
// none that high are skipped with one vectorised comparison (most are). REQUIRES: `scores` has
// room for n rounded up to 16 entries.
template <typename Fn>
void ForEachAtLeast(const int32_t* scores, int n, int32_t threshold, Fn fn) {
#ifdef CLAIMMATCH_DENSE_SCAN_VNNI
  const __m512i t = _mm512_set1_epi32(threshold);
  for (int b = 0; b < n; b += 16) {
    uint32_t mask = _mm512_cmpge_epi32_mask(_mm512_loadu_si512(scores + b), t);
    while (mask != 0) {
      const int j = b + __builtin_ctz(mask);
      mask &= mask - 1;
      if (j < n) fn(j);
    }
  }
#elif defined(__AVX2__)
  if (threshold == std::numeric_limits<int32_t>::min()) {  // every row (threshold - 1 overflows)
    for (int j = 0; j < n; ++j) fn(j);
    return;
  }
  const __m256i t = _mm256_set1_epi32(threshold - 1);  // x >= threshold <=> x > threshold - 1
  for (int b = 0; b < n; b += 16) {
    const __m256i lo =
        _mm256_cmpgt_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scores + b)), t);
    const __m256i hi =
        _mm256_cmpgt_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scores + b + 8)), t);
    uint32_t mask = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(lo))) |
                    static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(hi))) << 8;
    while (mask != 0) {
      const int j = b + __builtin_ctz(mask);
      mask &= mask - 1;
      if (j < n) fn(j);
    }
  }
#else
  for (int b = 0; b < n; b += 16) {
    int32_t top = scores[b];
    for (int l = 1; l < 16; ++l) top = std::max(top, scores[b + l]);
    if (top < threshold) continue;
    const int end = std::min(n, b + 16);
    for (int j = b; j < end; ++j) {
      if (scores[j] >= threshold) fn(j);
    }
  }
#endif
}

// Rows per entry of DenseScan's group maxima (four blocks: one step of the AMX kernel).
constexpr int kRowGroup = 64;

// ForEachAtLeast over the groups of kRowGroup rows whose largest score (`row_group_max`,
// `row_groups` entries) reaches `threshold`; the others are not read.
template <typename Fn>
void ForEachAtLeastInGroups(const int32_t* scores, int n, const int32_t* row_group_max,
                            int row_groups, int32_t threshold, Fn fn) {
  for (int r = 0; r < row_groups; ++r) {
    if (row_group_max[r] < threshold) continue;
    const int base = r * kRowGroup;
    ForEachAtLeast(scores + base, std::min(kRowGroup, n - base), threshold,
                   [&](int j) { fn(base + j); });
  }
}

// The rows whose score in `scores` (n entries) is at least the c-th largest, and every row at or
// above a lower floor, both ascending.
struct TopRowsResult {
  std::vector<int> top;    // score >= the c-th largest (ties at it included)
  std::vector<int> above;  // score >= floor (a superset of `top`)
  int32_t floor;           // std::numeric_limits<int32_t>::min(): `above` holds every row
};

// Without group maxima: a floor from a sample of the scores that at least c rows reach; fills
// `rows` with those at or above it (ascending) and `kept` with their scores. REQUIRES: 0 < c < n.
int32_t SampledFloor(const int32_t* scores, int n, int c, std::vector<int>* rows,
                     std::vector<int32_t>* kept) {
  // A sample of every 64th row gives a floor that keeps about 2c-3c rows; those are ranked
  // exactly. An unlucky sample (fewer than c rows kept: about 1 query in 13 with the bundled
  // model) lowers the floor to deeper ranks of the sorted sample, and at the end to every row.
  constexpr int kStride = 64;
  std::vector<int32_t> sample;
  sample.reserve(n / kStride + 1);
  for (int j = 0; j < n; j += kStride) sample.push_back(scores[j]);
  const size_t first_rank = std::min(sample.size() - 1, static_cast<size_t>(2 * c / kStride));
  std::nth_element(sample.begin(), sample.begin() + first_rank, sample.end(),
                   std::greater<int32_t>());
  int32_t floor = sample[first_rank];
  auto collect = [&] {
    rows->clear();
    kept->clear();
    ForEachAtLeast(scores, n, floor, [&](int j) {
      rows->push_back(j);
      kept->push_back(scores[j]);
    });
  };
  collect();
  if (static_cast<int>(rows->size()) < c) {
    std::sort(sample.begin(), sample.end(), std::greater<int32_t>());
    for (size_t rank = 4 * (first_rank + 1); static_cast<int>(rows->size()) < c; rank *= 4) {
      floor = rank < sample.size() ? sample[rank] : std::numeric_limits<int32_t>::min();
      collect();
      if (rank >= sample.size()) break;  // every row ranked: holds n >= c rows
    }
  }
  return floor;
}

// Finds TopRowsResult's rows (their set depends only on the scores). With the largest score of
// each group of kRowGroup rows (`row_group_max`, `row_groups` entries; null: none), the floor is
// the c-th largest of those: c rows reach it, and only the groups whose largest does are read.
// REQUIRES: 0 < c <= n, `scores` as for ForEachAtLeast.
TopRowsResult TopRows(const int32_t* scores, int n, int c, const int32_t* row_group_max,
                      int row_groups) {
  TopRowsResult result;
  std::vector<int>& rows = result.above;
  if (c >= n) {
    rows.resize(n);
    for (int j = 0; j < n; ++j) rows[j] = j;
    result.top = rows;
    result.floor = std::numeric_limits<int32_t>::min();
    return result;
  }
  std::vector<int32_t> kept;  // scores of `rows`
  if (row_group_max != nullptr && row_groups >= c) {
    std::vector<int32_t> maxima(row_group_max, row_group_max + row_groups);
    std::nth_element(maxima.begin(), maxima.begin() + (c - 1), maxima.end(),
                     std::greater<int32_t>());
    result.floor = maxima[c - 1];
    ForEachAtLeastInGroups(scores, n, row_group_max, row_groups, result.floor, [&](int j) {
      rows.push_back(j);
      kept.push_back(scores[j]);
    });
  } else {
    result.floor = SampledFloor(scores, n, c, &rows, &kept);
  }
  std::nth_element(kept.begin(), kept.begin() + (c - 1), kept.end(), std::greater<int32_t>());
  const int32_t threshold = kept[c - 1];
  for (int j : rows) {
    if (scores[j] >= threshold) result.top.push_back(j);
  }
  return result;
}

// Integer scores of NQ queries (words: 4 query bytes per int32, `groups` per query) against the
// codes (see DenseScan's layout below): the portable loop, the reference of every kernel.
template <int NQ>
void ScoreBlocksPortable(const uint8_t* codes, int blocks, int groups, const int32_t* words,
                         int32_t* scores, int padded_rows) {
  for (int t = 0; t < NQ; ++t) {
    int8_t q[4];
    for (int b = 0; b < blocks; ++b) {
      int32_t acc[16] = {};
      const uint8_t* block = codes + static_cast<size_t>(b) * groups * 64;
      for (int g = 0; g < groups; ++g) {
        std::memcpy(q, &words[t * groups + g], 4);
        for (int l = 0; l < 16; ++l) {
          for (int i = 0; i < 4; ++i) acc[l] += block[g * 64 + l * 4 + i] * q[i];
        }
      }
      std::memcpy(scores + static_cast<size_t>(t) * padded_rows + b * 16, acc, sizeof(acc));
    }
  }
}

#ifdef CLAIMMATCH_DENSE_SCAN_X86
// The same integers with AVX-512 VNNI (vpdpbusd: unsigned code bytes times signed query bytes,
// four products summed into each 32-bit lane without saturation).
template <int NQ>
__attribute__((target("avx512f,avx512vnni"))) void ScoreBlocksVnni(const uint8_t* codes, int blocks,
                                                                   int groups, const int32_t* words,
                                                                   int32_t* scores,
                                                                   int padded_rows) {
  for (int b = 0; b < blocks; ++b) {
    __m512i acc[NQ];
    for (int t = 0; t < NQ; ++t) acc[t] = _mm512_setzero_si512();
    const uint8_t* block = codes + static_cast<size_t>(b) * groups * 64;
    for (int g = 0; g < groups; ++g) {
      const __m512i v = _mm512_loadu_si512(block + g * 64);
      for (int t = 0; t < NQ; ++t) {
        acc[t] = _mm512_dpbusd_epi32(acc[t], v, _mm512_set1_epi32(words[t * groups + g]));
      }
    }
    for (int t = 0; t < NQ; ++t) {
      _mm512_storeu_si512(scores + static_cast<size_t>(t) * padded_rows + b * 16, acc[t]);
    }
  }
}

// The same integers with AVX2: pmaddubsw multiplies the unsigned code bytes (x + 128 <= 255) by
// the signed query bytes and sums them in pairs into 16 bits, which saturate; the query bytes are
// therefore kept within +-63 for this kernel (pairs at most 2 * 255 * 63 = 32,130), so the
// integers are exact. pmaddwd by ones then sums the pairs into 32 bits.
template <int NQ>
__attribute__((target("avx2"))) void ScoreBlocksAvx2(const uint8_t* codes, int blocks, int groups,
                                                     const int32_t* words, int32_t* scores,
                                                     int padded_rows) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* block = codes + static_cast<size_t>(b) * groups * 64;
    for (int half = 0; half < 2; ++half) {  // rows 8 half .. 8 half + 7 of the block
      __m256i acc[NQ];
      for (int t = 0; t < NQ; ++t) acc[t] = _mm256_setzero_si256();
      for (int g = 0; g < groups; ++g) {
        const __m256i x =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + g * 64 + half * 32));
        for (int t = 0; t < NQ; ++t) {
          const __m256i z = _mm256_set1_epi32(words[t * groups + g]);
          acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(x, z), ones));
        }
      }
      for (int t = 0; t < NQ; ++t) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(
                                scores + static_cast<size_t>(t) * padded_rows + b * 16 + half * 8),
                            acc[t]);
      }
    }
  }
}

// The same as ScoreBlocksAvx2 on 128-bit registers (SSSE3's pmaddubsw).
template <int NQ>
__attribute__((target("ssse3"))) void ScoreBlocksSsse3(const uint8_t* codes, int blocks, int groups,
                                                       const int32_t* words, int32_t* scores,
                                                       int padded_rows) {
  const __m128i ones = _mm_set1_epi16(1);
  for (int b = 0; b < blocks; ++b) {
    const uint8_t* block = codes + static_cast<size_t>(b) * groups * 64;
    for (int quarter = 0; quarter < 4; ++quarter) {  // rows 4 quarter .. 4 quarter + 3
      __m128i acc[NQ];
      for (int t = 0; t < NQ; ++t) acc[t] = _mm_setzero_si128();
      for (int g = 0; g < groups; ++g) {
        const __m128i x =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + g * 64 + quarter * 16));
        for (int t = 0; t < NQ; ++t) {
          const __m128i z = _mm_set1_epi32(words[t * groups + g]);
          acc[t] = _mm_add_epi32(acc[t], _mm_madd_epi16(_mm_maddubs_epi16(x, z), ones));
        }
      }
      for (int t = 0; t < NQ; ++t) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(scores + static_cast<size_t>(t) * padded_rows +
                                                    b * 16 + quarter * 4),
                         acc[t]);
      }
    }
  }
}

// The same integers with AMX (Intel's tile matrix unit): tdpbsud multiplies a tile of signed
// bytes (16 queries x 64 of their bytes) by a tile of unsigned bytes (16 dimension groups x 16
// rows x 4 bytes: exactly a block's layout, 16 of its groups) and adds the 16 x 16 sums of four
// products into 32-bit lanes without saturation. Four blocks at a time share each query tile; the
// dimensions past the last whole 64 (400 = 6 x 64 + 16 with the bundled model) take a narrower
// pair of tiles. One instruction does 16,384 products where vpdpbusd does 64.
struct AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(AmxTileConfig) == 64, "ldtilecfg reads 64 bytes");

// `nq` queries (REQUIRES: a multiple of 16; their bytes consecutive,
// `z_stride` = groups * 4 bytes each) against every row (REQUIRES: `blocks` a multiple of 4), and
// for each query the largest score of each group of 64 rows (kRowGroup), padding rows included:
// row_group_max[q * row_groups + r] (the caller corrects the last group). For each step of four
// blocks (25.6 KB of codes with the bundled model: they stay in L1), every group of 16 queries
// takes its turn, so a pass of 64 queries reads the codes from memory once where the VNNI kernel's
// 16 would read them four times: with tiles the scan is bound by that read, not by the products.
__attribute__((target("amx-tile,amx-int8,avx512f"))) void ScoreBlocksAmx(
    const uint8_t* codes, int blocks, int groups, const uint8_t* z, int nq, int32_t* scores,
    int padded_rows, int32_t* row_group_max, int row_groups) {
  const int full = groups / 16;     // whole 64-byte chunks of a query
  const int tail = groups % 16;     // groups past them
  const int z_stride = groups * 4;  // bytes per query
  AmxTileConfig config;
  for (int t = 0; t < 4; ++t) {  // tmm0-3: accumulators, 16 queries x 16 rows
    config.rows[t] = 16;
    config.colsb[t] = 64;
  }
  config.rows[4] = 16;  // tmm4: 16 queries, 64 bytes each
  config.colsb[4] = 64;
  config.rows[5] = 16;  // tmm5: 16 groups of a block
  config.colsb[5] = 64;
  if (tail > 0) {
    config.rows[6] = 16;  // tmm6: the queries' last 4 * tail bytes
    config.colsb[6] = static_cast<uint16_t>(4 * tail);
    config.rows[7] = static_cast<uint8_t>(tail);  // tmm7: a block's last groups
    config.colsb[7] = 64;
  }
  _tile_loadconfig(&config);
  const size_t block_bytes = static_cast<size_t>(groups) * 64;
  const size_t score_stride = static_cast<size_t>(padded_rows) * sizeof(int32_t);
  for (int b = 0; b < blocks; b += 4) {
    const uint8_t* block = codes + b * block_bytes;
    for (int g = 0; g < nq; g += 16) {
      const uint8_t* zg = z + static_cast<size_t>(g) * z_stride;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int c = 0; c < full; ++c) {
        _tile_loadd(4, zg + 64 * c, z_stride);
        _tile_loadd(5, block + c * 1024, 64);
        _tile_dpbsud(0, 4, 5);
        _tile_loadd(5, block + block_bytes + c * 1024, 64);
        _tile_dpbsud(1, 4, 5);
        _tile_loadd(5, block + 2 * block_bytes + c * 1024, 64);
        _tile_dpbsud(2, 4, 5);
        _tile_loadd(5, block + 3 * block_bytes + c * 1024, 64);
        _tile_dpbsud(3, 4, 5);
      }
      if (tail > 0) {
        _tile_loadd(6, zg + 64 * full, z_stride);
        _tile_loadd(7, block + full * 1024, 64);
        _tile_dpbsud(0, 6, 7);
        _tile_loadd(7, block + block_bytes + full * 1024, 64);
        _tile_dpbsud(1, 6, 7);
        _tile_loadd(7, block + 2 * block_bytes + full * 1024, 64);
        _tile_dpbsud(2, 6, 7);
        _tile_loadd(7, block + 3 * block_bytes + full * 1024, 64);
        _tile_dpbsud(3, 6, 7);
      }
      int32_t* out = scores + static_cast<size_t>(g) * padded_rows + static_cast<size_t>(b) * 16;
      _tile_stored(0, out, score_stride);
      _tile_stored(1, out + 16, score_stride);
      _tile_stored(2, out + 32, score_stride);
      _tile_stored(3, out + 48, score_stride);
      // The 64 rows' largest score per query, read back while in L1.
      for (int t = 0; t < 16; ++t) {
        const int32_t* r = out + static_cast<size_t>(t) * padded_rows;
        const __m512i m = _mm512_max_epi32(
            _mm512_max_epi32(_mm512_loadu_si512(r), _mm512_loadu_si512(r + 16)),
            _mm512_max_epi32(_mm512_loadu_si512(r + 32), _mm512_loadu_si512(r + 48)));
        row_group_max[static_cast<size_t>(g + t) * row_groups + b / 4] = _mm512_reduce_max_epi32(m);
      }
    }
  }
  _tile_release();
}

// Whether this CPU has AMX-INT8 and the kernel lets this process use its tiles (Linux hands the
// tile state out on request: without arch_prctl's permission the first tile instruction faults).
bool AmxUsable() {
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    if ((edx >> 24 & 1) == 0 || (edx >> 25 & 1) == 0) return false;  // AMX-TILE, AMX-INT8
    __cpuid(1, eax, ebx, ecx, edx);
    if ((ecx >> 27 & 1) == 0) return false;  // OSXSAVE: xgetbv may run
    uint32_t xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo >> 17 & 3) != 3) return false;  // the OS saves TILECFG and TILEDATA
#ifdef SYS_arch_prctl
    constexpr long kArchReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
  }();
  return usable;
}
#endif  // CLAIMMATCH_DENSE_SCAN_X86

// The integer scores with `kernel` (REQUIRES: the CPU has it). The AVX-512 kernel keeps up to 16
// queries' accumulators in its 32 registers; the AVX2 and SSSE3 kernels, with 16 registers, take
// more than 8 queries in two passes (more accumulators would spill).
template <int NQ>
void ScoreBlocks(DenseScanKernel kernel, const uint8_t* codes, int blocks, int groups,
                 const int32_t* words, int32_t* scores, int padded_rows) {
  static_assert(NQ >= 1 && NQ <= 16, "at most 16 queries per pass");
  constexpr int kNarrow = 8;
  if constexpr (NQ > kNarrow) {
    if (kernel != DenseScanKernel::kAvx512Vnni) {
      ScoreBlocks<kNarrow>(kernel, codes, blocks, groups, words, scores, padded_rows);
      ScoreBlocks<NQ - kNarrow>(kernel, codes, blocks, groups, words + kNarrow * groups,
                                scores + static_cast<size_t>(kNarrow) * padded_rows, padded_rows);
      return;
    }
  }
  switch (kernel) {
#ifdef CLAIMMATCH_DENSE_SCAN_X86
    case DenseScanKernel::kAvx512Vnni:
      return ScoreBlocksVnni<NQ>(codes, blocks, groups, words, scores, padded_rows);
    case DenseScanKernel::kAvx2:
      return ScoreBlocksAvx2<NQ>(codes, blocks, groups, words, scores, padded_rows);
    case DenseScanKernel::kSsse3:
      return ScoreBlocksSsse3<NQ>(codes, blocks, groups, words, scores, padded_rows);
#endif
    default:
      return ScoreBlocksPortable<NQ>(codes, blocks, groups, words, scores, padded_rows);
  }
}

}  // namespace

// Layout of codes_: rows in blocks of kBlock (16); within block b, dimension group g (dimensions
// 4g .. 4g + 3) takes 64 bytes: row 16 b + l at bytes 4 l .. 4 l + 3, as unsigned bytes x + 128.
// A query's bytes z are signed, so an integer score is z . x + 128 sum(z) (offset removed later).
// Rows are padded (x = 0) to a multiple of four blocks, one step of the AMX kernel.
DenseScan::DenseScan(EmbeddingMatrix vectors, const DenseScanOptions& options)
    : vectors_(std::move(vectors)),
      options_(options),
      kernel_(options.kernel != DenseScanKernel::kAuto && Supported(options.kernel)
                  ? options.kernel
                  : BestKernel()) {
  static_assert(kBlock == 16, "the kernels assume 16 rows per block");
  const int n = size();
  const int d = dim();
  padded_dims_ = (d + 3) / 4 * 4;
  padded_rows_ = (n + kRowGroup - 1) / kRowGroup * kRowGroup;
  row_groups_ = padded_rows_ / kRowGroup;
  if (n == 0 || d == 0) return;
  scale_ = vectors_.cwiseAbs().colwise().maxCoeff() / 127.f;
  for (int c = 0; c < d; ++c) {
    if (!(scale_[c] > 0) || !std::isfinite(scale_[c])) scale_[c] = 1;
  }
  const int groups = padded_dims_ / 4;
  codes_.assign(static_cast<size_t>(padded_rows_) * padded_dims_, 128);
  error_norm_.resize(n);
  code_norm_.resize(n);
  for (int j = 0; j < n; ++j) {
    const int b = j / kBlock, l = j % kBlock;
    double err = 0, norm = 0, row = 0;
    for (int c = 0; c < d; ++c) {
      const float v = vectors_(j, c);
      const int x = static_cast<int>(std::clamp(std::lround(v / scale_[c]), -127L, 127L));
      codes_[(static_cast<size_t>(b) * groups + c / 4) * (kBlock * 4) + l * 4 + c % 4] =
          static_cast<uint8_t>(x + 128);
      const double e = static_cast<double>(v) - static_cast<double>(scale_[c]) * x;
      err += e * e;
      norm += static_cast<double>(x) * x;
      row += static_cast<double>(v) * v;
    }
    error_norm_[j] = RoundUp(std::sqrt(err) * (1 + 1e-9));
    code_norm_[j] = RoundUp(std::sqrt(norm) * (1 + 1e-9));
    max_error_norm_ = std::max(max_error_norm_, error_norm_[j]);
    max_code_norm_ = std::max(max_code_norm_, code_norm_[j]);
    max_row_norm_ = std::max(max_row_norm_, RoundUp(std::sqrt(row) * (1 + 1e-9)));
  }
}

float DenseScan::QuantiseQuery(const float* query, int8_t* z, float* residual,
                               int64_t* offset) const {
  const int d = dim();
  float top = 0;
  for (int c = 0; c < d; ++c) top = std::max(top, std::abs(query[c] * scale_[c]));
  std::memset(z, 0, padded_dims_);
  *offset = 0;
  const int levels = QueryLevels(kernel_);
  const float step = top / static_cast<float>(levels);
  if (!(step > 0) || !std::isfinite(step)) {
    *residual = 0;
    return 0;
  }
  double res = 0;
  for (int c = 0; c < d; ++c) {
    const double w = static_cast<double>(query[c]) * scale_[c];
    const long v = std::clamp(std::lround(w / step), -long{levels}, long{levels});
    z[c] = static_cast<int8_t>(v);
    *offset += 128 * v;
    const double r = w - static_cast<double>(step) * v;
    res += r * r;
  }
  *residual = RoundUp(std::sqrt(res) * (1 + 1e-9));
  return step;
}

bool DenseScan::IntegerScores(const int8_t* queries, int nq, int32_t* scores, bool portable,
                              int32_t* row_group_max) const {
  const int groups = padded_dims_ / 4;
  const int blocks = padded_rows_ / kBlock;
  const uint8_t* codes = codes_.data();
#ifdef CLAIMMATCH_DENSE_SCAN_X86
  if (!portable && kernel_ == DenseScanKernel::kAmx && nq >= kAmxMinQueries) {
    // Whole tiles of 16 queries: the missing ones are zero bytes (their rows of `scores`, for
    // which the caller leaves room, are written and never read).
    const int tiled = (nq + 15) / 16 * 16;
    std::vector<uint8_t> z(static_cast<size_t>(tiled) * padded_dims_, 0);
    std::memcpy(z.data(), queries, static_cast<size_t>(nq) * padded_dims_);
    ScoreBlocksAmx(codes, blocks, groups, z.data(), tiled, scores, padded_rows_, row_group_max,
                   row_groups_);
    // The last group's largest over its real rows only (a padding row's score is no row's).
    const int last = row_groups_ - 1;
    for (int t = 0; t < nq; ++t) {
      const int32_t* r = scores + static_cast<size_t>(t) * padded_rows_;
      int32_t top = std::numeric_limits<int32_t>::min();
      for (int j = last * kRowGroup; j < size(); ++j) top = std::max(top, r[j]);
      row_group_max[static_cast<size_t>(t) * row_groups_ + last] = top;
    }
    return true;
  }
#endif
  // A batch too small for tiles (a lone lookup: one query would fill 1/16 of each) takes AVX-512
  // VNNI, which every CPU with AMX has.
  const DenseScanKernel kernel =
      kernel_ == DenseScanKernel::kAmx ? DenseScanKernel::kAvx512Vnni : kernel_;
  std::vector<int32_t> words(static_cast<size_t>(nq) * groups);
  std::memcpy(words.data(), queries, static_cast<size_t>(nq) * padded_dims_);
  switch (nq) {
#define CM_DENSE_SCAN_CASE(N)                                                            \
  case N:                                                                                \
    if (portable) {                                                                      \
      ScoreBlocksPortable<N>(codes, blocks, groups, words.data(), scores, padded_rows_); \
    } else {                                                                             \
      ScoreBlocks<N>(kernel, codes, blocks, groups, words.data(), scores, padded_rows_); \
    }                                                                                    \
    break;
    CM_DENSE_SCAN_CASE(1)
    CM_DENSE_SCAN_CASE(2)
    CM_DENSE_SCAN_CASE(3)
    CM_DENSE_SCAN_CASE(4)
    CM_DENSE_SCAN_CASE(5)
    CM_DENSE_SCAN_CASE(6)
    CM_DENSE_SCAN_CASE(7)
    CM_DENSE_SCAN_CASE(8)
    CM_DENSE_SCAN_CASE(9)
    CM_DENSE_SCAN_CASE(10)
    CM_DENSE_SCAN_CASE(11)
    CM_DENSE_SCAN_CASE(12)
    CM_DENSE_SCAN_CASE(13)
    CM_DENSE_SCAN_CASE(14)
    CM_DENSE_SCAN_CASE(15)
    CM_DENSE_SCAN_CASE(16)
#undef CM_DENSE_SCAN_CASE
    default:
      break;
  }
  static_assert(kGroup == 16, "IntegerScores' other kernels handle up to 16 queries per pass");
  return false;
}

bool DenseScan::Supported(DenseScanKernel kernel) {
#ifdef CLAIMMATCH_DENSE_SCAN_X86
  __builtin_cpu_init();
  switch (kernel) {
    case DenseScanKernel::kAmx:  // small batches take the VNNI kernel
      return AmxUsable() && Supported(DenseScanKernel::kAvx512Vnni);
    case DenseScanKernel::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
    case DenseScanKernel::kAvx2:
      return __builtin_cpu_supports("avx2");
    case DenseScanKernel::kSsse3:
      return __builtin_cpu_supports("ssse3");
    default:
      return true;
  }
#else
  return kernel == DenseScanKernel::kPortable || kernel == DenseScanKernel::kAuto;
#endif
}

DenseScanKernel DenseScan::BestKernel() {
  for (const DenseScanKernel k : {DenseScanKernel::kAmx, DenseScanKernel::kAvx512Vnni,
                                  DenseScanKernel::kAvx2, DenseScanKernel::kSsse3}) {
    if (Supported(k)) return k;
  }
  return DenseScanKernel::kPortable;
}

const char* DenseScan::KernelName(DenseScanKernel kernel) {
  switch (kernel) {
    case DenseScanKernel::kAmx:
      return "amx-int8";
    case DenseScanKernel::kAvx512Vnni:
      return "avx512-vnni";
    case DenseScanKernel::kAvx2:
      return "avx2";
    case DenseScanKernel::kSsse3:
      return "ssse3";
    case DenseScanKernel::kPortable:
      return "portable";
    default:
      return "auto";
  }
}

template <typename Fn>
void DenseScan::ScorePasses(const EmbeddingMatrix& queries, bool portable, Fn fn) const {
  // Room for one pass (up to PassQueries() queries, fewer for a smaller batch: a lone query's
  // scores are 77 KB at 19,250 rows, not 16 x that; AMX: rounded up to whole tiles of 16);
  // every entry read is written by IntegerScores first.
  const int most = portable ? kGroup : PassQueries();
  const int pass = static_cast<int>(std::min<Eigen::Index>(most, queries.rows()));
  const int room = kernel_ == DenseScanKernel::kAmx && !portable ? (pass + 15) / 16 * 16 : pass;
  std::vector<int8_t> z(static_cast<size_t>(pass) * padded_dims_);
  const std::unique_ptr<int32_t[]> scores(new int32_t[static_cast<size_t>(room) * padded_rows_]);
  const std::unique_ptr<int32_t[]> row_group_max(
      new int32_t[static_cast<size_t>(room) * row_groups_]);
  float step[kAmxGroup], residual[kAmxGroup];
  int64_t offset[kAmxGroup];
  for (Eigen::Index b = 0; b < queries.rows(); b += most) {
    const int m = static_cast<int>(std::min<Eigen::Index>(most, queries.rows() - b));
    for (int t = 0; t < m; ++t) {
      step[t] = QuantiseQuery(queries.row(b + t).data(), z.data() + t * padded_dims_, &residual[t],
                              &offset[t]);
    }
    const bool maxima = IntegerScores(z.data(), m, scores.get(), portable, row_group_max.get());
    fn(b, m, static_cast<const int32_t*>(scores.get()),
       maxima ? static_cast<const int32_t*>(row_group_max.get()) : nullptr, step, residual, offset);
  }
}

std::vector<std::vector<int32_t>> DenseScan::IntegerScoresForTest(const EmbeddingMatrix& queries,
                                                                  bool portable) const {
  std::vector<std::vector<int32_t>> out;
  if (size() == 0 || queries.cols() != dim()) return out;
  ScorePasses(queries, portable,
              [&](Eigen::Index, int m, const int32_t* scores, const int32_t*, const float*,
                  const float*, const int64_t*) {
                for (int t = 0; t < m; ++t) {
                  const int32_t* first = scores + static_cast<size_t>(t) * padded_rows_;
                  out.emplace_back(first, first + size());
                }
              });
  return out;
}

void DenseScan::Dots(const EmbeddingMatrix& queries, Eigen::Index q, const std::vector<int>& rows,
                     std::vector<float>* out) const {
  constexpr size_t kAhead = 4;  // rows prefetched ahead
  const size_t row_bytes = static_cast<size_t>(dim()) * sizeof(float);
  auto prefetch = [&](int j) {
    const char* p = reinterpret_cast<const char*>(vectors_.row(j).data());
    for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b);
  };
  for (size_t i = 0; i < std::min(kAhead, rows.size()); ++i) prefetch(rows[i]);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i + kAhead < rows.size()) prefetch(rows[i + kAhead]);
    out->push_back(vectors_.row(rows[i]).dot(queries.row(q)));
  }
}

void DenseScan::KeepBest(std::vector<Hit>& hits, int k) {
  const auto better = [](const Hit& a, const Hit& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const size_t top = std::min(hits.size(), static_cast<size_t>(k));
  std::partial_sort(hits.begin(), hits.begin() + top, hits.end(), better);
  hits.resize(top);
}

std::vector<DenseScan::Hit> DenseScan::SearchOne(const EmbeddingMatrix& queries, Eigen::Index q,
                                                 const int32_t* scores,
                                                 const int32_t* row_group_max, float step,
                                                 float residual, int64_t offset, int k,
                                                 int64_t* scored) const {
  const int n = size();
  std::vector<Hit> hits;
  if (!(step > 0)) {  // a zero query (or one the quantiser cannot scale): score every row
    hits.reserve(n);
    for (int j = 0; j < n; ++j) hits.emplace_back(j, vectors_.row(j).dot(queries.row(q)));
    if (scored != nullptr) *scored += n;
    KeepBest(hits, k);
    return hits;
  }
  const TopRowsResult top_rows =
      TopRows(scores, n, std::min(n, k + options_.extra_candidates), row_group_max, row_groups_);
  const std::vector<int>& first = top_rows.top;
  std::vector<float> dots;
  dots.reserve(first.size() + 64);
  Dots(queries, q, first, &dots);
  std::vector<float> best = dots;
  std::nth_element(best.begin(), best.begin() + (k - 1), best.end(), std::greater<float>());
  const double tau = best[k - 1];  // at most the k-th best score of all rows
  const double qnorm = queries.row(q).cast<double>().norm();
  // Float rounding of a d-term dot product: at most about d * 2^-24 * |q| |v|.
  const double margin = (4e-7 * dim() + 1e-5) * qnorm * max_row_norm_;
  const double e_max = qnorm * max_error_norm_ + static_cast<double>(residual) * max_code_norm_;
  const double floor = tau - margin;
  const double s_min = std::floor((floor - e_max) / step) + static_cast<double>(offset) - 1;
  const int32_t s_thr =
      s_min <= std::numeric_limits<int32_t>::min()
          ? std::numeric_limits<int32_t>::min()
          : static_cast<int32_t>(std::min<double>(s_min, std::numeric_limits<int32_t>::max()));
  std::vector<int> more;
  size_t f = 0;
  const auto consider = [&](int j) {
    while (f < first.size() && first[f] < j) ++f;
    if (f < first.size() && first[f] == j) return;  // scored already
    const double a = static_cast<double>(step) * (static_cast<double>(scores[j]) - offset);
    const double e = qnorm * error_norm_[j] + static_cast<double>(residual) * code_norm_[j];
    if (a + e >= floor) more.push_back(j);
  };
  if (s_thr >= top_rows.floor) {
    // Usually: every row at or above s_thr was collected already; no second pass over the scores.
    for (const int j : top_rows.above) {
      if (scores[j] >= s_thr) consider(j);
    }
  } else if (row_group_max != nullptr) {
    ForEachAtLeastInGroups(scores, n, row_group_max, row_groups_, s_thr, consider);
  } else {
    ForEachAtLeast(scores, n, s_thr, consider);
  }
  Dots(queries, q, more, &dots);
  hits.reserve(dots.size());
  for (size_t i = 0; i < first.size(); ++i) hits.emplace_back(first[i], dots[i]);
  for (size_t i = 0; i < more.size(); ++i) hits.emplace_back(more[i], dots[first.size() + i]);
  if (scored != nullptr) *scored += static_cast<int64_t>(hits.size());
  KeepBest(hits, k);
  return hits;
}

std::vector<std::vector<DenseScan::Hit>> DenseScan::SearchExact(const EmbeddingMatrix& queries,
                                                                int k) const {
  std::vector<std::vector<Hit>> out(queries.rows());
  if (k <= 0 || size() == 0) return out;
  for (Eigen::Index q = 0; q < queries.rows(); ++q) {
    std::vector<Hit>& hits = out[q];
    hits.reserve(size());
    for (int j = 0; j < size(); ++j) hits.emplace_back(j, vectors_.row(j).dot(queries.row(q)));
    KeepBest(hits, k);
  }
  return out;
}

std::vector<std::vector<DenseScan::Hit>> DenseScan::Search(const EmbeddingMatrix& queries, int k,
                                                           int64_t* scored) const {
  const int n = size();
  if (k <= 0 || n == 0) return std::vector<std::vector<Hit>>(queries.rows());
  k = std::min(k, n);
  if (!options_.prefilter || n <= k + options_.extra_candidates) {
    if (scored != nullptr) *scored += static_cast<int64_t>(n) * queries.rows();
    return SearchExact(queries, k);
  }
  std::vector<std::vector<Hit>> out(queries.rows());
  ScorePasses(queries, /*portable=*/false,
              [&](Eigen::Index b, int m, const int32_t* scores, const int32_t* row_group_max,
                  const float* step, const float* residual, const int64_t* offset) {
                for (int t = 0; t < m; ++t) {
                  out[b + t] =
                      SearchOne(queries, b + t, scores + static_cast<size_t>(t) * padded_rows_,
                                row_group_max == nullptr
                                    ? nullptr
                                    : row_group_max + static_cast<size_t>(t) * row_groups_,
                                step[t], residual[t], offset[t], k, scored);
                }
              });
  return out;
}

}  // namespace claimmatch
