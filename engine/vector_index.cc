#include "engine/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/DirectMap.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "engine/dense_scan.h"

namespace claimmatch {

using idx_t = faiss::Index::idx_t;
static_assert(std::is_same_v<idx_t, ClaimRowId>, "ClaimRowId must be faiss::Index::idx_t");

namespace {

constexpr char kMagic[4] = {'C', 'M', 'V', 'I'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kMaxModelIdBytes = 4096;
constexpr idx_t kTombstone = -1;  // label of a deleted HNSW slot (and FAISS's "no result")

// The 8 bytes at `p` as a little-endian integer (byte 0 in the lowest bits on any machine), in one
// load.
uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) v = __builtin_bswap64(v);
  return v;
}

// Runs `fn`, converting any exception (FAISS throws faiss::FaissException, the standard library
// std::bad_alloc and friends) into a status that says what was being done.
template <typename Fn>
absl::Status Guard(absl::string_view what, Fn&& fn) {
  try {
    fn();
    return absl::OkStatus();
  } catch (const faiss::FaissException& e) {
    return absl::InternalError(absl::StrCat("faiss ", what, ": ", e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("out of memory in faiss ", what));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("faiss ", what, ": ", e.what()));
  }
}

absl::Status ValidateOptions(int dim, const VectorIndexOptions& o) {
  if (dim <= 0) return absl::InvalidArgumentError(absl::StrCat("dim must be > 0, got ", dim));
  switch (o.type) {
    case VectorIndexType::kFlat:
      return absl::OkStatus();
    case VectorIndexType::kHnsw:
      if (o.hnsw_m < 2 || o.hnsw_m > 512 || o.ef_construction < 1 || o.ef_search < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "HNSW options out of range: hnsw_m ", o.hnsw_m, " (2..512), ef_construction ",
            o.ef_construction, ", ef_search ", o.ef_search, " (>= 1)"));
      }
      return absl::OkStatus();
    case VectorIndexType::kIvfPq:
      if (o.ivf_nlist < 0 || o.pq_m < 0 || o.nprobe < 1) {
        return absl::InvalidArgumentError(absl::StrCat("IVF-PQ options out of range: ivf_nlist ",
                                                       o.ivf_nlist, ", pq_m ", o.pq_m, " (>= 0), ",
                                                       "nprobe ", o.nprobe, " (>= 1)"));
      }
      if (o.pq_m > 0 && dim % o.pq_m != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("pq_m ", o.pq_m, " does not divide dim ", dim));
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown vector index type ", static_cast<int>(o.type)));
}

// faiss::IDSelector that keeps the slots whose label is not a tombstone. Borrows `labels`.
class LiveSlots : public faiss::IDSelector {
 public:
  explicit LiveSlots(const std::vector<idx_t>& labels) : labels_(labels) {}
  bool is_member(idx_t slot) const override { return labels_[slot] != kTombstone; }

 private:
  const std::vector<idx_t>& labels_;
};

// An IndexIDMap2 that owns `inner`.
std::unique_ptr<faiss::IndexIDMap2> OwningIdMap(std::unique_ptr<faiss::Index> inner) {
  auto map = std::make_unique<faiss::IndexIDMap2>(inner.get());
  map->own_fields = true;
  inner.release();
  return map;
}

// The ids among `ids` that `contains` holds.
template <typename Contains>
std::vector<idx_t> PresentIds(absl::Span<const idx_t> ids, Contains contains) {
  std::vector<idx_t> present;
  for (idx_t id : ids) {
    if (contains(id)) present.push_back(id);
  }
  return present;
}

}  // namespace

int64_t AutoIvfNlist(int64_t n) {
  return std::max<int64_t>(
      1, std::llround(4 * std::sqrt(static_cast<double>(std::max<int64_t>(n, 0)))));
}

int64_t IvfPqMinTrainingSize(const VectorIndexOptions& options) {
  return std::max<int64_t>(kIvfPqMinTrainingVectors, int64_t{39} * options.ivf_nlist);
}

int64_t IvfPqTrainingSampleSize(const VectorIndexOptions& options, int64_t expected_size) {
  const int64_t nlist = options.ivf_nlist > 0 ? options.ivf_nlist : AutoIvfNlist(expected_size);
  const int64_t want = std::max(kIvfPqMinTrainingVectors, 64 * nlist);
  return std::min(std::max<int64_t>(expected_size, 0), want);
}

// The FAISS side of one index type. Methods may throw (VectorIndex converts); arguments are
// validated by VectorIndex (dim, non-negative unique ids, k in 1..size()).
class VectorIndex::Backend {
 public:
  virtual ~Backend() = default;
  virtual void Upsert(absl::Span<const idx_t> ids, const float* rows) = 0;
  virtual void Remove(absl::Span<const idx_t> ids) = 0;
  // Fills n * k scores and labels (kTombstone where there is no hit).
  virtual void Search(idx_t n, const float* queries, idx_t k, float* scores,
                      idx_t* labels) const = 0;
  virtual bool Contains(idx_t id) const = 0;
  // REQUIRES: Contains(id).
  virtual void Reconstruct(idx_t id, float* out) const = 0;
  virtual int64_t size() const = 0;
  // See VectorIndex::InnerProducts (query: dim floats). This default reconstructs each vector.
  virtual void InnerProducts(const float* query, absl::Span<const idx_t> ids,
                             std::vector<std::optional<float>>* out) const {
    const int dim = static_cast<int>(faiss_index().d);
    const Eigen::Map<const EmbeddingRow> q(query, dim);
    EmbeddingRow v(dim);
    for (const idx_t id : ids) {
      if (!Contains(id)) {
        out->push_back(std::nullopt);
        continue;
      }
      Reconstruct(id, v.data());
      out->push_back(v.dot(q));
    }
  }
  // What Save() serialises.
  virtual const faiss::Index& faiss_index() const = 0;
  // kIvfPq only (other backends keep these defaults; VectorIndex::TrainFor checks the type):
  // see VectorIndex::NeedsRetraining / ivf_lists / TrainFor.
  virtual bool NeedsRetraining() const { return false; }
  virtual int64_t ivf_lists() const { return 0; }
  virtual void TrainFor(idx_t /*n*/, const float* /*sample*/, int64_t /*expected_size*/) {}
};

