// ClaimDatabase: a claim database directory and everything in it, kept in agreement.
//
//   DIR/claims.sqlite   the store of record (engine/claim_store.h; SQLite, WAL)
//   DIR/vectors.cmvi    the FAISS index of the claims' embeddings (engine/vector_index.h)
//   DIR/bm25.cmbi       the BM25 index over claim text + title + subtitle (engine/bm25_index.h)
//   DIR/manifest.json   format version, the model's identity (name, path, weights hash), dim,
//                       metric, index type (and an ivfpq index's IVF lists), counts;
//                       checksummed, written atomically
//
// Consistency: SQLite is the source of truth and numbers every change (its change sequence). Each
// index file records the sequence number it is complete up to. A write (Ingest, Delete) commits
// to SQLite first, then updates the in-memory indexes, then saves them (atomically: temp file,
// fsync, rename). A crash or kill at any moment therefore leaves the store with the old or the new
// state of each record and index files that are at most behind: the store's change log is the
// indexes' write-ahead log. Every Open replays the changes after the files' sequence number into
// the in-memory indexes (re-embedding what changed); a read-write Open also saves the caught-up
// files. Ingest saves the files every `save_every` batches, which bounds that replay. Lookups from
// another process keep working during an ingest: they see the state of their Open.
//
// Thread safety: Search-side calls (vectors(), bm25(), store() reads) are safe from many threads
// at once; Ingest / Delete / Reindex / Save need exclusive access to the object. Two processes
// writing the same database at once are serialised by SQLite, but their index saves are not: run
// one writer at a time.
#ifndef CLAIMMATCH_ENGINE_CLAIM_DATABASE_H_
#define CLAIMMATCH_ENGINE_CLAIM_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "embeddings/sentence_encoder.h"
#include "engine/bm25_index.h"
#include "engine/claim.h"
#include "engine/claim_store.h"
#include "engine/vector_index.h"

namespace claimmatch {

// What a database records about the model that embedded its claims.
struct ModelIdentity {
  std::string name;
  std::string path;
  std::string weights_hash;
  int dim = 0;
  static ModelIdentity Of(const ModelInfo& info);
};

struct Manifest {
  static constexpr int kFormatVersion = 1;
  int format_version = kFormatVersion;
  ModelIdentity model;
  std::string metric = "inner_product";
  std::string index_type = "flat";
  // The IVF lists of an ivfpq index: 0 until it is trained, -1 if unknown (a manifest written
  // before they were recorded); absent from a flat index's file.
  int64_t ivf_lists = 0;
  int64_t claims = 0;
  std::string store_uuid;
};

// Counts reported by Ingest / Delete / Reindex.
struct WriteSummary {
  int64_t added = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t deleted = 0;
  int64_t embedded = 0;
  // Claims re-embedded to rebuild an IVF-PQ index that had outgrown its training (Ingest).
  int64_t retrained = 0;
};

struct DatabaseOptions {
  VectorIndexOptions vector_index;  // used when the database is created (or reindexed)
  int batch_size = 1000;            // records per SQLite transaction / embedding call
  // Open() skips loading the index files and the model check, starting from empty indexes: the
  // state Reindex() needs to rebuild corrupt files or to switch models. Only with kReadWrite.
  bool for_reindex = false;
  // Ingest saves the index files after every this many batches (and at the end).
  int save_every = 50;
  // A read-only Open replays at most this many changes; beyond that it uses the files as they are
  // and Check() reports them stale (a write command catches them up).
  int64_t max_readonly_replay = 200000;
  // Called after each batch with (records done, records total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  // Called with a one-line note before a long step that reports no progress (training a new
  // IVF-PQ index, rebuilding an outgrown one); may be empty.
  std::function<void(absl::string_view)> note;
};

class ClaimDatabase {
 public:
  enum class Mode { kReadOnly, kReadWrite };

  // Opens (kReadWrite: creating when missing) the database in `dir` for use with `encoder`
  // (which must outlive the database). Fails with kNotFound (read-only, missing), kDataLoss
  // (corrupt manifest or index: the message names the file and says `claimmatch reindex --db DIR`
  // repairs it), kFailedPrecondition (built with another model: names both and the fix).
  // A read-write open catches lagging index files up with the store before returning. The two
  // index files load at the same time (BM25 on a short-lived helper thread).
  static absl::StatusOr<std::unique_ptr<ClaimDatabase>> Open(absl::string_view dir, Mode mode,
                                                             const SentenceEncoder& encoder,
                                                             const DatabaseOptions& options = {});

  // Reads the manifest of `dir` without opening anything else (to learn its model). Fails with
  // kNotFound when there is none, kDataLoss when it is corrupt.
  static absl::StatusOr<Manifest> ReadManifest(absl::string_view dir);

