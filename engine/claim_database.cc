#include "engine/claim_database.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

std::string ReindexHint(absl::string_view dir) {
  return absl::StrCat("run `claimmatch reindex --db ", dir, "` to rebuild it from the store");
}

json ManifestBody(const Manifest& m) {
  json body{{"format_version", m.format_version},
            {"model",
             {{"name", m.model.name},
              {"path", m.model.path},
              {"weights_hash", m.model.weights_hash},
              {"dim", m.model.dim}}},
            {"metric", m.metric},
            {"index_type", m.index_type},
            {"claims", m.claims},
            {"store_uuid", m.store_uuid}};
  if (m.index_type != "flat") body["ivf_lists"] = m.ivf_lists;
  return body;
}

}  // namespace

ModelIdentity ModelIdentity::Of(const ModelInfo& info) {
  ModelIdentity id;
  id.name = info.name;
  id.path = info.path;
  id.weights_hash = info.weights_hash;
  id.dim = info.dim;
  return id;
}

std::string ClaimDatabase::DocumentText(const ClaimRecord& record) {
  std::string out = record.text;
  for (const std::string* part : {&record.title, &record.subtitle}) {
    if (!part->empty()) absl::StrAppend(&out, " ", *part);
  }
  return out;
}

std::vector<std::string> ClaimDatabase::LexicalFields(const ClaimRecord& record) {
  return {record.text, record.title, record.subtitle};
}

absl::StatusOr<Manifest> ClaimDatabase::ReadManifest(absl::string_view dir) {
  try {
    const std::string path = JoinPath(dir, kManifestFile);
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) {
      if (absl::IsNotFound(text.status())) {
        return absl::NotFoundError(absl::StrCat(dir, " is not a claim database (no ", kManifestFile,
                                                "); create one with `claimmatch ingest --db ", dir,
                                                " FILE...`"));
      }
      return text.status();
    }
    const json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    auto corrupt = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(path, ": ", what, "; ", ReindexHint(dir)));
    };
    if (j.is_discarded() || !j.is_object()) return corrupt("not valid JSON (corrupt manifest)");
    if (!j.contains("checksum") || !j["checksum"].is_string()) return corrupt("no checksum");
    json body = j;
    body.erase("checksum");
    if (FingerprintHex(Fingerprint64(body.dump())) != j["checksum"].get<std::string>()) {
      return corrupt("checksum mismatch (corrupt or edited manifest)");
    }
    Manifest m;
    if (!body.contains("format_version") || !body["format_version"].is_number_integer()) {
      return corrupt("no format_version");
    }
    m.format_version = body["format_version"].get<int>();
    if (m.format_version > Manifest::kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": database format ", m.format_version, " is newer than this claimmatch supports (",
          Manifest::kFormatVersion, "); use a newer claimmatch"));
    }
    const json& model = body.value("model", json::object());
    m.model.name = model.value("name", "");
    m.model.path = model.value("path", "");
    m.model.weights_hash = model.value("weights_hash", "");
    m.model.dim = model.value("dim", 0);
    m.metric = body.value("metric", "inner_product");
    m.index_type = body.value("index_type", "flat");
    m.ivf_lists = body.value("ivf_lists", int64_t{m.index_type == "flat" ? 0 : -1});
    m.claims = body.value("claims", int64_t{0});
    m.store_uuid = body.value("store_uuid", "");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(
        absl::StrCat(JoinPath(dir, kManifestFile), ": unexpected JSON: ", e.what()));
  }
}

absl::Status ClaimDatabase::WriteManifest() {
  manifest_.format_version = Manifest::kFormatVersion;
  manifest_.model = ModelIdentity::Of(encoder_.info());
  manifest_.index_type = std::string(VectorIndexTypeName(vectors_->type()));
  manifest_.ivf_lists = vectors_->ivf_lists();
  CM_ASSIGN_OR_RETURN(manifest_.claims, store_->Count());
  CM_ASSIGN_OR_RETURN(std::optional<std::string> uuid, store_->GetMeta("store_uuid"));
  manifest_.store_uuid = uuid.value_or("");
  json j = ManifestBody(manifest_);
  j["checksum"] = FingerprintHex(Fingerprint64(j.dump()));
  return WriteFileAtomically(JoinPath(dir_, kManifestFile), j.dump(2) + "\n");
}

