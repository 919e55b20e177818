#include "engine/claim_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <system_error>
#include <unordered_map>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "engine/dates.h"
#include "engine/verdict.h"

namespace claimmatch {
namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr size_t kMaxIdleReaders = 16;

// The stored spelling of each Verdict (verdict_norm column) is its VerdictName().
absl::string_view VerdictToken(Verdict v) { return VerdictName(v); }  // static storage

std::optional<Verdict> ParseVerdictToken(absl::string_view token) {
  absl::StatusOr<Verdict> v = ParseVerdictName(token);
  if (!v.ok()) return std::nullopt;
  return *v;
}

// Schema version 1. Statements are run in order inside one transaction.
constexpr const char* kSchemaV1[] = {
    R"sql(CREATE TABLE claims (
  row_id INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE NOT NULL CONSTRAINT id_not_empty CHECK (id <> ''),
  text TEXT NOT NULL CONSTRAINT text_not_empty CHECK (text <> ''),
  title TEXT NOT NULL DEFAULT '',
  subtitle TEXT NOT NULL DEFAULT '',
  claimant TEXT NOT NULL DEFAULT '',
  claim_date TEXT NOT NULL DEFAULT '',
  verdict TEXT NOT NULL DEFAULT '',
  verdict_norm TEXT NOT NULL CONSTRAINT verdict_norm_known CHECK (verdict_norm IN
    ('false', 'mostly-false', 'mixed', 'mostly-true', 'true', 'unproven', 'other')),
  rating_value REAL,
  rating_best REAL,
  rating_worst REAL,
  review_url TEXT NOT NULL DEFAULT '',
  publisher TEXT NOT NULL DEFAULT '',
  review_date TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT '',
  extra_json TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL,
  embedded_hash TEXT
))sql",
    "CREATE INDEX claims_language ON claims(language)",
    "CREATE INDEX claims_publisher ON claims(publisher)",
    "CREATE INDEX claims_verdict_norm ON claims(verdict_norm)",
    "CREATE INDEX claims_claim_date ON claims(claim_date)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    // No foreign key to claims: a delete's log row must outlive the claim.
    R"sql(CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  row_id INTEGER UNIQUE NOT NULL,
  op TEXT NOT NULL CONSTRAINT op_known CHECK (op IN ('upsert', 'delete'))
))sql",
    "PRAGMA user_version = 1",
};

// The 16 record columns, in ClaimRecord order; ReadRecord() reads them from column `first`.
#define CM_RECORD_COLUMNS                                                                  \
  "id, text, title, subtitle, claimant, claim_date, verdict, verdict_norm, rating_value, " \
  "rating_best, rating_worst, review_url, publisher, review_date, language, extra_json"

constexpr char kSelectById[] = "SELECT " CM_RECORD_COLUMNS " FROM claims WHERE id = ?1";
constexpr char kSelectByRowId[] = "SELECT " CM_RECORD_COLUMNS " FROM claims WHERE row_id = ?1";
constexpr char kSelectAll[] = "SELECT row_id, " CM_RECORD_COLUMNS " FROM claims ORDER BY row_id";
constexpr char kSelectIdHash[] = "SELECT row_id, content_hash FROM claims WHERE id = ?1";
constexpr char kSelectRowIdById[] = "SELECT row_id FROM claims WHERE id = ?1";
constexpr char kInsertClaim[] = "INSERT INTO claims (" CM_RECORD_COLUMNS
                                ", content_hash) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                                "?15, ?16, ?17)";
constexpr char kUpdateClaim[] =
    "UPDATE claims SET id = ?1, text = ?2, title = ?3, subtitle = ?4, claimant = ?5, "
    "claim_date = ?6, verdict = ?7, verdict_norm = ?8, rating_value = ?9, rating_best = ?10, "
    "rating_worst = ?11, review_url = ?12, publisher = ?13, review_date = ?14, language = ?15, "
    "extra_json = ?16, content_hash = ?17 WHERE row_id = ?18";
