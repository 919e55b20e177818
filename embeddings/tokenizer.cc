#include "embeddings/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "embeddings/file_util.h"
#include "embeddings/spm_bridge.h"
#include "embeddings/status_macros.h"

namespace claimmatch {
namespace {

constexpr absl::string_view kSpaceSymbol = "\xE2\x96\x81";  // "▁", sentencepiece's escaped space
// Longer words (URLs, hashes) are encoded each time rather than filling the cache.
constexpr size_t kMaxCachedWordBytes = 64;

// fairseq / XLM-R: piece k -> k + 1, the sentencepiece unknown piece -> <unk> (3).
inline TokenId MapId(int spm_id, int spm_unk) {
  return spm_id == spm_unk ? kUnkId : static_cast<TokenId>(spm_id + 1);
}

// A protobuf wire-format reader, enough for sentencepiece's ModelProto (Debian ships the library
// without its generated .pb.h, so the few fields the word cache depends on are read here).
class WireReader {
 public:
  explicit WireReader(absl::string_view data) : rest_(data) {}
  // Reads the next field into `field`, `wire_type` and `varint` (wire type 0) or `bytes` (wire
  // type 2). Returns false at the end, or on malformed input (then ok() is false).
  bool Next(uint64_t& field, int& wire_type, uint64_t& varint, absl::string_view& bytes) {
    if (rest_.empty()) return false;
    uint64_t key = 0;
    if (!Varint(key)) return Fail();
    field = key >> 3;
    wire_type = static_cast<int>(key & 7);
    switch (wire_type) {
      case 0:
        return Varint(varint) || Fail();
      case 1:
        return Skip(8);
      case 2: {
        uint64_t n = 0;
        if (!Varint(n) || n > rest_.size()) return Fail();
        bytes = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return true;
      }
      case 5: {  // fixed32, little-endian, returned in `varint`
        if (rest_.size() < 4) return Fail();
        varint = 0;
        for (int i = 3; i >= 0; --i) varint = varint << 8 | static_cast<uint8_t>(rest_[i]);
        rest_.remove_prefix(4);
        return true;
      }
      default:
        return Fail();
    }
  }
  bool ok() const { return ok_; }

