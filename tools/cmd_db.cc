// The claim-database commands: ingest, info, check, delete, reindex.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "embeddings/file_util.h"
#include "embeddings/sentence_encoder.h"
#include "engine/claim_database.h"
#include "engine/claim_formats.h"
#include "engine/dates.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/progress.h"

namespace claimmatch::cli {
namespace {

using json = nlohmann::json;

void AddDbOption(ArgParser& p) {
  p.Option("db", "claim database directory", DefaultDbDir(), "CLAIMMATCH_DB");
}
void AddModelOption(ArgParser& p, const char* help) {
  p.Option("model", help, "", "CLAIMMATCH_MODEL");
}

// The model for an existing database: --model/CLAIMMATCH_MODEL, else the one its manifest names,
// else the bundled default.
// (An unreadable manifest is what check and reindex report and repair, so it is not an error here.)
std::string ModelForDb(const ArgParser& p, const std::string& db) {
  absl::StatusOr<std::string> dir = DatabaseModelDir(p.IsSet("model") ? p.Get("model") : "", db);
  return dir.ok() ? *dir : DefaultModelDir();
}

absl::StatusOr<VectorIndexOptions> IndexOptions(const std::string& name) {
  VectorIndexOptions o;
  if (name == "flat") {
    o.type = VectorIndexType::kFlat;
  } else if (name == "hnsw") {
    o.type = VectorIndexType::kHnsw;
  } else if (name == "ivfpq") {
    o.type = VectorIndexType::kIvfPq;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--index must be flat, hnsw or ivfpq (got '", name, "')"));
  }
  return o;
}

int64_t DirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  }
  return total;
}

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < 1024ll * 1024 * 1024) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  return absl::StrFormat("%.2f GiB", bytes / 1073741824.0);
}

}  // namespace