namespace {

// kFlat (and kIvfPq before training): IndexIDMap2 over IndexFlatIP. remove_ids compacts the
// storage and rebuilds the id maps: O(size) per call that removes anything.
class FlatBackend : public VectorIndex::Backend {
 public:
  explicit FlatBackend(int dim) : map_(OwningIdMap(std::make_unique<faiss::IndexFlatIP>(dim))) {}
  explicit FlatBackend(std::unique_ptr<faiss::IndexIDMap2> map) : map_(std::move(map)) {}

  void Upsert(absl::Span<const idx_t> ids, const float* rows) override {
    Remove(ids);
    map_->add_with_ids(static_cast<idx_t>(ids.size()), rows, ids.data());
  }
  void Remove(absl::Span<const idx_t> ids) override {
    const std::vector<idx_t> present = PresentIds(ids, [this](idx_t id) { return Contains(id); });
    if (present.empty()) return;
    faiss::IDSelectorBatch selector(present.size(), present.data());
    map_->remove_ids(selector);
  }
  // Batches of at least faiss::distance_compute_blas_threshold (20) queries go to FAISS's BLAS
  // path. Fewer are scored here with one Eigen product per query: Debian's FAISS, built without
  // SIMD, scores them with a scalar loop (~40 ms for one query against 19,250 x 400; a one-shot
  // `lookup` has no snapshot). Best first, equal scores by insertion order. REQUIRES: k <= size().
  void Search(idx_t n, const float* queries, idx_t k, float* scores, idx_t* labels) const override {
    const idx_t total = map_->ntotal;
    if (n >= faiss::distance_compute_blas_threshold || total == 0) {
      return map_->search(n, queries, k, scores, labels);
    }
    const int dim = static_cast<int>(map_->d);
    const Eigen::Map<const EmbeddingMatrix> rows(vectors(), total, dim);
    std::vector<idx_t> order(total);
    for (idx_t q = 0; q < n; ++q) {
      const Eigen::VectorXf s = rows * Eigen::Map<const Eigen::VectorXf>(queries + q * dim, dim);
      for (idx_t j = 0; j < total; ++j) order[j] = j;
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&s](idx_t a, idx_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
      for (idx_t j = 0; j < k; ++j) {
        scores[q * k + j] = s[order[j]];
        labels[q * k + j] = map_->id_map[order[j]];
      }
    }
  }
  bool Contains(idx_t id) const override { return map_->rev_map.count(id) > 0; }
  void Reconstruct(idx_t id, float* out) const override { map_->reconstruct(id, out); }
  int64_t size() const override { return map_->ntotal; }
  const faiss::Index& faiss_index() const override { return *map_; }

  // The vectors, row-major in insertion order, and their ids.
  const float* vectors() const {
    return static_cast<const faiss::IndexFlat*>(map_->index)->get_xb();
  }
  const std::vector<idx_t>& ids() const { return map_->id_map; }

 private:
  std::unique_ptr<faiss::IndexIDMap2> map_;
};

// kHnsw: IndexIDMap2 over IndexHNSWFlat. The id map's `id_map` is slot -> id, with kTombstone
// for deleted slots; `rev_map` holds live ids only. Search goes to the inner HNSW index directly
// (FAISS 1.7.3's IndexIDMap refuses SearchParameters) with a selector that skips tombstones.
class HnswBackend : public VectorIndex::Backend {
 public:
  HnswBackend(int dim, const VectorIndexOptions& options) : options_(options) {
    map_ = NewMap(dim, options);
  }
  // From a loaded index: drops the tombstone entry construct_rev_map() made and counts them.
  HnswBackend(std::unique_ptr<faiss::IndexIDMap2> map, const VectorIndexOptions& options)
      : options_(options), map_(std::move(map)) {
    map_->rev_map.erase(kTombstone);
    tombstones_ = std::count(map_->id_map.begin(), map_->id_map.end(), kTombstone);
  }

  void Upsert(absl::Span<const idx_t> ids, const float* rows) override {
    for (idx_t id : ids) Tombstone(id);
    map_->add_with_ids(static_cast<idx_t>(ids.size()), rows, ids.data());
    MaybeRebuild();
  }
  void Remove(absl::Span<const idx_t> ids) override {
    for (idx_t id : ids) Tombstone(id);
    MaybeRebuild();
  }
  void Search(idx_t n, const float* queries, idx_t k, float* scores, idx_t* labels) const override {
    faiss::SearchParametersHNSW params;
    // With tombstones some of the ef candidates are filtered out: look at more.
    params.efSearch =
        static_cast<int>(std::max<idx_t>(options_.ef_search, tombstones_ > 0 ? 2 * k : k));
    LiveSlots live(map_->id_map);
    if (tombstones_ > 0) params.sel = &live;
    map_->index->search(n, queries, k, scores, labels, &params);
    for (idx_t i = 0; i < n * k; ++i) {
      if (labels[i] >= 0) labels[i] = map_->id_map[labels[i]];
    }
  }
  bool Contains(idx_t id) const override { return map_->rev_map.count(id) > 0; }
  void Reconstruct(idx_t id, float* out) const override {
    map_->index->reconstruct(map_->rev_map.at(id), out);
  }
  int64_t size() const override { return static_cast<int64_t>(map_->rev_map.size()); }
  const faiss::Index& faiss_index() const override { return *map_; }

