// Small file helpers shared by every layer: whole-file reads, atomic writes (write a temporary
// file, fsync it, rename it over the target, fsync the directory: a reader sees the old file or
// the new one, never a torn one), read-only memory maps, and a stable 64-bit fingerprint for
// checksumming artefacts.
//
// Thread safety: free functions are thread-safe; a MappedFile is immutable after Open() and may be
// read from any thread.
#ifndef CLAIMMATCH_EMBEDDINGS_FILE_UTIL_H_
#define CLAIMMATCH_EMBEDDINGS_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns the whole content of `path`; fails with kNotFound if it does not exist, kInternal on an
// I/O error (the message names the path and errno text).
absl::StatusOr<std::string> ReadFile(absl::string_view path);

// Writes `contents` to `path` atomically (temp file in the same directory, fsync, rename, fsync of
// the directory). Returns OK, or kInternal naming the path; on failure `path` is untouched.
absl::Status WriteFileAtomically(absl::string_view path, absl::string_view contents);

// Returns true if `path` exists (file or directory).
bool PathExists(absl::string_view path);

// Joins two path components with exactly one '/'.
std::string JoinPath(absl::string_view a, absl::string_view b);

// A stable (platform- and run-independent) 64-bit FNV-1a fingerprint of `data`.
uint64_t Fingerprint64(absl::string_view data);

// Formats a fingerprint as 16 lowercase hex digits.
std::string FingerprintHex(uint64_t fingerprint);

// A read-only memory map of a whole file. Not copyable; movable through unique_ptr.
class MappedFile {
 public:
  // Returns the mapped file; fails with kNotFound / kInternal naming the path. An empty file maps
  // to an empty view.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(absl::string_view path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  absl::string_view data() const { return absl::string_view(data_, size_); }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const char* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const char* data_;  // owned mapping (nullptr when size_ == 0)
  size_t size_;
};

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_FILE_UTIL_H_
