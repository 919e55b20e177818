#include "embeddings/tokenizer.h"

#include <algorithm>
#include <atomic>
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

// sentencepiece's precompiled normalisation map (see CheckCharsMap): a darts-clone double array
// of the rules' keys, whose values index the NUL-terminated replacements that follow it.
class NormalizationTrie {
 public:
  NormalizationTrie() = default;
  // `blob`: the precompiled map ("" = identity normalisation).
  explicit NormalizationTrie(absl::string_view blob) {
    if (blob.size() < 4) return;
    const auto byte = [&](size_t i) { return uint32_t{static_cast<uint8_t>(blob[i])}; };
    const uint32_t trie_size = byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
    if (trie_size > blob.size() - 4) return;
    replacements_ = std::string(blob.substr(4 + trie_size));
    units_.resize(trie_size / 4);
    for (size_t i = 0; i < units_.size(); ++i) {
      const size_t at = 4 + 4 * i;
      units_[i] = byte(at) | byte(at + 1) << 8 | byte(at + 2) << 16 | byte(at + 3) << 24;
    }
  }
  // Finds the longest rule whose key is a prefix of `s` (sentencepiece's Normalizer::
  // NormalizePrefix): returns its key's length, 0 if there is none, and sets `replacement`; returns
  // std::string::npos where the map cannot tell (malformed).
  size_t LongestMatch(absl::string_view s, absl::string_view& replacement) const {
    if (units_.empty()) return 0;
    size_t longest = 0, pos = Offset(units_[0]);
    for (size_t i = 0; i < s.size(); ++i) {
      const uint32_t c = static_cast<uint8_t>(s[i]);
      pos ^= c;
      if (pos >= units_.size()) return std::string::npos;
      const uint32_t u = units_[pos];
      if ((u & ((1u << 31) | 0xFFu)) != c) break;
      pos ^= Offset(u);
      if ((u >> 8) & 1) {  // has_leaf: s[0, i] is a key; its value is the unit at `pos`
        if (pos >= units_.size()) return std::string::npos;
        const size_t at = units_[pos] & ((1u << 31) - 1);
        if (at >= replacements_.size()) return std::string::npos;
        replacement = absl::NullSafeStringView(replacements_.c_str() + at);
        longest = i + 1;
      }
    }
    return longest;
  }

 private:
  static size_t Offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
  std::vector<uint32_t> units_;
  std::string replacements_;
};

// What the unigram search of the word cache needs: the pieces sentencepiece's Viterbi search can
// use (NORMAL = 1, USER_DEFINED = 4, UNUSED = 5; <unk>, control and byte pieces are not searched).
struct PieceInfo {
  int id;
  int type;
  float score;
};

// A byte trie over those pieces (node 0 is the root; a node's value indexes the piece table),
// built once at load: a node's children are a sorted run of labels, or, for nodes with many
// children (the root, "▁"), a table of 256.
class PieceTrie {
 public:
  // `keys` sorted by byte, no duplicates (sentencepiece rejects duplicate pieces).
  void Build(const std::vector<std::pair<std::string, int32_t>>& keys) {
    nodes_.clear();
    labels_.clear();
    children_.clear();
    tables_.clear();
    BuildNode(keys, 0, keys.size(), 0);
  }
  // Returns the child of `node` by byte `c`, or -1.
  int32_t Child(int32_t node, uint8_t c) const {
    const Node& n = nodes_[node];
    if (n.table >= 0) return tables_[static_cast<size_t>(n.table) * 256 + c];
    const uint8_t* l = labels_.data() + n.first;
    for (uint32_t i = 0; i < n.count; ++i) {
      if (l[i] == c) return children_[n.first + i];
    }
    return -1;
  }
  // Returns the piece-table index of the key ending at `node`, or -1.
  int32_t value(int32_t node) const { return nodes_[node].value; }

 private:
  static constexpr uint32_t kMaxListed = 12;  // more children: a table
  struct Node {
    int32_t value = -1;
    int32_t table = -1;
    uint32_t first = 0, count = 0;
  };
  // Adds the node of keys[lo, hi), which share their first `depth` bytes; returns its index.
  int32_t BuildNode(const std::vector<std::pair<std::string, int32_t>>& keys, size_t lo, size_t hi,
                    size_t depth) {
    const int32_t node = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    if (lo < hi && keys[lo].first.size() == depth) nodes_[node].value = keys[lo++].second;
    std::vector<std::pair<size_t, size_t>> groups;
    for (size_t i = lo; i < hi;) {
      size_t j = i + 1;
      while (j < hi && keys[j].first[depth] == keys[i].first[depth]) ++j;
      groups.emplace_back(i, j);
      i = j;
    }
    const uint32_t first = static_cast<uint32_t>(labels_.size());
    nodes_[node].first = first;
    nodes_[node].count = static_cast<uint32_t>(groups.size());
    for (const auto& [i, j] : groups) labels_.push_back(static_cast<uint8_t>(keys[i].first[depth]));
    children_.resize(labels_.size(), -1);
    for (size_t g = 0; g < groups.size(); ++g) {
      const int32_t child = BuildNode(keys, groups[g].first, groups[g].second, depth + 1);
      children_[first + g] = child;
    }
    if (groups.size() > kMaxListed) {
      nodes_[node].table = static_cast<int32_t>(tables_.size() / 256);
      tables_.resize(tables_.size() + 256, -1);
      int32_t* t = tables_.data() + static_cast<size_t>(nodes_[node].table) * 256;
      for (size_t g = 0; g < groups.size(); ++g) t[labels_[first + g]] = children_[first + g];
    }
    return node;
  }

