// Encoding throughput of a static model (default: the bundled models/default; CLAIMMATCH_MODEL
// overrides) on one thread, for tweet-length text. Items/s = sentences/s.
//   BM_StaticEncode      tokenisation + pooling + normalisation (SentenceEncoder::Encode) of
//                        20-word sentences over a 32-word vocabulary
//   BM_StaticTokenize    tokenisation alone, same sentences
//   BM_StaticEncodeFile  Encode of the lines of CLAIMMATCH_BENCH_TEXT (one text per line: real
//                        text, e.g. tweets), skipped when unset
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "embeddings/sentence_encoder.h"

namespace claimmatch {
namespace {

std::string ModelDir() {
  const char* e = std::getenv("CLAIMMATCH_MODEL");
  return e != nullptr && *e != '\0' ? e : CLAIMMATCH_SOURCE_DIR "/models/default";
}

// 1,000 tweet-length sentences (~20 words, ~120 characters) from a fixed word list.
std::vector<std::string> Tweets() {
  static const char* kWords[] = {
      "the",    "president", "said",   "vaccine", "covid",    "new",      "video", "shows",
      "police", "million",   "people", "claims",  "trump",    "biden",    "water", "fires",
      "tax",    "border",    "health", "school",  "children", "workers",  "bill",  "state",
      "viral",  "photo",     "fake",   "news",    "report",   "election", "votes", "money"};
  std::vector<std::string> out;
  uint32_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    std::string s;
    for (int w = 0; w < 20; ++w) {
      x = x * 1664525u + 1013904223u;
      if (w > 0) s += ' ';
      s += kWords[(x >> 16) % 32];
    }
    out.push_back(s);
  }
  return out;
}

// Lines of CLAIMMATCH_BENCH_TEXT (one text per line), or empty.
std::vector<std::string> FileTexts() {
  std::vector<std::string> out;
  const char* path = std::getenv("CLAIMMATCH_BENCH_TEXT");
  if (path == nullptr) return out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

const SentenceEncoder* Encoder() {
  static const SentenceEncoder* enc = [] {
    EncoderOptions o;
    o.threads = 1;
    auto e = LoadSentenceEncoder(ModelDir(), o);
    return e.ok() ? e->release() : nullptr;
  }();
  return enc;
}

void BM_StaticEncode(benchmark::State& state) {
  const SentenceEncoder* enc = Encoder();
  if (enc == nullptr) {
    state.SkipWithError("cannot load the model (set CLAIMMATCH_MODEL)");
    return;
  }
  const std::vector<std::string> texts = Tweets();
  for (auto _ : state) {
    auto out = enc->Encode(texts);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}
BENCHMARK(BM_StaticEncode)->Unit(benchmark::kMillisecond);

void BM_StaticTokenize(benchmark::State& state) {
  const SentenceEncoder* enc = Encoder();
  if (enc == nullptr) {
    state.SkipWithError("cannot load the model (set CLAIMMATCH_MODEL)");
    return;
  }
  const std::vector<std::string> texts = Tweets();
  for (auto _ : state) {
    for (const std::string& t : texts) benchmark::DoNotOptimize(enc->Tokenize(t));
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}
BENCHMARK(BM_StaticTokenize)->Unit(benchmark::kMillisecond);

void BM_StaticEncodeFile(benchmark::State& state) {
  const SentenceEncoder* enc = Encoder();
  const std::vector<std::string> texts = FileTexts();
  if (enc == nullptr || texts.empty()) {
    state.SkipWithError("needs the model and CLAIMMATCH_BENCH_TEXT");
    return;
  }
  for (auto _ : state) {
    auto out = enc->Encode(texts);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}
BENCHMARK(BM_StaticEncodeFile)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace claimmatch

BENCHMARK_MAIN();