 private:
  static std::unique_ptr<faiss::IndexIDMap2> NewMap(int dim, const VectorIndexOptions& options) {
    auto hnsw =
        std::make_unique<faiss::IndexHNSWFlat>(dim, options.hnsw_m, faiss::METRIC_INNER_PRODUCT);
    hnsw->hnsw.efConstruction = options.ef_construction;
    hnsw->hnsw.efSearch = options.ef_search;
    return OwningIdMap(std::move(hnsw));
  }

  void Tombstone(idx_t id) {
    auto it = map_->rev_map.find(id);
    if (it == map_->rev_map.end()) return;
    map_->id_map[it->second] = kTombstone;
    map_->rev_map.erase(it);
    ++tombstones_;
  }

  // Rebuilds the graph from the live vectors once tombstones exceed a quarter of the slots.
  void MaybeRebuild() {
    if (tombstones_ == 0 || 4 * tombstones_ <= map_->ntotal) return;
    const int dim = map_->d;
    const auto* storage =
        static_cast<const faiss::IndexFlat*>(static_cast<faiss::IndexHNSW*>(map_->index)->storage);
    const float* xb = storage->get_xb();
    std::vector<idx_t> live_ids;
    std::vector<float> live_rows;
    live_ids.reserve(size());
    live_rows.reserve(static_cast<size_t>(size()) * dim);
    for (idx_t slot = 0; slot < map_->ntotal; ++slot) {
      if (map_->id_map[slot] == kTombstone) continue;
      live_ids.push_back(map_->id_map[slot]);
      live_rows.insert(live_rows.end(), xb + slot * dim, xb + (slot + 1) * dim);
    }
    std::unique_ptr<faiss::IndexIDMap2> fresh = NewMap(dim, options_);
    if (!live_ids.empty()) {
      fresh->add_with_ids(static_cast<idx_t>(live_ids.size()), live_rows.data(), live_ids.data());
    }
    map_ = std::move(fresh);
    tombstones_ = 0;
  }

  const VectorIndexOptions options_;
  std::unique_ptr<faiss::IndexIDMap2> map_;
  int64_t tombstones_ = 0;
};

// kIvfPq: a FlatBackend until it holds enough vectors to train, then an IndexIVFPQ (inner-product
// flat coarse quantizer, 8-bit codes) with a hashtable direct map (for remove_ids by id and
// reconstruct).
class IvfPqBackend : public VectorIndex::Backend {
 public:
  IvfPqBackend(int dim, const VectorIndexOptions& options)
      : dim_(dim), options_(options), flat_(std::make_unique<FlatBackend>(dim)) {}
  IvfPqBackend(int dim, const VectorIndexOptions& options, std::unique_ptr<FlatBackend> flat)
      : dim_(dim), options_(options), flat_(std::move(flat)) {}
  IvfPqBackend(int dim, const VectorIndexOptions& options, std::unique_ptr<faiss::IndexIVFPQ> ivf)
      : dim_(dim), options_(options) {
    SetIvf(std::move(ivf));
  }

  void Upsert(absl::Span<const idx_t> ids, const float* rows) override {
    if (flat_ != nullptr) {
      flat_->Upsert(ids, rows);
      if (flat_->size() >= IvfPqMinTrainingSize(options_)) Train();
      return;
    }
    Remove(ids);
    ivf_->add_with_ids(static_cast<idx_t>(ids.size()), rows, ids.data());
  }
  void Remove(absl::Span<const idx_t> ids) override {
    if (flat_ != nullptr) return flat_->Remove(ids);
    const std::vector<idx_t> present = PresentIds(ids, [this](idx_t id) { return Contains(id); });
    if (present.empty()) return;
    // The hashtable direct map only accepts an IDSelectorArray.
    faiss::IDSelectorArray selector(present.size(), present.data());
    ivf_->remove_ids(selector);
  }
  void Search(idx_t n, const float* queries, idx_t k, float* scores, idx_t* labels) const override {
    if (flat_ != nullptr) return flat_->Search(n, queries, k, scores, labels);
    faiss::SearchParametersIVF params;
    params.nprobe = std::min<size_t>(options_.nprobe, ivf_->nlist);
    if (coarse_ == nullptr) return ivf_->search(n, queries, k, scores, labels, &params);
    // The coarse step (query against the nlist centroids) by DenseScan: Debian's FAISS is built
    // without SIMD, and its scalar loop over 4,000 centroids of 400 floats cost more than scanning
    // the lists (1M claims: ~1.6 of 2.3 ms); an Eigen product still read all 6.4 MB of them per
    // query. DenseScan reads their 8-bit codes (a quarter of that) and scores in float only the
    // centroids it cannot rule out: the same lists as FAISS's own float scan, up to float
    // rounding of near-ties. Then the lists' codes are scored here (ScanLists).
    const EmbeddingMatrix q = Eigen::Map<const EmbeddingMatrix>(queries, n, dim_);
    const std::vector<std::vector<DenseScan::Hit>> lists =
        coarse_->Search(q, static_cast<int>(params.nprobe));
    for (idx_t i = 0; i < n; ++i) {
      ScanLists(queries + i * dim_, lists[i], k, scores + i * k, labels + i * k);
    }
  }
  bool Contains(idx_t id) const override {
    if (flat_ != nullptr) return flat_->Contains(id);
    return ivf_->direct_map.hashtable.count(id) > 0;
  }
  void InnerProducts(const float* query, absl::Span<const idx_t> ids,
                     std::vector<std::optional<float>>* out) const override {
    if (flat_ != nullptr || !table_scorable_) return Backend::InnerProducts(query, ids, out);
    const std::vector<float> table = QueryTable(query);
    const Eigen::Map<const EmbeddingRow> q(query, dim_);
    const float* centroids = static_cast<const faiss::IndexFlat*>(ivf_->quantizer)->get_xb();
    for (const idx_t id : ids) {
      const auto it = ivf_->direct_map.hashtable.find(id);
      if (it == ivf_->direct_map.hashtable.end()) {
        out->push_back(std::nullopt);
        continue;
      }
      const idx_t list = static_cast<idx_t>(faiss::lo_listno(it->second));
      const faiss::InvertedLists::ScopedCodes code(ivf_->invlists, list,
                                                   faiss::lo_offset(it->second));
      const float dis0 = q.dot(Eigen::Map<const EmbeddingRow>(centroids + list * dim_, dim_));
      out->push_back(dis0 + CodeScore(table.data(), code.codes));
    }
  }
  void Reconstruct(idx_t id, float* out) const override {
    if (flat_ != nullptr) return flat_->Reconstruct(id, out);
    ivf_->reconstruct(id, out);
  }
  int64_t size() const override { return flat_ != nullptr ? flat_->size() : ivf_->ntotal; }
  const faiss::Index& faiss_index() const override {
    return flat_ != nullptr ? flat_->faiss_index() : *ivf_;
  }
  bool NeedsRetraining() const override {
    return ivf_ != nullptr && options_.ivf_nlist == 0 &&
           AutoIvfNlist(ivf_->ntotal) >= 2 * static_cast<int64_t>(ivf_->nlist);
  }
  int64_t ivf_lists() const override { return ivf_ != nullptr ? ivf_->nlist : 0; }
  void TrainFor(idx_t n, const float* sample, int64_t expected_size) override {
    SetIvf(Trained(n, sample, expected_size));
    flat_.reset();
  }

