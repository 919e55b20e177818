// VectorIndex: k-nearest-neighbour search over the embeddings of fact-checked claims, by inner
// product (the rows are unit vectors, so inner product = cosine). Wraps FAISS; this header and its
// .cc are the only FAISS users of the project, and no FAISS type or exception crosses this API.
//
// Data layout: vectors come as an EmbeddingMatrix (n x dim, row-major float, row i = vector i;
// embeddings/types.h). Each vector is labelled by the ClaimRowId of its claim (>= 0); an id holds
// at most one vector (Upsert replaces).
//
// Index types (VectorIndexType):
//   kFlat   exact: every search scans all vectors (batched queries go through BLAS). 4*dim bytes
//           per claim. The right choice up to a few hundred thousand claims.
//   kHnsw   approximate graph index (FAISS IndexHNSWFlat): fast single queries at any size, slow
//           to build (about 2 minutes per 100k vectors of d=256 on 2 cores), 4*dim + ~8*hnsw_m
//           bytes per claim (uncompressed vectors + links).
//           FAISS HNSW cannot delete, so Remove() (and the replaced half of Upsert()) only marks
//           the slot as a tombstone: searches skip tombstones, and once tombstones exceed a quarter
//           of the slots the mutation that crossed the line rebuilds the graph from the live
//           vectors (as slow as building it anew). Many tombstones lower recall slightly and may
//           make a search return fewer than k hits.
//   kIvfPq  approximate, compressed (FAISS IndexIVFPQ, inner-product coarse quantizer): pq_m
//           bytes of code + an 8-byte id per claim in the inverted lists, plus a hash-table entry
//           (id -> list, offset; ~50 bytes in memory, 16 on disk) that Get() and Remove() by id
//           need, plus the coarse centroids (nlist x dim floats): ~200 bytes per claim on disk
//           at d=512 with the default pq_m 128 and 33k claims. It needs training: TrainFor() trains
//           an empty index on a sample for the size it will reach; otherwise, until it holds
//           kIvfPqMinTrainingVectors vectors (or 39 * ivf_nlist, if larger) it stays an exact flat
//           index, and the Upsert() that reaches that count trains on all vectors held then (a
//           one-off cost of seconds to a minute) and converts them. Get() then returns the PQ
//           reconstruction, not the original vector. An index that grows far past its training
//           size says so (NeedsRetraining()); its owner rebuilds it from the original vectors
//           (ClaimDatabase re-embeds its claims). The coarse step of a search (query against the
//           nlist centroids) is engine/dense_scan.h's exact top nprobe (8-bit prefilter, float
//           scores of the centroids it cannot rule out); the lists' codes are then scored from a
//           table of the query's products with the PQ codebooks (FAISS's layout and codes, this
//           class's scan).
//
// Thread safety: const methods (Search, Get, Save, size, ...) may run concurrently with each
// other; Upsert and Remove need exclusive access (an external lock, or a single writer that swaps
// in a fresh index). Search passes its knobs (ef_search, nprobe) as per-call FAISS
// SearchParameters, never by mutating the index, and this class never calls
// omp_set_num_threads (a process-wide setting): FAISS parallelises batched searches and builds
// with OpenMP over all cores unless the process sets OMP_NUM_THREADS.
#ifndef CLAIMMATCH_ENGINE_VECTOR_INDEX_H_
#define CLAIMMATCH_ENGINE_VECTOR_INDEX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "embeddings/types.h"
#include "engine/claim.h"

namespace claimmatch {

enum class VectorIndexType { kFlat = 0, kHnsw = 1, kIvfPq = 2 };

// "flat", "hnsw", "ivfpq".
absl::string_view VectorIndexTypeName(VectorIndexType type);

struct VectorIndexOptions {
  VectorIndexType type = VectorIndexType::kFlat;

  // kHnsw: graph degree (links per node per layer; 2x on the bottom layer), the candidate list
  // size while building, and the default candidate list size while searching (raised to k).
  int hnsw_m = 32;
  int ef_construction = 80;
  int ef_search = 64;

