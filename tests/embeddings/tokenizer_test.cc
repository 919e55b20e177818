// The tokenizer's word cache (tokenizer.h) returns exactly the ids sentencepiece gives for the
// whole text: on hand-made hard cases (whitespace of every kind, normalisation that removes
// characters or writes spaces, unknown characters, invalid UTF-8, truncation), on claim-matching
// texts and on a multilingual sample, for the bundled model, the golden XLM-R model and models
// trained here (BPE, other normalisations, byte fallback); models whose settings break the
// word-split property are detected and encoded whole. CLAIMMATCH_SHARED_DATA (the shared data
// directory, with claims-dev/ and train/) adds a sweep over every claims-dev text and all of
// NTREX-128 and Tatoeba.
#include "embeddings/tokenizer.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace claimmatch {
namespace {

using ::claimmatch::testing::IsOk;

std::string DefaultModelPath() {
  return JoinPath(CLAIMMATCH_SOURCE_DIR_DEFAULT, "models/default/sentencepiece.bpe.model");
}
std::string TinyModelPath() {
  return JoinPath(testing::TestDataDir(), "xlmr-tiny/model/sentencepiece.bpe.model");
}

std::unique_ptr<Tokenizer> LoadOrDie(const std::string& path, int cache_size) {
  TokenizerOptions o;
  o.word_cache_size = cache_size;
  auto t = Tokenizer::Load(path, o);
  EXPECT_THAT(t, IsOk());
  return t.ok() ? *std::move(t) : nullptr;
}

// The model at `path` twice: with a word cache of `cache_size` words, and without one
// (sentencepiece for every text), the reference the cached one must agree with.
struct CachedAndPlain {
  std::unique_ptr<Tokenizer> cached;
  std::unique_ptr<Tokenizer> plain;
  bool ok() const { return cached != nullptr && plain != nullptr; }
};
CachedAndPlain LoadCachedAndPlain(const std::string& path, int cache_size) {
  return {LoadOrDie(path, cache_size), LoadOrDie(path, 0)};
}

// `v` sorted, without duplicates.
std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Lines of `path`; with `column` >= 0, that tab-separated column of each line (if present).
std::vector<std::string> Lines(const std::string& path, int column = -1) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (column < 0) {
      out.push_back(line);
      continue;
    }
    size_t begin = 0;
    for (int c = 0; c < column && begin != std::string::npos; ++c) {
      begin = line.find('\t', begin);
      if (begin != std::string::npos) ++begin;
    }
    if (begin == std::string::npos) continue;
    out.push_back(line.substr(begin, line.find('\t', begin) - begin));
  }
  return out;
}

// Every string value of every object of the JSON-lines file `path`.
std::vector<std::string> JsonlStrings(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& line : Lines(path)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    for (const auto& [key, value] : j.items()) {
      if (value.is_string()) out.push_back(value.get<std::string>());
    }
  }
  return out;
}

