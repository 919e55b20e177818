// claimmatch score: nightly batch scoring. Streams records in (JSONL, TSV/CSV with a header, or
// plain lines), writes one JSONL result per record in input order, in constant memory.
//
// Output safety: results go to OUTPUT.partial (flushed and fsynced every chunk) and are renamed
// to OUTPUT at the end; --resume counts the complete lines of OUTPUT.partial and skips that many
// input records, so an interrupted run continues without redoing or duplicating records.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "embeddings/utf8.h"
#include "engine/verdict.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/match_setup.h"
#include "tools/output.h"
#include "tools/progress.h"

namespace claimmatch::cli {
namespace {

using json = nlohmann::json;

enum class InputFormat { kJsonl, kTsv, kCsv, kLines };

struct Record {
  int64_t line = 0;  // 1-based line where it starts
  json passthrough;  // the input fields (JSONL / TSV / CSV) or {"id": line}
  std::string text;
  std::string error;  // non-empty: rejected
};

// Splits one CSV line (RFC 4180 quoting, no embedded newlines in this streaming reader).
bool SplitCsv(const std::string& line, std::vector<std::string>* out) {
  out->clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"' && cur.empty()) {
      quoted = true;
    } else if (c == ',') {
      out->push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out->push_back(std::move(cur));
  return !quoted;
}

class RecordReader {
 public:
  RecordReader(std::istream& in, InputFormat format, std::string id_field, std::string text_field)
      : in_(in),
        format_(format),
        id_field_(std::move(id_field)),
        text_field_(std::move(text_field)) {}

  // Reads the next record; false at the end of input.
  bool Next(Record* r) {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if ((format_ == InputFormat::kTsv || format_ == InputFormat::kCsv) && header_.empty()) {
        if (format_ == InputFormat::kTsv) {
          header_ = absl::StrSplit(line, '\t');
        } else {
          SplitCsv(line, &header_);
        }
        continue;
      }
      if (format_ == InputFormat::kJsonl && line.find_first_not_of(" \t") == std::string::npos) {
        continue;
      }
      *r = Record();
      r->line = line_no_;
      size_t bad = 0;
      if (!IsValidUtf8(line, &bad)) {
        r->error = absl::StrCat("invalid UTF-8 at byte ", bad + 1);
        r->passthrough = json{{"line", line_no_}};
        return true;
      }
      Parse(line, r);
      return true;
    }
    return false;
  }

 private:
  void Parse(const std::string& line, Record* r) {
    switch (format_) {
      case InputFormat::kLines:
        r->passthrough = json{{"id", r->line}};
        r->text = line;
        break;
      case InputFormat::kJsonl: {
        json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) {
          r->error = "malformed JSON (expected one object per line)";
          r->passthrough = json{{"line", r->line}};
          return;
        }
        if (!j.contains(text_field_) || !j[text_field_].is_string()) {
          r->error = absl::StrCat("field \"", text_field_, "\" is missing or not a string");
        } else {
          r->text = j[text_field_].get<std::string>();
        }
        if (!j.contains(id_field_)) j[id_field_] = r->line;
        r->passthrough = std::move(j);
        break;
      }
      case InputFormat::kTsv:
      case InputFormat::kCsv: {
        std::vector<std::string> cells;
        if (format_ == InputFormat::kTsv) {
          cells = absl::StrSplit(line, '\t');
        } else if (!SplitCsv(line, &cells)) {
          r->error = "unterminated quote (multi-line CSV fields are not supported by score)";
          r->passthrough = json{{"line", r->line}};
          return;
        }
        if (cells.size() != header_.size()) {
          r->error = absl::StrCat("has ", cells.size(), " columns, the header ", header_.size());
          r->passthrough = json{{"line", r->line}};
          return;
        }
        json j = json::object();
        for (size_t i = 0; i < cells.size(); ++i) j[header_[i]] = cells[i];
        if (!j.contains(text_field_)) {
          r->error = absl::StrCat("column \"", text_field_, "\" is missing");
        } else {
          r->text = j[text_field_].get<std::string>();
        }
        if (!j.contains(id_field_)) j[id_field_] = r->line;
        r->passthrough = std::move(j);
        break;
      }
    }
    if (r->error.empty() && r->text.find_first_not_of(" \t") == std::string::npos) {
      r->error = absl::StrCat("field \"", text_field_, "\" is empty");
    }
  }

