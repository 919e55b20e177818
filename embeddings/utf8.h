// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
// Thread-safe, allocation-free.
#ifndef CLAIMMATCH_EMBEDDINGS_UTF8_H_
#define CLAIMMATCH_EMBEDDINGS_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace claimmatch {

// Returns true if `s` is valid UTF-8; otherwise false, with the byte offset of the first invalid
// sequence in `*bad_offset` when it is non-null.
bool IsValidUtf8(absl::string_view s, size_t* bad_offset = nullptr);

}  // namespace claimmatch

#endif  // CLAIMMATCH_EMBEDDINGS_UTF8_H_