 private:
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && !rest_.empty(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Skip(size_t n) {
    if (rest_.size() < n) return Fail();
    rest_.remove_prefix(n);
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }
  absl::string_view rest_;
  bool ok_ = true;
};

// Whether no key of sentencepiece's precompiled normalisation map `blob` (a uint32 trie size, a
// darts-clone double array, then the NUL-separated replacement strings) contains an ASCII space
// and no replacement contains "▁" or two spaces in a row. Returns "" if so, else the reason.
std::string CheckCharsMap(absl::string_view blob) {
  if (blob.empty()) return "";  // identity normalisation
  if (blob.size() < 4) return "malformed normalisation map";
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(blob[i])); };
  const uint32_t trie_size = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
  if (trie_size % 4 != 0 || trie_size < 4 || trie_size > blob.size() - 4) {
    return "malformed normalisation map";
  }
  const size_t n = trie_size / 4;
  const auto unit = [&](size_t i) {
    const size_t at = 4 + 4 * i;
    return byte(at) | byte(at + 1) << 8 | byte(at + 2) << 16 | byte(at + 3) << 24;
  };
  // darts-clone unit layout: label = bits 0-7 (bit 31 marks a value unit), offset = bits 10-31
  // shifted left by 8 when bit 9 is set.
  const auto label = [](uint32_t u) { return u & ((1u << 31) | 0xFFu); };
  const auto offset = [](uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  // Only a unit labelled ' ' can be such a key's edge; the usual maps have none, so the walk over
  // every edge below is only needed when one exists.
  bool space_label = false;
  for (size_t i = 0; i < n && !space_label; ++i) space_label = label(unit(i)) == ' ';
  std::vector<bool> seen(space_label ? n : 0, false);
  std::vector<size_t> bases;
  if (space_label) bases.push_back(offset(unit(0)));
  while (!bases.empty()) {
    const size_t base = bases.back();
    bases.pop_back();
    for (uint32_t c = 1; c < 256; ++c) {
      const size_t child = base ^ c;
      if (child >= n || label(unit(child)) != c) continue;
      if (c == ' ') return "a normalisation rule matches an ASCII space";
      if (seen[child]) continue;
      seen[child] = true;
      bases.push_back(child ^ offset(unit(child)));
    }
  }
  const absl::string_view replacements = blob.substr(4 + trie_size);
  if (absl::StrContains(replacements, kSpaceSymbol)) return "a normalisation rule writes \"▁\"";
  if (absl::StrContains(replacements, "  ")) return "a normalisation rule writes two spaces";
  return "";
}

// What the context check of unigram words needs: the pieces sentencepiece's Viterbi search can
// use (NORMAL = 1, USER_DEFINED = 4, UNUSED = 5; <unk>, control and byte pieces are not searched).
struct PieceInfo {
  int id;
  int type;
  float score;
};
struct ModelFacts {
  bool unigram = true;
  absl::flat_hash_map<std::string, PieceInfo> pieces;
  size_t max_piece_bytes = 0;
  float unk_score = 0;     // the lowest NORMAL score minus sentencepiece's penalty of 10
  double score_bound = 0;  // the largest |score| of any one-character step of the search
};

// Whether sentencepiece's ids of a text are always the concatenation of the ids of its
// ASCII-space-separated words, for the serialized ModelProto `model` (see tokenizer.h). Returns ""
// if so (and fills `facts`), else the reason why not. Field numbers are
// sentencepiece_model.proto's.
std::string CheckWordSplit(absl::string_view model, ModelFacts& facts) {
  uint64_t model_type = 1;  // UNIGRAM
  bool suffix = false, delimiter = false, dummy_prefix = true, remove_extra = true, escape = true;
  bool space_piece = false;
  std::string bad_piece;
  int id = 0;
  float min_score = std::numeric_limits<float>::max(), max_abs_score = 0;
  absl::string_view charsmap;
  uint64_t f, v;
  int wt;
  absl::string_view b;
  WireReader r(model);
  while (r.Next(f, wt, v, b)) {
    if (wt != 2 || f < 1 || f > 3) continue;
    WireReader m(b);
    uint64_t mf, mv = 0;
    int mwt;
    absl::string_view mb;
    if (f == 1) {  // SentencePiece: piece = 1, score = 2, type = 3 (NORMAL = 1)
      absl::string_view piece;
      uint64_t type = 1;
      float score = 0;
      while (m.Next(mf, mwt, mv, mb)) {
        if (mf == 1 && mwt == 2) piece = mb;
        if (mf == 2 && mwt == 5) {
          const uint32_t bits = static_cast<uint32_t>(mv);
          std::memcpy(&score, &bits, sizeof(score));
        }
        if (mf == 3 && mwt == 0) type = mv;
      }
      if (type == 1) {
        min_score = std::min(min_score, score);
        max_abs_score = std::max(max_abs_score, std::abs(score));
      }
      if (type == 1 || type == 4 || type == 5) {
        facts.pieces.try_emplace(std::string(piece), PieceInfo{id, static_cast<int>(type), score});
        facts.max_piece_bytes = std::max(facts.max_piece_bytes, piece.size());
      }
      ++id;
      if (bad_piece.empty() && (piece.find(kSpaceSymbol, 1) != absl::string_view::npos ||
                                piece.find(' ') != absl::string_view::npos)) {
        bad_piece = absl::StrCat("piece \"", piece, "\" spans a space");
      }
      if (piece == kSpaceSymbol && type == 1) space_piece = true;
    } else if (f == 2) {  // TrainerSpec
      while (m.Next(mf, mwt, mv, mb)) {
        if (mf == 3 && mwt == 0) model_type = mv;
        if (mf == 24 && mwt == 0) suffix = mv != 0;                 // treat_whitespace_as_suffix
        if (mf == 53 && mwt == 2 && !mb.empty()) delimiter = true;  // pretokenization_delimiter
      }
    } else {  // NormalizerSpec
      while (m.Next(mf, mwt, mv, mb)) {
        if (mf == 2 && mwt == 2) charsmap = mb;
        if (mf == 3 && mwt == 0) dummy_prefix = mv != 0;
        if (mf == 4 && mwt == 0) remove_extra = mv != 0;
        if (mf == 5 && mwt == 0) escape = mv != 0;
      }
    }
    if (!m.ok()) return "malformed model";
  }
  if (!r.ok()) return "malformed model";
  if (model_type != 1 && model_type != 2) return absl::StrCat("model type ", model_type);
  if (suffix) return "treat_whitespace_as_suffix";
  if (delimiter) return "pretokenization_delimiter";
  if (!dummy_prefix || !remove_extra || !escape) {
    return "add_dummy_prefix, remove_extra_whitespaces and escape_whitespaces are not all on";
  }
  if (!bad_piece.empty()) return bad_piece;
  if (!space_piece) return "no normal \"▁\" piece";
  facts.unigram = model_type == 1;
  facts.unk_score = min_score - 10.0f;  // unigram_model.cc: kUnkPenalty
  facts.score_bound = std::max<double>(max_abs_score, std::abs(facts.unk_score));
  return CheckCharsMap(charsmap);
}

// sentencepiece's string_util::OneCharLen: the UTF-8 length announced by a lead byte.
inline size_t OneCharLen(char c) {
  return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[(static_cast<uint8_t>(c) & 0xFF) >> 4];
}

// The context check of a unigram word. sentencepiece's Viterbi search adds float scores from the
// start of the text, so where two segmentations of a word score within rounding of each other,
// which one wins depends on the score of the text before the word. This re-runs the search over
// the word's normalised text `pieces` (sentencepiece's result for the word alone, `ids`) in double
// precision, confirms it finds the same ids, and returns the smallest margin between the winning
// and the runner-up candidate at any node of the winning path (0 for a tie), with the word's length
// in characters in `chars`; -1 if it cannot vouch for the word (user-defined pieces, byte
// fallback, a different result).
double WordMargin(const ModelFacts& facts, const std::vector<std::string>& pieces,
                  const std::vector<int>& ids, int unk_id, size_t& chars, double& score) {
  const std::string norm = absl::StrJoin(pieces, "");
  std::vector<size_t> at;  // byte offset of each character, then the end
  for (size_t i = 0; i < norm.size(); i += std::min(OneCharLen(norm[i]), norm.size() - i)) {
    at.push_back(i);
  }
  const size_t n = at.size();
  at.push_back(norm.size());
  chars = n;
  constexpr double kNone = -std::numeric_limits<double>::infinity();
  struct Node {
    double best = kNone, second = kNone;
    size_t from = 0;
    int id = -1;
  };
  std::vector<Node> node(n + 1);
  node[0].best = 0;
  const auto offer = [](Node& to, double score, size_t from, int id) {
    if (score > to.best) {
      to.second = to.best;
      to.best = score;
      to.from = from;
      to.id = id;
    } else if (score > to.second) {
      to.second = score;
    }
  };
  for (size_t k = 0; k < n; ++k) {
    bool single = false;
    for (size_t e = k + 1; e <= n && at[e] - at[k] <= facts.max_piece_bytes; ++e) {
      const auto it = facts.pieces.find(absl::string_view(norm).substr(at[k], at[e] - at[k]));
      if (it == facts.pieces.end() || it->second.type == 5) continue;
      if (it->second.type == 4) return -1;
      offer(node[e], node[k].best + it->second.score, k, it->second.id);
      if (e == k + 1) single = true;
    }
    if (!single) offer(node[k + 1], node[k].best + facts.unk_score, k, unk_id);
  }
  std::vector<int> path;
  double margin = std::numeric_limits<double>::infinity();
  for (size_t e = n; e > 0; e = node[e].from) {
    // sentencepiece merges a run of unknown pieces into one.
    if (!(node[e].id == unk_id && !path.empty() && path.back() == unk_id)) {
      path.push_back(node[e].id);
    }
    margin = std::min(margin, node[e].best - node[e].second);
  }
  std::reverse(path.begin(), path.end());
  score = node[n].best;
  return path == ids ? margin : -1;
}

}  // namespace

struct Tokenizer::WordCache {
  struct Span {
    uint32_t begin, size;  // in `ids`
    // The ids hold where the score of the text before the word, plus `chars` (the word's
    // normalised length) times facts.score_bound, stays below this magnitude (see Bound()).
    double max_text_score;
    double score;  // the word's best-path score (unigram; 0 for BPE)
    uint32_t chars;
  };
  WordCache(size_t capacity, ModelFacts facts) : capacity(capacity), facts(std::move(facts)) {}

