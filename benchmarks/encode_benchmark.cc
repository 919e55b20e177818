// Speed of the embedding runtime at the paraphrase-multilingual-MiniLM-L12-v2 shape (hidden 384,
// 12 layers, 12 heads, FFN 1536), with random weights generated here (the numbers do not depend
// on the weights' values).
//
//   BM_Tokenize                      sentencepiece + XLM-R id mapping of tweet-length text
//   BM_Transformer/<len>/<batch>     one thread, `batch` sequences of `len` tokens packed in one
//                                    mini-batch: the kernel the pipeline runs per mini-batch
//   BM_TransformerTwoThreads/<len>/<batch>  the same batch split across two threads, as
//                                    SentenceEncoder::Encode() spreads mini-batches
// Counters: items_per_second = sentences/s.
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "embeddings/backend.h"
#include "embeddings/file_util.h"
#include "embeddings/safetensors.h"
#include "embeddings/tokenizer.h"
#include "embeddings/transformer.h"

namespace claimmatch {
namespace {

constexpr int kHidden = 384, kLayers = 12, kHeads = 12, kFfn = 1536, kVocab = 32000,
              kPositions = 514;

// Builds the MiniLM-shaped transformer once, with N(0, 0.05) weights and unit LayerNorm gains.
const Transformer& MiniLm() {
  static const Transformer* model = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.f, 0.05f);
    std::vector<std::vector<float>> storage;
    std::vector<TensorToWrite> tensors;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float fill = NAN) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      storage.emplace_back(n);
      for (float& v : storage.back()) v = std::isnan(fill) ? normal(rng) : fill;
      tensors.push_back({name, shape, {}, DType::kF32});
    };
    add("embeddings.word_embeddings.weight", {kVocab, kHidden});
    add("embeddings.position_embeddings.weight", {kPositions, kHidden});
    add("embeddings.token_type_embeddings.weight", {1, kHidden});
    add("embeddings.LayerNorm.weight", {kHidden}, 1.f);
    add("embeddings.LayerNorm.bias", {kHidden}, 0.f);
    for (int l = 0; l < kLayers; ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      for (const char* m : {"query", "key", "value"}) {
        add(p + "attention.self." + m + ".weight", {kHidden, kHidden});
        add(p + "attention.self." + m + ".bias", {kHidden});
      }
      add(p + "attention.output.dense.weight", {kHidden, kHidden});
      add(p + "attention.output.dense.bias", {kHidden});
      add(p + "attention.output.LayerNorm.weight", {kHidden}, 1.f);
      add(p + "attention.output.LayerNorm.bias", {kHidden}, 0.f);
      add(p + "intermediate.dense.weight", {kFfn, kHidden});
      add(p + "intermediate.dense.bias", {kFfn});
      add(p + "output.dense.weight", {kHidden, kFfn});
      add(p + "output.dense.bias", {kHidden});
      add(p + "output.LayerNorm.weight", {kHidden}, 1.f);
      add(p + "output.LayerNorm.bias", {kHidden}, 0.f);
    }
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].values = storage[i];
    auto bytes = SerializeSafetensors(tensors);
    auto file = SafetensorsFile::FromBuffer(*std::move(bytes), "minilm-random");
    TransformerConfig c;
    c.vocab_size = kVocab;
    c.hidden = kHidden;
    c.layers = kLayers;
    c.heads = kHeads;
    c.intermediate = kFfn;
    c.max_positions = kPositions;
    auto t = Transformer::Create(c, std::make_unique<Weights>(*std::move(file)), Pooling::kMean);
    if (!t.ok()) std::abort();
    return t->release();
  }();
  return *model;
}

std::vector<std::vector<TokenId>> RandomSequences(int len, int batch) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<TokenId> id(4, kVocab - 1);
  std::vector<std::vector<TokenId>> seqs(batch, std::vector<TokenId>(len));
  for (auto& s : seqs) {
    for (TokenId& t : s) t = id(rng);
    s.front() = kBosId;
    s.back() = kEosId;
  }
  return seqs;
}

void BM_Transformer(benchmark::State& state) {
  const int len = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  const Transformer& model = MiniLm();
  const auto seqs = RandomSequences(len, batch);
  std::vector<const std::vector<TokenId>*> ptrs;
  std::vector<int> rows;
  for (int i = 0; i < batch; ++i) {
    ptrs.push_back(&seqs[i]);
    rows.push_back(i);
  }
  EmbeddingMatrix out(batch, kHidden);
  for (auto _ : state) {
    model.EncodeBatch(ptrs, rows, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_Transformer)
    ->ArgsProduct({{16, 32, 64, 128}, {1, 32}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Two threads, each encoding its own half of the batch: what Encode() does with threads=2.
void BM_TransformerTwoThreads(benchmark::State& state) {
  const int len = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  const Transformer& model = MiniLm();
  const auto seqs = RandomSequences(len, batch);
  EmbeddingMatrix out(batch, kHidden);
  auto half = [&](int begin, int end) {
    std::vector<const std::vector<TokenId>*> ptrs;
    std::vector<int> rows;
    for (int i = begin; i < end; ++i) {
      ptrs.push_back(&seqs[i]);
      rows.push_back(i);
    }
    model.EncodeBatch(ptrs, rows, out);
  };
  for (auto _ : state) {
    std::thread other(half, batch / 2, batch);
    half(0, batch / 2);
    other.join();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_TransformerTwoThreads)
    ->ArgsProduct({{16, 32, 64, 128}, {32}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Tokenize(benchmark::State& state) {
  auto tok = Tokenizer::Load(std::string(CLAIMMATCH_SOURCE_DIR) +
                             "/tests/data/xlmr-tiny/model/sentencepiece.bpe.model");
  if (!tok.ok()) {
    state.SkipWithError("tokenizer not found");
    return;
  }
  const std::vector<std::string> texts = {
      "Republicans in Illinois don't want the child of a single mother to get a birth "
      "certificate. Unbelievable.",
      "A viral video shows a 10-meter-long anaconda swimming across a river in Brazil.",
      "Der Präsident behauptete, die Wahl sei gestohlen worden.",
      "Вакцины не вызывают аутизм, показали многочисленные исследования."};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*tok)->Encode(texts[i++ % texts.size()], 128));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Tokenize);

}  // namespace
}  // namespace claimmatch