constexpr char kDeleteClaim[] = "DELETE FROM claims WHERE row_id = ?1";
// REPLACE drops the row id's previous log row and appends a new one with the next seq.
constexpr char kLogChange[] = "REPLACE INTO changes (row_id, op) VALUES (?1, ?2)";
constexpr char kLastSeq[] = "SELECT COALESCE(MAX(seq), 0) FROM changes";
constexpr char kChangesSince[] = "SELECT c.seq, c.row_id, c.op, " CM_RECORD_COLUMNS
                                 " FROM changes AS c LEFT JOIN claims ON claims.row_id = c.row_id"
                                 " WHERE c.seq > ?1 ORDER BY c.seq";
constexpr char kSelectFilterColumns[] =
    "SELECT language, publisher, verdict_norm, claim_date FROM claims WHERE row_id = ?1";
constexpr char kCount[] = "SELECT COUNT(*) FROM claims";
constexpr char kCountByVerdict[] =
    "SELECT verdict_norm, COUNT(*) AS n FROM claims GROUP BY 1 ORDER BY n DESC, 1";
constexpr char kCountByLanguage[] =
    "SELECT language, COUNT(*) AS n FROM claims GROUP BY 1 ORDER BY n DESC, 1";
constexpr char kCountByPublisher[] =
    "SELECT publisher, COUNT(*) AS n FROM claims GROUP BY 1 ORDER BY n DESC, 1";
constexpr char kCountByClaimDate[] =
    "SELECT claim_date, COUNT(*) AS n FROM claims GROUP BY 1 ORDER BY n DESC, 1";
constexpr char kSetMeta[] = "REPLACE INTO meta (key, value) VALUES (?1, ?2)";
constexpr char kGetMeta[] = "SELECT value FROM meta WHERE key = ?1";
constexpr char kUserVersion[] = "PRAGMA user_version";
constexpr char kCountSchemaObjects[] = "SELECT COUNT(*) FROM sqlite_master";
constexpr char kIntegrityCheck[] = "PRAGMA integrity_check(20)";
constexpr char kBegin[] = "BEGIN";
constexpr char kBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr char kCommit[] = "COMMIT";
constexpr char kRollback[] = "ROLLBACK";

absl::Status DataLossError(absl::string_view path, absl::string_view detail) {
  return absl::DataLossError(absl::StrCat(
      path, ": the claim store is corrupt (", detail,
      "). Restore it from a backup, or recover what is readable with `sqlite3 ", path,
      " .recover`, or delete it and ingest the claims again; then rebuild the indexes"));
}

// Converts SQLite result `rc` (with the handle's error message) into an absl::Status naming
// `path` and the operation `what`.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view path, absl::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string detail = absl::StrCat(what, ": ", msg);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(path, detail);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", detail));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(
          absl::StrCat(path, ": ", detail, " (another process holds the write lock; retry)"));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(absl::StrCat(path, ": ", detail));
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(path, ": ", detail));
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(absl::StrCat(path, ": ", detail));
    default:
      return absl::InternalError(absl::StrCat(path, ": ", detail));
  }
}

std::string ContentHash(const ClaimRecord& r) {
  std::string buf = "claim-v1";
  auto add = [&buf](absl::string_view s) { absl::StrAppend(&buf, "|", s.size(), ":", s); };
  auto add_num = [&buf](const std::optional<double>& d) {
    absl::StrAppend(&buf, "|", d.has_value() ? absl::StrFormat("%a", *d) : "-");
  };
  add(r.id);
  add(r.text);
  add(r.title);
  add(r.subtitle);
  add(r.claimant);
  add(r.claim_date);
  add(r.verdict);
  add(VerdictToken(r.verdict_normalized));
  add_num(r.rating_value);
  add_num(r.rating_best);
  add_num(r.rating_worst);
  add(r.review_url);
  add(r.publisher);
  add(r.review_date);
  add(r.language);
  add(r.extra_json);
  return FingerprintHex(Fingerprint64(buf));
}

std::string RandomUuid() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&out, absl::Hex(rd(), absl::kZeroPad8));
  return out;
}

}  // namespace

