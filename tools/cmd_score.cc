// claimmatch score: nightly batch scoring. Streams records in (JSONL, TSV/CSV with a header, or
// plain lines), writes one JSONL result per record in input order, in constant memory.
//
// Pipeline: a reader (the calling thread) cuts the input into chunks of --chunk lines; --threads
// workers parse, match and format whole chunks; the calling thread writes finished chunks in input
// order. A record's result does not depend on the chunk it lands in (engine/matcher.h).
//
// Output safety: results go to OUTPUT.partial (flushed every chunk, fsynced every 2,048 records)
// and are renamed to OUTPUT at the end; --resume counts the complete lines of OUTPUT.partial and
// skips that many input records, so an interrupted run continues without redoing or duplicating
// records.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "embeddings/file_util.h"
#include "embeddings/utf8.h"
#include "engine/dates.h"
#include "engine/verdict.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/match_setup.h"
#include "tools/output.h"
#include "tools/progress.h"
#include "tools/repeat_cache.h"

namespace claimmatch::cli {
namespace {

using json = nlohmann::json;

enum class InputFormat { kJsonl, kTsv, kCsv, kLines };

struct Record {
  int64_t line = 0;  // 1-based line where it starts
  json passthrough;  // the input fields (JSONL / TSV / CSV) or {"id": line}
  std::string text;
  std::string date;   // --date-field's value as given (a day ReadDay reads); "" when none
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
  // `date_field`: "" or the field / column holding each record's date.
  RecordReader(std::istream& in, InputFormat format, std::string id_field, std::string text_field,
               std::string date_field)
      : in_(in),
        format_(format),
        id_field_(std::move(id_field)),
        text_field_(std::move(text_field)),
        date_field_(std::move(date_field)) {}

  // For TSV and CSV: reads the header line. Returns OK (also for the other formats, which have
  // none, and for an empty input: no records); fails with kInvalidArgument naming `input_name`
  // when the header has no column for the text. Call once, before NextLine. Not thread-safe.
  absl::Status ReadHeader(absl::string_view input_name) {
    if (format_ != InputFormat::kTsv && format_ != InputFormat::kCsv) return absl::OkStatus();
    std::string line;
    if (!ReadRawLine(&line)) return absl::OkStatus();  // nothing to score
    if (format_ == InputFormat::kTsv) {
      header_ = absl::StrSplit(line, '\t');
    } else {
      SplitCsv(line, &header_);
    }
    if (std::find(header_.begin(), header_.end(), text_field_) == header_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(input_name, ":1: the header has no column \"",
                                                     text_field_,
                                                     "\" (columns: ", absl::StrJoin(header_, ", "),
                                                     "); name the text column with --text-field"));
    }
    return absl::OkStatus();
  }

  // Reads the next record's line (after the header, skipping blank JSONL lines) and its 1-based
  // line number; false at the end of input. Not thread-safe.
  bool NextLine(std::string* line, int64_t* line_no) {
    while (ReadRawLine(line)) {
      if (format_ == InputFormat::kJsonl && line->find_first_not_of(" \t") == std::string::npos) {
        continue;
      }
      *line_no = line_no_;
      return true;
    }
    return false;
  }

  // The record of `line` (read by NextLine). Const: may run on many threads once the header was
  // read.
  Record ParseLine(const std::string& line, int64_t line_no) const {
    Record r;
    r.line = line_no;
    size_t bad = 0;
    if (!IsValidUtf8(line, &bad)) {
      r.error = absl::StrCat("invalid UTF-8 at byte ", bad + 1);
      r.passthrough = json{{"line", line_no}};
      return r;
    }
    Parse(line, &r);
    return r;
  }

  // Reads and parses the next record; false at the end of input.
  bool Next(Record* r) {
    std::string line;
    int64_t line_no = 0;
    if (!NextLine(&line, &line_no)) return false;
    *r = ParseLine(line, line_no);
    return true;
  }

