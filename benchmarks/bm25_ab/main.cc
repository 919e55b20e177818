// bm25_ab.sh's driver: two builds of Bm25Index (sides A and B) in one process, the same queries
// through each in alternation, so that the machine's drift (on a shared host the speed of a core
// can change 2x within seconds) falls on both alike. Prints per-query times, the ratio B/A over
// all rounds and its spread over rounds, and how many results differ (hits compared by hash).
//
// Usage: bm25_ab INDEX_FILE QUERIES [search|batch] [ROUNDS] [K] [MAX_QUERIES]
//   QUERIES: one query per line; a line with a tab keeps what follows the first tab (id<TAB>text).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

extern "C" void* Bm25AbLoadA(const char*);
extern "C" void* Bm25AbLoadB(const char*);
extern "C" uint64_t Bm25AbSearchA(const void*, const char*, int);
extern "C" uint64_t Bm25AbSearchB(const void*, const char*, int);
extern "C" uint64_t Bm25AbBatchA(const void*, const char* const*, int, int);
extern "C" uint64_t Bm25AbBatchB(const void*, const char* const*, int, int);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s INDEX_FILE QUERIES [search|batch] [ROUNDS] [K] [MAX]\n",
                 argv[0]);
    return 2;
  }
  const bool batch = argc > 3 && std::strcmp(argv[3], "batch") == 0;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 5;
  const int k = argc > 5 ? std::atoi(argv[5]) : 60;
  const size_t max_queries = argc > 6 ? std::strtoul(argv[6], nullptr, 10) : 4096;
  std::vector<std::string> queries;
  std::ifstream in(argv[2]);
  for (std::string line; queries.size() < max_queries && std::getline(in, line);) {
    const size_t tab = line.find('\t');
    queries.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  if (queries.empty() || rounds < 1) {
    std::fprintf(stderr, "no queries in %s (or ROUNDS < 1)\n", argv[2]);
    return 2;
  }
  std::vector<const char*> texts;
  for (const std::string& q : queries) texts.push_back(q.c_str());
  // Which side loads first is an environment choice (AB_LOAD=BA: B first): run both orders when a
  // difference is small (see bm25_ab.sh).
  const char* order = std::getenv("AB_LOAD");
  const bool b_first = order != nullptr && std::strcmp(order, "BA") == 0;
  const void* b = b_first ? Bm25AbLoadB(argv[1]) : nullptr;
  const void* a = Bm25AbLoadA(argv[1]);
  if (!b_first) b = Bm25AbLoadB(argv[1]);
  // Units of work: one query (search), or 64 queries through one batch call (batch).
  const size_t unit = batch ? 64 : 1;
  using Clock = std::chrono::steady_clock;
  double total_a = 0, total_b = 0;
  std::vector<double> ratios;
  int64_t differing = 0;
  for (int r = 0; r < rounds; ++r) {
    double round_a = 0, round_b = 0;
    for (size_t first = 0; first < texts.size(); first += unit) {
      const int n = static_cast<int>(std::min(unit, texts.size() - first));
      uint64_t hash[2];
      for (int side = 0; side < 2; ++side) {
        const bool is_a = (side == 0) == ((first / unit + r) % 2 == 0);  // alternate who goes first
        const auto t0 = Clock::now();
        const uint64_t h =
            batch ? (is_a ? Bm25AbBatchA(a, &texts[first], n, k)
                          : Bm25AbBatchB(b, &texts[first], n, k))
                  : (is_a ? Bm25AbSearchA(a, texts[first], k) : Bm25AbSearchB(b, texts[first], k));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        (is_a ? round_a : round_b) += ms;
        hash[is_a ? 0 : 1] = h;
      }
      if (hash[0] != hash[1]) ++differing;
    }
    total_a += round_a;
    total_b += round_b;
    ratios.push_back(round_b / round_a);
  }
  std::sort(ratios.begin(), ratios.end());
  const double per = static_cast<double>(rounds) * static_cast<double>(texts.size());
  std::printf(
      "%s, load %s, %zu queries x %d rounds, k=%d: A %.4f ms/query, B %.4f ms/query, B/A %.3f "
      "(rounds %.3f-%.3f), results differing in %lld of %zu units\n",
      batch ? "batch" : "search", b_first ? "B then A" : "A then B", texts.size(), rounds, k,
      total_a / per, total_b / per, total_b / total_a, ratios.front(), ratios.back(),
      static_cast<long long>(differing),
      static_cast<size_t>(rounds) * ((texts.size() + unit - 1) / unit));
  return 0;
}