 private:
  // Takes the trained index, and (when options_.fast_ivf_search is set and its codes can be scored
  // from a table: always, for indexes this class trains) a DenseScan of its centroids, which
  // makes Search this class's own.
  void SetIvf(std::unique_ptr<faiss::IndexIVFPQ> ivf) {
    ivf_ = std::move(ivf);
    coarse_.reset();
    table_scorable_ = false;
    codebooks_t_.clear();
    const auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf_->quantizer);
    if (quantizer == nullptr || quantizer->metric_type != faiss::METRIC_INNER_PRODUCT ||
        quantizer->ntotal != static_cast<idx_t>(ivf_->nlist) || quantizer->d != dim_) {
      return;
    }
    const faiss::ProductQuantizer& pq = ivf_->pq;
    table_scorable_ = ivf_->by_residual && pq.nbits == 8 && pq.ksub == 256 &&
                      pq.code_size == pq.M && pq.M * pq.dsub == static_cast<size_t>(dim_) &&
                      ivf_->code_size == pq.code_size;
    if (!table_scorable_) return;
    codebooks_t_.resize(pq.M * pq.dsub * 256);
    for (size_t m = 0; m < pq.M; ++m) {
      for (size_t c = 0; c < 256; ++c) {
        for (size_t j = 0; j < pq.dsub; ++j) {
          codebooks_t_[(m * pq.dsub + j) * 256 + c] = pq.centroids[(m * 256 + c) * pq.dsub + j];
        }
      }
    }
    if (!options_.fast_ivf_search) return;
    coarse_ = std::make_unique<DenseScan>(EmbeddingMatrix(
        Eigen::Map<const EmbeddingMatrix>(quantizer->get_xb(), quantizer->ntotal, dim_)));
  }