absl::StatusOr<std::unique_ptr<ClaimDatabase>> ClaimDatabase::Open(absl::string_view dir, Mode mode,
                                                                   const SentenceEncoder& encoder,
                                                                   const DatabaseOptions& options) {
  if (options.batch_size < 1) return absl::InvalidArgumentError("batch_size must be >= 1");
  if (options.for_reindex && mode != Mode::kReadWrite) {
    return absl::InvalidArgumentError("for_reindex needs a read-write open");
  }
  std::unique_ptr<ClaimDatabase> db(new ClaimDatabase(std::string(dir), mode, encoder, options));
  if (mode == Mode::kReadWrite) {
    std::error_code ec;
    std::filesystem::create_directories(std::string(dir), ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    }
  } else if (!PathExists(dir)) {
    return absl::NotFoundError(absl::StrCat("claim database ", dir, " does not exist"));
  }

  absl::StatusOr<Manifest> manifest = ReadManifest(dir);
  const bool has_manifest = manifest.ok();
  if (!manifest.ok() && !(absl::IsNotFound(manifest.status()) && mode == Mode::kReadWrite) &&
      !(options.for_reindex && absl::IsDataLoss(manifest.status()))) {
    return manifest.status();
  }
  if (has_manifest) {
    db->manifest_ = *manifest;
    const ModelIdentity want = ModelIdentity::Of(encoder.info());
    if (!options.for_reindex && manifest->model.weights_hash != want.weights_hash) {
      return absl::FailedPreconditionError(
          absl::StrCat("claim database ", dir, " was built with model '", manifest->model.name,
                       "' (", manifest->model.path, ", weights ", manifest->model.weights_hash,
                       ") but the model given is '", want.name, "' (", want.path, ", weights ",
                       want.weights_hash, "); use --model ", manifest->model.path,
                       ", or re-embed every claim with the new model: claimmatch reindex --db ",
                       dir, " --model ", want.path));
    }
  }

  const auto store_mode =
      mode == Mode::kReadWrite ? ClaimStore::Mode::kReadWrite : ClaimStore::Mode::kReadOnly;
  CM_ASSIGN_OR_RETURN(db->store_, ClaimStore::Open(dir, store_mode));
  CM_RETURN_IF_ERROR(db->LoadOrCreateIndexes());
  if (!options.for_reindex) {
    CM_RETURN_IF_ERROR(db->CatchUp(/*save=*/mode == Mode::kReadWrite));
    if (mode == Mode::kReadWrite && !has_manifest) CM_RETURN_IF_ERROR(db->WriteManifest());
  }
  return db;
}

absl::Status ClaimDatabase::LoadOrCreateIndexes() {
  const std::string vpath = JoinPath(dir_, kVectorsFile);
  const std::string bpath = JoinPath(dir_, kBm25File);
  const bool fresh = options_.for_reindex;
  // The two index files load at once, BM25 on a helper thread (at 1M claims each takes seconds).
  std::optional<absl::StatusOr<Bm25Index>> loaded_bm25;
  int64_t loaded_bm25_seq = 0;
  std::thread bm25_loader;
  if (!fresh && PathExists(bpath)) {
    bm25_loader = std::thread([&bpath, &loaded_bm25, &loaded_bm25_seq] {
      loaded_bm25.emplace(Bm25Index::Load(bpath, &loaded_bm25_seq));
    });
  }
  int64_t vectors_seq = 0;
  absl::StatusOr<std::unique_ptr<VectorIndex>> vectors =
      !fresh && PathExists(vpath)
          ? VectorIndex::Load(vpath, encoder_.info().weights_hash, &vectors_seq)
          : VectorIndex::Create(encoder_.dim(), options_.vector_index);
  if (bm25_loader.joinable()) bm25_loader.join();
  if (!vectors.ok()) return vectors.status();
  vectors_ = std::move(*vectors);
  vectors_seq_ = vectors_seq;
  if (loaded_bm25.has_value()) {
    absl::StatusOr<Bm25Index>& b = *loaded_bm25;
    if (!b.ok()) {
      return absl::Status(b.status().code(),
                          absl::StrCat(b.status().message(), "; ", ReindexHint(dir_)));
    }
    bm25_ = std::make_unique<Bm25Index>(std::move(*b));
    bm25_seq_ = loaded_bm25_seq;
  } else {
    bm25_ = std::make_unique<Bm25Index>();
    bm25_seq_ = 0;
  }
  return absl::OkStatus();
}

