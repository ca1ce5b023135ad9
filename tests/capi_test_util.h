/* What the C ABI's test programs share: checks that count failures, checks
 * of a call's status and error object, the sentinel for outputs a failed
 * call must leave alone, and a temporary folder removed at the end.
 *
 * C99; include after defining _POSIX_C_SOURCE and _XOPEN_SOURCE (for nftw
 * and mkdtemp). Each program includes it once: it defines its state. */
#ifndef MAYFLY_TESTS_CAPI_TEST_UTIL_H_
#define MAYFLY_TESTS_CAPI_TEST_UTIL_H_

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mayfly/c.h"

static int g_failures = 0;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                      \
    }                                                                    \
  } while (0)

/* OK runs `call`, which passes `&e` as its error argument, and stops the
 * program if it fails: what follows needs its result. */
#define OK(call)                                                            \
  do {                                                                      \
    mayfly_error_t* e = NULL;                                               \
    int rc_ = (call);                                                       \
    if (rc_ != MAYFLY_OK || e != NULL) {                                    \
      fprintf(stderr, "%s:%d: %s: %d %s\n", __FILE__, __LINE__, #call, rc_, \
              mayfly_error_message(e));                                     \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* FAILS checks that `call` (passing `&e`) returns `code` with an error
 * object of that code whose message contains `needle` (NULL: any). */
#define FAILS(code, needle, call)                                     \
  do {                                                                \
    mayfly_error_t* e = NULL;                                         \
    int rc_ = (call);                                                 \
    check_error(__FILE__, __LINE__, #call, rc_, e, (code), (needle)); \
  } while (0)

static inline void check_error(const char* file, int line, const char* what,
                               int rc, mayfly_error_t* e, int code,
                               const char* needle) {
  if (rc != code) {
    fprintf(stderr, "%s:%d: %s returned %d, want %d (%s)\n", file, line, what,
            rc, code, e != NULL ? mayfly_error_message(e) : "no error");
    ++g_failures;
  } else if (e == NULL) {
    fprintf(stderr, "%s:%d: %s gave no error object\n", file, line, what);
    ++g_failures;
  } else if (mayfly_error_code(e) != code) {
    fprintf(stderr, "%s:%d: %s: error code %d, want %d\n", file, line, what,
            mayfly_error_code(e), code);
    ++g_failures;
  } else if (needle != NULL &&
             strstr(mayfly_error_message(e), needle) == NULL) {
    fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n", file, line,
            what, mayfly_error_message(e), needle);
    ++g_failures;
  }
  mayfly_error_free(e);
}

/* Outputs start as SENTINEL before a call that must fail, and must still
 * hold it after. */
static char g_sentinel_target;
#define SENTINEL ((void*)&g_sentinel_target)

/* ---- The temporary folder ------------------------------------------------ */

static char g_dir[64] = "";

static inline int remove_entry(const char* path, const struct stat* st,
                               int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* remove_dir removes g_dir and everything in it, if it was made. */
static inline void remove_dir(void) {
  if (g_dir[0] != '\0') {
    nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_dir[0] = '\0';
  }
}

/* make_dir makes g_dir, a new folder named from `prefix` under /tmp.
 * Returns 0 on failure. */
static inline int make_dir(const char* prefix) {
  snprintf(g_dir, sizeof(g_dir), "/tmp/%s.XXXXXX", prefix);
  if (mkdtemp(g_dir) == NULL) {
    perror("mkdtemp");
    g_dir[0] = '\0';
    return 0;
  }
  return 1;
}

#endif /* MAYFLY_TESTS_CAPI_TEST_UTIL_H_ */