// Texts made to break a naive word split.
std::vector<std::string> HardCases() {
  std::vector<std::string> base = {
      "",
      " ",
      "   ",
      "a",
      " a",
      "a ",
      "  a  b  ",
      "a\tb",
      "a \t b",
      "\t",
      "a\nb",
      "a\r\nb",
      "\n\n",
      "a\xC2\xA0"
      "b",
      "a \xC2\xA0 b",
      "\xC2\xA0"
      "a",
      "a\xC2\xA0",
      "\xC2\xA0",
      "\xE3\x80\x80",
      "a\xE3\x80\x80"
      "b",
      "\xEF\xBD\x81\xEF\xBD\x82\xEF\xBD\x83\xE3\x80\x80\xEF\xBC\xA4",
      "e\xCC\x81",
      "cafe\xCC\x81 au lait",
      " \xCC\x81",
      "a \xCC\x81"
      "b",
      "\xCC\x81\xCC\x81 x",
      "\xF0\x9F\x99\x82 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD "
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
      "a\xE2\x80\x8B"
      "b",
      "\xE2\x80\x8B",
      "x \xE2\x80\x8B y",
      "soft\xC2\xADhyphen",
      "\xEF\xBB\xBFstart",
      "\xEF\xAC\x81nd \xEF\xAC\x80",
      "\xE2\x91\xA0\xE2\x91\xA1",
      "\xE2\x85\xAB",
      "\xE3\x8D\xBF",
      "\xC2\xA8",
      "a\xC2\xA8 b",
      "x \xC2\xA8 y",
      "\xC2\xA8\xC2\xA8",
      "\xE3\x82\x9B",
      "a\xE3\x82\x9B"
      "b",
      "\xE2\x96\x81",
      "a\xE2\x96\x81"
      "b",
      "a\xE2\x96\x81 b",
      "\x01",
      "a\x7F b",
      std::string("a\0b c", 5),
      std::string("\0", 1),
      "\xFF",
      "a\xE2\x96 b",
      "\xC3",
      "\xC3 (",
      "\xE2\x96",
      "\xE2\x96 x",
      "HELLO hello Hello hELLO",
      "123,456.78 % 1st 2nd",
      "can't won't -- ... !!!",
      "https://t.co/yoEOL6vXBm #hashtag @user_name",
      "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xE2\x80\x8F\xD7\xA2\xD7\x95\xD7\x9C\xD7\x9D",
      "\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5\xE0\xB8\x84\xE0\xB8"
      "\xA3\xE0\xB8\xB1\xE0\xB8\x9A",
      "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xE3\x80\x82",
      "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94 \xEC\x84\xB8\xEA\xB3\x84",
      "\xD9\x85\xD9\x80\xD9\x80\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",
      "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87",
      "\xF0\x9D\x90\x80\xF0\x9D\x90\x81\xF0\x9D\x90\x82",
      "\xC7\x84 \xC3\x9F \xC4\xB0stanbul",
      "\xE2\x80\xA6 \xE2\x84\xA2 \xC2\xBD",
      "\xCE\x91\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1 \xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0",
      std::string(200, 'x'),
      "a-very-long-word-" + std::string(80, 'y') + " short",
      "\xE1\x9A\x80"
      "a\xE1\x9A\x80",
      "a\xE2\x80\x83"
      "b\xE2\x80\xA8"
      "c\xE2\x80\xA9",
      // Mapped by the custom rules of TrainedModelsTest.CustomRules: ~ -> " ", | -> "",
      // ^ -> " x", ` -> "x ".
      "a~b",
      "~",
      "a ~ b",
      "a~",
      "~a",
      "a|b",
      "|",
      "a | b",
      "||",
      "a^b",
      "^",
      "^^",
      "a`",
      "` b",
      "a`b ^c",
      "x` `y",
      "``",
      "~|^`",
      "a~^b",
      "a`~b",
      "a|~ b",
  };
  std::vector<std::string> out = base;
  // Pairs, joined and side by side, so every case meets every neighbour.
  for (const std::string& a : base) {
    for (const std::string& b : base) {
      out.push_back(a + " " + b);
      out.push_back(a + b);
    }
  }
  return out;
}

// The texts of tests/data: claims, tweets, the multilingual sample.
std::vector<std::string> DataTexts() {
  const std::string d = testing::TestDataDir();
  std::vector<std::string> out = JsonlStrings(JoinPath(d, "claims-dev/snopes-claims.jsonl"));
  for (const std::string& t : Lines(JoinPath(d, "claims-dev/tweets-dev.tsv"), 1)) out.push_back(t);
  for (const char* f :
       {"claims-dev-excerpt/politifact-claims.jsonl", "claims-dev-excerpt/snopes-claims.jsonl"}) {
    for (const std::string& t : JsonlStrings(JoinPath(d, f))) out.push_back(t);
  }
  for (const char* f :
       {"multilingual-sample/ntrex128-sample.tsv", "multilingual-sample/tatoeba-sample.tsv"}) {
    for (const std::string& t : Lines(JoinPath(d, f), 1)) out.push_back(t);
  }
  return out;
}

