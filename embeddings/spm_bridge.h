// Internal: the narrow bridge to the sentencepiece library. spm_bridge.cc is the ONLY file of
// claimmatch that includes sentencepiece's headers: Debian's sentencepiece 0.1.97 declares
// `namespace absl { using std::string_view; }`, which clashes with Abseil's own string_view, so
// the bridge speaks plain std types and reports failures as an error string (empty = success).
// Everything else uses embeddings/tokenizer.h, which turns those strings into absl::Status.
//
// Thread safety: a loaded SpmModel is immutable; its Encode* methods may run concurrently.
#ifndef CLAIMMATCH_EMBEDDINGS_SPM_BRIDGE_H_
#define CLAIMMATCH_EMBEDDINGS_SPM_BRIDGE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace claimmatch::spm {

class SpmModel {
 public:
  // Parses a serialized sentencepiece ModelProto. Returns nullptr and sets `error` on failure.
  static std::unique_ptr<SpmModel> FromSerialized(const std::string& bytes, std::string* error);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  // Sentencepiece ids of `text` (the library's own ids: <unk>=0 for its standard models).
  std::vector<int> EncodeIds(std::string_view text) const;
  std::vector<std::string> EncodePieces(std::string_view text) const;
  // Both at once: `ids` and, for each, its piece (the normalised text it covers for <unk>).
  void EncodeIdsAndPieces(std::string_view text, std::vector<int>* ids,
                          std::vector<std::string>* pieces) const;
  const std::string& IdToPiece(int id) const;
  int PieceSize() const;
  int UnkId() const;

 private:
  struct Impl;
  explicit SpmModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs sentencepiece's trainer with `args` (flag name -> value, without "--"). Returns an empty
// string on success, else the trainer's error message.
std::string Train(const std::map<std::string, std::string>& args);

}  // namespace claimmatch::spm

#endif  // CLAIMMATCH_EMBEDDINGS_SPM_BRIDGE_H_
