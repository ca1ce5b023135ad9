// File: mayfly/status.h
//
// Error propagation over absl::Status and absl::StatusOr<T>.
//
// Every fallible mayfly function returns absl::Status or absl::StatusOr<T>;
// nothing throws across the public API. These two macros keep the happy path
// readable:
//
//   absl::StatusOr<Certificate> LoadLeaf(absl::string_view pem) {
//     MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
//                             Certificate::ParsePemBundle(pem));
//     MAYFLY_RETURN_IF_ERROR(CheckChain(chain));
//     return chain.front();
//   }
//
// Abseil 20220623 publishes no such macros; the MAYFLY_ prefix keeps them
// from clashing with a host's own RETURN_IF_ERROR.

#ifndef MAYFLY_STATUS_H_
#define MAYFLY_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// MAYFLY_RETURN_IF_ERROR evaluates `expr` (an absl::Status) once and returns
// it from the enclosing function if it is not OK.
#define MAYFLY_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status mayfly_status_internal_ = (expr); \
    if (!mayfly_status_internal_.ok()) {             \
      return mayfly_status_internal_;                \
    }                                                \
  } while (false)

#define MAYFLY_STATUS_INTERNAL_CONCAT_(a, b) a##b
#define MAYFLY_STATUS_INTERNAL_CONCAT(a, b) MAYFLY_STATUS_INTERNAL_CONCAT_(a, b)

#define MAYFLY_ASSIGN_OR_RETURN_INTERNAL_(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) {                                        \
    return std::move(tmp).status();                       \
  }                                                       \
  lhs = std::move(tmp).value()

// MAYFLY_ASSIGN_OR_RETURN evaluates `expr` (an absl::StatusOr<T>) once; on
// error it returns the status from the enclosing function, otherwise it moves
// the value into `lhs`, which may be a declaration (`Key k`) or an existing
// variable. It expands to several statements: do not use it as the body of
// an unbraced `if`.
#define MAYFLY_ASSIGN_OR_RETURN(lhs, expr)                                     \
  MAYFLY_ASSIGN_OR_RETURN_INTERNAL_(                                           \
      MAYFLY_STATUS_INTERNAL_CONCAT(mayfly_statusor_internal_, __LINE__), lhs, \
      expr)

#endif  // MAYFLY_STATUS_H_