  // REQUIRES table_scorable_. Returns the query's products with the PQ codebooks:
  // table[m * 256 + c] = the query's sub-vector m . codebook m's entry c, so that the inner
  // product of the query with a stored vector (its list's centroid + the decoded residual) is
  // q . centroid + CodeScore(table, code).
  std::vector<float> QueryTable(const float* query) const {
    const faiss::ProductQuantizer& pq = ivf_->pq;
    const int m_count = static_cast<int>(pq.M);
    const int dsub = static_cast<int>(pq.dsub);
    std::vector<float> table(static_cast<size_t>(m_count) * 256, 0.f);
    // Along the entries (vectorised), one coordinate at a time: 256 x dsub multiply-adds per
    // codebook (an Eigen product per codebook of 256 x 4 was about 4% of a 1M lookup's CPU).
    for (int m = 0; m < m_count; ++m) {
      float* const out = table.data() + m * 256;
      for (int j = 0; j < dsub; ++j) {
        const float qj = query[m * dsub + j];
        const float* const column = codebooks_t_.data() + (m * dsub + j) * 256;
        for (int c = 0; c < 256; ++c) out[c] += qj * column[c];
      }
    }
    return table;
  }
  // Sum over the code's bytes of the table's entries (CodeScore2's sum, for one code).
  float CodeScore(const float* table, const uint8_t* code) const {
    float two[2];
    CodeScore2(table, code, code, two);
    return two[0];
  }
  // Sums over the bytes of codes `a` and `b` of the table's entries, into out[0] and out[1]: byte
  // m goes to partial sum m % 4, and the result is (s0 + s1) + (s2 + s3), whatever else is
  // scored beside it. Four chains per code (FAISS's scan adds the bytes in one chain: a float
  // add's latency per byte, 100 of them per code), two codes at once, and the code bytes read
  // eight at a time: the scan of a list is bound by its loads, one per table entry.
  void CodeScore2(const float* table, const uint8_t* a, const uint8_t* b, float* out) const {
    const size_t m_count = ivf_->pq.M;
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    size_t m = 0;
    for (; m + 8 <= m_count; m += 8) {
      const uint64_t wa = LoadLittleEndian64(a + m);
      const uint64_t wb = LoadLittleEndian64(b + m);
      const float* t = table + m * 256;
      a0 += t[wa & 255];
      b0 += t[wb & 255];
      a1 += t[256 + (wa >> 8 & 255)];
      b1 += t[256 + (wb >> 8 & 255)];
      a2 += t[512 + (wa >> 16 & 255)];
      b2 += t[512 + (wb >> 16 & 255)];
      a3 += t[768 + (wa >> 24 & 255)];
      b3 += t[768 + (wb >> 24 & 255)];
      a0 += t[1024 + (wa >> 32 & 255)];
      b0 += t[1024 + (wb >> 32 & 255)];
      a1 += t[1280 + (wa >> 40 & 255)];
      b1 += t[1280 + (wb >> 40 & 255)];
      a2 += t[1536 + (wa >> 48 & 255)];
      b2 += t[1536 + (wb >> 48 & 255)];
      a3 += t[1792 + (wa >> 56)];
      b3 += t[1792 + (wb >> 56)];
    }
    for (; m + 4 <= m_count; m += 4) {
      const float* t = table + m * 256;
      a0 += t[a[m]];
      b0 += t[b[m]];
      a1 += t[256 + a[m + 1]];
      b1 += t[256 + b[m + 1]];
      a2 += t[512 + a[m + 2]];
      b2 += t[512 + b[m + 2]];
      a3 += t[768 + a[m + 3]];
      b3 += t[768 + b[m + 3]];
    }
    for (; m < m_count; ++m) {
      a0 += table[m * 256 + a[m]];
      b0 += table[m * 256 + b[m]];
    }
    out[0] = (a0 + a1) + (a2 + a3);
    out[1] = (b0 + b1) + (b2 + b3);
  }
  // The k best (score, id) of the codes of `lists` (list, q . centroid), best first, equal
  // scores by smaller id; -1 labels after the last when the lists hold fewer than k.
  void ScanLists(const float* query, const std::vector<DenseScan::Hit>& lists, idx_t k,
                 float* scores, idx_t* labels) const {
    const std::vector<float> table = QueryTable(query);
    std::vector<std::pair<float, idx_t>> top;  // heap, worst first
    top.reserve(k);
    const auto better = [](const std::pair<float, idx_t>& a, const std::pair<float, idx_t>& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    const size_t code_size = ivf_->code_size;
    for (const auto& [list, dis0] : lists) {
      const size_t size = ivf_->invlists->list_size(list);
      if (size == 0) continue;
      const faiss::InvertedLists::ScopedCodes codes(ivf_->invlists, list);
      const faiss::InvertedLists::ScopedIds ids(ivf_->invlists, list);
      const auto offer = [&](const std::pair<float, idx_t>& hit) {
        if (static_cast<idx_t>(top.size()) < k) {
          top.push_back(hit);
          std::push_heap(top.begin(), top.end(), better);
        } else if (better(hit, top.front())) {
          std::pop_heap(top.begin(), top.end(), better);
          top.back() = hit;
          std::push_heap(top.begin(), top.end(), better);
        }
      };
      size_t c = 0;
      for (; c + 2 <= size; c += 2) {
        float two[2];
        CodeScore2(table.data(), codes.codes + c * code_size, codes.codes + (c + 1) * code_size,
                   two);
        offer({dis0 + two[0], ids.ids[c]});
        offer({dis0 + two[1], ids.ids[c + 1]});
      }
      if (c < size) {
        offer({dis0 + CodeScore(table.data(), codes.codes + c * code_size), ids.ids[c]});
      }
    }
    std::sort_heap(top.begin(), top.end(), better);
    for (idx_t j = 0; j < k; ++j) {
      const bool found = j < static_cast<idx_t>(top.size());
      scores[j] = found ? top[j].first : -std::numeric_limits<float>::infinity();
      labels[j] = found ? top[j].second : -1;
    }
  }

  // Trains on every vector held and moves them into the IVF-PQ index. If FAISS throws, the flat
  // index is left as it was (still complete and searchable).
  void Train() {
    const int64_t n = flat_->size();
    std::unique_ptr<faiss::IndexIVFPQ> ivf = Trained(n, flat_->vectors(), n);
    ivf->add_with_ids(n, flat_->vectors(), flat_->ids().data());
    SetIvf(std::move(ivf));
    flat_.reset();
  }

  // Returns an empty IVF-PQ index trained on the n rows of `sample` for `expected_size` vectors.
  std::unique_ptr<faiss::IndexIVFPQ> Trained(int64_t n, const float* sample,
                                             int64_t expected_size) const {
    const int64_t nlist = options_.ivf_nlist > 0
                              ? options_.ivf_nlist
                              : std::min(AutoIvfNlist(expected_size), std::max<int64_t>(1, n / 39));
    const int pq_m = options_.pq_m > 0 ? options_.pq_m : DefaultPqM(dim_);
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(dim_);
    auto ivf =
        std::make_unique<faiss::IndexIVFPQ>(quantizer.get(), dim_, nlist, pq_m,
                                            /*nbits_per_idx=*/8, faiss::METRIC_INNER_PRODUCT);
    ivf->own_fields = true;
    quantizer.release();
    // Coarse and PQ k-means on at most 64 points per centroid, 20 iterations (FAISS defaults:
    // 256 and 25): seconds instead of minutes at 300k vectors on 2 cores.
    ivf->cp.max_points_per_centroid = 64;
    ivf->cp.niter = 20;
    ivf->pq.cp.max_points_per_centroid = 64;
    ivf->pq.cp.niter = 20;
    ivf->nprobe = std::min<size_t>(options_.nprobe, nlist);
    ivf->train(n, sample);
    ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
    return ivf;
  }

  const int dim_;
  const VectorIndexOptions options_;
  std::unique_ptr<FlatBackend> flat_;       // exactly one of flat_ and ivf_ is set
  std::unique_ptr<faiss::IndexIVFPQ> ivf_;  // trained
  std::unique_ptr<DenseScan> coarse_;       // ivf_'s centroids (null: FAISS's search)
  bool table_scorable_ = false;             // ivf_'s codes can be scored by QueryTable
  // When table_scorable_: the PQ codebooks transposed, codebook m's coordinate j of entry c at
  // [(m * dsub + j) * 256 + c], so that QueryTable runs along the 256 entries.
  std::vector<float> codebooks_t_;
};

// --- Serialisation helpers ---------------------------------------------------------------------

// faiss::IOWriter appending to a string it borrows.
class StringWriter : public faiss::IOWriter {
 public:
  explicit StringWriter(std::string* out) : out_(out) { name = "memory"; }
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    out_->append(static_cast<const char*>(ptr), size * nitems);
    return nitems;
  }