  // Upserts `records` (by id) in batches: store, embeddings, both indexes, then saves the indexes.
  // A new (empty) ivfpq index is first trained on an even sample of `records`, sized for all of
  // them. An ivfpq vector index that has grown to about 4 times its training size
  // (VectorIndex::NeedsRetraining) is rebuilt before the save: trained afresh on a sample of the
  // stored claims and refilled by re-embedding them all (counted in `retrained`).
  // Returns the counts; fails with the first store / embedding / I/O error (records of batches
  // committed before it stay, and the indexes catch up at the next open).
  absl::StatusOr<WriteSummary> Ingest(absl::Span<const ClaimRecord> records);
  // Deletes the claims with these ids from the store and both indexes; returns how many existed.
  absl::StatusOr<WriteSummary> Delete(absl::Span<const std::string> ids);
  // Re-embeds every claim with this database's encoder and rebuilds both indexes and the
  // manifest (used to change the model, or to repair corrupt index files). An ivfpq index is
  // first trained on an even sample of the claims, sized for all of them.
  absl::StatusOr<WriteSummary> Reindex();

  // Verifies that the store, both indexes and the manifest agree: store integrity, same counts and
  // ids, index files up to date, and `sample` stored vectors equal to re-embedding (1e-4).
  // Returns the list of problems found (empty = consistent), each with its repair; fails only
  // when the check itself cannot run.
  absl::StatusOr<std::vector<std::string>> Check(int sample = 64) const;

  const ClaimStore& store() const { return *store_; }
  const VectorIndex& vectors() const { return *vectors_; }
  const Bm25Index& bm25() const { return *bm25_; }
  const SentenceEncoder& encoder() const { return encoder_; }
  const Manifest& manifest() const { return manifest_; }
  // Changes replayed from the store's log at Open because the index files were behind.
  int64_t replayed_changes() const { return replayed_; }
  const std::string& dir() const { return dir_; }
  Mode mode() const { return mode_; }

  // The text embedded for a claim (the same at ingest, in checks and in model training): the
  // claim, its title and its subtitle, joined by spaces.
  static std::string DocumentText(const ClaimRecord& record);
  // The fields indexed by BM25: claim, title, subtitle.
  static std::vector<std::string> LexicalFields(const ClaimRecord& record);

  static constexpr char kManifestFile[] = "manifest.json";
  static constexpr char kVectorsFile[] = "vectors.cmvi";
  static constexpr char kBm25File[] = "bm25.cmbi";

 private:
  ClaimDatabase(std::string dir, Mode mode, const SentenceEncoder& encoder, DatabaseOptions options)
      : dir_(std::move(dir)), mode_(mode), encoder_(encoder), options_(std::move(options)) {}

  absl::Status LoadOrCreateIndexes();
  // Applies the store's changes after the indexes' sequence number to the in-memory indexes;
  // with `save`, also saves the files when they were behind.
  absl::Status CatchUp(bool save);
  // Embeds and indexes `records` (store row ids `rows`).
  absl::Status IndexRecords(absl::Span<const ClaimRowId> rows,
                            absl::Span<const ClaimRecord* const> records);
  // IndexRecords() over `records` (owned copies read from the store), then empties both lists.
  absl::Status IndexAndClear(std::vector<ClaimRowId>& rows, std::vector<ClaimRecord>& records);
  absl::Status SaveIndexes();
  absl::Status WriteManifest();
  // Returns how many claims to sample to train `index` for `expected_size` vectors: 0 when it is
  // not an ivfpq index or too few claims are expected (it then trains itself at the threshold).
  static int64_t TrainingSampleSize(const VectorIndex& index, int64_t expected_size);
  // Embeds `texts` and trains the empty ivfpq `index` on them for `expected_size` vectors (a
  // no-op with fewer texts than training needs).
  absl::Status TrainOnTexts(VectorIndex& index, const std::vector<std::string>& texts,
                            int64_t expected_size) const;
  // Returns an empty vector index of the configured type; an ivfpq one is already trained on an
  // even sample of the stored claims for `expected_size` vectors when there are enough of them.
  absl::StatusOr<std::unique_ptr<VectorIndex>> FreshVectorIndex(int64_t expected_size) const;
  // Replaces the vector index with a FreshVectorIndex holding every stored claim, re-embedded.
  // Returns the number of claims embedded; on failure the old index stays in place.
  absl::StatusOr<int64_t> RebuildVectorIndex();
  // Calls `batch` with every live claim of the store (one consistent snapshot), in batches of at
  // most options_.batch_size (row ids and records; `batch` may move from them). Returns the
  // store's change sequence number the snapshot is complete up to, or the first error.
  absl::StatusOr<int64_t> ForEachStoredBatch(
      const std::function<absl::Status(std::vector<ClaimRowId>&, std::vector<ClaimRecord>&)>& batch)
      const;

  std::string dir_;
  Mode mode_;
  const SentenceEncoder& encoder_;
  DatabaseOptions options_;
  std::unique_ptr<ClaimStore> store_;
  std::unique_ptr<VectorIndex> vectors_;
  std::unique_ptr<Bm25Index> bm25_;
  Manifest manifest_;
  int64_t vectors_seq_ = 0;  // store change sequence the vector index is complete up to
  int64_t bm25_seq_ = 0;     // same for the BM25 index
  int64_t replayed_ = 0;     // changes replayed from the store at Open (files were behind)
  int64_t stale_ = 0;        // changes not replayed by a read-only Open (over the limit)
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_CLAIM_DATABASE_H_