// One sqlite3 handle and its cached prepared statements. Used by one thread at a time.
class ClaimStoreConnection {
 public:
  static absl::StatusOr<std::unique_ptr<ClaimStoreConnection>> Open(const std::string& path,
                                                                    bool writable) {
    sqlite3* db = nullptr;
    const int flags =
        (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
        SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = absl::WrapUnique(new ClaimStoreConnection(db, path));
    if (rc != SQLITE_OK) return SqliteError(db, rc, path, "cannot open");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    if (writable) {
      // journal_mode=WAL is persistent in the file; the others are per connection.
      CM_ASSIGN_OR_RETURN(std::string journal_mode, conn->QueryText("PRAGMA journal_mode = WAL"));
      if (journal_mode != "wal") {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": cannot switch the claim store to WAL mode (journal_mode stays \"",
                         journal_mode, "\"); keep the database on a local filesystem"));
      }
      CM_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous = FULL"));
    } else {
      CM_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only = ON"));
    }
    CM_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys = ON"));
    return conn;
  }

  ~ClaimStoreConnection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  absl::Status Exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(rc, sql);
    return absl::OkStatus();
  }

  // Runs `sql` (not cached) and returns the first column of its first row.
  absl::StatusOr<std::string> QueryText(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    std::string out;
    if (rc == SQLITE_ROW) {
      const unsigned char* p = sqlite3_column_text(stmt, 0);
      if (p != nullptr) out = reinterpret_cast<const char*>(p);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return Error(rc, sql);
    return out;
  }

  // Returns the prepared statement for `sql`, which must be a string constant (the cache is keyed
  // by its address).
  absl::StatusOr<sqlite3_stmt*> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, absl::StrCat("prepare ", sql));
    cache_.emplace(sql, stmt);
    return stmt;
  }

  absl::Status Error(int rc, absl::string_view what) const {
    return SqliteError(db_, rc, path_, what);
  }

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  ClaimStoreConnection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  const std::string path_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

namespace {

using Connection = ClaimStoreConnection;

// A borrowed cached statement, reset and unbound when the Stmt goes out of scope. Text bound
// with BindText must outlive the last Step().
class Stmt {
 public:
  static absl::StatusOr<Stmt> Make(Connection& conn, const char* sql) {
    CM_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Prepare(sql));
    return Stmt(conn, stmt);
  }
  Stmt(Stmt&& other) : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void BindText(int i, absl::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, const std::optional<double>& v) {
    if (v.has_value()) {
      sqlite3_bind_double(stmt_, i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }

  // Returns true when a row is available, false when done.
  absl::StatusOr<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return conn_.Error(rc, sqlite3_sql(stmt_));
  }
  absl::Status Run() { return Step().status(); }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col));
  }
  std::optional<double> Double(int col) const {
    if (IsNull(col)) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }

  // Binds the 16 record columns to parameters 1..16 (verdict_norm as its token).
  void BindRecord(const ClaimRecord& r) {
    BindText(1, r.id);
    BindText(2, r.text);
    BindText(3, r.title);
    BindText(4, r.subtitle);
    BindText(5, r.claimant);
    BindText(6, r.claim_date);
    BindText(7, r.verdict);
    BindText(8, VerdictToken(r.verdict_normalized));
    BindDouble(9, r.rating_value);
    BindDouble(10, r.rating_best);
    BindDouble(11, r.rating_worst);
    BindText(12, r.review_url);
    BindText(13, r.publisher);
    BindText(14, r.review_date);
    BindText(15, r.language);
    BindText(16, r.extra_json);
  }

  // Reads the 16 record columns starting at column `first`.
  absl::StatusOr<ClaimRecord> ReadRecord(int first) const {
    ClaimRecord r;
    r.id = Text(first);
    r.text = Text(first + 1);
    r.title = Text(first + 2);
    r.subtitle = Text(first + 3);
    r.claimant = Text(first + 4);
    r.claim_date = Text(first + 5);
    r.verdict = Text(first + 6);
    const std::string token = Text(first + 7);
    std::optional<Verdict> verdict = ParseVerdictToken(token);
    if (!verdict.has_value()) {
      return DataLossError(
          conn_.path(),
          absl::StrCat("claim \"", r.id, "\" has unknown verdict_norm \"", token, "\""));
    }
    r.verdict_normalized = *verdict;
    r.rating_value = Double(first + 8);
    r.rating_best = Double(first + 9);
    r.rating_worst = Double(first + 10);
    r.review_url = Text(first + 11);
    r.publisher = Text(first + 12);
    r.review_date = Text(first + 13);
    r.language = Text(first + 14);
    r.extra_json = Text(first + 15);
    return r;
  }

 private:
  Stmt(Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Connection& conn_;
  sqlite3_stmt* stmt_;
};

