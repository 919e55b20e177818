#include "embeddings/spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <exception>
#include <unordered_map>

namespace claimmatch::spm {

struct SpmModel::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

SpmModel::SpmModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpmModel::~SpmModel() = default;

std::unique_ptr<SpmModel> SpmModel::FromSerialized(const std::string& bytes, std::string* error) {
  try {
    auto impl = std::make_unique<Impl>();
    const sentencepiece::util::Status s = impl->sp.LoadFromSerializedProto(bytes);
    if (!s.ok()) {
      *error = s.ToString();
      return nullptr;
    }
    if (impl->sp.GetPieceSize() <= 0) {
      *error = "model has no pieces";
      return nullptr;
    }
    return std::unique_ptr<SpmModel>(new SpmModel(std::move(impl)));
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

std::vector<int> SpmModel::EncodeIds(std::string_view text) const {
  std::vector<int> ids;
  // Encode() only fails for an unloaded model; a loaded one handles any bytes (invalid UTF-8
  // becomes U+FFFD pieces), so the status carries no information here.
  impl_->sp.Encode(text, &ids).IgnoreError();
  return ids;
}

std::vector<std::string> SpmModel::EncodePieces(std::string_view text) const {
  std::vector<std::string> pieces;
  impl_->sp.Encode(text, &pieces).IgnoreError();
  return pieces;
}

void SpmModel::EncodeIdsAndPieces(std::string_view text, std::vector<int>* ids,
                                  std::vector<std::string>* pieces) const {
  const sentencepiece::ImmutableSentencePieceText spt = impl_->sp.EncodeAsImmutableProto(text);
  ids->clear();
  pieces->clear();
  for (const auto& p : spt.pieces()) {
    ids->push_back(static_cast<int>(p.id()));
    pieces->push_back(p.piece());
  }
}

const std::string& SpmModel::IdToPiece(int id) const { return impl_->sp.IdToPiece(id); }
int SpmModel::PieceSize() const { return impl_->sp.GetPieceSize(); }
int SpmModel::UnkId() const { return impl_->sp.unk_id(); }

std::string Train(const std::map<std::string, std::string>& args) {
  try {
    std::unordered_map<std::string, std::string> kwargs(args.begin(), args.end());
    const sentencepiece::util::Status s = sentencepiece::SentencePieceTrainer::Train(kwargs);
    return s.ok() ? std::string() : s.ToString();
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace claimmatch::spm