// Expects `cached` to give `plain`'s ids for every text, cold and warm, whole and truncated.
void ExpectSameIds(const Tokenizer& cached, const Tokenizer& plain,
                   const std::vector<std::string>& texts, const std::string& what) {
  int mismatches = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& t : texts) {
      for (int max_tokens : {512, 8}) {
        const std::vector<TokenId> want = plain.Encode(t, max_tokens);
        const std::vector<TokenId> got = cached.Encode(t, max_tokens);
        if (got != want && ++mismatches <= 5) {
          ADD_FAILURE() << what << ": ids differ for \"" << t << "\" (max_tokens " << max_tokens
                        << ", pass " << pass << ")";
        }
      }
      if (cached.EncodePieces(t) != plain.EncodePieces(t) && ++mismatches <= 5) {
        ADD_FAILURE() << what << ": EncodePieces differs for \"" << t << "\"";
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << what << ", " << texts.size() << " texts";
}

TEST(TokenizerWordCacheTest, BundledAndGoldenModelsUseTheCache) {
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    auto tok = LoadOrDie(path, 1 << 16);
    ASSERT_NE(tok, nullptr);
    std::string why;
    EXPECT_TRUE(tok->word_cache_enabled(&why)) << path << ": " << why;
    EXPECT_TRUE(tok->UsesWordCache("Windmills cause cancer \xC2\xA0 \t"));
    EXPECT_FALSE(
        tok->UsesWordCache("a\xE2\x96\x81"
                           "b"));  // a literal "▁": encoded whole
    auto off = LoadOrDie(path, 0);
    ASSERT_NE(off, nullptr);
    EXPECT_FALSE(off->word_cache_enabled(&why));
    EXPECT_EQ(why, "word_cache_size is 0");
    EXPECT_FALSE(off->UsesWordCache("a b"));
  }
}

TEST(TokenizerWordCacheTest, HardCasesMatchSentencepiece) {
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 16);
    ASSERT_TRUE(tok.ok());
    ExpectSameIds(*tok.cached, *tok.plain, HardCases(), path);
  }
}

TEST(TokenizerWordCacheTest, TruncationMatchesSentencepiece) {
  const CachedAndPlain tok = LoadCachedAndPlain(DefaultModelPath(), 1 << 16);
  ASSERT_TRUE(tok.ok());
  std::string text;
  for (int i = 0; i < 60; ++i) {
    absl::StrAppend(&text, i % 3 == 0 ? "unbelievably " : "a ", i % 7 == 0 ? "\xC2\xA0 " : "");
  }
  for (int max_tokens = 0; max_tokens < 90; ++max_tokens) {
    EXPECT_EQ(tok.cached->Encode(text, max_tokens), tok.plain->Encode(text, max_tokens))
        << max_tokens;
  }
  EXPECT_EQ(tok.cached->Encode(text, 5).size(), 5u);
  EXPECT_EQ(tok.cached->Encode(text, 0), (std::vector<TokenId>{kBosId, kEosId}));
}

TEST(TokenizerWordCacheTest, DataTextsMatchSentencepiece) {
  const std::vector<std::string> texts = DataTexts();
  ASSERT_GT(texts.size(), 40000u);
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 16);
    ASSERT_TRUE(tok.ok());
    ExpectSameIds(*tok.cached, *tok.plain, texts, path);
  }
}