// Runs a one-row, one-integer query.
absl::StatusOr<int64_t> QueryInt(Connection& conn, const char* sql) {
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(conn, sql));
  CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return conn.Error(SQLITE_ERROR, absl::StrCat(sql, " returned no row"));
  return stmt.Int(0);
}

// A transaction on `conn`, rolled back on destruction unless committed.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Connection& conn,
                                                            const char* begin_sql) {
    CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(conn, begin_sql));
    CM_RETURN_IF_ERROR(stmt.Run());
    return absl::WrapUnique(new Transaction(conn));
  }
  ~Transaction() {
    if (open_) {
      absl::StatusOr<Stmt> stmt = Stmt::Make(conn_, kRollback);
      if (stmt.ok()) stmt->Run().IgnoreError();  // fails only if SQLite already rolled back
    }
  }
  absl::Status Commit() {
    CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(conn_, kCommit));
    CM_RETURN_IF_ERROR(stmt.Run());
    open_ = false;
    return absl::OkStatus();
  }

 private:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  Connection& conn_;
  bool open_ = true;
};

absl::Status CheckVersion(Connection& conn, int64_t version) {
  if (version > ClaimStore::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        conn.path(), ": schema version ", version, " is newer than this claimmatch supports (",
        ClaimStore::kSchemaVersion, "); use a newer claimmatch"));
  }
  return absl::OkStatus();
}

// Checks the schema version of the store behind `conn`; when `writable`, creates schema version
// 1 in an empty file (under the write lock, so two creators cannot race).
absl::Status InitSchema(Connection& conn, bool writable) {
  CM_ASSIGN_OR_RETURN(int64_t version, QueryInt(conn, kUserVersion));
  CM_RETURN_IF_ERROR(CheckVersion(conn, version));
  if (version == ClaimStore::kSchemaVersion) return absl::OkStatus();
  std::unique_ptr<Transaction> txn;
  if (writable) {
    CM_ASSIGN_OR_RETURN(txn, Transaction::Begin(conn, kBeginImmediate));
    CM_ASSIGN_OR_RETURN(version, QueryInt(conn, kUserVersion));
    CM_RETURN_IF_ERROR(CheckVersion(conn, version));
    if (version == ClaimStore::kSchemaVersion) return absl::OkStatus();
  }
  CM_ASSIGN_OR_RETURN(int64_t objects, QueryInt(conn, kCountSchemaObjects));
  if (version != 0 || objects != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(conn.path(), ": not a claimmatch claim store (schema version ", version, ", ",
                     objects, " schema objects)"));
  }
  if (!writable) {
    return absl::FailedPreconditionError(
        absl::StrCat(conn.path(), ": the claim store is empty (never initialised)"));
  }
  for (const char* sql : kSchemaV1) CM_RETURN_IF_ERROR(conn.Exec(sql));
  CM_ASSIGN_OR_RETURN(Stmt meta, Stmt::Make(conn, kSetMeta));
  const std::string uuid = RandomUuid();
  meta.BindText(1, "store_uuid");
  meta.BindText(2, uuid);
  CM_RETURN_IF_ERROR(meta.Run());
  return txn->Commit();
}

bool LanguageMatches(absl::string_view claim_language, const std::vector<std::string>& wanted) {
  for (const std::string& w : wanted) {
    if (absl::EqualsIgnoreCase(claim_language, w)) return true;
    if (claim_language.size() > w.size() && claim_language[w.size()] == '-' &&
        absl::StartsWithIgnoreCase(claim_language, w)) {
      return true;
    }
  }
  return false;
}

