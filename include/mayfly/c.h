/* File: mayfly/c.h
 *
 * The C ABI of mayfly: the one interface the Go, Python and Rust bindings
 * see, and the only one the shared library exports.
 *
 * Rules every function follows:
 * - Types are opaque; objects are made by mayfly_<object>_new or by a call
 *   that returns one, and released by mayfly_<object>_free, which accepts
 *   NULL.
 * - Bytes go in as (const uint8_t* p, size_t p_len); (NULL, 0) is valid.
 *   Text goes in as NUL-terminated UTF-8.
 * - Buffers mayfly returns are owned by the caller and released with
 *   mayfly_free (never the host's free: the library has its own allocator).
 * - Every fallible call returns an int status: MAYFLY_OK (0) or one of the
 *   codes below (the numbers of absl::StatusCode). If `err` is not NULL and
 *   the call fails, *err receives an error object with the message, which the
 *   caller frees with mayfly_error_free. On failure outputs are untouched.
 * - No C++ exception and no BoringSSL type crosses this interface.
 * - Each function states its thread safety.
 *
 *   char* text = NULL;
 *   size_t text_len = 0;
 *   mayfly_error_t* err = NULL;
 *   if (mayfly_certificate_inspect(pem, pem_len, &text, &text_len, &err)) {
 *     fprintf(stderr, "%s\n", mayfly_error_message(err));
 *     mayfly_error_free(err);
 *   } else {
 *     fwrite(text, 1, text_len, stdout);
 *     mayfly_free(text);
 *   }
 */
#ifndef MAYFLY_C_H_
#define MAYFLY_C_H_

#include <stddef.h>
#include <stdint.h>

#include "mayfly/version.h"

#if defined(MAYFLY_BUILDING_LIBRARY)
#define MAYFLY_EXPORT __attribute__((visibility("default")))
#else
#define MAYFLY_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: the numbers of absl::StatusCode. */
#define MAYFLY_OK 0
#define MAYFLY_CANCELLED 1
#define MAYFLY_UNKNOWN 2
#define MAYFLY_INVALID_ARGUMENT 3
#define MAYFLY_DEADLINE_EXCEEDED 4
#define MAYFLY_NOT_FOUND 5
#define MAYFLY_ALREADY_EXISTS 6
#define MAYFLY_PERMISSION_DENIED 7
#define MAYFLY_RESOURCE_EXHAUSTED 8
#define MAYFLY_FAILED_PRECONDITION 9
#define MAYFLY_ABORTED 10
#define MAYFLY_OUT_OF_RANGE 11
#define MAYFLY_UNIMPLEMENTED 12
#define MAYFLY_INTERNAL 13
#define MAYFLY_UNAVAILABLE 14
#define MAYFLY_DATA_LOSS 15
#define MAYFLY_UNAUTHENTICATED 16

/* mayfly_error_t is a failed call's code and message. */
typedef struct mayfly_error mayfly_error_t;

/* mayfly_version returns the library's version string ("0.1.0"), static.
 * Thread-safe. */
MAYFLY_EXPORT const char* mayfly_version(void);

/* mayfly_version_number returns the run-time MAYFLY_VERSION_NUMBER, so a
 * caller can check it was compiled against the same version. Thread-safe. */
MAYFLY_EXPORT uint32_t mayfly_version_number(void);

/* mayfly_free releases a buffer returned by mayfly. NULL is a no-op.
 * Thread-safe. */
MAYFLY_EXPORT void mayfly_free(void* p);

/* mayfly_error_code returns the status code held by `err`. Thread-safe. */
MAYFLY_EXPORT int mayfly_error_code(const mayfly_error_t* err);

/* mayfly_error_message returns the message held by `err`, NUL-terminated,
 * borrowed until mayfly_error_free. Thread-safe. */
MAYFLY_EXPORT const char* mayfly_error_message(const mayfly_error_t* err);

/* mayfly_error_free releases `err`. NULL is a no-op. Thread-safe for
 * different errors. */
MAYFLY_EXPORT void mayfly_error_free(mayfly_error_t* err);

/* mayfly_certificate_inspect describes a certificate or CSR (PEM or DER in
 * `in`) as readable text. On success *out_text receives a NUL-terminated
 * buffer the caller frees with mayfly_free and *out_text_len its length
 * without the NUL. Returns MAYFLY_INVALID_ARGUMENT for NULL outputs or input
 * that is neither. Thread-safe. */
MAYFLY_EXPORT int mayfly_certificate_inspect(const uint8_t* in, size_t in_len,
                                             char** out_text,
                                             size_t* out_text_len,
                                             mayfly_error_t** err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MAYFLY_C_H_ */