// A tiny cache (emptied every few words) shared by four threads gives the same ids.
TEST(TokenizerWordCacheTest, ConcurrentUseWithATinyCache) {
  const CachedAndPlain tok = LoadCachedAndPlain(TinyModelPath(), 8);
  ASSERT_TRUE(tok.ok());
  std::vector<std::string> texts =
      Lines(JoinPath(testing::TestDataDir(), "multilingual-sample/ntrex128-sample.tsv"), 1);
  texts.resize(std::min<size_t>(texts.size(), 300));
  std::vector<std::vector<TokenId>> want;
  for (const std::string& t : texts) want.push_back(tok.plain->Encode(t, 64));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int pass = 0; pass < 3; ++pass) {
        for (size_t i = w; i < texts.size() + w; ++i) {
          const size_t k = i % texts.size();
          if (tok.cached->Encode(texts[k], 64) != want[k]) ++wrong[w];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

// The miss path: words new to the cache (several in one text, repeated within a text, very long)
// are segmented by the tokenizer's own search and give sentencepiece's ids, cold and warm.
TEST(TokenizerWordCacheTest, MissedWordsMatchSentencepiece) {
  std::string mixed;  // a long word of letters, digits and punctuation (no normalisation rule)
  for (int i = 0; i < 3000; ++i) mixed += "ab1-9z.QX"[(i * 7 + i / 13) % 9];
  const std::vector<std::string> texts = {
      "zorbulating quixotic flimflam jabberwocky snollygoster",
      "blorf blorf blorf zing blorf zing",
      "pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious",
      std::string(5000, 'a'),
      std::string(3, 'a') + " " + std::string(1000, '0') + " " + std::string(999, '0'),
      mixed,
      "x " + mixed + " y " + mixed,
      "https://t.co/yoEOL6vXBm?utm_source=twitter&utm_medium=social#anchor-" + mixed.substr(0, 80),
      "caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xC3\xBC"
      "ber Stra\xC3\x9F"
      "e",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83"
      "\x88 \xF0\x9F\x99\x82\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x90\x8D\x88\xF0\x90\x8D\x89",
      "100000 000100 0000 00 0 1e100 3.14159265358979",
  };
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 16);
    ASSERT_TRUE(tok.ok());
    ExpectSameIds(*tok.cached, *tok.plain, texts, path);
    EXPECT_GE(tok.cached->word_cache_stats().searched, 25) << path;
  }
}

// The search normalises words itself (here NFKC: full-width letters, curly quotes, capitals);
// words it cannot normalise with certainty go to sentencepiece: a rule that writes a space (the
// no-break space inside a word) and invalid UTF-8.
TEST(TokenizerWordCacheTest, WordsTheSearchCannotNormaliseGoToSentencepiece) {
  const CachedAndPlain tok = LoadCachedAndPlain(DefaultModelPath(), 1 << 16);
  ASSERT_TRUE(tok.ok());
  const std::string text =
      "\xEF\xBD\x86\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C \xE2\x80\x9CQuoted\xE2\x80\x9D "
      "CNN a\xC2\xA0"
      "b plain \xC3(";
  EXPECT_EQ(tok.cached->Encode(text, 512), tok.plain->Encode(text, 512));
  const WordCacheStats stats = tok.cached->word_cache_stats();
  EXPECT_EQ(stats.searched, 4);
  EXPECT_EQ(stats.sentencepiece, 2);
  EXPECT_EQ(stats.whole_texts, 0);
}

// Every distinct word of the test data as a text of its own, with a cold cache: no whole-text
// encoding hides a wrong search result.
TEST(TokenizerWordCacheTest, EveryDataWordAloneMatchesSentencepiece) {
  std::vector<std::string> words;
  for (const std::string& t : DataTexts()) {
    for (absl::string_view w : absl::StrSplit(t, ' ', absl::SkipEmpty())) words.emplace_back(w);
  }
  words = SortedUnique(std::move(words));
  ASSERT_GT(words.size(), 50000u);
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 18);
    ASSERT_TRUE(tok.ok());
    int mismatches = 0;
    for (const std::string& w : words) {
      if (tok.cached->Encode(w, 512) != tok.plain->Encode(w, 512) && ++mismatches <= 5) {
        ADD_FAILURE() << path << ": ids differ for \"" << w << "\"";
      }
    }
    EXPECT_EQ(mismatches, 0) << path;
    const WordCacheStats stats = tok.cached->word_cache_stats();
    EXPECT_GT(stats.searched, static_cast<int64_t>(words.size() * 9 / 10)) << path;
    EXPECT_LT(stats.whole_texts, static_cast<int64_t>(words.size() / 20)) << path;
  }
}

// Truncation at max_tokens on the miss path: each length on a fresh cache.
TEST(TokenizerWordCacheTest, ColdTruncationMatchesSentencepiece) {
  auto plain = LoadOrDie(DefaultModelPath(), 0);
  ASSERT_NE(plain, nullptr);
  const std::string text =
      "Unprecedented flibbertigibbet counterrevolutionaries misunderestimated "
      "the quixotically bamboozled hullabaloo of 2019-04-02 #windmills @ChrisLarsen";
  for (int max_tokens : {0, 1, 2, 3, 4, 7, 12, 20, 40}) {
    auto cached = LoadOrDie(DefaultModelPath(), 1 << 10);
    ASSERT_NE(cached, nullptr);
    EXPECT_EQ(cached->Encode(text, max_tokens), plain->Encode(text, max_tokens)) << max_tokens;
    EXPECT_EQ(cached->Encode(text, max_tokens), plain->Encode(text, max_tokens)) << max_tokens;
  }
}

