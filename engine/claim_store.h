// ClaimStore: the store of record of a claim database. A claim database is a directory; the store
// is the SQLite file `claims.sqlite` in it. SQLite is the source of truth: the vector and lexical
// index files next to it are derived data, rebuilt or caught up from the store's change log.
//
// Data layout (schema version 1, in PRAGMA user_version; newer versions are refused):
//   claims(row_id INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, <ClaimRecord fields>,
//          content_hash TEXT NOT NULL, embedded_hash TEXT)
//     One row per claim. `row_id` is the claim's label in the indexes; AUTOINCREMENT means a row id
//     is never reused, so a stale index hit never names another claim. `content_hash` is the
//     Fingerprint64 hex of every record field: re-ingesting an identical record is kUnchanged.
//     Indexed on language, publisher, verdict_norm, claim_date.
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL): small settings (model id, ...). The store
//     writes "store_uuid" (random, at creation) so index files can tell which store they follow.
//   changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, row_id INTEGER UNIQUE NOT NULL, op TEXT)
//     A compacted change log: each row id that was ever added, updated or deleted appears once,
//     with the seq of its latest change and that change's op ('upsert' or 'delete'). Seqs only
//     grow. Claim and log rows are written in the same transaction, so the log is exact.
//
// Index catch-up protocol: an index file records the last change seq it contains (S). On open,
// its owner calls ChangesSince(S, ...) and applies each change (upsert: (re)add the row; delete:
// remove it), then records the returned seq. A full rebuild is ChangesSince(0, ...) ignoring
// deletes: one consistent snapshot plus the seq that goes with it. An index whose seq is ahead
// of the store (built from another store, or the store restored from a backup) is refused.
//
// Durability: every write is one transaction (a crash leaves the old or the new state). WAL
// journal with synchronous=FULL: a returned write survives power loss, so an index file written
// afterwards can never record a seq the store lost. Other processes may read while one writes
// (WAL readers never wait for the writer); writers wait up to 10 s for each other (busy_timeout).
// SQLite corruption is reported as kDataLoss naming the file, with a repair hint.
//
// Thread safety: every method is thread-safe. Reads run concurrently, each on a connection from a
// small pool (one connection is never used by two threads at once) and each in one snapshot;
// writes are serialised on the single write connection. Callbacks run on the calling thread and
// may call the store's read methods.
#ifndef CLAIMMATCH_ENGINE_CLAIM_STORE_H_
#define CLAIMMATCH_ENGINE_CLAIM_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "engine/claim.h"

namespace claimmatch {

// Which claims a match may return. An empty list or bound means "any".
struct ClaimFilter {
  // BCP-47 codes, case-insensitive; "pt" also matches "pt-BR".
  std::vector<std::string> languages;
  std::vector<std::string> publishers;  // exact
  std::vector<Verdict> verdicts;        // normalised verdicts
  // Inclusive ISO 8601 bounds on claim_date ("YYYY", "YYYY-MM" or "YYYY-MM-DD": engine/dates.h
  // IsIsoDate), compared on the bound's length ("2020" keeps all of 2020) with the claim's date as
  // NormalizeDate reads it. When a bound is set, claims without a date it reads do not match.
  std::string claim_date_from;
  std::string claim_date_to;
};

class ClaimStoreConnection;  // one SQLite connection and its statements (claim_store.cc)

class ClaimStore {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  enum class UpsertOutcome { kAdded, kUpdated, kUnchanged };
  struct UpsertResult {
    ClaimRowId row_id;
    UpsertOutcome outcome;
  };
  enum class ChangeOp { kUpsert, kDelete };
  struct Change {
    int64_t seq;
    ClaimRowId row_id;
    ChangeOp op;
  };

  static constexpr int kSchemaVersion = 1;
  static constexpr char kFileName[] = "claims.sqlite";

  // Opens the store in `db_dir`; kReadWrite creates the directory and the store when missing.
  // Fails with kNotFound naming the directory (kReadOnly, no store), kDataLoss (corrupt file),
  // kFailedPrecondition (newer schema version, or a file that is not a claim store).
  static absl::StatusOr<std::unique_ptr<ClaimStore>> Open(absl::string_view db_dir, Mode mode);