 private:
  std::string* out_;
};

// faiss::IOReader over borrowed bytes.
class SpanReader : public faiss::IOReader {
 public:
  explicit SpanReader(absl::string_view data) : data_(data) { name = "memory"; }
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0 || nitems == 0) return nitems;
    const size_t n = std::min(nitems, (data_.size() - pos_) / size);
    if (n > 0) std::memcpy(ptr, data_.data() + pos_, n * size);
    pos_ += n * size;
    return n;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void SetU64(std::string* out, size_t pos, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*out)[pos + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Reads little-endian fields from a byte view; every read reports whether the bytes were there.
class Cursor {
 public:
  explicit Cursor(absl::string_view data) : data_(data) {}
  bool U32(uint32_t* v) {
    uint64_t w;
    if (!Fixed(4, &w)) return false;
    *v = static_cast<uint32_t>(w);
    return true;
  }
  bool I32(int32_t* v) {
    uint32_t u;
    if (!U32(&u)) return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool U64(uint64_t* v) { return Fixed(8, v); }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bytes(size_t n, absl::string_view* v) {
    if (data_.size() - pos_ < n) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  absl::string_view rest() const { return data_.substr(pos_); }

 private:
  bool Fixed(int bytes, uint64_t* v) {
    if (data_.size() - pos_ < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) {
      *v |= uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
    }
    pos_ += bytes;
    return true;
  }
  absl::string_view data_;
  size_t pos_ = 0;
};

absl::Status DataLoss(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("vector index ", path, " ", what,
                                          "; rebuild it with `claimmatch reindex --db DIR`"));
}

}  // namespace

absl::string_view VectorIndexTypeName(VectorIndexType type) {
  switch (type) {
    case VectorIndexType::kFlat:
      return "flat";
    case VectorIndexType::kHnsw:
      return "hnsw";
    case VectorIndexType::kIvfPq:
      return "ivfpq";
  }
  return "unknown";
}

VectorIndex::VectorIndex(int dim, const VectorIndexOptions& options,
                         std::unique_ptr<Backend> backend)
    : dim_(dim), options_(options), backend_(std::move(backend)) {}

VectorIndex::~VectorIndex() = default;

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Create(
    int dim, const VectorIndexOptions& options) {
  CM_RETURN_IF_ERROR(ValidateOptions(dim, options));
  std::unique_ptr<Backend> backend;
  CM_RETURN_IF_ERROR(Guard("create", [&] {
    switch (options.type) {
      case VectorIndexType::kFlat:
        backend = std::make_unique<FlatBackend>(dim);
        break;
      case VectorIndexType::kHnsw:
        backend = std::make_unique<HnswBackend>(dim, options);
        break;
      case VectorIndexType::kIvfPq:
        backend = std::make_unique<IvfPqBackend>(dim, options);
        break;
    }
  }));
  return std::unique_ptr<VectorIndex>(new VectorIndex(dim, options, std::move(backend)));
}

absl::Status VectorIndex::Upsert(absl::Span<const ClaimRowId> ids, const EmbeddingMatrix& rows) {
  if (rows.cols() != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("rows have dim ", rows.cols(), ", the index has dim ", dim_));
  }
  if (static_cast<int64_t>(ids.size()) != rows.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(ids.size(), " ids for ", rows.rows(), " rows"));
  }
  if (ids.empty()) return absl::OkStatus();
  std::vector<ClaimRowId> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative id ", sorted.front()));
  }
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return absl::InvalidArgumentError(absl::StrCat("id ", *dup, " appears twice in one Upsert"));
  }
  if (!rows.allFinite()) {
    return absl::InvalidArgumentError("rows contain a NaN or infinite value");
  }
  return Guard("upsert", [&] { backend_->Upsert(ids, rows.data()); });
}

absl::Status VectorIndex::Remove(absl::Span<const ClaimRowId> ids) {
  if (ids.empty()) return absl::OkStatus();
  return Guard("remove", [&] { backend_->Remove(ids); });
}