// Four threads miss the same new words at the same time (default model, default cache).
TEST(TokenizerWordCacheTest, ConcurrentColdMissesMatchSentencepiece) {
  const CachedAndPlain tok =
      LoadCachedAndPlain(DefaultModelPath(), TokenizerOptions().word_cache_size);
  ASSERT_TRUE(tok.ok());
  std::vector<std::string> texts =
      Lines(JoinPath(testing::TestDataDir(), "claims-dev/tweets-dev.tsv"), 1);
  for (const std::string& t :
       Lines(JoinPath(testing::TestDataDir(), "multilingual-sample/ntrex128-sample.tsv"), 1)) {
    texts.push_back(t);
  }
  std::vector<std::vector<TokenId>> want;
  for (const std::string& t : texts) want.push_back(tok.plain->Encode(t, 128));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (size_t k = 0; k < texts.size(); ++k) {
        if (tok.cached->Encode(texts[k], 128) != want[k]) ++wrong[w];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
  EXPECT_GT(tok.cached->word_cache_stats().searched, 1000);
}

// Models trained here: the cache must be exact for other model types and normalisations, and
// must switch itself off for settings that let pieces or normalisation cross a space.
class TrainedModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("tokenizer_models"));
    std::string corpus;
    for (const std::string& t : DataTexts()) {
      if (corpus.size() < 150000) absl::StrAppend(&corpus, t, "\n");
    }
    ASSERT_THAT(WriteFileAtomically(JoinPath(*dir_, "corpus.txt"), corpus), IsOk());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // Trains a small model; returns its path.
  static std::string Train(const std::string& name, const std::string& type,
                           const std::string& rule, std::map<std::string, std::string> extra = {}) {
    SentencePieceTrainOptions o;
    o.input_path = JoinPath(*dir_, "corpus.txt");
    o.model_prefix = JoinPath(*dir_, name);
    o.vocab_size = 600;
    o.model_type = type;
    o.normalization_rule_name = rule;
    o.num_threads = 1;
    o.seed_sentencepiece_size = 20000;
    o.character_coverage = 0.995;  // leaves rare characters unknown
    o.extra_args = std::move(extra);
    o.extra_args["hard_vocab_limit"] = "false";
    EXPECT_THAT(TrainSentencePiece(o), IsOk()) << name;
    return o.model_prefix + ".model";
  }

  // Expects the cache on (`want_why` empty) or off for a reason containing `want_why`, and the
  // ids of sentencepiece either way.
  static void ExpectExact(const std::string& path, const std::string& want_why) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 12);
    ASSERT_TRUE(tok.ok());
    std::string why;
    EXPECT_EQ(tok.cached->word_cache_enabled(&why), want_why.empty()) << path << ": " << why;
    if (!want_why.empty()) {
      EXPECT_THAT(why, ::testing::HasSubstr(want_why));
    }
    std::vector<std::string> texts = HardCases();
    const std::vector<std::string> data = DataTexts();
    for (size_t i = 0; i < data.size(); i += 13) texts.push_back(data[i]);
    ExpectSameIds(*tok.cached, *tok.plain, texts, path);
  }

  static std::string* dir_;
};
std::string* TrainedModelsTest::dir_ = nullptr;