  std::vector<Node> nodes_;
  std::vector<uint8_t> labels_;
  std::vector<int32_t> children_;
  std::vector<int32_t> tables_;
};

struct ModelFacts {
  bool unigram = true;
  std::vector<PieceInfo> pieces;  // indexed by the trie's values
  PieceTrie trie;
  NormalizationTrie normalization;
  bool user_defined = false;   // some piece is USER_DEFINED (the normaliser then skips them)
  bool byte_fallback = false;  // some piece is a BYTE piece (<unk> is written as bytes)
  float unk_score = 0;         // the lowest NORMAL score minus sentencepiece's penalty of 10
  double score_bound = 0;      // the largest |score| of any one-character step of the search
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
  std::vector<std::pair<std::string, int32_t>> keys;  // the searchable pieces, for the trie
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
        keys.emplace_back(std::string(piece), static_cast<int32_t>(facts.pieces.size()));
        facts.pieces.push_back(PieceInfo{id, static_cast<int>(type), score});
      }
      if (type == 4) facts.user_defined = true;
      if (type == 6) facts.byte_fallback = true;
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
  facts.normalization = NormalizationTrie(charsmap);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             keys.end());
  facts.trie.Build(keys);
  return CheckCharsMap(charsmap);
}

// sentencepiece's string_util::OneCharLen: the UTF-8 length announced by a lead byte.
inline size_t OneCharLen(char c) {
  return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[(static_cast<uint8_t>(c) & 0xFF) >> 4];
}

