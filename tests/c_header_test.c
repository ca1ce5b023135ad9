/* c_header_test: the C ABI used from C99.
 *
 * Compiled with -std=c99 -pedantic -Wall -Wextra -Werror, so mayfly/c.h
 * must be plain C99. Calls every function in c.h, success and error paths:
 * NULL outputs give MAYFLY_INVALID_ARGUMENT, garbage gives an error with a
 * message, and failed calls leave their outputs untouched.
 *
 * Usage: c_header_test CERT_PEM
 *   CERT_PEM is a PEM file whose first block is a certificate (the rest,
 *   e.g. the intermediate of a chain file, is ignored). If csr.pem sits in
 *   the same directory, it is inspected too.
 * Exits 0 when every check passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mayfly/c.h"
#include "mayfly/version.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

/* read_file returns the malloc'ed contents of `path` (NUL-terminated) and
 * its length in *out_len, or NULL. */
static char* read_file(const char* path, size_t* out_len) {
  FILE* f = fopen(path, "rb");
  char* buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  if (f == NULL) {
    return NULL;
  }
  for (;;) {
    size_t n;
    if (cap - len < 4096) {
      char* bigger;
      cap = cap * 2 + 4096;
      bigger = (char*)realloc(buf, cap + 1);
      if (bigger == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = bigger;
    }
    n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      break;
    }
  }
  fclose(f);
  buf[len] = '\0';
  *out_len = len;
  return buf;
}

/* first_pem_block returns a malloc'ed copy of the first PEM block of
 * `text` with type `type` ("CERTIFICATE"), END line included, or NULL. */
static char* first_pem_block(const char* text, const char* type,
                             size_t* out_len) {
  char begin[64];
  char end[64];
  const char* start;
  const char* stop;
  char* out;
  size_t len;
  snprintf(begin, sizeof(begin), "-----BEGIN %s-----", type);
  snprintf(end, sizeof(end), "-----END %s-----", type);
  start = strstr(text, begin);
  if (start == NULL) {
    return NULL;
  }
  stop = strstr(start, end);
  if (stop == NULL) {
    return NULL;
  }
  len = (size_t)(stop - start) + strlen(end);
  out = (char*)malloc(len + 2);
  if (out == NULL) {
    return NULL;
  }
  memcpy(out, start, len);
  out[len] = '\n';
  out[len + 1] = '\0';
  *out_len = len + 1;
  return out;
}

static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

/* pem_to_der decodes the body of one PEM block (no headers) into a
 * malloc'ed buffer; returns NULL on malformed input. */
static uint8_t* pem_to_der(const char* pem, size_t* out_len) {
  const char* body = strstr(pem, "-----\n");
  const char* end = strstr(pem, "\n-----END ");
  uint8_t* out;
  size_t len = 0;
  uint32_t acc = 0;
  int bits = 0;
  const char* p;
  if (body == NULL || end == NULL || end < body) {
    return NULL;
  }
  out = (uint8_t*)malloc((size_t)(end - body));
  if (out == NULL) {
    return NULL;
  }
  for (p = body + 6; p < end; p++) {
    int v;
    if (*p == '\n' || *p == '\r' || *p == '=') {
      continue;
    }
    v = base64_value(*p);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[len++] = (uint8_t)(acc >> bits);
    }
  }
  *out_len = len;
  return out;
}

static void test_version(void) {
  const char* v = mayfly_version();
  CHECK(v != NULL);
  CHECK(strcmp(v, MAYFLY_VERSION_STRING) == 0);
  CHECK(mayfly_version_number() == MAYFLY_VERSION_NUMBER);
  CHECK(MAYFLY_VERSION_NUMBER == MAYFLY_VERSION_MAJOR * 1000000 +
                                     MAYFLY_VERSION_MINOR * 1000 +
                                     MAYFLY_VERSION_PATCH);
}

static void test_free_accepts_null(void) {
  mayfly_free(NULL);
  mayfly_error_free(NULL);
}

/* expect_error checks that a failed call returned `code`, set `err` to an
 * error object with the same code and a non-empty message, then frees it. */
static void expect_error(int rc, mayfly_error_t* err, int code) {
  CHECK(rc == code);
  CHECK(err != NULL);
  if (err != NULL) {
    const char* message = mayfly_error_message(err);
    CHECK(mayfly_error_code(err) == code);
    CHECK(message != NULL && message[0] != '\0');
    mayfly_error_free(err);
  }
}