bool DateMatches(absl::string_view stored, const ClaimFilter& f) {
  if (f.claim_date_from.empty() && f.claim_date_to.empty()) return true;
  // Ingest stores ISO 8601 dates (engine/dates.h); a database ingested before dates were
  // normalised may hold others ("October 5, 2020"), read the same way here.
  const std::string date = NormalizeDate(stored);
  if (date.empty()) return false;
  if (!f.claim_date_from.empty() &&
      absl::string_view(date).substr(0, f.claim_date_from.size()) < f.claim_date_from) {
    return false;
  }
  if (!f.claim_date_to.empty() &&
      absl::string_view(date).substr(0, f.claim_date_to.size()) > f.claim_date_to) {
    return false;
  }
  return true;
}

}  // namespace

// Lends a pooled read connection for one call; returns it to the pool on destruction.
class ClaimStore::ReaderLease {
 public:
  static absl::StatusOr<ReaderLease> Make(const ClaimStore& store) {
    CM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, store.AcquireReader());
    return ReaderLease(store, std::move(conn));
  }
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (conn_ != nullptr) store_.ReleaseReader(std::move(conn_));
  }
  Connection& operator*() const { return *conn_; }

 private:
  ReaderLease(const ClaimStore& store, std::unique_ptr<Connection> conn)
      : store_(store), conn_(std::move(conn)) {}
  const ClaimStore& store_;
  std::unique_ptr<Connection> conn_;
};

ClaimStore::ClaimStore(std::string path, Mode mode, std::unique_ptr<Connection> writer)
    : path_(std::move(path)), mode_(mode), writer_(std::move(writer)) {}

ClaimStore::~ClaimStore() = default;

absl::StatusOr<std::unique_ptr<ClaimStore>> ClaimStore::Open(absl::string_view db_dir, Mode mode) {
  const std::string path = JoinPath(db_dir, kFileName);
  std::unique_ptr<Connection> writer;
  if (mode == Mode::kReadOnly) {
    if (!PathExists(path)) {
      return absl::NotFoundError(absl::StrCat("no claim database in ", db_dir, " (", kFileName,
                                              " is missing); ingest claims into it first"));
    }
    CM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, Connection::Open(path, false));
    CM_RETURN_IF_ERROR(InitSchema(*reader, /*writable=*/false));
    auto store = absl::WrapUnique(new ClaimStore(path, mode, nullptr));
    store->ReleaseReader(std::move(reader));
    return store;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::string(db_dir), ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the claim database directory ", db_dir, ": ", ec.message()));
  }
  CM_ASSIGN_OR_RETURN(writer, Connection::Open(path, true));
  CM_RETURN_IF_ERROR(InitSchema(*writer, /*writable=*/true));
  return absl::WrapUnique(new ClaimStore(path, mode, std::move(writer)));
}

absl::StatusOr<std::unique_ptr<ClaimStoreConnection>> ClaimStore::AcquireReader() const {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  return Connection::Open(path_, false);
}

void ClaimStore::ReleaseReader(std::unique_ptr<Connection> conn) const {
  absl::MutexLock lock(&pool_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(conn));
}