absl::Status ClaimDatabase::IndexRecords(absl::Span<const ClaimRowId> rows,
                                         absl::Span<const ClaimRecord* const> records) {
  if (rows.empty()) return absl::OkStatus();
  std::vector<std::string> texts;
  texts.reserve(records.size());
  for (const ClaimRecord* r : records) texts.push_back(DocumentText(*r));
  CM_ASSIGN_OR_RETURN(EmbeddingMatrix embedded, encoder_.Encode(texts, TextRole::kDocument));
  CM_RETURN_IF_ERROR(vectors_->Upsert(rows, embedded));
  for (size_t i = 0; i < rows.size(); ++i) {
    CM_RETURN_IF_ERROR(bm25_->Add(rows[i], LexicalFields(*records[i])));
  }
  return absl::OkStatus();
}

absl::Status ClaimDatabase::IndexAndClear(std::vector<ClaimRowId>& rows,
                                          std::vector<ClaimRecord>& records) {
  std::vector<const ClaimRecord*> ptrs;
  ptrs.reserve(records.size());
  for (const ClaimRecord& r : records) ptrs.push_back(&r);
  CM_RETURN_IF_ERROR(IndexRecords(rows, ptrs));
  rows.clear();
  records.clear();
  return absl::OkStatus();
}

absl::Status ClaimDatabase::CatchUp(bool save) {
  const int64_t from = std::min(vectors_seq_, bm25_seq_);
  if (!save) {
    CM_ASSIGN_OR_RETURN(const int64_t last, store_->LastChangeSeq());
    if (last - from > options_.max_readonly_replay) {
      stale_ = last - from;
      return absl::OkStatus();
    }
  }
  std::vector<ClaimRowId> rows;
  std::vector<ClaimRecord> records;
  bool changed = false;
  auto flush = [&]() { return IndexAndClear(rows, records); };
  absl::StatusOr<int64_t> last = store_->ChangesSince(
      from, [&](const ClaimStore::Change& change, const ClaimRecord* record) -> absl::Status {
        changed = true;
        ++replayed_;
        if (change.op == ClaimStore::ChangeOp::kDelete) {
          const ClaimRowId id = change.row_id;
          CM_RETURN_IF_ERROR(vectors_->Remove(absl::MakeConstSpan(&id, 1)));
          bm25_->Remove(id);
          return absl::OkStatus();
        }
        rows.push_back(change.row_id);
        records.push_back(*record);
        if (static_cast<int>(rows.size()) >= options_.batch_size) return flush();
        return absl::OkStatus();
      });
  if (!last.ok()) {
    if (absl::IsOutOfRange(last.status())) {
      return absl::DataLossError(absl::StrCat("the index files of ", dir_,
                                              " are ahead of its store (", last.status().message(),
                                              "); ", ReindexHint(dir_)));
    }
    return last.status();
  }
  CM_RETURN_IF_ERROR(flush());
  const bool behind = vectors_seq_ != *last || bm25_seq_ != *last;
  vectors_seq_ = bm25_seq_ = *last;
  if (save && (changed || behind)) CM_RETURN_IF_ERROR(SaveIndexes());
  return absl::OkStatus();
}

absl::Status ClaimDatabase::SaveIndexes() {
  CM_RETURN_IF_ERROR(
      vectors_->Save(JoinPath(dir_, kVectorsFile), encoder_.info().weights_hash, vectors_seq_));
  CM_RETURN_IF_ERROR(bm25_->Save(JoinPath(dir_, kBm25File), bm25_seq_));
  return WriteManifest();
}

