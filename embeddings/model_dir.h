// Internal: reads the sentence-transformers files of a model directory (see
// sentence_encoder.h for the layout) into one validated description. Used by the model
// backends; not part of the public API.
//
// Thread safety: plain data.
#ifndef CLAIMMATCH_EMBEDDINGS_MODEL_DIR_H_
#define CLAIMMATCH_EMBEDDINGS_MODEL_DIR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "embeddings/sentence_encoder.h"
#include "nlohmann/json.hpp"

namespace claimmatch {

struct ModelDir {
  std::string path;
  nlohmann::json config;       // config.json
  std::string model_type;      // config["model_type"]
  std::string first_module;    // sentence_transformers.models.Transformer | ...StaticEmbedding
  std::string weights_path;    // model.safetensors (in the first module's directory)
  std::string tokenizer_path;  // the sentencepiece model file
  int max_seq_length = 512;    // sentence_bert_config.json (else config's positions - 2)
  bool has_pooling_module = false;
  Pooling pooling = Pooling::kMean;
  int pooling_dim = 0;     // 1_Pooling/config.json word_embedding_dimension (0 if absent)
  bool normalize = false;  // 2_Normalize listed in modules.json
  std::map<std::string, std::string> prompts;  // config_sentence_transformers.json
};

// Reads and validates `dir`. Fails with kNotFound naming a missing file, kInvalidArgument naming
// the file and field for malformed JSON, an unknown module type or an unsupported pooling mode.
absl::StatusOr<ModelDir> ReadModelDir(absl::string_view dir);

// Reads a JSON file strictly. Fails with kNotFound, or kInvalidArgument naming the file.
absl::StatusOr<nlohmann::json> ReadJsonFile(absl::string_view path);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_MODEL_DIR_H_