int RunIngest(const Args& args) {
  ArgParser p("ingest", "claimmatch ingest --db DIR [options] FILE...",
              "Adds fact-checked claims to a claim database (created when missing), or updates\n"
              "them: records are upserted by id, so ingesting a file twice changes nothing.\n"
              "Formats (detected by extension and content, or --format): JSONL, CSV, TSV,\n"
              "ClaimReview JSON-LD (object, array, @graph, or HTML pages with ld+json blocks),\n"
              "Google Fact Check Tools claims:search responses, CheckThat claim files.\n"
              "Bad records are reported (file:line: field reason) and skipped; --strict makes\n"
              "any rejection fail the whole run with nothing written (exit 3).");
  AddDbOption(p);
  AddModelOption(p, "model directory (default: the database's own model, else the bundled one)");
  p.Option("format", "auto, jsonl, csv, tsv, claimreview, factcheck-api or checkthat", "auto")
      .Option("map", "field mapping for JSONL/CSV, e.g. text=statement,claimant=speaker", "")
      .Option("index", "vector index type for a new database: flat, hnsw or ivfpq", "flat")
      .Option("language",
              "language of the records that give none (a BCP-47 code: en, pt-BR); records "
              "that give one keep it",
              "")
      .Option("rejects", "write rejected records (file, line, field, reason) as JSONL here", "");
  AddEncoderThreadsOption(p)
      .Option("batch", "records per transaction and embedding call", "1000")
      .Option("checkpoint-every", "save the indexes after this many batches", "50")
      .Flag("strict", "fail (exit 3) and write nothing if any record is rejected")
      .Flag("json", "print the summary as JSON on stdout")
      .Flag("quiet", "no progress bar or summary on stderr", 'q')
      .Example("claimmatch ingest --db ~/claims politifact.jsonl reviews.html")
      .Example("claimmatch ingest --db ~/claims --map text=statement,verdict=label sheet.csv")
      .Example("claimmatch ingest --db ~/claims --language fr 20minutes-claimreview.jsonld");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  absl::StatusOr<int> threads = ThreadsOption(p);
  if (!threads.ok()) return UsageError(p, threads.status().message());
  int batch = 1000, checkpoint = 50;
  if (!p.GetInt("batch", &batch).ok() || batch < 1) {
    return UsageError(p, "--batch needs a whole number >= 1");
  }
  if (!p.GetInt("checkpoint-every", &checkpoint).ok() || checkpoint < 1) {
    return UsageError(p, "--checkpoint-every needs a whole number >= 1");
  }
  absl::StatusOr<ClaimFormat> format = ParseClaimFormatName(p.Get("format"));
  if (!format.ok()) return UsageError(p, format.status().message());
  absl::StatusOr<FieldMapping> mapping = FieldMapping::Parse(p.Get("map"));
  if (!mapping.ok()) return UsageError(p, mapping.status().message());
  absl::StatusOr<VectorIndexOptions> index = IndexOptions(p.Get("index"));
  if (!index.ok()) return UsageError(p, index.status().message());
  const std::string language = p.Get("language");
  if (!language.empty() && !IsLanguageTag(language)) {
    return UsageError(p, absl::StrCat("--language needs a BCP-47 language code such as en or "
                                      "pt-BR, not \"",
                                      language, "\""));
  }
  const bool quiet = p.GetFlag("quiet");
  const std::string db_dir = p.Get("db");

  // Read every file first: under --strict nothing is written unless all of it is good.
  std::vector<ClaimRecord> records;
  std::vector<Rejection> rejections;
  std::vector<Rejection> warnings;
  for (const std::string& file : p.positional()) {
    absl::StatusOr<ReadResult> r;
    if (file == "-") {
      std::string content((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
      r = ParseClaims("<stdin>", content, *format, *mapping);
    } else {
      r = ReadClaims(file, *format, *mapping);
    }
    if (!r.ok()) return Fail(r.status());
    for (ClaimRecord& rec : r->records) {
      if (rec.language.empty()) rec.language = language;
      records.push_back(std::move(rec));
    }
    for (Rejection& rej : r->rejections) rejections.push_back(std::move(rej));
    for (Rejection& w : r->warnings) warnings.push_back(std::move(w));
  }
  // Records kept with a field left out: the first few, then how many more.
  constexpr size_t kWarningsShown = 10;
  for (size_t i = 0; i < warnings.size() && i < kWarningsShown; ++i) {
    std::fprintf(stderr, "claimmatch: warning: %s\n", warnings[i].ToString().c_str());
  }
  if (warnings.size() > kWarningsShown) {
    std::fprintf(stderr, "claimmatch: warning: ... and %s more like these\n",
                 WithCommas(static_cast<int64_t>(warnings.size() - kWarningsShown)).c_str());
  }
  for (const Rejection& rej : rejections) {
    std::fprintf(stderr, "claimmatch: rejected: %s\n", rej.ToString().c_str());
  }
  if (!p.Get("rejects").empty()) {
    std::string out;
    for (const Rejection& rej : rejections) {
      json j{{"file", rej.file},
             {rej.is_record_number ? "record" : "line", rej.line_or_record},
             {"field", rej.field},
             {"reason", rej.reason},
             {"message", rej.ToString()}};
      absl::StrAppend(&out, j.dump(-1, ' ', false, json::error_handler_t::replace), "\n");
    }
    if (absl::Status s = WriteFileAtomically(p.Get("rejects"), out); !s.ok()) return Fail(s);
  }
  if (p.GetFlag("strict") && !rejections.empty()) {
    std::fprintf(stderr,
                 "claimmatch: error: %zu record(s) rejected; nothing was written (--strict)\n",
                 rejections.size());
    return kExitRejected;
  }

  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder =
      LoadEncoder(ModelForDb(p, db_dir), *threads);
  if (!encoder.ok()) return Fail(encoder.status());
  ProgressBar bar("ingest", "claims", !quiet);
  DatabaseOptions options;
  options.vector_index = *index;
  options.batch_size = batch;
  options.save_every = checkpoint;
  options.progress = [&](int64_t done, int64_t total) { bar.Update(done, total); };
  options.note = [&](absl::string_view note) {
    bar.Finish();  // idempotent: clears the bar's line on a terminal
    if (!quiet) std::fprintf(stderr, "ingest: %.*s\n", static_cast<int>(note.size()), note.data());
  };
  absl::StatusOr<std::unique_ptr<ClaimDatabase>> db =
      ClaimDatabase::Open(db_dir, ClaimDatabase::Mode::kReadWrite, **encoder, options);
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<WriteSummary> summary = (*db)->Ingest(records);
  bar.Finish();
  if (!summary.ok()) return Fail(summary.status());
  const double secs = bar.seconds();
  const int64_t n = static_cast<int64_t>(records.size());
  if (p.GetFlag("json")) {
    json j{{"db", db_dir},
           {"records", n},
           {"added", summary->added},
           {"updated", summary->updated},
           {"unchanged", summary->unchanged},
           {"rejected", rejections.size()},
           {"warnings", warnings.size()},
           {"retrained", summary->retrained},
           {"claims", (*db)->manifest().claims},
           {"seconds", secs}};
    std::printf("%s\n", j.dump().c_str());
  }
  if (!quiet) {
    std::fprintf(stderr,
                 "ingest: %s records: %s added, %s updated, %s unchanged, %s rejected; "
                 "%s claims in %s; %.1f s (%s claims/s)\n",
                 WithCommas(n).c_str(), WithCommas(summary->added).c_str(),
                 WithCommas(summary->updated).c_str(), WithCommas(summary->unchanged).c_str(),
                 WithCommas(static_cast<int64_t>(rejections.size())).c_str(),
                 WithCommas((*db)->manifest().claims).c_str(), db_dir.c_str(), secs,
                 WithCommas(secs > 0 ? static_cast<int64_t>(n / secs) : n).c_str());
  }
  return kExitOk;
}

int RunInfo(const Args& args) {
  ArgParser p("info", "claimmatch info --db DIR [--json]",
              "Describes a claim database: claims by verdict, language and publisher, how many\n"
              "have a claim date (and its range), the model, the index type and sizes on disk.");
  AddDbOption(p);
  p.Flag("json", "one JSON object (its \"claims\" field is the total)")
      .Example("claimmatch info --db ~/claims");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  const std::string db_dir = p.Get("db");
  absl::StatusOr<Manifest> manifest = ClaimDatabase::ReadManifest(db_dir);
  if (!manifest.ok()) return Fail(manifest.status());
  // An ivfpq index's list count, unless its manifest predates it (-1).
  const bool known_lists = manifest->index_type != "flat" && manifest->ivf_lists >= 0;
  absl::StatusOr<std::unique_ptr<ClaimStore>> store =
      ClaimStore::Open(db_dir, ClaimStore::Mode::kReadOnly);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<int64_t> count = (*store)->Count();
  if (!count.ok()) return Fail(count.status());
  json by = json::object();
  for (const char* column : {"verdict_norm", "language", "publisher"}) {
    auto counts = (*store)->CountBy(column);
    if (!counts.ok()) return Fail(counts.status());
    json c = json::array();
    for (const auto& [value, n] : *counts) c.push_back({{"value", value}, {"claims", n}});
    by[column == std::string("verdict_norm") ? "verdict" : column] = c;
  }
  // Claim dates that date filters can read (engine/dates.h), and their range.
  auto dates = (*store)->CountBy("claim_date");
  if (!dates.ok()) return Fail(dates.status());
  int64_t dated = 0;
  std::string first_date, last_date;
  for (const auto& [value, n] : *dates) {
    const std::string date = NormalizeDate(value);
    if (date.empty()) continue;
    dated += n;
    if (first_date.empty() || date < first_date) first_date = date;
    if (last_date.empty() || date > last_date) last_date = date;
  }
  json files = json::object();
  for (const char* f : {ClaimStore::kFileName, ClaimDatabase::kVectorsFile,
                        ClaimDatabase::kBm25File, ClaimDatabase::kManifestFile}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(JoinPath(db_dir, f), ec);
    files[f] = ec ? 0 : static_cast<int64_t>(size);
  }
  const int64_t total_bytes = DirBytes(db_dir);
  if (p.GetFlag("json")) {
    json j{{"db", db_dir},
           {"claims", *count},
           {"model",
            {{"name", manifest->model.name},
             {"path", manifest->model.path},
             {"weights_hash", manifest->model.weights_hash},
             {"dim", manifest->model.dim}}},
           {"index_type", manifest->index_type},
           {"metric", manifest->metric},
           {"by", by},
           {"dated_claims", dated},
           {"claim_dates", {{"first", first_date}, {"last", last_date}}},
           {"files", files},
           {"bytes", total_bytes}};
    if (known_lists) j["ivf_lists"] = manifest->ivf_lists;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("database   %s\nclaims     %s\nmodel      %s (%s, weights %s, dim %d)\n",
              db_dir.c_str(), WithCommas(*count).c_str(), manifest->model.name.c_str(),
              manifest->model.path.c_str(), manifest->model.weights_hash.c_str(),
              manifest->model.dim);
  std::string index = manifest->index_type;
  if (known_lists) {
    absl::StrAppend(&index, manifest->ivf_lists > 0
                                ? absl::StrCat(" (", WithCommas(manifest->ivf_lists), " IVF lists)")
                                : std::string(" (not trained yet: searched exactly until then)"));
  }
  std::printf("index      %s, %s\nsize       %s", index.c_str(), manifest->metric.c_str(),
              HumanBytes(total_bytes).c_str());
  if (*count > 0) std::printf(" (%s per claim)", HumanBytes(total_bytes / *count).c_str());
  std::printf("\nclaim date %s of %s claims", WithCommas(dated).c_str(),
              WithCommas(*count).c_str());
  if (dated > 0) std::printf(", %s .. %s", first_date.c_str(), last_date.c_str());
  if (dated < *count) std::printf(" (--since / --until skip the others)");
  std::printf("\n");
  for (const char* key : {"verdict", "language", "publisher"}) {
    std::printf("\nby %s:\n", key);
    int shown = 0;
    for (const json& e : by[key]) {
      if (++shown > 12) {
        std::printf("  … %zu more\n", by[key].size() - 12);
        break;
      }
      const std::string v = e["value"].get<std::string>();
      std::printf("  %-28s %10s\n", v.empty() ? "(unknown)" : v.c_str(),
                  WithCommas(e["claims"].get<int64_t>()).c_str());
    }
  }
  return kExitOk;
}

int RunCheck(const Args& args) {
  ArgParser p("check", "claimmatch check --db DIR",
              "Verifies that the store, the indexes and the manifest of a claim database agree\n"
              "(same claims, indexes up to date, stored vectors equal to the model's). Exit 0\n"
              "when they do; otherwise prints each problem and its repair, and exits 1.");
  AddDbOption(p);
  AddModelOption(p, "model directory (default: the one the database names)");
  p.Option("sample", "stored vectors re-embedded and compared", "64")
      .Example("claimmatch check --db ~/claims");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  int sample = 64;
  if (!p.GetInt("sample", &sample).ok() || sample < 0) {
    return UsageError(p, "--sample needs a whole number >= 0");
  }
  const std::string db_dir = p.Get("db");
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder = LoadEncoder(ModelForDb(p, db_dir), 2);
  if (!encoder.ok()) return Fail(encoder.status());
  absl::StatusOr<std::unique_ptr<ClaimDatabase>> db =
      ClaimDatabase::Open(db_dir, ClaimDatabase::Mode::kReadOnly, **encoder);
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<std::vector<std::string>> problems = (*db)->Check(sample);
  if (!problems.ok()) return Fail(problems.status());
  if (problems->empty()) {
    std::printf("ok: %s claims; store, indexes and manifest agree\n",
                WithCommas((*db)->manifest().claims).c_str());
    return kExitOk;
  }
  for (const std::string& problem : *problems) {
    std::fprintf(stderr, "claimmatch: problem: %s\n", problem.c_str());
  }
  return kExitFailure;
}

int RunDelete(const Args& args) {
  ArgParser p("delete", "claimmatch delete --db DIR ID...",
              "Removes claims (by id) from the store and both indexes.");
  AddDbOption(p);
  AddModelOption(p, "model directory (default: the one the database names)");
  p.Flag("quiet", "say nothing on success", 'q')
      .Example("claimmatch delete --db ~/claims vclaim-pol-00001 url:example.org/check/1");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  if (p.positional().empty()) return UsageError(p, "give at least one claim id");
  const std::string db_dir = p.Get("db");
  absl::StatusOr<Manifest> manifest = ClaimDatabase::ReadManifest(db_dir);
  if (!manifest.ok()) return Fail(manifest.status());
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder = LoadEncoder(ModelForDb(p, db_dir), 2);
  if (!encoder.ok()) return Fail(encoder.status());
  absl::StatusOr<std::unique_ptr<ClaimDatabase>> db =
      ClaimDatabase::Open(db_dir, ClaimDatabase::Mode::kReadWrite, **encoder);
  if (!db.ok()) return Fail(db.status());
  std::vector<std::string> missing;
  for (const std::string& id : p.positional()) {
    absl::StatusOr<std::optional<ClaimRecord>> r = (*db)->store().GetById(id);
    if (!r.ok()) return Fail(r.status());
    if (!r->has_value()) missing.push_back(id);
  }
  if (!p.GetFlag("quiet")) {
    std::fprintf(stderr, "delete: removing %zu claim(s) from %s\n",
                 p.positional().size() - missing.size(), db_dir.c_str());
  }
  absl::StatusOr<WriteSummary> summary = (*db)->Delete(p.positional());
  if (!summary.ok()) return Fail(summary.status());
  for (const std::string& id : missing) {
    std::fprintf(stderr, "claimmatch: warning: no claim with id '%s'\n", id.c_str());
  }
  if (!p.GetFlag("quiet")) {
    std::fprintf(stderr, "delete: %s deleted, %zu not found; %s claims left\n",
                 WithCommas(summary->deleted).c_str(), missing.size(),
                 WithCommas((*db)->manifest().claims).c_str());
  }
  return missing.empty() ? kExitOk : kExitFailure;
}

int RunReindex(const Args& args) {
  ArgParser p("reindex", "claimmatch reindex --db DIR [--model DIR] [--index TYPE]",
              "Re-embeds every claim and rebuilds both indexes and the manifest from the store:\n"
              "switches the database to another model, or repairs corrupt index files.");
  AddDbOption(p);
  AddModelOption(p, "the model to use from now on (default: the database's own model)");
  p.Option("index", "vector index type: flat, hnsw or ivfpq (default: keep the current one)", "");
  AddEncoderThreadsOption(p)
      .Flag("quiet", "no progress bar or summary", 'q')
      .Example(
          "claimmatch reindex --db ~/claims --model models/paraphrase-multilingual-MiniLM-L12-v2");
  if (int rc = ParseOrExit(p, args); rc >= 0) return rc;
  absl::StatusOr<int> threads = ThreadsOption(p);
  if (!threads.ok()) return UsageError(p, threads.status().message());
  const std::string db_dir = p.Get("db");
  if (!PathExists(JoinPath(db_dir, ClaimStore::kFileName))) {
    return Fail(absl::StrCat(db_dir, " has no claim store (", ClaimStore::kFileName,
                             "): nothing to reindex"));
  }
  absl::StatusOr<Manifest> old = ClaimDatabase::ReadManifest(db_dir);
  std::string index_name = p.Get("index");
  if (index_name.empty()) index_name = old.ok() ? old->index_type : "flat";
  absl::StatusOr<VectorIndexOptions> index = IndexOptions(index_name);
  if (!index.ok()) return UsageError(p, index.status().message());
  const std::string model = ModelForDb(p, db_dir);
  absl::StatusOr<std::unique_ptr<SentenceEncoder>> encoder = LoadEncoder(model, *threads);
  if (!encoder.ok()) return Fail(encoder.status());
  const bool quiet = p.GetFlag("quiet");
  if (!quiet) {
    std::fprintf(stderr, "reindex: re-embedding every claim of %s with %s (%s index)\n",
                 db_dir.c_str(), model.c_str(), index_name.c_str());
  }
  ProgressBar bar("reindex", "claims", !quiet);
  DatabaseOptions options;
  options.vector_index = *index;
  options.for_reindex = true;
  options.progress = [&](int64_t done, int64_t total) { bar.Update(done, total); };
  absl::StatusOr<std::unique_ptr<ClaimDatabase>> db =
      ClaimDatabase::Open(db_dir, ClaimDatabase::Mode::kReadWrite, **encoder, options);
  if (!db.ok()) return Fail(db.status());
  absl::StatusOr<WriteSummary> summary = (*db)->Reindex();
  bar.Finish();
  if (!summary.ok()) return Fail(summary.status());
  if (!quiet) {
    std::fprintf(stderr, "reindex: %s claims embedded in %.1f s\n",
                 WithCommas(summary->embedded).c_str(), bar.seconds());
  }
  return kExitOk;
}

}  // namespace claimmatch::cli
