// DenseScan: the prefiltered search returns exactly the exact scan's top k (structured and random
// data, ties, zero queries) and does not depend on the batch a query comes in.
#include "engine/dense_scan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace claimmatch {
namespace {

using ::testing::SizeIs;

// Uniform in [-1, 1) from a fixed-seed mt19937 (same numbers on every platform).
class Noise {
 public:
  explicit Noise(uint32_t seed) : gen_(seed) {}
  float Next() { return static_cast<float>(gen_()) / 2147483648.f - 1.f; }

 private:
  std::mt19937 gen_;
};

// `n` unit rows of width `d` near a `rank`-dimensional subspace: `clusters` centres in it, each
// row a centre plus in-subspace spread plus a little full-width noise.
EmbeddingMatrix Structured(int n, int d, int rank, int clusters, uint32_t seed) {
  Noise noise(seed);
  EmbeddingMatrix basis(rank, d);
  for (int i = 0; i < rank; ++i) {
    for (int j = 0; j < d; ++j) basis(i, j) = noise.Next();
  }
  EmbeddingMatrix centres(clusters, rank);
  for (int c = 0; c < clusters; ++c) {
    for (int i = 0; i < rank; ++i) centres(c, i) = noise.Next();
  }
  EmbeddingMatrix out(n, d);
  for (int r = 0; r < n; ++r) {
    EmbeddingRow coords = centres.row(r % clusters);
    for (int i = 0; i < rank; ++i) coords[i] += 0.4f * noise.Next();
    out.row(r) = coords * basis;
    for (int j = 0; j < d; ++j) out(r, j) += 0.02f * noise.Next();
    out.row(r).normalize();
  }
  return out;
}

// `n` unit rows of width `d`, uniformly random directions (no structure at all).
EmbeddingMatrix Random(int n, int d, uint32_t seed) {
  Noise noise(seed);
  EmbeddingMatrix out(n, d);
  for (int r = 0; r < n; ++r) {
    for (int j = 0; j < d; ++j) out(r, j) = noise.Next();
    out.row(r).normalize();
  }
  return out;
}

// Every kernel this CPU can run (the test names those it cannot) gives exactly the portable
// loop's integers, for every batch size, rows that fill no whole block and widths that fill no
// whole group of 4; and Search with it equals the exact scan. A row holding every column's largest
// magnitude quantises to x = 127 everywhere, so its integer score is (127 + 128) sum(z).
TEST(DenseScanTest, EveryKernelGivesThePortableIntegers) {
  EXPECT_TRUE(DenseScan::Supported(DenseScanKernel::kPortable));
  EXPECT_TRUE(DenseScan::Supported(DenseScan::BestKernel()));
  int tested = 0;
  for (const DenseScanKernel kernel :
       {DenseScanKernel::kPortable, DenseScanKernel::kSsse3, DenseScanKernel::kAvx2,
        DenseScanKernel::kAvx512Vnni, DenseScanKernel::kAmx}) {
    const char* name = DenseScan::KernelName(kernel);
    if (!DenseScan::Supported(kernel)) {
      std::printf("[   INFO   ] kernel %s: not supported by this CPU, not tested\n", name);
      continue;
    }
    ++tested;
    for (const int d : {37, 64, 400}) {
      EmbeddingMatrix rows = Random(101, d, 7 + d);
      rows.row(0).setConstant(1.f / std::sqrt(static_cast<float>(d)));
      for (int r = 1; r < rows.rows(); ++r) rows.row(r) *= 0.1f;
      DenseScanOptions options;
      options.kernel = kernel;
      const DenseScan scan(rows, options);
      ASSERT_EQ(scan.kernel(), kernel) << name;
      // One pass holds up to 16 queries (AVX2 and SSSE3: two halves of up to 8); 17 takes two.
      // AMX: up to 64 in tiles of 16 (the last one padded), fewer than 4 by the VNNI kernel.
      for (const int nq : {1, 3, 4, 8, 9, 16, 17, 33, 64, 65}) {
        const EmbeddingMatrix queries = Random(nq, d, 100 + nq);
        const auto integers = scan.IntegerScoresForTest(queries, /*portable=*/false);
        const auto portable = scan.IntegerScoresForTest(queries, /*portable=*/true);
        ASSERT_THAT(integers, SizeIs(nq)) << name;
        ASSERT_THAT(portable, SizeIs(nq));
        for (int q = 0; q < nq; ++q) {
          ASSERT_THAT(integers[q], SizeIs(101));
          EXPECT_EQ(integers[q], portable[q]) << name << " d=" << d << " q=" << q;
          EXPECT_EQ(integers[q][0] % 255, 0) << name << " " << integers[q][0];
          EXPECT_NE(integers[q][0], integers[q][1]) << name;
        }
        EXPECT_EQ(scan.Search(queries, 10), scan.SearchExact(queries, 10)) << name;
      }
    }
  }
  EXPECT_GE(tested, 1);
  const EmbeddingMatrix wrong = Random(2, 36, 1);
  EXPECT_TRUE(DenseScan(Random(10, 37, 2)).IntegerScoresForTest(wrong, false).empty());
  // A kernel the CPU lacks falls back to the best one it has.
  DenseScanOptions options;
  options.kernel = DenseScanKernel::kAvx512Vnni;
  const DenseScan fallback(Random(20, 8, 3), options);
  EXPECT_TRUE(DenseScan::Supported(fallback.kernel()));
}

TEST(DenseScanTest, SmallSetsAreScannedExactly) {
  const EmbeddingMatrix rows = Structured(40, 32, 8, 5, 1);
  const DenseScan scan(rows);  // 40 rows <= k + 16: every row scored in float
  const EmbeddingMatrix queries = Structured(7, 32, 8, 5, 2);
  int64_t scored = 0;
  EXPECT_EQ(scan.Search(queries, 30, &scored), scan.SearchExact(queries, 30));
  EXPECT_EQ(scored, 7 * 40);
}

// The prefilter only skips rows it proves to be below the k-th score: Search returns exactly what
// scoring every row does (rows, order, bit-identical scores), on structured and on random data,
// with a width that is not a multiple of 4, and for k from 1 to 100.
TEST(DenseScanTest, SearchEqualsTheExactScan) {
  struct Case {
    EmbeddingMatrix rows, queries;
  };
  const std::vector<Case> cases = {
      {Structured(5000, 64, 12, 50, 3), Structured(40, 64, 12, 50, 4)},
      {Random(3000, 42, 5), Random(40, 42, 6)},
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const DenseScan scan(cases[c].rows);
    for (int k : {1, 10, 50, 100}) {
      int64_t scored = 0;
      const auto fast = scan.Search(cases[c].queries, k, &scored);
      const auto exact = scan.SearchExact(cases[c].queries, k);
      ASSERT_THAT(fast, SizeIs(40));
      for (int q = 0; q < 40; ++q) {
        EXPECT_EQ(fast[q], exact[q]) << "case " << c << " k " << k << " query " << q;
        ASSERT_THAT(fast[q], SizeIs(k));
        for (const auto& [j, score] : fast[q]) {
          EXPECT_EQ(score, scan.vectors().row(j).dot(cases[c].queries.row(q)));
        }
      }
      if (c == 0) {  // structured data: far fewer rows scored in float than held
        EXPECT_LT(scored, 40 * 5000 / 4) << "k " << k;
      }
    }
  }
}

// The first candidates come from a floor taken on a sample of every 64th row. When the sampled
// rows are the best ones, the floor keeps fewer than k + extra rows and is lowered step by step
// (to every row at the end): the result is still exactly the exact scan's.
TEST(DenseScanTest, AnUnluckySampleStillGivesTheExactTopK) {
  constexpr int kRows = 4096, kDim = 32;
  EmbeddingMatrix rows = Random(kRows, kDim, 9);
  const EmbeddingMatrix queries = Random(3, kDim, 10);
  Noise noise(11);
  for (int j = 0; j < kRows; j += 64) {  // the sampled rows: near query 0 (or 1, every other)
    for (int c = 0; c < kDim; ++c) rows(j, c) = queries((j / 64) % 2, c) + 0.2f * noise.Next();
    rows.row(j).normalize();
  }
  for (int j = 1; j < kRows; j += 128) {  // some unsampled rows near query 0 as well
    for (int c = 0; c < kDim; ++c) rows(j, c) = queries(0, c) + 0.3f * noise.Next();
    rows.row(j).normalize();
  }
  const DenseScan scan(rows);
  for (int k : {1, 5, 10, 30, 50, 100}) {
    EXPECT_EQ(scan.Search(queries, k), scan.SearchExact(queries, k)) << "k " << k;
  }
}

TEST(DenseScanTest, TiesAndZeroQueriesFollowTheExactOrder) {
  // Every row twice: equal scores, broken by the smaller row index.
  const EmbeddingMatrix half = Structured(600, 24, 6, 20, 7);
  EmbeddingMatrix rows(1200, 24);
  rows << half, half;
  const DenseScan scan(rows);
  EmbeddingMatrix queries = Structured(5, 24, 6, 20, 8);
  queries.row(4).setZero();  // every score 0: the first k rows
  const auto fast = scan.Search(queries, 20);
  EXPECT_EQ(fast, scan.SearchExact(queries, 20));
  ASSERT_THAT(fast[4], SizeIs(20));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fast[4][i], DenseScan::Hit(i, 0.f));
}

TEST(DenseScanTest, ResultsDoNotDependOnTheBatch) {
  const EmbeddingMatrix rows = Structured(3000, 48, 10, 30, 5);
  const DenseScan scan(rows);
  const EmbeddingMatrix queries = Structured(11, 48, 10, 30, 6);
  const auto batch = scan.Search(queries, 20);
  for (int q = 0; q < 11; ++q) {
    const EmbeddingMatrix one = queries.row(q);
    EXPECT_EQ(scan.Search(one, 20)[0], batch[q]) << "query " << q;
  }
  const EmbeddingMatrix tail = queries.bottomRows(6);
  const auto part = scan.Search(tail, 20);
  for (int q = 0; q < 6; ++q) EXPECT_EQ(part[q], batch[5 + q]) << "query " << 5 + q;
}

}  // namespace
}  // namespace claimmatch
