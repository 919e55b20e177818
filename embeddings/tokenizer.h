// Sentencepiece tokenisation with the XLM-RoBERTa id mapping. sentencepiece itself is reached
// only through spm_bridge.{h,cc} (see there why); its errors become absl::Status here.
//
// Id mapping (fairseq / XLM-R, used by every model claimmatch loads, including its own static
// models): <s>=0, <pad>=1, </s>=2, <unk>=3, sentencepiece piece k -> k+1 (the sentencepiece
// unknown piece maps to 3). So vocab_size() = pieces + 1.
//
// Thread safety: a loaded Tokenizer is immutable; Encode* may run concurrently.
#ifndef CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_
#define CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_

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

class Tokenizer {
 public:
  // Loads a sentencepiece model file. Fails with kNotFound if missing, kDataLoss if it does not
  // parse as a sentencepiece model.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(absl::string_view path);
  // Loads from the serialized model bytes; `name` is used in errors.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromBytes(absl::string_view bytes,
                                                              absl::string_view name);
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
  // The serialized sentencepiece model (for fingerprints and for copying a model).
  const std::string& serialized() const { return serialized_; }

 private:
  Tokenizer();
  std::unique_ptr<spm::SpmModel> sp_;
  std::string serialized_;
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
};

// Trains a sentencepiece model with ids <unk>=0, <s>=1, </s>=2 (so the mapping above applies).
// Fails with kInvalidArgument / kInternal carrying sentencepiece's message.
absl::Status TrainSentencePiece(const SentencePieceTrainOptions& options);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_TOKENIZER_H_
