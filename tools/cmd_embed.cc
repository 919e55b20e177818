// claimmatch embed: text in, one JSON object {"text", "vector"} per line out.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "embeddings/sentence_encoder.h"
#include "embeddings/utf8.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"

namespace claimmatch::cli {
namespace {

constexpr int kChunk = 512;  // lines encoded per call: bounded memory on any input size

absl::Status WriteRows(const SentenceEncoder& encoder, const std::vector<std::string>& texts,
                       TextRole role) {
  absl::StatusOr<EmbeddingMatrix> rows = encoder.Encode(texts, role);
  if (!rows.ok()) return rows.status();
  std::string out;
  for (size_t i = 0; i < texts.size(); ++i) {
    nlohmann::json j;
    j["text"] = texts[i];
    j["vector"] = std::vector<float>(rows->row(i).data(), rows->row(i).data() + rows->cols());
    absl::StrAppend(&out, j.dump(), "\n");
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
    return absl::InternalError("cannot write to stdout");
  }
  return absl::OkStatus();
}

}  // namespace

int RunEmbed(const Args& args) {
  ArgParser p("embed", "claimmatch embed [--model DIR] [--input FILE|-] [TEXT...]",
              "Prints the sentence embedding of each input text as one JSON object per line:\n"
              "{\"text\": ..., \"vector\": [...]}. Texts come from the arguments, else from\n"
              "--input (one text per line; '-' = stdin), else from stdin.");
  p.Option("model", "model directory (sentence-transformers layout)", DefaultModelDir(),
           "CLAIMMATCH_MODEL")
      .Option("input", "file with one text per line ('-' for stdin)", "", "", 'i')
      .Option("role", "prompt to use: none, query or document (e5-style models)", "none");
  AddEncoderThreadsOption(p)
      .Example("claimmatch embed --model tests/data/xlmr-tiny/model \"The moon landing was faked\"")
      .Example("claimmatch embed --input sentences.txt > vectors.jsonl");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  absl::StatusOr<int> threads = ThreadsOption(p);
  if (!threads.ok()) return UsageError(p, threads.status().message());
  TextRole role = TextRole::kNone;
  const std::string role_name = p.Get("role");
  if (role_name == "query") {
    role = TextRole::kQuery;
  } else if (role_name == "document") {
    role = TextRole::kDocument;
  } else if (role_name != "none") {
    return UsageError(
        p, absl::StrCat("--role must be none, query or document (got '", role_name, "')"));
  }
  if (!p.positional().empty() && p.IsSet("input")) {
    return UsageError(p, "give texts as arguments or --input, not both");
  }

  EncoderOptions options;
  options.threads = *threads;
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder =
      LoadSentenceEncoder(p.Get("model"), options);
  if (!encoder.ok()) {
    return Fail(absl::StrCat("cannot load model: ", encoder.status().message()));
  }

  std::vector<std::string> batch;
  if (!p.positional().empty()) {
    for (size_t i = 0; i < p.positional().size(); ++i) {
      size_t bad = 0;
      if (!IsValidUtf8(p.positional()[i], &bad)) {
        return Fail(absl::StrCat("argument ", i + 1, ": invalid UTF-8 at byte ", bad));
      }
      batch.push_back(p.positional()[i]);
    }
    if (absl::Status s = WriteRows(**encoder, batch, role); !s.ok()) return Fail(s);
    return kExitOk;
  }

  const std::string input = p.Get("input");
  const std::string name = input.empty() || input == "-" ? "<stdin>" : input;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!input.empty() && input != "-") {
    file.open(input, std::ios::binary);
    if (!file) return Fail(absl::StrCat("cannot open ", input));
    in = &file;
  }
  std::string line;
  int64_t line_no = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t bad = 0;
    if (!IsValidUtf8(line, &bad)) {
      // Lines already printed stay valid output; the error says where to look.
      if (absl::Status s = WriteRows(**encoder, batch, role); !s.ok()) return Fail(s);
      return Fail(
          absl::StrCat(name, ":", line_no, ": invalid UTF-8 at byte ", bad + 1, " of the line"));
    }
    batch.push_back(std::move(line));
    if (batch.size() == kChunk) {
      if (absl::Status s = WriteRows(**encoder, batch, role); !s.ok()) return Fail(s);
      batch.clear();
    }
  }
  if (in->bad()) return Fail(absl::StrCat("cannot read ", name));
  if (absl::Status s = WriteRows(**encoder, batch, role); !s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace claimmatch::cli
