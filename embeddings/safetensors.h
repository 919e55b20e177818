// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors), treating
// every file as hostile input.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON {"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, "__metadata__": {string: string}}, then the data section. Open()
// checks: N bounded (<= 100 MB) and inside the file; the header is strict JSON (no duplicate
// keys) with exactly these fields; dtype is F32, F16 or BF16; shape is non-negative with no
// overflow; each tensor's [begin, end) is inside the data section, matches dtype x shape, and no
// two tensors overlap. Every error names the file and, where one is involved, the tensor.
//
// Weights are memory-mapped; F32 tensors are used in place (no copy), F16/BF16 are widened to F32
// once, on first request.
//
// Thread safety: a loaded SafetensorsFile / Weights is immutable apart from the lazy widening,
// which is guarded; all const methods may run concurrently.
#ifndef CLAIMMATCH_EMBEDDINGS_SAFETENSORS_H_
#define CLAIMMATCH_EMBEDDINGS_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "embeddings/file_util.h"
#include "embeddings/types.h"

namespace claimmatch {

enum class DType { kF32, kF16, kBF16 };

// Returns "F32", "F16" or "BF16".
absl::string_view DTypeName(DType dtype);
// Bytes per element.
int DTypeSize(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  absl::string_view bytes;  // borrowed from the file's buffer
  int64_t num_elements() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Fails with kNotFound if missing, kDataLoss for any format error
  // (message: "<path>: <what>").
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(absl::string_view path);
  // Validates an in-memory file; `name` is used in error messages. Same failures as Open().
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> FromBuffer(std::string bytes,
                                                                     absl::string_view name);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // Returns the tensor called `name`, or nullptr.
  const TensorInfo* Find(absl::string_view name) const;
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& name() const { return name_; }
  // The fingerprint of the whole file (identifies the weights).
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  SafetensorsFile() = default;
  absl::Status Parse();

  std::string name_;
  std::unique_ptr<MappedFile> mapped_;  // set when opened from a path
  std::string owned_;                   // set when built from a buffer
  absl::string_view data_;              // the whole file
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  uint64_t fingerprint_ = 0;
};

// Named F32 access to a checkpoint's tensors, tolerant of the name prefixes that real
// checkpoints carry ("roberta.", "bert.", "model.", "0.auto_model.", ...).
class Weights {
 public:
  using MatrixMap = Eigen::Map<const EmbeddingMatrix>;
  using VectorMap = Eigen::Map<const EmbeddingRow>;

  explicit Weights(std::unique_ptr<SafetensorsFile> file);

  // Returns the `rows` x `cols` matrix called `name` (row-major, as PyTorch stores [out, in]).
  // Fails with kNotFound ("missing tensor 'x'") or kFailedPrecondition ("tensor 'x' has shape
  // [a, b], expected [rows, cols]").
  absl::StatusOr<MatrixMap> Matrix(absl::string_view name, int64_t rows, int64_t cols) const;
  // Returns the length-`n` vector called `name`; failures as Matrix().
  absl::StatusOr<VectorMap> Vector(absl::string_view name, int64_t n) const;
  // Returns the shape of `name` (after prefix resolution), or kNotFound.
  absl::StatusOr<std::vector<int64_t>> Shape(absl::string_view name) const;
  bool Has(absl::string_view name) const { return Resolve(name) != nullptr; }

  const SafetensorsFile& file() const { return *file_; }

 private:
  const TensorInfo* Resolve(absl::string_view name) const;
  absl::StatusOr<const float*> Data(absl::string_view name, absl::Span<const int64_t> shape) const;

  std::unique_ptr<SafetensorsFile> file_;
  mutable absl::Mutex mu_;
  mutable std::map<std::string, std::vector<float>> widened_ ABSL_GUARDED_BY(mu_);
};

// One tensor to write: F32 data, or F16 storage of the same values when `dtype` is kF16.
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  absl::Span<const float> values;  // borrowed; size must equal the product of `shape`
  DType dtype = DType::kF32;       // kF32 or kF16
};

// Returns the bytes of a safetensors file holding `tensors` (sorted by name, 8-byte aligned
// offsets) and `metadata`. Fails with kInvalidArgument if a tensor's size disagrees with its shape.
absl::StatusOr<std::string> SerializeSafetensors(
    const std::vector<TensorToWrite>& tensors,
    const std::map<std::string, std::string>& metadata = {});

// IEEE half / bfloat16 conversions (round to nearest even).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float BFloat16ToFloat(uint16_t b);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_SAFETENSORS_H_