  // kIvfPq: number of inverted lists (0 = about 4 * sqrt(n) at training time, at most n / 39),
  // bytes per vector code (0 = dim / 4, or the largest divisor of dim below it; otherwise it must
  // divide dim), and lists visited per query. The defaults are a speed/recall trade-off measured
  // on real 512-d claim embeddings (benchmarks/README.md, "Scale"): recall@10 against flat is
  // limited mostly by the lists not visited, so raise nprobe for recall, at a proportional cost.
  int ivf_nlist = 0;
  int pq_m = 0;
  int nprobe = 32;
  // kIvfPq: the search by this class (true: the coarse step by engine/dense_scan.h, the lists'
  // codes scored from a table of the query's products with the PQ codebooks), or by FAISS (false:
  // the reference the fast one is tested against; the same hits up to float rounding of
  // near-ties). Not saved: a loaded index uses the fast one.
  bool fast_ivf_search = true;
};

// Returns the code size kIvfPq uses when pq_m is 0: dim / 4 bytes, or the largest divisor of dim
// below that (at least 1), as FAISS needs pq_m to divide dim (400 -> 100, 512 -> 128, 10 -> 2).
int DefaultPqM(int dim);

// kIvfPq trains no earlier than this: 39 training points per PQ centroid (256 per sub-quantizer),
// FAISS's own minimum. Below it a flat scan is fast anyway.
inline constexpr int64_t kIvfPqMinTrainingVectors = 39 * 256;

// Returns how many vectors a kIvfPq index with `options` needs to train: kIvfPqMinTrainingVectors,
// or 39 per inverted list when ivf_nlist is set and asks for more.
int64_t IvfPqMinTrainingSize(const VectorIndexOptions& options);

// Returns the number of inverted lists kIvfPq picks (when ivf_nlist is 0) for an index of n
// vectors: 4 * sqrt(n), at least 1 (further capped at training time by sample size / 39).
int64_t AutoIvfNlist(int64_t n);

// Returns how many vectors to sample for TrainFor(expected_size): 64 per inverted list (what FAISS
// k-means uses with this class's settings), at least kIvfPqMinTrainingVectors, at most
// expected_size.
int64_t IvfPqTrainingSampleSize(const VectorIndexOptions& options, int64_t expected_size);

class VectorIndex {
 public:
  struct Hit {
    ClaimRowId id;
    float score;  // inner product with the query (= cosine); approximate for kIvfPq
  };

  // Returns an empty index of vectors of `dim` floats. Fails with kInvalidArgument if dim <= 0,
  // an option is out of range, or pq_m does not divide dim.
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Create(int dim,
                                                             const VectorIndexOptions& options);

  // Returns the index saved at `path` by Save(), and sets `*last_change_seq` (may be null) to the
  // seq recorded with it. The file is treated as hostile: magic, version, lengths and checksums
  // are verified before FAISS parses anything. Fails with kNotFound if `path` does not exist,
  // kDataLoss (naming `path` and suggesting `claimmatch reindex --db DIR`) if it is truncated,
  // corrupt or of another format version, kFailedPrecondition (naming the model that built it) if
  // `expected_model_id` is not empty and differs from the recorded one. The checksums (64-bit
  // FNV-1a) catch damage, not malice: a crafted file with valid checksums reaches FAISS's parser.
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Load(absl::string_view path,
                                                           absl::string_view expected_model_id,
                                                           int64_t* last_change_seq);

  ~VectorIndex();
  // Not copyable (it may hold gigabytes); not movable (hold it by unique_ptr).
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds the rows, or replaces the vector of an id already present. Row i belongs to `ids[i]`.
  // Returns OK; fails with kInvalidArgument (nothing changed) if rows.cols() != dim(),
  // ids.size() != rows.rows(), an id is negative or repeated, or a value is not finite; with
  // kInternal / kResourceExhausted if FAISS fails (the index may then have lost the old vectors
  // of `ids`: rebuild it). May take long: the kIvfPq call that reaches the training threshold
  // trains, and a kHnsw call that crosses the tombstone limit rebuilds the graph.
  absl::Status Upsert(absl::Span<const ClaimRowId> ids, const EmbeddingMatrix& rows);

  // Removes the vectors of `ids`; ids not present are ignored. Returns OK, or kInternal if FAISS
  // fails. kFlat: O(size()) per call that removes anything (batch removals); kHnsw: may rebuild.
  absl::Status Remove(absl::Span<const ClaimRowId> ids);