TEST_F(TrainedModelsTest, BpeNmtNfkc) { ExpectExact(Train("bpe", "bpe", "nmt_nfkc"), ""); }
TEST_F(TrainedModelsTest, UnigramIdentity) {
  ExpectExact(Train("identity", "unigram", "identity"), "");
}
TEST_F(TrainedModelsTest, UnigramNfkcCaseFoldByteFallback) {
  ExpectExact(Train("bytes", "unigram", "nfkc_cf", {{"byte_fallback", "true"}}), "");
}
// User-defined symbols are kept whole by the normaliser: every word of such a model goes to
// sentencepiece.
TEST_F(TrainedModelsTest, UnigramUserDefinedSymbols) {
  ExpectExact(Train("userdef", "unigram", "nmt_nfkc", {{"user_defined_symbols", "@user,#tag,ab"}}),
              "");
}
// Rules that write a space, remove a character, or write a space before or after a letter keep
// the word-split property (see tokenizer.h).
TEST_F(TrainedModelsTest, CustomRules) {
  const std::string rules = JoinPath(*dir_, "rules.tsv");
  ASSERT_THAT(WriteFileAtomically(rules, "7E\t20\n7C\t\n5E\t20 78\n60\t78 20\n"), IsOk());
  ExpectExact(Train("rules", "unigram", "nmt_nfkc", {{"normalization_rule_tsv", rules}}), "");
}
// Rules that match across a space, write "▁" or write two spaces turn the cache off.
TEST_F(TrainedModelsTest, RulesAcrossSpacesTurnTheCacheOff) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"61 20 62\t63\n", "matches an ASCII space"},
      {"7E\t2581\n", "writes \"\xE2\x96\x81\""},
      {"7E\t20 20\n", "writes two spaces"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string rules = JoinPath(*dir_, absl::StrCat("bad", i, ".tsv"));
    ASSERT_THAT(WriteFileAtomically(rules, cases[i].first), IsOk());
    ExpectExact(
        Train(absl::StrCat("bad", i), "unigram", "nmt_nfkc", {{"normalization_rule_tsv", rules}}),
        cases[i].second);
  }
}
TEST_F(TrainedModelsTest, PiecesAcrossSpacesTurnTheCacheOff) {
  ExpectExact(Train("nosplit", "unigram", "nmt_nfkc", {{"split_by_whitespace", "false"}}),
              "spans a space");
}
TEST_F(TrainedModelsTest, WhitespaceAsSuffixTurnsTheCacheOff) {
  ExpectExact(Train("suffix", "unigram", "nmt_nfkc", {{"treat_whitespace_as_suffix", "true"}}),
              "treat_whitespace_as_suffix");
}
TEST_F(TrainedModelsTest, KeptExtraWhitespaceTurnsTheCacheOff) {
  ExpectExact(Train("keepws", "bpe", "nmt_nfkc", {{"remove_extra_whitespaces", "false"}}),
              "remove_extra_whitespaces");
}

// Every claims-dev text and all of NTREX-128 and Tatoeba, when CLAIMMATCH_SHARED_DATA is set.
TEST(TokenizerWordCacheTest, SharedDataMatchesSentencepiece) {
  const char* shared = std::getenv("CLAIMMATCH_SHARED_DATA");
  if (shared == nullptr || *shared == '\0') {
    GTEST_SKIP() << "CLAIMMATCH_SHARED_DATA is not set";
  }
  std::vector<std::string> texts;
  for (const auto& e : std::filesystem::directory_iterator(JoinPath(shared, "claims-dev"))) {
    const std::string p = e.path().string();
    if (absl::EndsWith(p, ".jsonl")) {
      for (std::string& t : JsonlStrings(p)) texts.push_back(std::move(t));
    } else if (absl::EndsWith(p, ".tsv")) {
      for (std::string& t : Lines(p, 1)) texts.push_back(std::move(t));
    }
  }
  for (const char* sub : {"train/ntrex128/NTREX-128", "train/laser_tatoeba"}) {
    for (const auto& e : std::filesystem::directory_iterator(JoinPath(shared, sub))) {
      const std::string p = e.path().string();
      if (!absl::EndsWith(p, ".txt") && p.find("tatoeba.") == std::string::npos) continue;
      for (std::string& t : Lines(p)) texts.push_back(std::move(t));
    }
  }
  texts = SortedUnique(std::move(texts));
  ASSERT_GT(texts.size(), 300000u);
  for (const std::string& path : {DefaultModelPath(), TinyModelPath()}) {
    const CachedAndPlain tok = LoadCachedAndPlain(path, 1 << 17);
    ASSERT_TRUE(tok.ok());
    ExpectSameIds(*tok.cached, *tok.plain, texts, absl::StrCat(path, " (shared data)"));
  }
}

}  // namespace
}  // namespace claimmatch