  ~ClaimStore();
  ClaimStore(const ClaimStore&) = delete;
  ClaimStore& operator=(const ClaimStore&) = delete;

  // Adds or updates `records` by id in one transaction (all or nothing); results are in input
  // order. An updated claim keeps its row id. A repeated id within the batch applies in order.
  // Fails with kInvalidArgument naming the record (empty id or text, NaN rating) and nothing
  // written; kFailedPrecondition when opened read-only.
  absl::StatusOr<std::vector<UpsertResult>> UpsertBatch(absl::Span<const ClaimRecord> records);

  // Deletes the claims with `ids` in one transaction. Returns how many of them existed.
  absl::StatusOr<int64_t> Delete(absl::Span<const std::string> ids);

  // Returns the claim with external `id`, or nullopt when there is none.
  absl::StatusOr<std::optional<ClaimRecord>> GetById(absl::string_view id) const;

  // Returns the claims with `row_ids`, in that order (nullopt for a missing row), from one
  // snapshot. The lookup hot path: cached prepared statements, no SQL built per call.
  absl::StatusOr<std::vector<std::optional<ClaimRecord>>> GetByRowIds(
      absl::Span<const ClaimRowId> row_ids) const;

  // Calls `fn` for every claim in row-id order, from one snapshot; stops at and returns the first
  // non-OK status `fn` returns.
  absl::Status ForEach(const std::function<absl::Status(ClaimRowId, const ClaimRecord&)>& fn) const;

  // Returns the number of claims.
  absl::StatusOr<int64_t> Count() const;

  // Returns (value, claim count) for `column` ("verdict_norm", "language", "publisher" or
  // "claim_date"), most frequent first, ties by value. Fails with kInvalidArgument for any other
  // column.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> CountBy(
      absl::string_view column) const;

  // Returns the seq of the latest change (0 for a store never written).
  absl::StatusOr<int64_t> LastChangeSeq() const;

  // Calls `fn` for each row changed after `after_seq`, oldest change first, each row once with its
  // latest op; `record` is the current claim for kUpsert and nullptr for kDelete. All from one
  // snapshot. Returns the store's last change seq in that snapshot (record it in the index).
  // Fails with kOutOfRange when `after_seq` is ahead of the store (rebuild that index), or with
  // the first non-OK status of `fn`.
  absl::StatusOr<int64_t> ChangesSince(
      int64_t after_seq,
      const std::function<absl::Status(const Change&, const ClaimRecord* record)>& fn) const;

  // Returns, per row id, whether that claim exists and satisfies `filter`, from one snapshot.
  absl::StatusOr<std::vector<bool>> MatchesFilter(absl::Span<const ClaimRowId> row_ids,
                                                  const ClaimFilter& filter) const;

  // Sets meta `key` to `value` (one transaction). kFailedPrecondition when read-only.
  absl::Status SetMeta(absl::string_view key, absl::string_view value);
  // Returns meta `key`'s value, or nullopt when unset.
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key) const;

  // Runs SQLite's full integrity check (reads the whole file). Returns OK, or kDataLoss with
  // SQLite's findings, the path and a repair hint.
  absl::Status CheckIntegrity() const;

  const std::string& path() const { return path_; }  // .../claims.sqlite
  Mode mode() const { return mode_; }

 private:
  using Connection = ClaimStoreConnection;
  class ReaderLease;

  ClaimStore(std::string path, Mode mode, std::unique_ptr<Connection> writer);
  absl::StatusOr<std::unique_ptr<Connection>> AcquireReader() const;
  void ReleaseReader(std::unique_ptr<Connection> conn) const;
  absl::Status RequireWritable() const;

  const std::string path_;
  const Mode mode_;
  absl::Mutex write_mu_;
  const std::unique_ptr<Connection> writer_ ABSL_PT_GUARDED_BY(write_mu_);  // null when read-only
  mutable absl::Mutex pool_mu_;
  mutable std::vector<std::unique_ptr<Connection>> idle_readers_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_CLAIM_STORE_H_