// sentencepiece's string_util::DecodeUTF8: the length of the valid UTF-8 character `s` starts
// with (shortest form, no surrogate, at most U+10FFFF), or 0 where the normaliser would write
// U+FFFD instead.
size_t ValidCharLen(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  const auto trail = [&](size_t i) { return (b(i) & 0xC0) == 0x80; };
  const uint32_t c = b(0);
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0 && s.size() >= 2 && trail(1)) {
    return ((c & 0x1F) << 6 | (b(1) & 0x3F)) >= 0x80 ? 2 : 0;
  }
  if ((c & 0xF0) == 0xE0 && s.size() >= 3 && trail(1) && trail(2)) {
    const uint32_t cp = (c & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    return cp >= 0x800 && (cp < 0xD800 || cp >= 0xE000) ? 3 : 0;
  }
  if ((c & 0xF8) == 0xF0 && s.size() >= 4 && trail(1) && trail(2) && trail(3)) {
    const uint32_t cp = (c & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
    return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

// Writes sentencepiece's normalised text of the space-free `word` to `norm`: "▁", then each
// rule's replacement where a rule matches, else the character itself (Normalizer::Normalize).
// Returns false, leaving the word to sentencepiece, where that is not certain: invalid UTF-8, a
// replacement with a space (it splits the word), a word that normalises to nothing.
bool NormalizeWord(const ModelFacts& facts, absl::string_view word, std::string& norm) {
  norm.assign(kSpaceSymbol.data(), kSpaceSymbol.size());
  for (size_t i = 0; i < word.size();) {
    const absl::string_view rest = word.substr(i);
    absl::string_view replacement;
    const size_t key = facts.normalization.LongestMatch(rest, replacement);
    if (key == std::string::npos) return false;
    if (key > 0) {
      if (replacement.find(' ') != absl::string_view::npos) return false;
      norm.append(replacement.data(), replacement.size());
      i += key;
      continue;
    }
    const size_t len = ValidCharLen(rest);
    if (len == 0) return false;
    norm.append(rest.data(), len);
    i += len;
  }
  return norm.size() > kSpaceSymbol.size();
}

// Scratch space of the unigram search, reused across the words of one text.
struct SearchScratch {
  struct Node {
    double best, second;
    size_t from;
    int id;
  };
  std::vector<Node> node;
  std::vector<int> ids;  // the search's result
  std::string norm;      // the normalised word
  std::vector<int> spm_ids;
  std::vector<std::string> spm_pieces;
};

// SearchWord's result where it cannot stand in for sentencepiece's search: a user-defined piece is
// a candidate, or the path holds <unk> in a byte-fallback model (sentencepiece writes bytes).
constexpr double kNeedsSentencepiece = -2;

// sentencepiece's unigram Viterbi search over the normalised text `norm` of one word (unigram_
// model.cc, EncodeOptimized: nodes by byte offset, steps by character, <unk> where no piece spans
// exactly one character, a run of <unk> merged into one), with exact (double) scores. Writes the
// winning path's sentencepiece ids to `s.ids`, the number of characters to `chars` and the path's
// score to `score`, and returns the smallest margin between the winning and the runner-up candidate
// at any node of the path (0 for a tie), or kNeedsSentencepiece. Where that margin covers the float
// rounding of sentencepiece's own search (WordCache::Bound), its result is these ids.
double SearchWord(const ModelFacts& facts, absl::string_view norm, int unk_id, SearchScratch& s,
                  size_t& chars, double& score) {
  constexpr double kNone = -std::numeric_limits<double>::infinity();
  const size_t size = norm.size();
  s.node.assign(size + 1, SearchScratch::Node{kNone, kNone, 0, -1});
  s.node[0].best = 0;
  const auto offer = [](SearchScratch::Node& to, double score, size_t from, int id) {
    if (score > to.best) {
      to.second = to.best;
      to.best = score;
      to.from = from;
      to.id = id;
    } else if (score > to.second) {
      to.second = score;
    }
  };
  chars = 0;
  for (size_t k = 0; k < size;) {
    const size_t mblen = std::min(OneCharLen(norm[k]), size - k);
    const double here = s.node[k].best;
    bool single = false;
    int32_t t = 0;
    for (size_t e = k; e < size; ++e) {
      t = facts.trie.Child(t, static_cast<uint8_t>(norm[e]));
      if (t < 0) break;
      const int32_t v = facts.trie.value(t);
      if (v < 0) continue;
      const PieceInfo& p = facts.pieces[v];
      if (p.type == 5) continue;  // UNUSED
      if (p.type == 4) return kNeedsSentencepiece;
      offer(s.node[e + 1], here + p.score, k, p.id);
      if (e + 1 - k == mblen) single = true;
    }
    if (!single) offer(s.node[k + mblen], here + facts.unk_score, k, unk_id);
    k += mblen;
    ++chars;
  }
  s.ids.clear();
  double margin = std::numeric_limits<double>::infinity();
  for (size_t e = size; e > 0; e = s.node[e].from) {
    const SearchScratch::Node& n = s.node[e];
    if (n.id < 0) return kNeedsSentencepiece;  // unreachable (not for valid input)
    if (n.id == unk_id && facts.byte_fallback) return kNeedsSentencepiece;
    // sentencepiece merges a run of unknown pieces into one.
    if (!(n.id == unk_id && !s.ids.empty() && s.ids.back() == unk_id)) s.ids.push_back(n.id);
    margin = std::min(margin, n.best - n.second);
  }
  std::reverse(s.ids.begin(), s.ids.end());
  score = s.node[size].best;
  return margin;
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
  std::atomic<int64_t> searched{0}, sentencepiece{0}, whole_texts{0};  // WordCacheStats
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

WordCacheStats Tokenizer::word_cache_stats() const {
  WordCacheStats s;
  if (cache_ != nullptr) {
    s.searched = cache_->searched.load(std::memory_order_relaxed);
    s.sentencepiece = cache_->sentencepiece.load(std::memory_order_relaxed);
    s.whole_texts = cache_->whole_texts.load(std::memory_order_relaxed);
  }
  return s;
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
  SearchScratch scratch;
  int64_t searched = 0, via_sentencepiece = 0;
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
        // The search itself over the word's normalised text where that is certain, else
        // sentencepiece's ids (and its normalised text, for the margin).
        margin = kNeedsSentencepiece;
        if (!cache.facts.user_defined && NormalizeWord(cache.facts, word, scratch.norm)) {
          margin = SearchWord(cache.facts, scratch.norm, spm_unk_id_, scratch, word_chars, score);
        }
        if (margin == kNeedsSentencepiece) {
          ++via_sentencepiece;
          sp_->EncodeIdsAndPieces(std::string_view(word.data(), word.size()), &scratch.spm_ids,
                                  &scratch.spm_pieces);
          scratch.norm = absl::StrJoin(scratch.spm_pieces, "");
          margin = SearchWord(cache.facts, scratch.norm, spm_unk_id_, scratch, word_chars, score);
          if (margin < 0 || scratch.ids != scratch.spm_ids) margin = -1;
          scratch.ids.swap(scratch.spm_ids);
        } else {
          ++searched;
        }
        for (int id : scratch.ids) out.push_back(MapId(id, spm_unk_id_));
      } else {
        ++via_sentencepiece;
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
  if (searched > 0) cache.searched.fetch_add(searched, std::memory_order_relaxed);
  if (via_sentencepiece > 0) {
    cache.sentencepiece.fetch_add(via_sentencepiece, std::memory_order_relaxed);
  }
  if (!exact) cache.whole_texts.fetch_add(1, std::memory_order_relaxed);
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