absl::StatusOr<WriteSummary> ClaimDatabase::Ingest(absl::Span<const ClaimRecord> records) {
  if (mode_ != Mode::kReadWrite) {
    return absl::FailedPreconditionError(absl::StrCat(dir_, " is open read-only"));
  }
  WriteSummary summary;
  const int64_t total = static_cast<int64_t>(records.size());
  int batches = 0;
  // A new ivfpq database is trained once, up front, for everything this call brings (an even
  // sample of the records), rather than at 9,984 claims and again when it has outgrown that.
  if (vectors_->size() == 0 && vectors_->ivf_lists() == 0) {
    CM_ASSIGN_OR_RETURN(const int64_t stored, store_->Count());
    const int64_t want = stored == 0 ? TrainingSampleSize(*vectors_, total) : 0;
    if (want > 0) {
      const int64_t stride = std::max<int64_t>(1, total / want);
      std::vector<std::string> texts;
      texts.reserve(want);
      for (int64_t i = 0; i < total && static_cast<int64_t>(texts.size()) < want; i += stride) {
        texts.push_back(DocumentText(records[i]));
      }
      if (options_.note) {
        options_.note(absl::StrCat("training the ivfpq vector index on ", texts.size(), " of the ",
                                   total, " records"));
      }
      CM_RETURN_IF_ERROR(TrainOnTexts(*vectors_, texts, total));
    }
  }
  for (int64_t begin = 0; begin < total; begin += options_.batch_size) {
    const int64_t n = std::min<int64_t>(options_.batch_size, total - begin);
    const absl::Span<const ClaimRecord> batch = records.subspan(begin, n);
    CM_ASSIGN_OR_RETURN(std::vector<ClaimStore::UpsertResult> results, store_->UpsertBatch(batch));
    std::vector<ClaimRowId> rows;
    std::vector<const ClaimRecord*> changed;
    for (int64_t i = 0; i < n; ++i) {
      switch (results[i].outcome) {
        case ClaimStore::UpsertOutcome::kAdded:
          ++summary.added;
          break;
        case ClaimStore::UpsertOutcome::kUpdated:
          ++summary.updated;
          break;
        case ClaimStore::UpsertOutcome::kUnchanged:
          ++summary.unchanged;
          continue;
      }
      rows.push_back(results[i].row_id);
      changed.push_back(&batch[i]);
    }
    CM_RETURN_IF_ERROR(IndexRecords(rows, changed));
    summary.embedded += static_cast<int64_t>(rows.size());
    CM_ASSIGN_OR_RETURN(const int64_t seq, store_->LastChangeSeq());
    vectors_seq_ = bm25_seq_ = seq;
    if (++batches % options_.save_every == 0 && begin + n < total) {
      CM_RETURN_IF_ERROR(SaveIndexes());
    }
    if (options_.progress) options_.progress(begin + n, total);
  }
  if (vectors_->NeedsRetraining()) {
    if (options_.note) {
      options_.note(
          absl::StrCat("the ivfpq vector index has outgrown its training; re-training it for ",
                       vectors_->size(), " claims (re-embeds them all)"));
    }
    CM_ASSIGN_OR_RETURN(summary.retrained, RebuildVectorIndex());
  }
  CM_RETURN_IF_ERROR(SaveIndexes());
  return summary;
}

int64_t ClaimDatabase::TrainingSampleSize(const VectorIndex& index, int64_t expected_size) {
  if (index.type() != VectorIndexType::kIvfPq) return 0;
  const int64_t want = IvfPqTrainingSampleSize(index.options(), expected_size);
  const int64_t need = IvfPqMinTrainingSize(index.options());
  return want < need ? 0 : want;  // too few: the index trains itself once it holds enough
}

absl::Status ClaimDatabase::TrainOnTexts(VectorIndex& index, const std::vector<std::string>& texts,
                                         int64_t expected_size) const {
  const int64_t need = IvfPqMinTrainingSize(index.options());
  if (static_cast<int64_t>(texts.size()) < need) return absl::OkStatus();
  CM_ASSIGN_OR_RETURN(EmbeddingMatrix sample, encoder_.Encode(texts, TextRole::kDocument));
  return index.TrainFor(sample, expected_size);
}