absl::StatusOr<std::vector<std::vector<VectorIndex::Hit>>> VectorIndex::Search(
    const EmbeddingMatrix& queries, int k) const {
  if (queries.cols() != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("queries have dim ", queries.cols(), ", the index has dim ", dim_));
  }
  if (k <= 0) return absl::InvalidArgumentError(absl::StrCat("k must be > 0, got ", k));
  const idx_t n = queries.rows();
  std::vector<std::vector<Hit>> hits(n);
  const idx_t kk = std::min<idx_t>(k, backend_->size());
  if (n == 0 || kk == 0) return hits;
  std::vector<float> scores(n * kk);
  std::vector<idx_t> labels(n * kk);
  CM_RETURN_IF_ERROR(Guard(
      "search", [&] { backend_->Search(n, queries.data(), kk, scores.data(), labels.data()); }));
  for (idx_t q = 0; q < n; ++q) {
    hits[q].reserve(kk);
    for (idx_t j = q * kk; j < (q + 1) * kk; ++j) {
      if (labels[j] >= 0) hits[q].push_back({labels[j], scores[j]});
    }
  }
  return hits;
}

absl::StatusOr<std::vector<std::optional<float>>> VectorIndex::InnerProducts(
    const EmbeddingRow& query, absl::Span<const ClaimRowId> ids) const {
  if (query.size() != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("query has dim ", query.size(), ", the index has dim ", dim_));
  }
  std::vector<std::optional<float>> out;
  out.reserve(ids.size());
  CM_RETURN_IF_ERROR(
      Guard("inner products", [&] { backend_->InnerProducts(query.data(), ids, &out); }));
  return out;
}

absl::StatusOr<EmbeddingRow> VectorIndex::Get(ClaimRowId id) const {
  if (!backend_->Contains(id)) {
    return absl::NotFoundError(absl::StrCat("no vector for claim row ", id));
  }
  EmbeddingRow row(dim_);
  CM_RETURN_IF_ERROR(Guard("reconstruct", [&] { backend_->Reconstruct(id, row.data()); }));
  return row;
}

bool VectorIndex::Contains(ClaimRowId id) const { return backend_->Contains(id); }

bool VectorIndex::NeedsRetraining() const { return backend_->NeedsRetraining(); }

int64_t VectorIndex::ivf_lists() const { return backend_->ivf_lists(); }

absl::Status VectorIndex::TrainFor(const EmbeddingMatrix& sample, int64_t expected_size) {
  if (options_.type != VectorIndexType::kIvfPq || backend_->size() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TrainFor needs an empty ivfpq index; this is a ", VectorIndexTypeName(options_.type),
        " index of ", backend_->size(), " vectors"));
  }
  if (sample.cols() != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample has dim ", sample.cols(), ", the index has dim ", dim_));
  }
  const int64_t need = IvfPqMinTrainingSize(options_);
  if (sample.rows() < need) {
    return absl::InvalidArgumentError(absl::StrCat("a training sample of ", sample.rows(),
                                                   " vectors; IVF-PQ needs at least ", need));
  }
  if (!sample.allFinite()) {
    return absl::InvalidArgumentError("sample contains a NaN or infinite value");
  }
  return Guard("train", [&] { backend_->TrainFor(sample.rows(), sample.data(), expected_size); });
}

int64_t VectorIndex::size() const { return backend_->size(); }

