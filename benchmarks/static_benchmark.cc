// Encoding throughput of a static model (default: the bundled models/default; CLAIMMATCH_MODEL
// overrides) on one thread, for tweet-length text. Items/s = sentences/s.
//   BM_StaticEncode      tokenisation + pooling + normalisation (SentenceEncoder::Encode) of
//                        20-word sentences over a 32-word vocabulary
//   BM_StaticTokenize    tokenisation alone, same sentences (the word cache is warm: 32 words)
//   BM_StaticTokenizeNoCache  the same with the tokenizer's word cache off (plain sentencepiece)
//   BM_StaticEncodeTweets/0   Encode of the 199 real tweets of tests/data/claims-dev/tweets-dev.tsv
//                        by a freshly loaded model (cold word cache: ~60% of the words are new)
//   BM_StaticEncodeTweets/1   the same with the word cache warm
//   BM_StaticEncodeFile/0, /1  Encode of the lines of CLAIMMATCH_BENCH_TEXT (one text per line:
//                        real text, e.g. tweets), cold and warm as above; skipped when unset
//   BM_StaticNightlyEncode/<n>    what a nightly batch sees: ONE pass of Encode over the first n
//                        lines of CLAIMMATCH_BENCH_NIGHTLY (0: all; distinct real texts), in
//                        batches of 1,000, by a freshly loaded model (the word cache starts empty
//                        and fills during the pass); skipped when unset
//   BM_StaticNightlyTokenize/<n>  the same pass, tokenisation alone (fresh Tokenizer, cache on)
//   BM_StaticNightlySpm/<n>       the same texts tokenised by plain sentencepiece (cache off)
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/tokenizer.h"

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

// Lines of `path` (one text per line; with `tsv`, the second tab-separated column), or empty.
std::vector<std::string> FileTexts(const char* path, bool tsv = false) {
  std::vector<std::string> out;
  if (path == nullptr) return out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (tsv) {
      const size_t tab = line.find('\t');
      line = tab == std::string::npos ? "" : line.substr(tab + 1);
    }
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::unique_ptr<SentenceEncoder> LoadEncoder() {
  EncoderOptions o;
  o.threads = 1;
  auto e = LoadSentenceEncoder(ModelDir(), o);
  return e.ok() ? *std::move(e) : nullptr;
}

const SentenceEncoder* Encoder() {
  static const SentenceEncoder* enc = LoadEncoder().release();
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

void BM_StaticTokenizeNoCache(benchmark::State& state) {
  TokenizerOptions o;
  o.word_cache_size = 0;
  auto tok = Tokenizer::Load(ModelDir() + "/sentencepiece.bpe.model", o);
  if (!tok.ok()) {
    state.SkipWithError("cannot load the tokenizer (set CLAIMMATCH_MODEL)");
    return;
  }
  const std::vector<std::string> texts = Tweets();
  for (auto _ : state) {
    for (const std::string& t : texts) benchmark::DoNotOptimize((*tok)->Encode(t, 512));
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}
BENCHMARK(BM_StaticTokenizeNoCache)->Unit(benchmark::kMillisecond);

// Encode of `texts`; range(0) == 0: by a freshly loaded model each iteration (cold word cache),
// 1: by one model whose cache has seen the texts once (warm).
void EncodeColdOrWarm(benchmark::State& state, const std::vector<std::string>& texts) {
  const bool warm = state.range(0) == 1;
  std::unique_ptr<SentenceEncoder> enc = LoadEncoder();
  if (enc == nullptr || texts.empty()) {
    state.SkipWithError("needs the model and the texts");
    return;
  }
  if (warm) benchmark::DoNotOptimize(enc->Encode(texts));
  for (auto _ : state) {
    if (!warm) {
      state.PauseTiming();
      enc = LoadEncoder();
      state.ResumeTiming();
    }
    auto out = enc->Encode(texts);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}

void BM_StaticEncodeTweets(benchmark::State& state) {
  EncodeColdOrWarm(state, FileTexts(CLAIMMATCH_SOURCE_DIR "/tests/data/claims-dev/tweets-dev.tsv",
                                    /*tsv=*/true));
}
BENCHMARK(BM_StaticEncodeTweets)->Arg(0)->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StaticEncodeTweets)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_StaticEncodeFile(benchmark::State& state) {
  EncodeColdOrWarm(state, FileTexts(std::getenv("CLAIMMATCH_BENCH_TEXT")));
}
BENCHMARK(BM_StaticEncodeFile)->Arg(0)->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StaticEncodeFile)->Arg(1)->Unit(benchmark::kMillisecond);

const std::vector<std::string>& NightlyTexts() {
  static const auto* texts =
      new std::vector<std::string>(FileTexts(std::getenv("CLAIMMATCH_BENCH_NIGHTLY")));
  return *texts;
}

// The first range(0) nightly texts (0: all), or an empty span.
absl::Span<const std::string> NightlyPrefix(const benchmark::State& state) {
  const std::vector<std::string>& all = NightlyTexts();
  const size_t n = state.range(0) == 0 ? all.size() : static_cast<size_t>(state.range(0));
  if (all.empty() || n > all.size()) return {};
  return absl::MakeConstSpan(all).first(n);
}

void BM_StaticNightlyEncode(benchmark::State& state) {
  const absl::Span<const std::string> texts = NightlyPrefix(state);
  if (texts.empty()) {
    state.SkipWithError("set CLAIMMATCH_BENCH_NIGHTLY to a file with enough lines");
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<SentenceEncoder> enc = LoadEncoder();
    state.ResumeTiming();
    for (size_t i = 0; i < texts.size(); i += 1000) {
      auto out = enc->Encode(texts.subspan(i, 1000));
      benchmark::DoNotOptimize(out);
    }
    state.PauseTiming();
    enc.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}
BENCHMARK(BM_StaticNightlyEncode)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// One pass over the first range(0) nightly texts by a fresh tokenizer with `cache_size`.
void NightlyTokenize(benchmark::State& state, int cache_size) {
  const absl::Span<const std::string> texts = NightlyPrefix(state);
  if (texts.empty()) {
    state.SkipWithError("set CLAIMMATCH_BENCH_NIGHTLY to a file with enough lines");
    return;
  }
  TokenizerOptions o;
  o.word_cache_size = cache_size;
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = Tokenizer::Load(ModelDir() + "/sentencepiece.bpe.model", o);
    if (!tok.ok()) {
      state.SkipWithError("cannot load the tokenizer (set CLAIMMATCH_MODEL)");
      return;
    }
    state.ResumeTiming();
    for (const std::string& t : texts) benchmark::DoNotOptimize((*tok)->Encode(t, 512));
    state.PauseTiming();
    const WordCacheStats stats = (*tok)->word_cache_stats();
    state.counters["searched"] = static_cast<double>(stats.searched);
    state.counters["spm_words"] = static_cast<double>(stats.sentencepiece);
    state.counters["whole_texts"] = static_cast<double>(stats.whole_texts);
    tok->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * texts.size());
}

void BM_StaticNightlyTokenize(benchmark::State& state) {
  NightlyTokenize(state, TokenizerOptions().word_cache_size);
}
BENCHMARK(BM_StaticNightlyTokenize)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_StaticNightlySpm(benchmark::State& state) { NightlyTokenize(state, 0); }
BENCHMARK(BM_StaticNightlySpm)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace claimmatch

BENCHMARK_MAIN();