  // The bound of Span::max_text_score for a word with context `margin` and `chars` characters.
  // Every candidate score inside the word is the float score A of the text before it plus at most
  // chars + 1 float additions, each rounded by at most half an ulp of the magnitude M reached
  // (M <= |A| + (chars + 1) * facts.score_bound, as the best path beats the one-character path),
  // so two candidates move by at most (chars + 1) * M * 2^-23 relative to each other; a margin
  // twice that keeps their order, in the text as in the word alone.
  double Bound(double margin, size_t chars) const {
    if (!facts.unigram) return std::numeric_limits<double>::infinity();  // BPE adds no scores
    if (margin < 0) return -1;
    return margin * std::ldexp(1.0, 22) / static_cast<double>(chars + 1);
  }
  // Whether a word with `span` holds after text scoring `before` (exact, so with 1% slack).
  bool Holds(const Span& span, double before) const {
    return std::abs(before) * 1.01 + (span.chars + 1) * facts.score_bound < span.max_text_score;
  }

  const size_t capacity;  // most words; the table is emptied when full
  const ModelFacts facts;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, Span> words ABSL_GUARDED_BY(mu);
  std::vector<TokenId> ids ABSL_GUARDED_BY(mu);
};

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(absl::string_view path,
                                                           const TokenizerOptions& options) {
  CM_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return FromBytes(bytes, path, options);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromBytes(absl::string_view bytes,
                                                                absl::string_view name,
                                                                const TokenizerOptions& options) {
  std::string error;
  std::string owned(bytes);
  std::unique_ptr<spm::SpmModel> model = spm::SpmModel::FromSerialized(owned, &error);
  if (model == nullptr) {
    return absl::DataLossError(
        absl::StrCat(name, ": not a valid sentencepiece model (", error, ")"));
  }
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->spm_unk_id_ = model->UnkId();
  t->sp_ = std::move(model);
  ModelFacts facts;
  t->no_cache_reason_ = CheckWordSplit(owned, facts);
  if (options.word_cache_size <= 0 && t->no_cache_reason_.empty()) {
    t->no_cache_reason_ = "word_cache_size is 0";
  }
  if (t->no_cache_reason_.empty()) {
    t->cache_ = std::make_unique<WordCache>(
        std::min<size_t>(static_cast<size_t>(options.word_cache_size), size_t{1} << 24),
        std::move(facts));
  }
  t->serialized_ = std::move(owned);
  return t;
}

bool Tokenizer::word_cache_enabled(std::string* why) const {
  if (why != nullptr) *why = no_cache_reason_;
  return cache_ != nullptr;
}

bool Tokenizer::UsesWordCache(absl::string_view text) const {
  return cache_ != nullptr && !absl::StrContains(text, kSpaceSymbol);
}

void Tokenizer::AppendSpmIds(absl::string_view text, std::vector<TokenId>& out) const {
  const std::vector<int> ids = sp_->EncodeIds(std::string_view(text.data(), text.size()));
  const int unk = spm_unk_id_;
  for (int id : ids) out.push_back(MapId(id, unk));
}

bool Tokenizer::AppendWordIds(absl::string_view text, size_t limit,
                              std::vector<TokenId>& out) const {
  const size_t stop =
      limit > std::numeric_limits<size_t>::max() - out.size() ? limit : out.size() + limit;
  WordCache& cache = *cache_;
  // Words encoded by sentencepiece during this call (their ids are ranges of `out`), cached at
  // the end.
  struct Fresh {
    absl::string_view word;
    size_t begin, size;
    WordCache::Span span;
  };
  absl::InlinedVector<Fresh, 8> fresh;
  bool exact = true;
  double before = 0;  // the score of the words so far (see WordCache::Bound)
  std::vector<int> spm_ids;
  std::vector<std::string> spm_pieces;
  {
    absl::ReaderMutexLock lock(&cache.mu);
    size_t i = 0;
    while (out.size() < stop && exact) {
      while (i < text.size() && text[i] == ' ') ++i;
      if (i == text.size()) break;
      size_t j = text.find(' ', i);
      if (j == absl::string_view::npos) j = text.size();
      const absl::string_view word = text.substr(i, j - i);
      i = j;
      if (word.size() <= kMaxCachedWordBytes) {
        const auto it = cache.words.find(word);
        if (it != cache.words.end()) {
          const WordCache::Span& span = it->second;
          exact = cache.Holds(span, before);
          before += span.score;
          const auto begin = cache.ids.begin() + span.begin;
          out.insert(out.end(), begin, begin + span.size);
          continue;
        }
      }
      const size_t begin = out.size();
      size_t word_chars = 0;
      double margin = 0, score = 0;
      if (cache.facts.unigram) {
        sp_->EncodeIdsAndPieces(std::string_view(word.data(), word.size()), &spm_ids, &spm_pieces);
        margin = WordMargin(cache.facts, spm_pieces, spm_ids, spm_unk_id_, word_chars, score);
        for (int id : spm_ids) out.push_back(MapId(id, spm_unk_id_));
      } else {
        AppendSpmIds(word, out);
      }
      const WordCache::Span span{0, 0, cache.Bound(margin, word_chars), score,
                                 static_cast<uint32_t>(word_chars)};
      exact = cache.Holds(span, before);
      before += score;
      if (word.size() <= kMaxCachedWordBytes)
        fresh.push_back({word, begin, out.size() - begin, span});
    }
  }
  if (!fresh.empty()) {
    absl::MutexLock lock(&cache.mu);
    for (const Fresh& f : fresh) {
      if (cache.words.size() >= cache.capacity || cache.ids.size() + f.size > cache.capacity * 16) {
        cache.words.clear();
        cache.ids.clear();
      }
      WordCache::Span span = f.span;
      span.begin = static_cast<uint32_t>(cache.ids.size());
      span.size = static_cast<uint32_t>(f.size);
      const auto [it, inserted] = cache.words.try_emplace(std::string(f.word), span);
      if (inserted) {
        cache.ids.insert(cache.ids.end(), out.begin() + f.begin, out.begin() + f.begin + f.size);
      }
    }
  }
  if (out.size() > stop) out.resize(stop);
  return exact;
}

std::vector<TokenId> Tokenizer::EncodePieces(absl::string_view text) const {
  std::vector<TokenId> out;
  if (!UsesWordCache(text) || !AppendWordIds(text, std::numeric_limits<size_t>::max(), out)) {
    out.clear();
    AppendSpmIds(text, out);
  }
  return out;
}

std::vector<TokenId> Tokenizer::Encode(absl::string_view text, int max_tokens) const {
  const size_t keep = static_cast<size_t>(std::max(max_tokens - 2, 0));
  std::vector<TokenId> out;
  out.reserve(std::min(keep, text.size()) + 2);
  out.push_back(kBosId);
  if (!UsesWordCache(text) || !AppendWordIds(text, keep, out)) {
    out.resize(1);
    AppendSpmIds(text, out);
    if (out.size() > keep + 1) out.resize(keep + 1);
  }
  out.push_back(kEosId);
  return out;
}

std::vector<std::string> Tokenizer::Pieces(absl::string_view text) const {
  return sp_->EncodePieces(std::string_view(text.data(), text.size()));
}

std::string Tokenizer::IdToPiece(TokenId id) const {
  switch (id) {
    case kBosId:
      return "<s>";
    case kPadId:
      return "<pad>";
    case kEosId:
      return "</s>";
    case kUnkId:
      return "<unk>";
    default:
      break;
  }
  if (id < 1 || id > sp_->PieceSize()) return "<unk>";
  return sp_->IdToPiece(id - 1);
}

int Tokenizer::vocab_size() const { return sp_->PieceSize() + 1; }

absl::Status TrainSentencePiece(const SentencePieceTrainOptions& o) {
  const std::map<std::string, std::string> args = {
      {"input", o.input_path},
      {"model_prefix", o.model_prefix},
      {"vocab_size", absl::StrCat(o.vocab_size)},
      {"model_type", o.model_type},
      {"character_coverage", absl::StrCat(o.character_coverage)},
      {"input_sentence_size", absl::StrCat(o.input_sentence_size)},
      {"shuffle_input_sentence", "true"},
      {"num_threads", absl::StrCat(o.num_threads)},
      {"seed_sentencepiece_size", absl::StrCat(o.seed_sentencepiece_size)},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"normalization_rule_name", o.normalization_rule_name},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"minloglevel", "1"},
  };
  std::map<std::string, std::string> all = args;
  for (const auto& [k, v] : o.extra_args) all[k] = v;
  const std::string error = spm::Train(all);
  if (!error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("sentencepiece training failed: ", error));
  }
  return absl::OkStatus();
}

}  // namespace claimmatch