 private:
  void Parse(const std::string& line, Record* r) const {
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
        if (r->error.empty() && !date_field_.empty() && j.contains(date_field_) &&
            !j[date_field_].is_null()) {
          if (!j[date_field_].is_string()) {
            r->error = absl::StrCat("field \"", date_field_, "\" is not a string");
          } else {
            ReadDate(j[date_field_].get<std::string>(), r);
          }
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
        if (r->error.empty() && !date_field_.empty() && j.contains(date_field_)) {
          ReadDate(j[date_field_].get<std::string>(), r);
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

  // Sets r->date from a date field's value (blank: none), or rejects the record naming the field.
  void ReadDate(const std::string& value, Record* r) const {
    if (value.find_first_not_of(" \t") == std::string::npos) return;
    if (!ReadDay(value).has_value()) {
      r->error = absl::StrCat("field \"", date_field_, "\" is not a day (\"", value,
                              "\"; e.g. 2017-08-29 or August 29, 2017)");
      return;
    }
    r->date = value;
  }

  // Reads one line without its "\r\n" or "\n" (and, on the first line, a UTF-8 byte order mark, as
  // spreadsheet exports write); counts it. False at the end of input.
  bool ReadRawLine(std::string* line) {
    if (!std::getline(in_, *line)) return false;
    ++line_no_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (line_no_ == 1 && absl::StartsWith(*line, "\xEF\xBB\xBF")) line->erase(0, 3);
    return true;
  }

  std::istream& in_;
  InputFormat format_;
  std::string id_field_, text_field_, date_field_;
  std::vector<std::string> header_;
  int64_t line_no_ = 0;
};

// Records between fsyncs of the output (every chunk is flushed).
constexpr int64_t kSyncEvery = 2048;

// A chunk of input lines on its way through the pipeline of RunScore.
struct ScoreChunk {
  int64_t seq = 0;                 // position in the input, in chunks
  std::vector<std::string> lines;  // read by the reader thread
  std::vector<int64_t> line_nos;
  // Filled by a worker: the records (passthrough fields dropped once formatted), the output
  // lines of all of them in `text` (record i's ends at line_end[i]), and each scored record's
  // top decision with its claim's normalised verdict.
  std::vector<Record> records;
  std::string text;
  std::vector<size_t> line_end;
  std::vector<Decision> top_decision;
  std::vector<std::string> top_verdict;
  // Per record: answered from an earlier record with the same text and date (ProcessChunk).
  std::vector<bool> repeated;
  absl::Status status;
};

// Parses, matches and formats `c` (a worker's part of RunScore). Unless `cache` is disabled, a
// record whose text and date repeat one of the chunk's earlier records or one `cache` holds takes
// those results instead of being matched again (the same results: see tools/repeat_cache.h);
// `c.repeated` marks them.
void ProcessChunk(const RecordReader& reader, const Matcher& matcher, const MatchOptions& options,
                  RepeatCache& cache, ScoreChunk& c) {
  const size_t n = c.lines.size();
  c.records.resize(n);
  c.repeated.assign(n, false);
  std::vector<std::vector<MatchResult>> results(n);
  // The texts to match (each distinct one once, with the cache) and their records.
  std::vector<std::string> texts, dates;
  std::vector<size_t> matched;
  absl::flat_hash_map<std::string, size_t> text_of;  // with the cache: key -> index into texts
  std::vector<std::pair<size_t, size_t>> copies;     // (record, index into texts)
  bool any_date = false;
  for (size_t i = 0; i < n; ++i) {
    c.records[i] = reader.ParseLine(c.lines[i], c.line_nos[i]);
    const Record& rec = c.records[i];
    if (!rec.error.empty()) continue;
    if (cache.enabled()) {
      std::string key = RepeatCache::Key(rec.text, rec.date);
      if (cache.Get(key, &results[i])) {
        c.repeated[i] = true;
        continue;
      }
      const auto [it, inserted] = text_of.try_emplace(std::move(key), texts.size());
      if (!inserted) {
        copies.emplace_back(i, it->second);
        continue;
      }
    }
    matched.push_back(i);
    texts.push_back(rec.text);
    dates.push_back(rec.date);
    any_date = any_date || !rec.date.empty();
  }
  if (!any_date) dates.clear();
  c.lines.clear();
  c.lines.shrink_to_fit();
  if (!texts.empty()) {
    absl::StatusOr<std::vector<std::vector<MatchResult>>> res =
        matcher.MatchBatch(texts, options, dates);
    if (!res.ok()) {
      c.status = res.status();
      return;
    }
    for (const auto& [key, t] : text_of) cache.Put(key, (*res)[t]);
    for (size_t t = 0; t < matched.size(); ++t) results[matched[t]] = std::move((*res)[t]);
  }
  for (const auto& [i, t] : copies) {
    results[i] = results[matched[t]];
    c.repeated[i] = true;
  }
  c.top_decision.assign(n, Decision::kNone);
  c.top_verdict.assign(n, "");
  c.line_end.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Record& rec = c.records[i];
    json o = std::move(rec.passthrough);
    rec.passthrough = json();
    if (!rec.error.empty()) {
      // Rejected records still get an output line, so outputs stay aligned with inputs.
      o["decision"] = "error";
      o["error"] = rec.error;
    } else {
      json q = QueryResultJson(rec.text, results[i]);
      o["decision"] = std::move(q["decision"]);
      o["matches"] = std::move(q["matches"]);
      if (!results[i].empty()) {
        c.top_decision[i] = results[i][0].decision;
        c.top_verdict[i] = std::string(VerdictName(results[i][0].claim.verdict_normalized));
      }
    }
    absl::StrAppend(&c.text, o.dump(-1, ' ', false, json::error_handler_t::replace), "\n");
    c.line_end[i] = c.text.size();
  }
}

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
              "and the decision. Streams in constant memory on every core. Bad records go to\n"
              "--rejects and never stop the run (unless --strict). Reads stdin and writes stdout\n"
              "when asked, so it runs unchanged as a Hadoop Streaming / Spark pipe() mapper.");
  AddMatchOptions(p, 1, UsableCores(), "workers matching records in parallel (one per core)");
  p.Option("input", "input file, or - for stdin", "-", "", 'i')
      .Option("output", "output file (JSONL), or - for stdout", "-", "", 'o')
      .Option("format", "jsonl, tsv, csv or lines (default: by extension, else jsonl)", "")
      .Option("text-field", "field / column holding the text", "text")
      .Option("id-field", "field / column holding the record id", "id")
      .Option("date-field",
              "field / column holding each record's date, for the re-ranker's date proximity (a "
              "record without one falls back to --date, then to an embedded tweet's signature "
              "date; one that is not a day is rejected)",
              "")
      .Option("rejects", "write rejected records (line, reason) as JSONL here", "")
      .Option("summary", "also write the summary as JSON to this file", "")
      .Option("chunk", "records per batch (a worker's unit of work)", "512")
      .Option("repeat-cache-mb",
              "memory for the results of recent texts: a record whose text and date repeat one "
              "of them takes its results instead of being matched again (the same output; 0: off)",
              "32")
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
  int chunk = 512;
  if (!p.GetInt("chunk", &chunk).ok() || chunk < 1)
    return UsageError(p, "--chunk needs a number >= 1");
  int repeat_cache_mb = 0;
  if (!p.GetInt("repeat-cache-mb", &repeat_cache_mb).ok() || repeat_cache_mb < 0 ||
      repeat_cache_mb > (1 << 20))
    return UsageError(p, "--repeat-cache-mb needs a number of megabytes from 0 to 1048576");
  const bool resume = p.GetFlag("resume");
  if (resume && output == "-") return UsageError(p, "--resume needs --output FILE");
  // Each worker encodes its own chunk on its own thread: the workers already use the cores.
  absl::StatusOr<MatchSession> s = OpenMatchSession(p, /*many_queries=*/true,
                                                    /*encoder_threads=*/1);
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
  const std::string input_name = input == "-" ? "<stdin>" : input;
  // The header is checked before any output is opened: a bad one leaves nothing behind.
  if (!p.Get("date-field").empty() && format == InputFormat::kLines) {
    return UsageError(p, "--date-field needs JSONL, TSV or CSV input (plain lines have no fields)");
  }
  RecordReader reader(*in, format, p.Get("id-field"), p.Get("text-field"), p.Get("date-field"));
  if (absl::Status st = reader.ReadHeader(input_name); !st.ok()) {
    return Fail(st);
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
  ProgressBar bar("score", "records", !quiet);
  int64_t total_in = 0, rejected = 0, scored = 0, repeats = 0;
  std::map<std::string, int64_t> matches_by_verdict, suggestions_by_verdict;
  int64_t skipped = 0;
  Record r;
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

  // Pipeline: this thread reads lines into chunks; --threads workers parse, match and format
  // whole chunks; this thread writes the finished chunks in input order. At most `window` chunks
  // are in flight, so memory stays constant whatever the input size.
  const MatchOptions& options = s->options;
  if (absl::Status st = s->matcher->Prepare(); !st.ok()) return Fail(st);
  const int workers = std::max(1, s->threads);
  const int64_t window = 2 * workers + 2;
  RepeatCache cache(static_cast<size_t>(repeat_cache_mb) << 20);
  std::mutex mu;
  std::condition_variable todo_cv, done_cv;
  std::deque<std::unique_ptr<ScoreChunk>> todo;         // guarded by mu
  std::map<int64_t, std::unique_ptr<ScoreChunk>> done;  // guarded by mu
  bool no_more = false;                                 // guarded by mu
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      while (true) {
        std::unique_ptr<ScoreChunk> c;
        {
          std::unique_lock<std::mutex> lock(mu);
          todo_cv.wait(lock, [&] { return !todo.empty() || no_more; });
          if (todo.empty()) return;
          c = std::move(todo.front());
          todo.pop_front();
        }
        ProcessChunk(reader, *s->matcher, options, cache, *c);
        {
          std::lock_guard<std::mutex> lock(mu);
          const int64_t seq = c->seq;
          done.emplace(seq, std::move(c));
        }
        done_cv.notify_all();
      }
    });
  }
  auto stop_pool = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      no_more = true;
      todo.clear();
    }
    todo_cv.notify_all();
    for (std::thread& t : pool) t.join();
    pool.clear();
  };

  bool stop = false;
  bool eof = false;
  int exit_code = kExitOk;
  int64_t next_read = 0, next_write = 0, unsynced = 0;
  absl::Status failure;
  std::string line;
  int64_t line_no = 0;
  while (!stop) {
    while (!eof && next_read - next_write < window) {
      auto c = std::make_unique<ScoreChunk>();
      c->seq = next_read;
      while (static_cast<int>(c->lines.size()) < chunk && reader.NextLine(&line, &line_no)) {
        c->lines.push_back(std::move(line));
        c->line_nos.push_back(line_no);
      }
      if (c->lines.empty()) {
        eof = true;
        break;
      }
      ++next_read;
      {
        std::lock_guard<std::mutex> lock(mu);
        todo.push_back(std::move(c));
      }
      todo_cv.notify_one();
    }
    if (next_write == next_read) break;  // everything read was written
    std::unique_ptr<ScoreChunk> c;
    {
      std::unique_lock<std::mutex> lock(mu);
      done_cv.wait(lock, [&] { return done.count(next_write) > 0; });
      auto it = done.find(next_write);
      c = std::move(it->second);
      done.erase(it);
    }
    ++next_write;
    if (!c->status.ok()) {
      failure = c->status;
      break;
    }
    size_t text_end = c->text.size();
    for (size_t i = 0; i < c->records.size(); ++i) {
      ++total_in;
      const Record& rec = c->records[i];
      if (!rec.error.empty()) {
        ++rejected;
        reject_line(rec);
        if (p.GetFlag("strict")) {
          const std::string where = absl::StrCat(input_name, ":", rec.line);
          std::fprintf(stderr, "claimmatch: error: %s: %s (--strict)\n", where.c_str(),
                       rec.error.c_str());
          stop = true;
          exit_code = kExitRejected;
          text_end = i == 0 ? 0 : c->line_end[i - 1];
          break;
        }
        continue;
      }
      ++scored;
      if (c->repeated[i]) ++repeats;
      const std::string& v = c->top_verdict[i];
      if (c->top_decision[i] == Decision::kMatch) ++matches_by_verdict[v];
      if (c->top_decision[i] == Decision::kSuggest) ++suggestions_by_verdict[v];
    }
    if (std::fwrite(c->text.data(), 1, text_end, out) != text_end || std::fflush(out) != 0) {
      failure =
          absl::InternalError(absl::StrCat("cannot write ", output == "-" ? "stdout" : partial));
      break;
    }
    unsynced += static_cast<int64_t>(c->records.size());
    if (out != stdout && (unsynced >= kSyncEvery || stop)) {
      ::fsync(::fileno(out));
      unsynced = 0;
    }
    bar.Update(total_in, total_in);
  }
  stop_pool();
  if (!failure.ok()) {
    if (out != stdout) std::fclose(out);
    return Fail(failure);
  }
  if (out != stdout && unsynced > 0) ::fsync(::fileno(out));
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
               {"repeats", repeats},
               {"matches_by_verdict", matches_by_verdict},
               {"suggestions_by_verdict", suggestions_by_verdict},
               {"seconds", secs},
               {"workers", workers},
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
        "rejected, %s repeats; %.1f s on %d worker%s, %s records/s\n",
        WithCommas(total_in - skipped).c_str(), WithCommas(skipped).c_str(), WithCommas(m).c_str(),
        by.empty() ? "-" : by.c_str(), WithCommas(sug).c_str(), WithCommas(rejected).c_str(),
        WithCommas(repeats).c_str(), secs, workers, workers == 1 ? "" : "s",
        WithCommas(static_cast<int64_t>(secs > 0 ? (total_in - skipped) / secs : 0)).c_str());
  }
  return exit_code;
}

}  // namespace claimmatch::cli