  // Returns, for each query row, up to `k` hits (fewer if the index holds fewer), best (highest
  // score) first; ties in any order. Batches of queries are much faster per query than single
  // ones (kFlat uses BLAS). Fails with kInvalidArgument if queries.cols() != dim() or k <= 0.
  absl::StatusOr<std::vector<std::vector<Hit>>> Search(const EmbeddingMatrix& queries, int k) const;

  // Returns the stored vector of `id` (approximate once a kIvfPq index is trained); fails with
  // kNotFound if the index has no vector for `id`.
  absl::StatusOr<EmbeddingRow> Get(ClaimRowId id) const;

  // Returns, for each of `ids`, the inner product of `query` with its stored vector (what
  // Get(id)->dot(query) gives, up to float rounding), or nullopt for an id the index does not hold.
  // A trained kIvfPq index computes them from the codes (the query's cosine with the list's
  // centroid plus one table lookup per code byte) without reconstructing the vectors. Fails with
  // kInvalidArgument if query.size() != dim().
  absl::StatusOr<std::vector<std::optional<float>>> InnerProducts(
      const EmbeddingRow& query, absl::Span<const ClaimRowId> ids) const;

  // Returns true if the index holds a vector for `id`.
  bool Contains(ClaimRowId id) const;

  // Returns true if this is a trained kIvfPq index with automatic nlist (options ivf_nlist 0) that
  // has grown to about 4 times the size it was trained for (AutoIvfNlist(size()) >= 2 * nlist):
  // its lists are long, so each search scans several times the codes it should. The owner should
  // then build a fresh index: Create, TrainFor on a sample of the original vectors, Upsert all
  // (PQ codes cannot be re-trained from their own lossy reconstructions).
  bool NeedsRetraining() const;

  // Returns the number of inverted lists of a trained kIvfPq index; 0 for other types and for a
  // kIvfPq index not trained yet.
  int64_t ivf_lists() const;

  // kIvfPq only, on an empty index: trains the coarse quantizer and the PQ codebooks on `sample`
  // (rows drawn evenly from the vectors the index will hold) for an index of about
  // `expected_size` vectors: nlist = AutoIvfNlist(expected_size) (or options ivf_nlist), at most
  // sample.rows() / 39. Upserts then go straight into the trained index. Returns OK; fails with
  // kFailedPrecondition if the index is not an empty kIvfPq index, kInvalidArgument if the sample
  // has another dim, fewer than kIvfPqMinTrainingVectors (or 39 * ivf_nlist) rows or a
  // non-finite value, kInternal / kResourceExhausted if FAISS fails (the index stays empty).
  absl::Status TrainFor(const EmbeddingMatrix& sample, int64_t expected_size);

  // Writes the index to `path` atomically (a reader sees the old file or the new one), recording
  // `model_id` (the embedding model that produced the vectors) and `last_change_seq` (the
  // ClaimStore change seq the index reflects). Returns OK; fails with kInvalidArgument if model_id
  // is longer than 4096 bytes, kInternal if FAISS or the write fails.
  //
  // File format, little-endian, version 1:
  //   "CMVI"  u32 version  i32 dim  i32 type  i64 count  i64 last_change_seq
  //   i32 hnsw_m  i32 ef_construction  i32 ef_search  i32 ivf_nlist  i32 pq_m  i32 nprobe
  //   u32 model_id_len  model_id bytes  u64 payload_len  u64 payload_fingerprint
  //   u64 header_fingerprint (Fingerprint64 of every byte before it)  payload
  // where payload is faiss::write_index of the FAISS index (IndexIDMap2 over IndexFlatIP or
  // IndexHNSWFlat, whose tombstones carry the label -1; IndexIVFPQ, or IndexIDMap2 over
  // IndexFlatIP while an IVF-PQ index is untrained) and payload_fingerprint its Fingerprint64.
  absl::Status Save(absl::string_view path, absl::string_view model_id,
                    int64_t last_change_seq) const;

  // Number of vectors (live claims) in the index.
  int64_t size() const;
  int dim() const { return dim_; }
  VectorIndexType type() const { return options_.type; }
  const VectorIndexOptions& options() const { return options_; }

  class Backend;  // implementation detail: one per index type, defined in vector_index.cc

 private:
  VectorIndex(int dim, const VectorIndexOptions& options, std::unique_ptr<Backend> backend);

  const int dim_;
  const VectorIndexOptions options_;
  std::unique_ptr<Backend> backend_;  // never null
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_VECTOR_INDEX_H_