static void test_inspect_errors(const char* pem, size_t pem_len) {
  const uint8_t* in = (const uint8_t*)pem;
  static const uint8_t garbage[] = "this is not a certificate";
  char sentinel_text[] = "untouched";
  char* text = sentinel_text;
  size_t text_len = 12345;
  mayfly_error_t* err = NULL;
  int rc;

  /* NULL outputs. */
  rc = mayfly_certificate_inspect(in, pem_len, NULL, &text_len, &err);
  expect_error(rc, err, MAYFLY_INVALID_ARGUMENT);
  err = NULL;
  rc = mayfly_certificate_inspect(in, pem_len, &text, NULL, &err);
  expect_error(rc, err, MAYFLY_INVALID_ARGUMENT);
  CHECK(text == sentinel_text);

  /* NULL input with a length. */
  err = NULL;
  rc = mayfly_certificate_inspect(NULL, 10, &text, &text_len, &err);
  expect_error(rc, err, MAYFLY_INVALID_ARGUMENT);

  /* Garbage, empty input, and a certificate cut short. */
  err = NULL;
  rc = mayfly_certificate_inspect(garbage, sizeof(garbage) - 1, &text,
                                  &text_len, &err);
  expect_error(rc, err, MAYFLY_INVALID_ARGUMENT);
  err = NULL;
  rc = mayfly_certificate_inspect(NULL, 0, &text, &text_len, &err);
  CHECK(rc != MAYFLY_OK);
  expect_error(rc, err, rc);
  err = NULL;
  rc = mayfly_certificate_inspect(in, pem_len / 2, &text, &text_len, &err);
  CHECK(rc != MAYFLY_OK);
  expect_error(rc, err, rc);

  /* err may be NULL. */
  rc = mayfly_certificate_inspect(garbage, sizeof(garbage) - 1, &text,
                                  &text_len, NULL);
  CHECK(rc == MAYFLY_INVALID_ARGUMENT);

  /* Failed calls leave the outputs untouched. */
  CHECK(text == sentinel_text);
  CHECK(text_len == 12345);
}

/* inspect_ok inspects `in` and returns the text (caller frees with
 * mayfly_free), or NULL after reporting the failure. */
static char* inspect_ok(const uint8_t* in, size_t in_len, const char* what) {
  char* text = NULL;
  size_t text_len = 0;
  mayfly_error_t* err = NULL;
  int rc = mayfly_certificate_inspect(in, in_len, &text, &text_len, &err);
  if (rc != MAYFLY_OK) {
    fprintf(stderr, "inspect %s: code %d: %s\n", what, rc,
            err != NULL ? mayfly_error_message(err) : "(no error object)");
    mayfly_error_free(err);
    failures++;
    return NULL;
  }
  CHECK(err == NULL);
  CHECK(text != NULL);
  if (text == NULL) {
    return NULL;
  }
  CHECK(text_len > 0);
  CHECK(text[text_len] == '\0');
  CHECK(strlen(text) == text_len);
  return text;
}

static void test_inspect_certificate(const char* pem, size_t pem_len) {
  char* from_pem = inspect_ok((const uint8_t*)pem, pem_len, "PEM certificate");
  size_t der_len = 0;
  uint8_t* der = pem_to_der(pem, &der_len);
  CHECK(der != NULL);
  if (from_pem != NULL) {
    CHECK(strstr(from_pem, "svc.example.com") != NULL);
  }
  if (der != NULL) {
    char* from_der = inspect_ok(der, der_len, "DER certificate");
    if (from_pem != NULL && from_der != NULL) {
      CHECK(strcmp(from_pem, from_der) == 0);
    }
    mayfly_free(from_der);
    free(der);
  }
  mayfly_free(from_pem);
}

static void test_inspect_csr(const char* cert_path) {
  char csr_path[4096];
  const char* slash = strrchr(cert_path, '/');
  size_t dir_len = slash == NULL ? 0 : (size_t)(slash - cert_path) + 1;
  size_t csr_len = 0;
  char* csr;
  char* text;
  if (dir_len + sizeof("csr.pem") > sizeof(csr_path)) {
    return;
  }
  memcpy(csr_path, cert_path, dir_len);
  strcpy(csr_path + dir_len, "csr.pem");
  csr = read_file(csr_path, &csr_len);
  if (csr == NULL) {
    printf("no %s; CSR inspection skipped\n", csr_path);
    return;
  }
  text = inspect_ok((const uint8_t*)csr, csr_len, "PEM CSR");
  if (text != NULL) {
    CHECK(strstr(text, "svc.example.com") != NULL);
  }
  mayfly_free(text);
  free(csr);
}

int main(int argc, char** argv) {
  size_t file_len = 0;
  size_t pem_len = 0;
  char* file;
  char* pem;
  if (argc != 2) {
    fprintf(stderr, "usage: %s CERT_PEM\n", argv[0]);
    return 2;
  }
  file = read_file(argv[1], &file_len);
  if (file == NULL) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  pem = first_pem_block(file, "CERTIFICATE", &pem_len);
  if (pem == NULL) {
    fprintf(stderr, "no certificate in %s\n", argv[1]);
    free(file);
    return 2;
  }

  test_version();
  test_free_accepts_null();
  test_inspect_errors(pem, pem_len);
  test_inspect_certificate(pem, pem_len);
  test_inspect_csr(argv[1]);

  free(pem);
  free(file);
  if (failures != 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("c_header_test: all checks passed\n");
  return 0;
}
