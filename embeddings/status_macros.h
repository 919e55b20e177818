// The two local status macros (Debian's Abseil 20220623 has no status_macros.h).
//
//   CM_RETURN_IF_ERROR(expr);            returns the absl::Status of `expr` if it is not OK.
//   CM_ASSIGN_OR_RETURN(lhs, expr);      evaluates the absl::StatusOr `expr`; returns its status if
//                                        not OK, otherwise moves the value into `lhs` (which may be
//                                        a declaration: `CM_ASSIGN_OR_RETURN(auto x, F());`).
// Both work in any function returning absl::Status or absl::StatusOr<T>.
#ifndef CLAIMMATCH_EMBEDDINGS_STATUS_MACROS_H_
#define CLAIMMATCH_EMBEDDINGS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CM_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    if (::absl::Status cm_s_ = (expr); !cm_s_.ok()) { \
      return cm_s_;                                   \
    }                                                 \
  } while (false)

#define CM_CAT_(a, b) a##b
#define CM_CAT(a, b) CM_CAT_(a, b)  // expands __LINE__ first

#define CM_ASSIGN_OR_RETURN(lhs, expr)                                          \
  auto CM_CAT(cm_or_, __LINE__) = (expr);                                       \
  if (!CM_CAT(cm_or_, __LINE__).ok()) return CM_CAT(cm_or_, __LINE__).status(); \
  lhs = *std::move(CM_CAT(cm_or_, __LINE__))

#endif  // CLAIMMATCH_EMBEDDINGS_STATUS_MACROS_H_