  std::istream& in_;
  InputFormat format_;
  std::string id_field_, text_field_;
  std::vector<std::string> header_;
  int64_t line_no_ = 0;
};

// Counts complete lines of `path` and truncates a trailing partial line. Returns -1 on error.
int64_t CountCompleteLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return -1;
  int64_t lines = 0;
  int64_t last_newline_end = 0, pos = 0;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      ++pos;
      if (buf[i] == '\n') {
        ++lines;
        last_newline_end = pos;
      }
    }
  }
  in.close();
  if (last_newline_end != pos && ::truncate(path.c_str(), last_newline_end) != 0) return -1;
  return lines;
}

}  // namespace

int RunScore(const Args& args) {
  ArgParser p("score", "claimmatch score [--db DIR] --input FILE|- [--output FILE|-] [options]",
              "Scores many records against the claim database (nightly batch jobs): JSONL\n"
              "(`id`, `text`, other fields passed through), TSV or CSV with a header, or plain\n"
              "lines in; one JSON line per record out, in input order, with the best match(es)\n"
              "and the decision. Streams in constant memory on both cores. Bad records go to\n"
              "--rejects and never stop the run (unless --strict). Reads stdin and writes stdout\n"
              "when asked, so it runs unchanged as a Hadoop Streaming / Spark pipe() mapper.");
  AddMatchOptions(p, 1);
  p.Option("input", "input file, or - for stdin", "-", "", 'i')
      .Option("output", "output file (JSONL), or - for stdout", "-", "", 'o')
      .Option("format", "jsonl, tsv, csv or lines (default: by extension, else jsonl)", "")
      .Option("text-field", "field / column holding the text", "text")
      .Option("id-field", "field / column holding the record id", "id")
      .Option("rejects", "write rejected records (line, reason) as JSONL here", "")
      .Option("summary", "also write the summary as JSON to this file", "")
      .Option("chunk", "records per batch", "2048")
      .Flag("resume", "continue an interrupted run of the same --output")
      .Flag("strict", "stop at the first bad record (exit 3)")
      .Flag("quiet", "no progress bar or summary on stderr", 'q')
      .Example("claimmatch score --db ~/claims --input posts.jsonl --output scored.jsonl")
      .Example("cat posts.tsv | claimmatch score --format tsv --input - > scored.jsonl");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  const std::string input = p.Get("input");
  const std::string output = p.Get("output");
  std::string fmt = p.Get("format");
  if (fmt.empty()) {
    auto ends = [&](const char* ext) {
      return input.size() > strlen(ext) &&
             input.compare(input.size() - strlen(ext), strlen(ext), ext) == 0;
    };
    fmt = ends(".tsv") ? "tsv" : ends(".csv") ? "csv" : ends(".txt") ? "lines" : "jsonl";
  }
  InputFormat format;
  if (fmt == "jsonl") {
    format = InputFormat::kJsonl;
  } else if (fmt == "tsv") {
    format = InputFormat::kTsv;
  } else if (fmt == "csv") {
    format = InputFormat::kCsv;
  } else if (fmt == "lines") {
    format = InputFormat::kLines;
  } else {
    return UsageError(p,
                      absl::StrCat("--format must be jsonl, tsv, csv or lines (got '", fmt, "')"));
  }
  int chunk = 2048;
  if (!p.GetInt("chunk", &chunk).ok() || chunk < 1)
    return UsageError(p, "--chunk needs a number >= 1");
  const bool resume = p.GetFlag("resume");
  if (resume && output == "-") return UsageError(p, "--resume needs --output FILE");
  absl::StatusOr<MatchSession> s = OpenMatchSession(p);
  if (!s.ok()) {
    if (absl::IsInvalidArgument(s.status())) return UsageError(p, s.status().message());
    return Fail(s.status());
  }

  std::ifstream file;
  std::istream* in = &std::cin;
  if (input != "-") {
    file.open(input, std::ios::binary);
    if (!file) return Fail(absl::StrCat("cannot open ", input));
    in = &file;
  }
  const std::string partial = output + ".partial";
  int64_t skip = 0;
  FILE* out = stdout;
  if (output != "-") {
    if (resume && PathExists(partial)) {
      skip = CountCompleteLines(partial);
      if (skip < 0) return Fail(absl::StrCat("cannot read ", partial));
    } else if (resume && PathExists(output)) {
      return Fail(absl::StrCat(output, " is complete already; nothing to resume"));
    }
    out = std::fopen(partial.c_str(), skip > 0 ? "ab" : "wb");
    if (out == nullptr) return Fail(absl::StrCat("cannot write ", partial));
  }
  std::string rejects_text;
  const bool quiet = p.GetFlag("quiet");
  RecordReader reader(*in, format, p.Get("id-field"), p.Get("text-field"));
  ProgressBar bar("score", "records", !quiet);
  int64_t total_in = 0, rejected = 0, scored = 0;
  std::map<std::string, int64_t> matches_by_verdict, suggestions_by_verdict;
  int64_t skipped = 0;
  Record r;
  const std::string input_name = input == "-" ? "<stdin>" : input;
  auto reject_line = [&](const Record& rec) {
    const std::string where = absl::StrCat(input_name, ":", rec.line);
    json rj{{"line", rec.line},
            {"reason", rec.error},
            {"message", absl::StrCat(where, ": ", rec.error)}};
    absl::StrAppend(&rejects_text, rj.dump(-1, ' ', false, json::error_handler_t::replace), "\n");
  };
  // Skip what a previous run already wrote (resume); its rejected records are re-read so that
  // --rejects and the summary cover the whole input.
  int64_t rejected_before = 0;
  while (skipped < skip && reader.Next(&r)) {
    ++skipped;
    if (!r.error.empty()) {
      ++rejected_before;
      reject_line(r);
    }
  }
  if (skipped < skip) return Fail("--resume: the output has more records than the input");
  total_in = skipped;

  const MatchOptions& options = s->options;
  bool stop = false;
  int exit_code = kExitOk;
  while (!stop) {
    std::vector<Record> batch;
    while (static_cast<int>(batch.size()) < chunk && reader.Next(&r)) batch.push_back(std::move(r));
    if (batch.empty()) break;
    // Score the good records of the chunk on two threads (halves), keeping input order.
    std::vector<int> good;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].error.empty()) good.push_back(static_cast<int>(i));
    }
    std::vector<std::vector<MatchResult>> results(batch.size());
    absl::Status failure;
    auto work = [&](size_t begin, size_t end, absl::Status* st) {
      std::vector<std::string> texts;
      for (size_t g = begin; g < end; ++g) texts.push_back(batch[good[g]].text);
      if (texts.empty()) return;
      auto res = s->matcher->MatchBatch(texts, options);
      if (!res.ok()) {
        *st = res.status();
        return;
      }
      for (size_t g = begin; g < end; ++g) results[good[g]] = std::move((*res)[g - begin]);
    };
    const size_t half = good.size() / 2;
    absl::Status st2;
    std::thread second(work, half, good.size(), &st2);
    work(0, half, &failure);
    second.join();
    if (failure.ok()) failure = st2;
    if (!failure.ok()) {
      if (out != stdout) std::fclose(out);
      return Fail(failure);
    }
    std::string text_out;
    for (size_t i = 0; i < batch.size(); ++i) {
      ++total_in;
      const Record& rec = batch[i];
      if (!rec.error.empty()) {
        ++rejected;
        reject_line(rec);
        const std::string where = absl::StrCat(input_name, ":", rec.line);
        if (p.GetFlag("strict")) {
          std::fprintf(stderr, "claimmatch: error: %s: %s (--strict)\n", where.c_str(),
                       rec.error.c_str());
          stop = true;
          exit_code = kExitRejected;
          break;
        }
        // Rejected records still get an output line, so outputs stay aligned with inputs.
        json o = rec.passthrough;
        o["decision"] = "error";
        o["error"] = rec.error;
        absl::StrAppend(&text_out, o.dump(-1, ' ', false, json::error_handler_t::replace), "\n");
        continue;
      }
      ++scored;
      json o = rec.passthrough;
      const json q = QueryResultJson(rec.text, results[i]);
      o["decision"] = q["decision"];
      o["matches"] = q["matches"];
      if (!results[i].empty()) {
        const MatchResult& top = results[i][0];
        const std::string v(VerdictName(top.claim.verdict_normalized));
        if (top.decision == Decision::kMatch) ++matches_by_verdict[v];
        if (top.decision == Decision::kSuggest) ++suggestions_by_verdict[v];
      }
      absl::StrAppend(&text_out, o.dump(-1, ' ', false, json::error_handler_t::replace), "\n");
    }
    if (std::fwrite(text_out.data(), 1, text_out.size(), out) != text_out.size() ||
        std::fflush(out) != 0) {
      return Fail(absl::StrCat("cannot write ", output == "-" ? "stdout" : partial));
    }
    if (out != stdout) ::fsync(::fileno(out));
    bar.Update(total_in, total_in);
  }
  bar.Finish();
  if (out != stdout) {
    if (std::fclose(out) != 0) return Fail(absl::StrCat("cannot write ", partial));
    if (exit_code == kExitOk && std::rename(partial.c_str(), output.c_str()) != 0) {
      return Fail(absl::StrCat("cannot rename ", partial, " to ", output));
    }
  }
  if (!p.Get("rejects").empty()) {
    if (auto st = WriteFileAtomically(p.Get("rejects"), rejects_text); !st.ok()) return Fail(st);
  }
  const double secs = bar.seconds();
  json summary{{"records", total_in - skipped},
               {"resumed_after", skipped},
               {"scored", scored},
               {"rejected", rejected + rejected_before},
               {"matches_by_verdict", matches_by_verdict},
               {"suggestions_by_verdict", suggestions_by_verdict},
               {"seconds", secs},
               {"records_per_second", secs > 0 ? (total_in - skipped) / secs : 0.0}};
  if (!p.Get("summary").empty()) {
    if (auto st = WriteFileAtomically(p.Get("summary"), summary.dump(2) + "\n"); !st.ok()) {
      return Fail(st);
    }
  }
  if (!quiet) {
    int64_t m = 0, sug = 0;
    for (auto& [v, n] : matches_by_verdict) m += n;
    for (auto& [v, n] : suggestions_by_verdict) sug += n;
    std::string by;
    for (auto& [v, n] : matches_by_verdict) absl::StrAppend(&by, by.empty() ? "" : ", ", v, " ", n);
    std::fprintf(
        stderr,
        "score: %s records (%s resumed past), %s matches (%s), %s suggestions, %s "
        "rejected; %.1f s, %s records/s\n",
        WithCommas(total_in - skipped).c_str(), WithCommas(skipped).c_str(), WithCommas(m).c_str(),
        by.empty() ? "-" : by.c_str(), WithCommas(sug).c_str(), WithCommas(rejected).c_str(), secs,
        WithCommas(static_cast<int64_t>(secs > 0 ? (total_in - skipped) / secs : 0)).c_str());
  }
  return exit_code;
}

}  // namespace claimmatch::cli
