#include "embeddings/model_dir.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"

namespace claimmatch {
namespace {

using json = nlohmann::json;

constexpr absl::string_view kTransformerModule = "sentence_transformers.models.Transformer";
constexpr absl::string_view kStaticModule = "sentence_transformers.models.StaticEmbedding";
constexpr absl::string_view kPoolingModule = "sentence_transformers.models.Pooling";
constexpr absl::string_view kNormalizeModule = "sentence_transformers.models.Normalize";

absl::Status Invalid(absl::string_view file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", what));
}

absl::StatusOr<Pooling> ReadPooling(const std::string& file, const json& cfg) {
  std::vector<std::string> on;
  for (auto it = cfg.begin(); it != cfg.end(); ++it) {
    if (it.key().rfind("pooling_mode_", 0) == 0 && it.value().is_boolean() &&
        it.value().get<bool>()) {
      on.push_back(it.key());
    }
  }
  if (on.size() != 1) {
    return Invalid(file, absl::StrCat("exactly one pooling mode must be true, found ",
                                      on.empty() ? "none" : absl::StrJoin(on, ", ")));
  }
  if (on[0] == "pooling_mode_mean_tokens") return Pooling::kMean;
  if (on[0] == "pooling_mode_cls_token") return Pooling::kCls;
  if (on[0] == "pooling_mode_max_tokens") return Pooling::kMax;
  return Invalid(file, absl::StrCat("unsupported pooling mode '", on[0],
                                    "' (supported: mean_tokens, cls_token, max_tokens)"));
}

}  // namespace

absl::StatusOr<json> ReadJsonFile(absl::string_view path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(path, "not valid JSON");
  return j;
}

absl::StatusOr<ModelDir> ReadModelDir(absl::string_view dir) {
  try {
    ModelDir m;
    m.path = std::string(dir);
    if (!PathExists(dir)) {
      return absl::NotFoundError(absl::StrCat("model directory ", dir, " does not exist"));
    }
    const std::string modules_path = JoinPath(dir, "modules.json");
    std::string module_dir(dir);
    if (PathExists(modules_path)) {
      CM_ASSIGN_OR_RETURN(json modules, ReadJsonFile(modules_path));
      if (!modules.is_array() || modules.empty()) {
        return Invalid(modules_path, "must be a non-empty array of modules");
      }
      for (size_t i = 0; i < modules.size(); ++i) {
        const json& mod = modules[i];
        if (!mod.is_object() || !mod.contains("type") || !mod["type"].is_string()) {
          return Invalid(modules_path, absl::StrCat("module ", i, " has no \"type\""));
        }
        const std::string type = mod["type"].get<std::string>();
        const std::string sub = mod.value("path", std::string());
        if (i == 0) {
          if (type != kTransformerModule && type != kStaticModule) {
            return Invalid(modules_path, absl::StrCat("unsupported first module '", type,
                                                      "' (supported: ", kTransformerModule, ", ",
                                                      kStaticModule, ")"));
          }
          m.first_module = type;
          module_dir = JoinPath(dir, sub);
        } else if (type == kPoolingModule) {
          const std::string pool_path = JoinPath(JoinPath(dir, sub), "config.json");
          CM_ASSIGN_OR_RETURN(json pool, ReadJsonFile(pool_path));
          CM_ASSIGN_OR_RETURN(m.pooling, ReadPooling(pool_path, pool));
          m.pooling_dim = pool.value("word_embedding_dimension", 0);
          m.has_pooling_module = true;
        } else if (type == kNormalizeModule) {
          m.normalize = true;
        } else {
          return Invalid(modules_path, absl::StrCat("unsupported module '", type, "'"));
        }
      }
    } else {
      m.first_module = std::string(kTransformerModule);  // a bare transformers checkpoint
    }

    const std::string config_path = JoinPath(module_dir, "config.json");
    CM_ASSIGN_OR_RETURN(m.config, ReadJsonFile(config_path));
    if (!m.config.is_object() || !m.config.contains("model_type") ||
        !m.config["model_type"].is_string()) {
      return Invalid(config_path, "has no \"model_type\"");
    }
    m.model_type = m.config["model_type"].get<std::string>();

    m.weights_path = JoinPath(module_dir, "model.safetensors");
    if (!PathExists(m.weights_path)) {
      return absl::NotFoundError(
          absl::StrCat("model directory ", dir,
                       " has no model.safetensors (pytorch_model.bin is not supported: "
                       "the published safetensors file is needed)"));
    }
    for (const char* name :
         {"sentencepiece.bpe.model", "tokenizer.model", "sentencepiece.model", "spiece.model"}) {
      if (PathExists(JoinPath(module_dir, name))) {
        m.tokenizer_path = JoinPath(module_dir, name);
        break;
      }
    }
    if (m.tokenizer_path.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "model directory ", dir, " has no sentencepiece model (sentencepiece.bpe.model)"));
    }

    const std::string sbert_path = JoinPath(module_dir, "sentence_bert_config.json");
    if (PathExists(sbert_path)) {
      CM_ASSIGN_OR_RETURN(json sbert, ReadJsonFile(sbert_path));
      if (sbert.contains("max_seq_length")) {
        if (!sbert["max_seq_length"].is_number_integer() ||
            sbert["max_seq_length"].get<int64_t>() < 2 ||
            sbert["max_seq_length"].get<int64_t>() > 1 << 20) {
          return Invalid(sbert_path, "\"max_seq_length\" must be a whole number >= 2");
        }
        m.max_seq_length = sbert["max_seq_length"].get<int>();
      }
    }
    const std::string st_path = JoinPath(dir, "config_sentence_transformers.json");
    if (PathExists(st_path)) {
      CM_ASSIGN_OR_RETURN(json st, ReadJsonFile(st_path));
      if (st.contains("prompts") && st["prompts"].is_object()) {
        for (auto it = st["prompts"].begin(); it != st["prompts"].end(); ++it) {
          if (!it.value().is_string()) {
            return Invalid(st_path, absl::StrCat("prompt '", it.key(), "' is not a string"));
          }
          m.prompts[it.key()] = it.value().get<std::string>();
        }
      }
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, ": unexpected JSON: ", e.what()));
  }
}

}  // namespace claimmatch
