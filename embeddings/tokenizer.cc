#include "embeddings/tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/spm_bridge.h"
#include "embeddings/status_macros.h"

namespace claimmatch {
namespace {

// fairseq / XLM-R: piece k -> k + 1, the sentencepiece unknown piece -> <unk> (3).
inline TokenId MapId(int spm_id, int spm_unk) {
  return spm_id == spm_unk ? kUnkId : static_cast<TokenId>(spm_id + 1);
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return FromBytes(bytes, path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromBytes(absl::string_view bytes,
                                                                absl::string_view name) {
  std::string error;
  std::string owned(bytes);
  std::unique_ptr<spm::SpmModel> model = spm::SpmModel::FromSerialized(owned, &error);
  if (model == nullptr) {
    return absl::DataLossError(
        absl::StrCat(name, ": not a valid sentencepiece model (", error, ")"));
  }
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->sp_ = std::move(model);
  t->serialized_ = std::move(owned);
  return t;
}

std::vector<TokenId> Tokenizer::EncodePieces(absl::string_view text) const {
  const std::vector<int> ids = sp_->EncodeIds(std::string_view(text.data(), text.size()));
  const int unk = sp_->UnkId();
  std::vector<TokenId> out(ids.size());
  std::transform(ids.begin(), ids.end(), out.begin(), [unk](int id) { return MapId(id, unk); });
  return out;
}

std::vector<TokenId> Tokenizer::Encode(absl::string_view text, int max_tokens) const {
  const std::vector<int> ids = sp_->EncodeIds(std::string_view(text.data(), text.size()));
  const int unk = sp_->UnkId();
  const size_t keep = std::min(ids.size(), static_cast<size_t>(std::max(max_tokens - 2, 0)));
  std::vector<TokenId> out;
  out.reserve(keep + 2);
  out.push_back(kBosId);
  for (size_t i = 0; i < keep; ++i) out.push_back(MapId(ids[i], unk));
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
  const std::string error = spm::Train(args);
  if (!error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("sentencepiece training failed: ", error));
  }
  return absl::OkStatus();
}

}  // namespace claimmatch