absl::StatusOr<std::unique_ptr<VectorIndex>> ClaimDatabase::FreshVectorIndex(
    int64_t expected_size) const {
  CM_ASSIGN_OR_RETURN(std::unique_ptr<VectorIndex> index,
                      VectorIndex::Create(encoder_.dim(), options_.vector_index));
  const int64_t want = TrainingSampleSize(*index, expected_size);
  if (want == 0) return index;
  // An even sample of the stored claims: every stride-th in store order.
  const int64_t stride = std::max<int64_t>(1, expected_size / want);
  std::vector<std::string> texts;
  texts.reserve(want);
  int64_t seen = 0;
  CM_RETURN_IF_ERROR(store_->ForEach([&](ClaimRowId, const ClaimRecord& r) -> absl::Status {
    if (seen++ % stride == 0 && static_cast<int64_t>(texts.size()) < want) {
      texts.push_back(DocumentText(r));
    }
    return absl::OkStatus();
  }));
  CM_RETURN_IF_ERROR(TrainOnTexts(*index, texts, expected_size));
  return index;
}

absl::StatusOr<int64_t> ClaimDatabase::ForEachStoredBatch(
    const std::function<absl::Status(std::vector<ClaimRowId>&, std::vector<ClaimRecord>&)>& batch)
    const {
  std::vector<ClaimRowId> rows;
  std::vector<ClaimRecord> records;
  auto flush = [&]() -> absl::Status {
    if (rows.empty()) return absl::OkStatus();
    CM_RETURN_IF_ERROR(batch(rows, records));
    rows.clear();
    records.clear();
    return absl::OkStatus();
  };
  // ChangesSince(0) is one consistent snapshot of every live claim plus its sequence number.
  CM_ASSIGN_OR_RETURN(
      const int64_t last,
      store_->ChangesSince(
          0, [&](const ClaimStore::Change& change, const ClaimRecord* record) -> absl::Status {
            if (change.op == ClaimStore::ChangeOp::kDelete) return absl::OkStatus();
            rows.push_back(change.row_id);
            records.push_back(*record);
            if (static_cast<int>(rows.size()) >= options_.batch_size) return flush();
            return absl::OkStatus();
          }));
  CM_RETURN_IF_ERROR(flush());
  return last;
}

absl::StatusOr<int64_t> ClaimDatabase::RebuildVectorIndex() {
  CM_ASSIGN_OR_RETURN(const int64_t total, store_->Count());
  CM_ASSIGN_OR_RETURN(std::unique_ptr<VectorIndex> fresh, FreshVectorIndex(total));
  int64_t done = 0;
  std::vector<std::string> texts;
  CM_RETURN_IF_ERROR(ForEachStoredBatch([&](std::vector<ClaimRowId>& rows,
                                            std::vector<ClaimRecord>& records) -> absl::Status {
                       texts.clear();
                       for (const ClaimRecord& r : records) texts.push_back(DocumentText(r));
                       CM_ASSIGN_OR_RETURN(EmbeddingMatrix embedded,
                                           encoder_.Encode(texts, TextRole::kDocument));
                       CM_RETURN_IF_ERROR(fresh->Upsert(rows, embedded));
                       done += static_cast<int64_t>(rows.size());
                       return absl::OkStatus();
                     }).status());
  vectors_ = std::move(fresh);
  return done;
}

absl::StatusOr<WriteSummary> ClaimDatabase::Delete(absl::Span<const std::string> ids) {
  if (mode_ != Mode::kReadWrite) {
    return absl::FailedPreconditionError(absl::StrCat(dir_, " is open read-only"));
  }
  WriteSummary summary;
  CM_ASSIGN_OR_RETURN(summary.deleted, store_->Delete(ids));
  CM_RETURN_IF_ERROR(CatchUp(/*save=*/true));
  return summary;
}