absl::Status ClaimStore::RequireWritable() const {
  if (writer_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": the claim store was opened read-only"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ClaimStore::UpsertResult>> ClaimStore::UpsertBatch(
    absl::Span<const ClaimRecord> records) {
  CM_RETURN_IF_ERROR(RequireWritable());
  absl::MutexLock lock(&write_mu_);
  Connection& conn = *writer_;
  std::vector<UpsertResult> results;
  results.reserve(records.size());
  CM_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(conn, kBeginImmediate));
  for (size_t i = 0; i < records.size(); ++i) {
    const ClaimRecord& r = records[i];
    auto in_record = [&](const absl::Status& s) {
      return absl::Status(s.code(),
                          absl::StrCat("record ", i, " (id \"", r.id, "\"): ", s.message()));
    };
    for (const std::optional<double>* d : {&r.rating_value, &r.rating_best, &r.rating_worst}) {
      if (d->has_value() && std::isnan(**d)) {
        return in_record(absl::InvalidArgumentError("a rating is NaN"));
      }
    }
    const std::string hash = ContentHash(r);
    CM_ASSIGN_OR_RETURN(Stmt find, Stmt::Make(conn, kSelectIdHash));
    find.BindText(1, r.id);
    CM_ASSIGN_OR_RETURN(bool exists, find.Step());
    UpsertResult result;
    if (exists) {
      result.row_id = find.Int(0);
      if (find.Text(1) == hash) {
        results.push_back({result.row_id, UpsertOutcome::kUnchanged});
        continue;
      }
      CM_ASSIGN_OR_RETURN(Stmt update, Stmt::Make(conn, kUpdateClaim));
      update.BindRecord(r);
      update.BindText(17, hash);
      update.BindInt(18, result.row_id);
      if (absl::Status s = update.Run(); !s.ok()) return in_record(s);
      result.outcome = UpsertOutcome::kUpdated;
    } else {
      CM_ASSIGN_OR_RETURN(Stmt insert, Stmt::Make(conn, kInsertClaim));
      insert.BindRecord(r);
      insert.BindText(17, hash);
      if (absl::Status s = insert.Run(); !s.ok()) return in_record(s);
      result.row_id = sqlite3_last_insert_rowid(conn.db());
      result.outcome = UpsertOutcome::kAdded;
    }
    CM_ASSIGN_OR_RETURN(Stmt log, Stmt::Make(conn, kLogChange));
    log.BindInt(1, result.row_id);
    log.BindText(2, "upsert");
    CM_RETURN_IF_ERROR(log.Run());
    results.push_back(result);
  }
  CM_RETURN_IF_ERROR(txn->Commit());
  return results;
}

absl::StatusOr<int64_t> ClaimStore::Delete(absl::Span<const std::string> ids) {
  CM_RETURN_IF_ERROR(RequireWritable());
  absl::MutexLock lock(&write_mu_);
  Connection& conn = *writer_;
  int64_t deleted = 0;
  CM_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(conn, kBeginImmediate));
  for (const std::string& id : ids) {
    CM_ASSIGN_OR_RETURN(Stmt find, Stmt::Make(conn, kSelectRowIdById));
    find.BindText(1, id);
    CM_ASSIGN_OR_RETURN(bool exists, find.Step());
    if (!exists) continue;
    const ClaimRowId row_id = find.Int(0);
    CM_ASSIGN_OR_RETURN(Stmt del, Stmt::Make(conn, kDeleteClaim));
    del.BindInt(1, row_id);
    CM_RETURN_IF_ERROR(del.Run());
    CM_ASSIGN_OR_RETURN(Stmt log, Stmt::Make(conn, kLogChange));
    log.BindInt(1, row_id);
    log.BindText(2, "delete");
    CM_RETURN_IF_ERROR(log.Run());
    ++deleted;
  }
  CM_RETURN_IF_ERROR(txn->Commit());
  return deleted;
}

absl::StatusOr<std::optional<ClaimRecord>> ClaimStore::GetById(absl::string_view id) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kSelectById));
  stmt.BindText(1, id);
  CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return stmt.ReadRecord(0);
}

absl::StatusOr<std::vector<std::optional<ClaimRecord>>> ClaimStore::GetByRowIds(
    absl::Span<const ClaimRowId> row_ids) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  std::vector<std::optional<ClaimRecord>> out(row_ids.size());
  CM_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(*conn, kBegin));
  for (size_t i = 0; i < row_ids.size(); ++i) {
    CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kSelectByRowId));
    stmt.BindInt(1, row_ids[i]);
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      CM_ASSIGN_OR_RETURN(out[i], stmt.ReadRecord(0));
    }
  }
  CM_RETURN_IF_ERROR(txn->Commit());
  return out;
}

absl::Status ClaimStore::ForEach(
    const std::function<absl::Status(ClaimRowId, const ClaimRecord&)>& fn) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kSelectAll));
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    CM_ASSIGN_OR_RETURN(ClaimRecord record, stmt.ReadRecord(1));
    CM_RETURN_IF_ERROR(fn(stmt.Int(0), record));
  }
}

absl::StatusOr<int64_t> ClaimStore::Count() const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  return QueryInt(*conn, kCount);
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> ClaimStore::CountBy(
    absl::string_view column) const {
  const char* sql = nullptr;
  if (column == "verdict_norm") {
    sql = kCountByVerdict;
  } else if (column == "language") {
    sql = kCountByLanguage;
  } else if (column == "publisher") {
    sql = kCountByPublisher;
  } else if (column == "claim_date") {
    sql = kCountByClaimDate;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot count claims by \"", column,
                     "\"; use verdict_norm, language, publisher or claim_date"));
  }
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, sql));
  std::vector<std::pair<std::string, int64_t>> out;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.emplace_back(stmt.Text(0), stmt.Int(1));
  }
}

