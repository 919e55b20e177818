// Sentencepiece tokenisation with the XLM-RoBERTa id mapping. sentencepiece itself is reached
// only through spm_bridge.{h,cc} (see there why); its errors become absl::Status here.
//
// Id mapping (fairseq / XLM-R, used by every model claimmatch loads, including its own static
// models): <s>=0, <pad>=1, </s>=2, <unk>=3, sentencepiece piece k -> k+1 (the sentencepiece
// unknown piece maps to 3). So vocab_size() = pieces + 1.
//
// Word cache (Encode and EncodePieces): sentencepiece never lets a piece cross a space, so when
// the model allows it (checked at load by CheckWordSplit in tokenizer.cc: unigram or BPE, the
// standard whitespace handling, no piece with an inner "▁", a normalisation table whose keys hold
// no ASCII space and whose outputs hold no "▁" and no double space) a text's ids are the
// concatenation of the ids of its ASCII-space-separated words, and each word's ids are computed
// once and cached. Texts that contain a literal "▁" always go through sentencepiece whole. The ids
// are those of sentencepiece on the whole text. One subtlety: unigram Viterbi adds float scores
// from the start of the text, so a word with two segmentations that score (almost) the same, e.g.
// "0"+"00" and "00"+"0", can be split differently depending on what precedes it. Each cached
// unigram word therefore carries the margin by which its segmentation wins (re-checked in double
// precision), and a text where a word's margin does not cover the float rounding that the score of
// the text before it allows is encoded whole (as are texts with words whose segmentation ties).
//
// A word not yet in the cache (unigram models) is segmented by the tokenizer's own copy of that
// search (a piece trie, scores in double precision, the margin in the same pass) over the word's
// normalised text, which it computes from the model's normalisation map: its ids are then those of
// sentencepiece wherever its margin holds, as above. Words it cannot normalise with certainty
// (invalid UTF-8, a rule that writes a space, a word that normalises to nothing, models with
// user-defined pieces) go to sentencepiece, one call per word (the search re-checks its ids and
// gives the margin), as does every word of a BPE model.
//
// Thread safety: Encode* may run concurrently; the word cache is guarded by a reader/writer lock
// and is bounded (emptied when full).
#ifndef CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_
#define CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "embeddings/types.h"

namespace claimmatch::spm {
class SpmModel;
}

namespace claimmatch {

inline constexpr TokenId kBosId = 0;
inline constexpr TokenId kPadId = 1;
inline constexpr TokenId kEosId = 2;
inline constexpr TokenId kUnkId = 3;

// What the word cache did since the tokenizer was loaded (for tests and benchmarks).
struct WordCacheStats {
  int64_t searched = 0;       // missed words segmented by the tokenizer's own unigram search
  int64_t sentencepiece = 0;  // missed words given to sentencepiece (see tokenizer.h)
  int64_t whole_texts = 0;    // texts encoded whole because a word's margin did not hold
};

struct TokenizerOptions {
  // Most words whose ids are remembered (0: no cache, every text goes to sentencepiece whole).
  int word_cache_size = 1 << 17;
};

class Tokenizer {
 public:
  // Loads a sentencepiece model file. Fails with kNotFound if missing, kDataLoss if it does not
  // parse as a sentencepiece model.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(absl::string_view path,
                                                         const TokenizerOptions& options = {});
  // Loads from the serialized model bytes; `name` is used in errors.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromBytes(absl::string_view bytes,
                                                              absl::string_view name,
                                                              const TokenizerOptions& options = {});
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Returns <s> pieces... </s>, with the pieces truncated so the whole is at most `max_tokens`
  // (>= 2) long. Invalid UTF-8 is handled as sentencepiece does (replaced, never an error).
  std::vector<TokenId> Encode(absl::string_view text, int max_tokens) const;
  // Returns the mapped ids of the pieces only: no <s>/</s>, no truncation.
  std::vector<TokenId> EncodePieces(absl::string_view text) const;
  // Returns the sentencepiece pieces (strings) of `text`.
  std::vector<std::string> Pieces(absl::string_view text) const;
  // Returns the piece for mapped id `id` ("<s>", "<pad>", "</s>", "<unk>" for the specials).
  std::string IdToPiece(TokenId id) const;

  // Number of ids in the mapped space (pieces + 1).
  int vocab_size() const;
  // Returns whether Encode* use the word cache for this model (and options); when false (with the
  // reason in `why`, if given) every text goes to sentencepiece whole.
  bool word_cache_enabled(std::string* why = nullptr) const;
  // Returns whether `text` takes the word-cache path.
  bool UsesWordCache(absl::string_view text) const;
  // Returns the word cache's counters (all 0 when it is off).
  WordCacheStats word_cache_stats() const;
  // The serialized sentencepiece model (for fingerprints and for copying a model).
  const std::string& serialized() const { return serialized_; }

 private:
  struct WordCache;
  Tokenizer();
  // Appends the ids of the words of `text` to `out`, at most `limit` of them. Returns false (with
  // `out` partly written) where the word split cannot vouch for the result: the caller encodes
  // `text` whole instead.
  bool AppendWordIds(absl::string_view text, size_t limit, std::vector<TokenId>& out) const;
  // Appends the mapped sentencepiece ids of `text` (encoded whole) to `out`.
  void AppendSpmIds(absl::string_view text, std::vector<TokenId>& out) const;

  std::unique_ptr<spm::SpmModel> sp_;
  std::string serialized_;
  int spm_unk_id_ = 0;
  std::string no_cache_reason_;       // empty when the model allows the word cache
  std::unique_ptr<WordCache> cache_;  // null when disabled
};

// Options for training a sentencepiece model (see sentencepiece's trainer documentation).
struct SentencePieceTrainOptions {
  std::string input_path;    // one sentence per line
  std::string model_prefix;  // writes <prefix>.model and <prefix>.vocab
  int vocab_size = 32000;
  std::string model_type = "unigram";  // unigram | bpe
  double character_coverage = 0.9995;
  int input_sentence_size = 2000000;  // sampled sentences
  int num_threads = 2;
  int seed_sentencepiece_size = 1000000;
  bool byte_fallback = false;
  std::string normalization_rule_name = "nmt_nfkc";
  std::map<std::string, std::string> extra_args;  // further trainer flags (name -> value)
};

// Trains a sentencepiece model with ids <unk>=0, <s>=1, </s>=2 (so the mapping above applies).
// Fails with kInvalidArgument / kInternal carrying sentencepiece's message.
absl::Status TrainSentencePiece(const SentencePieceTrainOptions& options);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_