absl::StatusOr<WriteSummary> ClaimDatabase::Reindex() {
  if (mode_ != Mode::kReadWrite) {
    return absl::FailedPreconditionError(absl::StrCat(dir_, " is open read-only"));
  }
  CM_ASSIGN_OR_RETURN(const int64_t total, store_->Count());
  CM_ASSIGN_OR_RETURN(vectors_, FreshVectorIndex(total));
  bm25_ = std::make_unique<Bm25Index>();
  vectors_seq_ = bm25_seq_ = 0;
  int64_t done = 0;
  WriteSummary summary;
  CM_ASSIGN_OR_RETURN(const int64_t last,
                      ForEachStoredBatch([&](std::vector<ClaimRowId>& rows,
                                             std::vector<ClaimRecord>& records) -> absl::Status {
                        const int64_t n = static_cast<int64_t>(rows.size());
                        CM_RETURN_IF_ERROR(IndexAndClear(rows, records));
                        done += n;
                        summary.embedded += n;
                        if (options_.progress) options_.progress(done, total);
                        return absl::OkStatus();
                      }));
  vectors_seq_ = bm25_seq_ = last;
  CM_RETURN_IF_ERROR(SaveIndexes());
  return summary;
}

absl::StatusOr<std::vector<std::string>> ClaimDatabase::Check(int sample) const {
  std::vector<std::string> problems;
  if (absl::Status s = store_->CheckIntegrity(); !s.ok()) {
    problems.push_back(std::string(s.message()));
    return problems;
  }
  if (stale_ > 0) {
    problems.push_back(absl::StrCat("the index files are ", stale_,
                                    " changes behind the store (an interrupted write); any "
                                    "write command (e.g. `claimmatch ingest --db ",
                                    dir_, "` with no files) catches them up"));
  }
  CM_ASSIGN_OR_RETURN(const int64_t count, store_->Count());
  if (vectors_->size() != count || static_cast<int64_t>(bm25_->size()) != count) {
    problems.push_back(absl::StrCat("counts differ: store ", count, ", vector index ",
                                    vectors_->size(), ", BM25 index ", bm25_->size(), "; ",
                                    ReindexHint(dir_)));
  }
  if (replayed_ == 0 && stale_ == 0 && manifest_.claims != count) {
    problems.push_back(absl::StrCat("the manifest counts ", manifest_.claims, " claims, the store ",
                                    count, "; ", ReindexHint(dir_)));
  }
  // Every stored claim must be in both indexes; sampled vectors must equal re-embedding.
  int64_t missing_vectors = 0, missing_bm25 = 0, mismatched = 0, index = 0;
  const int64_t stride = sample > 0 ? std::max<int64_t>(1, count / sample) : 0;
  std::vector<ClaimRowId> sample_rows;
  std::vector<std::string> sample_texts;
  absl::Status scan = store_->ForEach([&](ClaimRowId row, const ClaimRecord& r) -> absl::Status {
    if (!bm25_->Contains(row)) ++missing_bm25;
    const bool want_sample =
        stride > 0 && index % stride == 0 && static_cast<int>(sample_rows.size()) < sample;
    ++index;
    absl::StatusOr<EmbeddingRow> v = vectors_->Get(row);
    if (!v.ok()) {
      ++missing_vectors;
      return absl::OkStatus();
    }
    if (want_sample) {
      sample_rows.push_back(row);
      sample_texts.push_back(DocumentText(r));
    }
    return absl::OkStatus();
  });
  CM_RETURN_IF_ERROR(scan);
  if (missing_vectors > 0 || missing_bm25 > 0) {
    problems.push_back(absl::StrCat(missing_vectors, " claims missing from the vector index and ",
                                    missing_bm25, " from the BM25 index; ", ReindexHint(dir_)));
  }
  if (!sample_rows.empty()) {
    CM_ASSIGN_OR_RETURN(EmbeddingMatrix fresh, encoder_.Encode(sample_texts, TextRole::kDocument));
    const bool approximate = vectors_->type() == VectorIndexType::kIvfPq;
    for (size_t i = 0; i < sample_rows.size(); ++i) {
      CM_ASSIGN_OR_RETURN(EmbeddingRow stored, vectors_->Get(sample_rows[i]));
      const bool ok = approximate ? stored.dot(fresh.row(i)) >= 0.8f
                                  : (stored - fresh.row(i)).cwiseAbs().maxCoeff() <= 1e-4f;
      if (!ok) ++mismatched;
    }
  }
  if (mismatched > 0) {
    problems.push_back(absl::StrCat(mismatched, " of ", sample_rows.size(),
                                    " sampled vectors differ from what the model gives now; ",
                                    ReindexHint(dir_)));
  }
  return problems;
}

}  // namespace claimmatch