absl::StatusOr<int64_t> ClaimStore::LastChangeSeq() const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  return QueryInt(*conn, kLastSeq);
}

absl::StatusOr<int64_t> ClaimStore::ChangesSince(
    int64_t after_seq,
    const std::function<absl::Status(const Change&, const ClaimRecord* record)>& fn) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(*conn, kBegin));
  CM_ASSIGN_OR_RETURN(int64_t last_seq, QueryInt(*conn, kLastSeq));
  if (after_seq > last_seq) {
    return absl::OutOfRangeError(absl::StrCat(
        path_, ": an index records change seq ", after_seq, " but the store's last is ", last_seq,
        " (the index was built from another store, or the store was restored); rebuild it"));
  }
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kChangesSince));
  stmt.BindInt(1, after_seq);
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    Change change{stmt.Int(0), stmt.Int(1),
                  stmt.Text(2) == "delete" ? ChangeOp::kDelete : ChangeOp::kUpsert};
    if (change.op == ChangeOp::kDelete) {
      CM_RETURN_IF_ERROR(fn(change, nullptr));
      continue;
    }
    if (stmt.IsNull(3)) {
      return DataLossError(path_, absl::StrCat("change ", change.seq, " names row ", change.row_id,
                                               ", which does not exist"));
    }
    CM_ASSIGN_OR_RETURN(ClaimRecord record, stmt.ReadRecord(3));
    CM_RETURN_IF_ERROR(fn(change, &record));
  }
  CM_RETURN_IF_ERROR(txn->Commit());
  return last_seq;
}

absl::StatusOr<std::vector<bool>> ClaimStore::MatchesFilter(absl::Span<const ClaimRowId> row_ids,
                                                            const ClaimFilter& filter) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  std::vector<bool> out(row_ids.size(), false);
  CM_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(*conn, kBegin));
  for (size_t i = 0; i < row_ids.size(); ++i) {
    CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kSelectFilterColumns));
    stmt.BindInt(1, row_ids[i]);
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) continue;
    if (!filter.languages.empty() && !LanguageMatches(stmt.Text(0), filter.languages)) continue;
    if (!filter.publishers.empty() && std::find(filter.publishers.begin(), filter.publishers.end(),
                                                stmt.Text(1)) == filter.publishers.end()) {
      continue;
    }
    if (!filter.verdicts.empty()) {
      const std::optional<Verdict> v = ParseVerdictToken(stmt.Text(2));
      if (!v.has_value() ||
          std::find(filter.verdicts.begin(), filter.verdicts.end(), *v) == filter.verdicts.end()) {
        continue;
      }
    }
    if (!DateMatches(stmt.Text(3), filter)) continue;
    out[i] = true;
  }
  CM_RETURN_IF_ERROR(txn->Commit());
  return out;
}

absl::Status ClaimStore::SetMeta(absl::string_view key, absl::string_view value) {
  CM_RETURN_IF_ERROR(RequireWritable());
  absl::MutexLock lock(&write_mu_);
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*writer_, kSetMeta));
  stmt.BindText(1, key);
  stmt.BindText(2, value);
  return stmt.Run();  // one statement: its own transaction
}

absl::StatusOr<std::optional<std::string>> ClaimStore::GetMeta(absl::string_view key) const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kGetMeta));
  stmt.BindText(1, key);
  CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return stmt.Text(0);
}

absl::Status ClaimStore::CheckIntegrity() const {
  CM_ASSIGN_OR_RETURN(ReaderLease conn, ReaderLease::Make(*this));
  CM_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Make(*conn, kIntegrityCheck));
  std::vector<std::string> problems;
  while (true) {
    CM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (std::string line = stmt.Text(0); line != "ok") problems.push_back(std::move(line));
  }
  if (problems.empty()) return absl::OkStatus();
  return DataLossError(path_, absl::StrJoin(problems, "; "));
}

#undef CM_RECORD_COLUMNS

}  // namespace claimmatch
