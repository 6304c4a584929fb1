// File: lib/common/status_macros.h
//
// Early-return helpers for absl::Status and absl::StatusOr (Abseil 20220623
// ships none). Pattern from private-join-and-compute util/status_macros.h.
//
// Example:
//   absl::StatusOr<Config> Load(absl::string_view path) {
//     SILTA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     SILTA_RETURN_IF_ERROR(Validate(text));
//     ...
//   }
#ifndef SILTA_LIB_COMMON_STATUS_MACROS_H_
#define SILTA_LIB_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function if `expr` yields a non-OK status.
#define SILTA_RETURN_IF_ERROR(expr)                \
  do {                                             \
    const ::absl::Status silta_status_ = (expr);   \
    if (!silta_status_.ok()) return silta_status_; \
  } while (0)

#define SILTA_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define SILTA_STATUS_MACROS_CONCAT_(x, y) SILTA_STATUS_MACROS_CONCAT_INNER_(x, y)

#define SILTA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return statusor.status();            \
  lhs = std::move(*statusor)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define SILTA_ASSIGN_OR_RETURN(lhs, rexpr) \
  SILTA_ASSIGN_OR_RETURN_IMPL_(SILTA_STATUS_MACROS_CONCAT_(silta_statusor_, __LINE__), lhs, rexpr)

#endif  // SILTA_LIB_COMMON_STATUS_MACROS_H_