absl::Status VectorIndex::Save(absl::string_view path, absl::string_view model_id,
                               int64_t last_change_seq) const {
  if (model_id.size() > kMaxModelIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("model id of ", model_id.size(), " bytes; at most ", kMaxModelIdBytes));
  }
  std::string out(kMagic, sizeof(kMagic));
  PutU32(&out, kFormatVersion);
  PutU32(&out, static_cast<uint32_t>(dim_));
  PutU32(&out, static_cast<uint32_t>(options_.type));
  PutU64(&out, static_cast<uint64_t>(size()));
  PutU64(&out, static_cast<uint64_t>(last_change_seq));
  for (int v : {options_.hnsw_m, options_.ef_construction, options_.ef_search, options_.ivf_nlist,
                options_.pq_m, options_.nprobe}) {
    PutU32(&out, static_cast<uint32_t>(v));
  }
  PutU32(&out, static_cast<uint32_t>(model_id.size()));
  out.append(model_id.data(), model_id.size());
  const size_t lengths_at = out.size();
  PutU64(&out, 0);  // payload length, set below
  PutU64(&out, 0);  // payload fingerprint
  PutU64(&out, 0);  // header fingerprint
  const size_t payload_at = out.size();
  CM_RETURN_IF_ERROR(Guard("write_index", [&] {
    StringWriter writer(&out);
    faiss::write_index(&backend_->faiss_index(), &writer);
  }));
  const absl::string_view payload = absl::string_view(out).substr(payload_at);
  SetU64(&out, lengths_at, payload.size());
  SetU64(&out, lengths_at + 8, Fingerprint64(payload));
  SetU64(&out, lengths_at + 16, Fingerprint64(absl::string_view(out).substr(0, lengths_at + 16)));
  return WriteFileAtomically(path, out);
}

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Load(absl::string_view path,
                                                               absl::string_view expected_model_id,
                                                               int64_t* last_change_seq) {
  CM_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  Cursor in(file->data());
  absl::string_view magic;
  if (!in.Bytes(sizeof(kMagic), &magic) || magic != absl::string_view(kMagic, sizeof(kMagic))) {
    return DataLoss(path, "is not a claimmatch vector index (bad magic)");
  }
  uint32_t version = 0;
  if (!in.U32(&version)) return DataLoss(path, "is truncated (header)");
  if (version != kFormatVersion) {
    return DataLoss(path, absl::StrCat("has format version ", version,
                                       ", this build reads version ", kFormatVersion));
  }
  int32_t dim = 0, type = 0;
  int64_t count = 0, seq = 0;
  VectorIndexOptions options;
  uint32_t model_id_len = 0;
  absl::string_view model_id;
  uint64_t payload_len = 0, payload_fp = 0, header_fp = 0;
  int32_t option_fields[6];
  bool ok = in.I32(&dim) && in.I32(&type) && in.I64(&count) && in.I64(&seq);
  for (int32_t& v : option_fields) ok = ok && in.I32(&v);
  ok = ok && in.U32(&model_id_len) && model_id_len <= kMaxModelIdBytes &&
       in.Bytes(model_id_len, &model_id) && in.U64(&payload_len) && in.U64(&payload_fp);
  const size_t header_len = in.pos();
  ok = ok && in.U64(&header_fp);
  if (!ok) return DataLoss(path, "is truncated or corrupt (header)");
  if (Fingerprint64(file->data().substr(0, header_len)) != header_fp) {
    return DataLoss(path, "is corrupt (header checksum mismatch)");
  }
  if (type < 0 || type > 2) return DataLoss(path, absl::StrCat("has unknown index type ", type));
  options.type = static_cast<VectorIndexType>(type);
  options.hnsw_m = option_fields[0];
  options.ef_construction = option_fields[1];
  options.ef_search = option_fields[2];
  options.ivf_nlist = option_fields[3];
  options.pq_m = option_fields[4];
  options.nprobe = option_fields[5];
  if (absl::Status valid = ValidateOptions(dim, options); !valid.ok() || count < 0) {
    return DataLoss(path, absl::StrCat("has an invalid header (", valid.message(), ")"));
  }
  if (!expected_model_id.empty() && model_id != expected_model_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("vector index ", path, " was built with model '", model_id, "', not '",
                     expected_model_id, "'; rebuild it with `claimmatch reindex --db DIR`"));
  }
  const absl::string_view payload = in.rest();
  if (payload.size() != payload_len) {
    return DataLoss(path, absl::StrCat("is truncated or padded (payload of ", payload.size(),
                                       " bytes, header says ", payload_len, ")"));
  }
  if (Fingerprint64(payload) != payload_fp) {
    return DataLoss(path, "is corrupt (payload checksum mismatch)");
  }

  // The bytes are what Save() wrote; still check that FAISS built what the header says.
  std::unique_ptr<faiss::Index> index;
  size_t unread = 0;
  absl::Status read = Guard("read_index", [&] {
    SpanReader reader(payload);
    index.reset(faiss::read_index(&reader));
    unread = reader.remaining();
  });
  if (!read.ok())
    return DataLoss(path, absl::StrCat("has an unreadable payload: ", read.message()));
  if (unread != 0) return DataLoss(path, "has trailing bytes after the FAISS index");
  if (index->d != dim || index->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return DataLoss(path, "holds a FAISS index of another dim or metric than its header says");
  }
  std::unique_ptr<Backend> backend;
  auto* map = dynamic_cast<faiss::IndexIDMap2*>(index.get());
  const faiss::Index* inner = map != nullptr ? map->index : nullptr;
  const bool flat_map = inner != nullptr && dynamic_cast<const faiss::IndexFlat*>(inner) &&
                        inner->metric_type == faiss::METRIC_INNER_PRODUCT;
  switch (options.type) {
    case VectorIndexType::kFlat:
      if (flat_map) {
        index.release();
        backend = std::make_unique<FlatBackend>(std::unique_ptr<faiss::IndexIDMap2>(map));
      }
      break;
    case VectorIndexType::kHnsw:
      if (inner != nullptr && dynamic_cast<const faiss::IndexHNSWFlat*>(inner) &&
          inner->metric_type == faiss::METRIC_INNER_PRODUCT) {
        index.release();
        backend = std::make_unique<HnswBackend>(std::unique_ptr<faiss::IndexIDMap2>(map), options);
      }
      break;
    case VectorIndexType::kIvfPq:
      if (flat_map) {
        index.release();
        backend = std::make_unique<IvfPqBackend>(
            dim, options, std::make_unique<FlatBackend>(std::unique_ptr<faiss::IndexIDMap2>(map)));
      } else if (auto* ivf = dynamic_cast<faiss::IndexIVFPQ*>(index.get());
                 ivf != nullptr && ivf->is_trained &&
                 ivf->direct_map.type == faiss::DirectMap::Hashtable) {
        index.release();
        backend =
            std::make_unique<IvfPqBackend>(dim, options, std::unique_ptr<faiss::IndexIVFPQ>(ivf));
      }
      break;
  }
  if (backend == nullptr) {
    return DataLoss(path, absl::StrCat("holds a FAISS index that is not a ",
                                       VectorIndexTypeName(options.type), " index"));
  }
  if (backend->size() != count) {
    return DataLoss(path, absl::StrCat("holds ", backend->size(), " vectors, header says ", count));
  }
  if (last_change_seq != nullptr) *last_change_seq = seq;
  return std::unique_ptr<VectorIndex>(new VectorIndex(dim, options, std::move(backend)));
}

// On real claim embeddings (512-d) dim / 8 capped recall@10 near 0.63 whatever nprobe
// (benchmarks/README.md, "Scale"); dim / 4 reached 0.69 at nprobe 32.
int DefaultPqM(int dim) {
  for (int m = std::max(1, dim / 4); m > 1; --m) {
    if (dim % m == 0) return m;
  }
  return 1;
}

}  // namespace claimmatch
