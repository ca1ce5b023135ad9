/* The CA side of the C ABI from C99: keys, CSRs, certificates, chains, PKI
 * initialisation, the CA and its provisioners, tokens, sign / renew / rekey /
 * revoke / CRL, and the in-process server. Every function is called on its
 * success and its error paths (NULL arguments, bad PEM, bad password, bad or
 * used token, revoked certificate, duplicate provisioner); failed calls must
 * leave their outputs untouched. Run plainly and under valgrind's memcheck
 * (CTest capi.ca, capi.ca_valgrind), which must find no error and no leak.
 *
 * Exits 0 when every check passes. */

#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test_util.h"
#include "mayfly/c.h"

static const uint8_t* bytes(const char* s) { return (const uint8_t*)s; }

/* ---- DER: the serial of a certificate, to find it in the CRL ---------- */

/* der_header reads a tag and a definite length at p[0..n): it returns the
 * header size and stores the content length, or returns 0. */
static size_t der_header(const uint8_t* p, size_t n, size_t* len) {
  size_t i;
  size_t k;
  if (n < 2) {
    return 0;
  }
  if (p[1] < 0x80) {
    *len = p[1];
    return 2;
  }
  k = p[1] & 0x7f;
  if (k == 0 || k > 4 || n < 2 + k) {
    return 0;
  }
  *len = 0;
  for (i = 0; i < k; i++) {
    *len = (*len << 8) | p[2 + i];
  }
  return 2 + k;
}

/* cert_serial_tlv finds the serialNumber INTEGER (tag, length, value) in a
 * certificate's DER: Certificate SEQUENCE { TBSCertificate SEQUENCE {
 * [0] version, INTEGER serial, ... } }. */
static int cert_serial_tlv(const uint8_t* der, size_t n, const uint8_t** tlv,
                           size_t* tlv_len) {
  size_t len = 0;
  size_t h = der_header(der, n, &len); /* Certificate */
  if (h == 0) {
    return 0;
  }
  der += h;
  n -= h;
  h = der_header(der, n, &len); /* TBSCertificate */
  if (h == 0) {
    return 0;
  }
  der += h;
  n -= h;
  if (n > 0 && der[0] == 0xa0) { /* version */
    h = der_header(der, n, &len);
    if (h == 0 || h + len > n) {
      return 0;
    }
    der += h + len;
    n -= h + len;
  }
  h = der_header(der, n, &len);
  if (h == 0 || der[0] != 0x02 || h + len > n) {
    return 0;
  }
  *tlv = der;
  *tlv_len = h + len;
  return 1;
}

static int contains(const uint8_t* hay, size_t n, const uint8_t* needle,
                    size_t m) {
  size_t i;
  for (i = 0; m <= n && i <= n - m; i++) {
    if (memcmp(hay + i, needle, m) == 0) {
      return 1;
    }
  }
  return 0;
}

/* crl_lists reports whether the DER CRL lists the serial of `cert`. */
static int crl_lists(const uint8_t* crl, size_t crl_len,
                     const mayfly_cert_t* cert) {
  uint8_t* der = NULL;
  size_t der_len = 0;
  const uint8_t* tlv = NULL;
  size_t tlv_len = 0;
  int found;
  OK(mayfly_cert_to_der(cert, &der, &der_len, &e));
  found = cert_serial_tlv(der, der_len, &tlv, &tlv_len) &&
          contains(crl, crl_len, tlv, tlv_len);
  mayfly_free(der);
  return found;
}

/* ---- Fixtures ---------------------------------------------------------- */

#define CA_PASSWORD "ca-password"
#define PROVISIONER_PASSWORD "provisioner-password"
#define CA_URL "https://localhost:9000"

/* cert_serial returns the decimal serial of `cert`, for mayfly_free. */
static char* cert_serial(const mayfly_cert_t* cert) {
  char* s = NULL;
  size_t s_len = 0;
  OK(mayfly_cert_serial(cert, &s, &s_len, &e));
  CHECK(s_len == strlen(s) && s_len > 0);
  return s;
}

static char* make_token(const mayfly_token_signer_t* signer, int purpose,
                        const char* subject) {
  mayfly_token_options_t* opts = mayfly_token_options_new();
  char* token = NULL;
  CHECK(opts != NULL);
  CHECK(mayfly_token_options_set_subject(opts, subject) == MAYFLY_OK);
  CHECK(mayfly_token_options_set_ca_url(opts, CA_URL) == MAYFLY_OK);
  CHECK(mayfly_token_options_set_purpose(opts, purpose) == MAYFLY_OK);
  OK(mayfly_token_sign(signer, opts, &token, NULL, &e));
  mayfly_token_options_free(opts);
  return token;
}

static mayfly_csr_t* make_csr(const mayfly_key_t* key, const char* name) {
  mayfly_csr_t* csr = NULL;
  OK(mayfly_csr_new(key, name, &name, 1, &csr, &e));
  return csr;
}

/* issue signs a certificate for `name` with a fresh token of `signer`. */
static mayfly_chain_t* issue(mayfly_ca_t* ca,
                             const mayfly_token_signer_t* signer,
                             const mayfly_key_t* key, const char* name) {
  mayfly_csr_t* csr = make_csr(key, name);
  char* token = make_token(signer, MAYFLY_TOKEN_SIGN, name);
  mayfly_chain_t* chain = NULL;
  OK(mayfly_ca_sign(ca, csr, token, NULL, NULL, &chain, &e));
  mayfly_free(token);
  mayfly_csr_free(csr);
  return chain;
}

/* ---- Keys -------------------------------------------------------------- */

static void test_keys(void) {
  static const int types[] = {MAYFLY_KEY_P256, MAYFLY_KEY_P384,
                              MAYFLY_KEY_ED25519};
  size_t i;
  mayfly_key_t* key = NULL;
  mayfly_key_t* parsed = SENTINEL;
  char* pem = NULL;
  size_t pem_len = 0;
  char* enc = NULL;
  char* pub = NULL;
  size_t pub_len = 0;
  char* out = SENTINEL;
  size_t out_len = 7;

  for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    OK(mayfly_key_generate(types[i], &key, &e));
    CHECK(mayfly_key_type(key) == types[i]);
    mayfly_key_free(key);
  }
  FAILS(MAYFLY_INVALID_ARGUMENT, "RSA",
        mayfly_key_generate(MAYFLY_KEY_RSA, &key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key type", mayfly_key_generate(99, &key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_key_generate(0, NULL, &e));
  CHECK(mayfly_key_type(NULL) == -1);

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  OK(mayfly_key_to_pem(key, NULL, &pem, &pem_len, &e));
  CHECK(pem_len == strlen(pem) && strstr(pem, "BEGIN PRIVATE KEY") != NULL);
  OK(mayfly_key_to_pem(key, "", &out, NULL, &e)); /* "" is unencrypted too */
  CHECK(strcmp(out, pem) == 0);
  mayfly_free(out);
  OK(mayfly_key_to_pem(key, "secret", &enc, NULL, &e));
  CHECK(strstr(enc, "BEGIN ENCRYPTED PRIVATE KEY") != NULL);
  OK(mayfly_key_public_pem(key, &pub, &pub_len, &e));
  CHECK(pub_len == strlen(pub) && strstr(pub, "BEGIN PUBLIC KEY") != NULL);

  /* Round trips: plain, and encrypted with the right password. */
  OK(mayfly_key_parse(bytes(pem), pem_len, NULL, &parsed, &e));
  OK(mayfly_key_public_pem(parsed, &out, NULL, &e));
  CHECK(strcmp(out, pub) == 0);
  mayfly_free(out);
  mayfly_key_free(parsed);
  OK(mayfly_key_parse(bytes(enc), strlen(enc), "secret", &parsed, &e));
  OK(mayfly_key_public_pem(parsed, &out, NULL, &e));
  CHECK(strcmp(out, pub) == 0);
  mayfly_free(out);
  mayfly_key_free(parsed);

  /* Errors leave the output alone. */
  parsed = SENTINEL;
  out = SENTINEL;
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_key_parse(bytes(enc), strlen(enc), "wrong", &parsed, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_key_parse(bytes(enc), strlen(enc), NULL, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_key_parse(bytes("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                               "-----END PRIVATE KEY-----\n"),
                         60, NULL, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_key_parse(bytes("not a key"), 9, NULL, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_key_parse(NULL, 0, NULL, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "in_len",
        mayfly_key_parse(NULL, 5, NULL, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_key_parse(bytes(pem), pem_len, NULL, NULL, &e));
  CHECK(parsed == SENTINEL);
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_key_to_pem(NULL, NULL, &out, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_key_to_pem(key, NULL, NULL, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_key_public_pem(NULL, &out, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_key_public_pem(key, NULL, &out_len, &e));
  CHECK(out == SENTINEL && out_len == 7);
  /* A NULL error pointer is allowed: only the code comes back. */
  CHECK(mayfly_key_public_pem(NULL, &out, NULL, NULL) ==
        MAYFLY_INVALID_ARGUMENT);

  mayfly_free(pem);
  mayfly_free(enc);
  mayfly_free(pub);
  mayfly_key_free(key);
  mayfly_key_free(NULL);
}

/* ---- CSRs, certificates, chains (objects without a CA) ---------------- */

static void test_csr(void) {
  const char* sans[] = {"svc.example", "10.0.0.7", "ops@example.com"};
  const char* bad_sans[] = {"ok.example", NULL};
  mayfly_key_t* key = NULL;
  mayfly_csr_t* csr = NULL;
  mayfly_csr_t* parsed = SENTINEL;
  char* pem = NULL;
  size_t pem_len = 0;
  char* again = NULL;
  char* out = SENTINEL;

  OK(mayfly_key_generate(MAYFLY_KEY_ED25519, &key, &e));
  OK(mayfly_csr_new(key, "svc.example", sans, 3, &csr, &e));
  OK(mayfly_csr_to_pem(csr, &pem, &pem_len, &e));
  CHECK(strstr(pem, "BEGIN CERTIFICATE REQUEST") != NULL);
  OK(mayfly_csr_parse(bytes(pem), pem_len, &parsed, &e));
  OK(mayfly_csr_to_pem(parsed, &again, NULL, &e));
  CHECK(strcmp(again, pem) == 0);
  mayfly_free(again);
  mayfly_csr_free(parsed);
  mayfly_csr_free(csr);
  OK(mayfly_csr_new(key, NULL, NULL, 0, &csr, &e)); /* no names at all */
  mayfly_csr_free(csr);

  csr = SENTINEL;
  parsed = SENTINEL;
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_csr_new(NULL, "a", sans, 1, &csr, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_csr_new(key, "a", sans, 1, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "n_sans",
        mayfly_csr_new(key, "a", NULL, 2, &csr, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "sans[1]",
        mayfly_csr_new(key, "a", bad_sans, 2, &csr, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_csr_parse(bytes("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                               "-----END CERTIFICATE REQUEST-----\n"),
                         72, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_csr_parse(bytes("\x30\x03\x02\x01\x01"), 5, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "in_len",
        mayfly_csr_parse(NULL, 3, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_csr_parse(bytes(pem), pem_len, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "csr",
        mayfly_csr_to_pem(NULL, &out, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_csr_to_pem(parsed, NULL, NULL, &e));
  CHECK(csr == SENTINEL && parsed == SENTINEL && out == SENTINEL);

  mayfly_free(pem);
  mayfly_key_free(key);
  mayfly_csr_free(NULL);
}

/* test_cert_and_chain exercises the certificate and chain objects on a
 * chain the CA issued (leaf, intermediate). */
static void test_cert_and_chain(const mayfly_chain_t* chain, const char* name) {
  /* The text getters, which refuse NULL alike. */
  typedef int (*cert_text_fn)(const mayfly_cert_t*, char**, size_t*,
                              mayfly_error_t**);
  static const cert_text_fn cert_text[] = {
      mayfly_cert_to_pem, mayfly_cert_serial, mayfly_cert_common_name,
      mayfly_cert_fingerprint};
  size_t i;
  const mayfly_cert_t* leaf = mayfly_chain_get(chain, 0);
  const mayfly_cert_t* inter = mayfly_chain_get(chain, 1);
  mayfly_cert_t* cert = SENTINEL;
  mayfly_chain_t* parsed = SENTINEL;
  char* pem = NULL;
  size_t pem_len = 0;
  uint8_t* der = NULL;
  size_t der_len = 0;
  char* s = NULL;
  size_t s_len = 0;
  char* fp = NULL;
  int64_t nb = 0;
  int64_t na = 0;
  uint8_t* bout = SENTINEL;
  char* out = SENTINEL;
  size_t out_len = 7;

  CHECK(mayfly_chain_size(chain) == 2);
  CHECK(leaf != NULL && inter != NULL);
  CHECK(mayfly_chain_get(chain, 2) == NULL);
  CHECK(mayfly_chain_get(NULL, 0) == NULL);
  CHECK(mayfly_chain_size(NULL) == 0);

  OK(mayfly_cert_common_name(leaf, &s, &s_len, &e));
  CHECK(strcmp(s, name) == 0 && s_len == strlen(name));
  mayfly_free(s);
  s = cert_serial(leaf);
  CHECK(strspn(s, "0123456789") == strlen(s));
  mayfly_free(s);
  OK(mayfly_cert_fingerprint(leaf, &fp, &s_len, &e));
  CHECK(s_len == 64 && strspn(fp, "0123456789abcdef") == 64);
  OK(mayfly_cert_validity(leaf, &nb, &na, &e));
  CHECK(nb > 1600000000000LL && na > nb);
  OK(mayfly_cert_validity(leaf, NULL, NULL, &e));

  /* PEM and DER round trips keep the fingerprint. */
  OK(mayfly_cert_to_pem(leaf, &pem, &pem_len, &e));
  OK(mayfly_cert_parse(bytes(pem), pem_len, &cert, &e));
  OK(mayfly_cert_fingerprint(cert, &s, NULL, &e));
  CHECK(strcmp(s, fp) == 0);
  mayfly_free(s);
  mayfly_cert_free(cert);
  mayfly_free(pem);
  OK(mayfly_cert_to_der(leaf, &der, &der_len, &e));
  CHECK(der_len > 100 && der[0] == 0x30);
  OK(mayfly_cert_parse(der, der_len, &cert, &e));
  OK(mayfly_cert_fingerprint(cert, &s, NULL, &e));
  CHECK(strcmp(s, fp) == 0);
  mayfly_free(s);
  mayfly_cert_free(cert);
  OK(mayfly_chain_parse(der, der_len, &parsed, &e)); /* one DER cert */
  CHECK(mayfly_chain_size(parsed) == 1);
  mayfly_chain_free(parsed);

  OK(mayfly_chain_to_pem(chain, &pem, &pem_len, &e));
  CHECK(pem_len == strlen(pem));
  OK(mayfly_chain_parse(bytes(pem), pem_len, &parsed, &e));
  CHECK(mayfly_chain_size(parsed) == 2);
  OK(mayfly_cert_fingerprint(mayfly_chain_get(parsed, 0), &s, NULL, &e));
  CHECK(strcmp(s, fp) == 0);
  mayfly_free(s);
  mayfly_chain_free(parsed);

  /* A bundle is not one certificate. */
  cert = SENTINEL;
  parsed = SENTINEL;
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_cert_parse(bytes(pem), pem_len, &cert, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_cert_parse(der, der_len - 1, &cert, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_cert_parse(bytes("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                "-----END CERTIFICATE-----\n"),
                          58, &cert, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "in_len",
        mayfly_cert_parse(NULL, 1, &cert, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_cert_parse(der, der_len, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_chain_parse(bytes("junk"), 4, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_chain_parse(NULL, 0, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "in_len",
        mayfly_chain_parse(NULL, 2, &parsed, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_chain_parse(bytes(pem), pem_len, NULL, &e));
  CHECK(cert == SENTINEL && parsed == SENTINEL);

  for (i = 0; i < sizeof(cert_text) / sizeof(cert_text[0]); i++) {
    FAILS(MAYFLY_INVALID_ARGUMENT, "cert",
          cert_text[i](NULL, &out, &out_len, &e));
    FAILS(MAYFLY_INVALID_ARGUMENT, "out",
          cert_text[i](leaf, NULL, &out_len, &e));
  }
  FAILS(MAYFLY_INVALID_ARGUMENT, "cert",
        mayfly_cert_to_der(NULL, &bout, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_cert_to_der(leaf, NULL, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out_len",
        mayfly_cert_to_der(leaf, &bout, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "cert",
        mayfly_cert_validity(NULL, &nb, &na, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_chain_to_pem(NULL, &out, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_chain_to_pem(chain, NULL, &out_len, &e));
  CHECK(out == SENTINEL && bout == SENTINEL && out_len == 7);

  mayfly_free(pem);
  mayfly_free(der);
  mayfly_free(fp);
  mayfly_cert_free(NULL);
  mayfly_chain_free(NULL);
}

/* ---- PKI initialisation and opening the CA ----------------------------- */

static void test_init_options_errors(mayfly_init_options_t* opts) {
  typedef int (*text_setter)(mayfly_init_options_t*, const char*);
  static const text_setter setters[] = {
      mayfly_init_options_set_dir,
      mayfly_init_options_set_name,
      mayfly_init_options_add_dns_name,
      mayfly_init_options_set_address,
      mayfly_init_options_set_provisioner,
      mayfly_init_options_set_password,
      mayfly_init_options_set_provisioner_password,
      mayfly_init_options_set_store};
  size_t i;
  for (i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
    CHECK(setters[i](NULL, "x") == MAYFLY_INVALID_ARGUMENT);
    CHECK(setters[i](opts, NULL) == MAYFLY_INVALID_ARGUMENT);
  }
  CHECK(mayfly_init_options_set_key_type(NULL, MAYFLY_KEY_P256) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_init_options_set_key_type(opts, 42) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_init_options_set_overwrite(NULL, 1) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_init_options_set_kdf_iterations(NULL, 1000) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_init_options_set_backdate(NULL, 1000) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_init_options_set_backdate(opts, -1) == MAYFLY_INVALID_ARGUMENT);
}

/* init_ca writes a PKI in <g_dir>/ca and returns the ca.json path. */
static char* init_ca(char** fingerprint) {
  mayfly_init_options_t* opts = mayfly_init_options_new();
  mayfly_init_result_t* result = NULL;
  mayfly_init_result_t* untouched = SENTINEL;
  char dir[96];
  char* config;

  CHECK(opts != NULL);
  snprintf(dir, sizeof(dir), "%s/ca", g_dir);
  test_init_options_errors(opts);
  /* No password yet: refused, nothing written. */
  CHECK(mayfly_init_options_set_dir(opts, dir) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL, mayfly_pki_init(opts, &untouched, &e));
  CHECK(mayfly_init_options_set_name(opts, "CapiCA") == MAYFLY_OK);
  CHECK(mayfly_init_options_add_dns_name(opts, "localhost") == MAYFLY_OK);
  CHECK(mayfly_init_options_add_dns_name(opts, "127.0.0.1") == MAYFLY_OK);
  CHECK(mayfly_init_options_set_address(opts, "127.0.0.1:0") == MAYFLY_OK);
  CHECK(mayfly_init_options_set_provisioner(opts, "admin") == MAYFLY_OK);
  CHECK(mayfly_init_options_set_password(opts, CA_PASSWORD) == MAYFLY_OK);
  CHECK(mayfly_init_options_set_provisioner_password(
            opts, PROVISIONER_PASSWORD) == MAYFLY_OK);
  CHECK(mayfly_init_options_set_key_type(opts, MAYFLY_KEY_P256) == MAYFLY_OK);
  CHECK(mayfly_init_options_set_store(opts, "memory:") == MAYFLY_OK);
  CHECK(mayfly_init_options_set_kdf_iterations(opts, 1000) == MAYFLY_OK);
  CHECK(mayfly_init_options_set_backdate(opts, 2000) == MAYFLY_OK);
  CHECK(mayfly_init_options_set_overwrite(opts, 0) == MAYFLY_OK);
  OK(mayfly_pki_init(opts, &result, &e));

  /* A second init over it is refused unless told to overwrite. */
  FAILS(MAYFLY_ALREADY_EXISTS, NULL, mayfly_pki_init(opts, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "opts", mayfly_pki_init(NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_pki_init(opts, NULL, &e));
  CHECK(untouched == SENTINEL);
  mayfly_init_result_free(result);
  CHECK(mayfly_init_options_set_overwrite(opts, 1) == MAYFLY_OK);
  OK(mayfly_pki_init(opts, &result, &e));

  config = strdup(mayfly_init_result_config_path(result));
  *fingerprint = strdup(mayfly_init_result_root_fingerprint(result));
  CHECK(strstr(config, "/config/ca.json") != NULL);
  CHECK(strstr(mayfly_init_result_root_path(result), "root_ca.crt") != NULL);
  CHECK(strlen(*fingerprint) == 64);
  CHECK(strlen(mayfly_init_result_provisioner_kid(result)) == 43);
  CHECK(mayfly_init_result_config_path(NULL) == NULL);
  CHECK(mayfly_init_result_root_path(NULL) == NULL);
  CHECK(mayfly_init_result_root_fingerprint(NULL) == NULL);
  CHECK(mayfly_init_result_provisioner_kid(NULL) == NULL);
  mayfly_init_result_free(result);
  mayfly_init_result_free(NULL);
  mayfly_init_options_free(opts);
  mayfly_init_options_free(NULL);
  return config;
}

static mayfly_ca_t* open_ca(const char* config, const char* fingerprint) {
  mayfly_ca_t* ca = NULL;
  mayfly_ca_t* untouched = SENTINEL;
  mayfly_chain_t* roots = NULL;
  char* fp = NULL;
  size_t fp_len = 0;
  char* s = NULL;
  char* out = SENTINEL;
  mayfly_chain_t* cout = SENTINEL;

  FAILS(MAYFLY_INVALID_ARGUMENT, "config_path",
        mayfly_ca_open(NULL, CA_PASSWORD, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "password",
        mayfly_ca_open(config, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_open(config, CA_PASSWORD, NULL, NULL, &e));
  FAILS(MAYFLY_NOT_FOUND, NULL,
        mayfly_ca_open("/nonexistent/ca.json", CA_PASSWORD, NULL, &untouched,
                       &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_ca_open(config, CA_PASSWORD, "bogus:", &untouched, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_open(config, "wrong password", "memory:", &untouched, &e));
  CHECK(untouched == SENTINEL);
  OK(mayfly_ca_open(config, CA_PASSWORD, NULL, &ca, &e));

  OK(mayfly_ca_roots(ca, &roots, &e));
  CHECK(mayfly_chain_size(roots) == 1);
  OK(mayfly_ca_root_fingerprint(ca, &fp, &fp_len, &e));
  CHECK(fp_len == 64 && strcmp(fp, fingerprint) == 0);
  OK(mayfly_cert_fingerprint(mayfly_chain_get(roots, 0), &s, NULL, &e));
  CHECK(strcmp(s, fingerprint) == 0);
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca", mayfly_ca_roots(NULL, &cout, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_ca_roots(ca, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_root_fingerprint(NULL, &out, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_root_fingerprint(ca, NULL, NULL, &e));
  CHECK(out == SENTINEL && cout == SENTINEL);
  mayfly_free(s);
  mayfly_free(fp);
  mayfly_chain_free(roots);
  return ca;
}

/* ---- Provisioners ------------------------------------------------------- */

/* test_provisioners adds "short" (1 s .. 1 h, default 1 m) with `key` and
 * "norenew" (renewal disabled, key password "pw"), and checks duplicates,
 * removal and the JSON listing. */
static void test_provisioners(mayfly_ca_t* ca, const mayfly_key_t* key) {
  mayfly_provisioner_options_t* opts = mayfly_provisioner_options_new();
  mayfly_provisioner_options_t* norenew = mayfly_provisioner_options_new();
  mayfly_key_t* other = NULL;
  char* json = NULL;
  size_t json_len = 0;
  char* out = SENTINEL;

  CHECK(opts != NULL && norenew != NULL);
  CHECK(mayfly_provisioner_options_set_durations(opts, 1000, 60000, 3600000) ==
        MAYFLY_OK);
  CHECK(mayfly_provisioner_options_set_allow_renewal_after_expiry(opts, 1) ==
        MAYFLY_OK);
  CHECK(mayfly_provisioner_options_set_disable_renewal(opts, 0) == MAYFLY_OK);
  CHECK(mayfly_provisioner_options_set_kdf_iterations(opts, 1000) == MAYFLY_OK);
  CHECK(mayfly_provisioner_options_set_durations(NULL, 0, 0, 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_provisioner_options_set_durations(opts, -1, 0, 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_provisioner_options_set_disable_renewal(NULL, 1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_provisioner_options_set_allow_renewal_after_expiry(NULL, 1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_provisioner_options_set_kdf_iterations(NULL, 1000) ==
        MAYFLY_INVALID_ARGUMENT);
  OK(mayfly_ca_add_provisioner(ca, "short", key, "pw", opts, &e));

  /* Renewal disabled: its certificates are refused renewal later. */
  CHECK(mayfly_provisioner_options_set_disable_renewal(norenew, 1) ==
        MAYFLY_OK);
  CHECK(mayfly_provisioner_options_set_kdf_iterations(norenew, 1000) ==
        MAYFLY_OK);
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &other, &e));
  FAILS(MAYFLY_ALREADY_EXISTS, NULL,
        mayfly_ca_add_provisioner(ca, "short", other, "pw", norenew, &e));
  FAILS(MAYFLY_ALREADY_EXISTS, NULL, /* same key, so same kid */
        mayfly_ca_add_provisioner(ca, "short2", key, "pw", norenew, &e));
  /* min > max: refused when the claims are resolved. */
  CHECK(mayfly_provisioner_options_set_durations(norenew, 7200000, 0,
                                                 3600000) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_ca_add_provisioner(ca, "bad", other, "pw", norenew, &e));
  CHECK(mayfly_provisioner_options_set_durations(norenew, 0, 0, 0) ==
        MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_add_provisioner(NULL, "x", other, "pw", NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "name",
        mayfly_ca_add_provisioner(ca, NULL, other, "pw", NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_ca_add_provisioner(ca, "x", NULL, "pw", NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "password",
        mayfly_ca_add_provisioner(ca, "x", other, NULL, NULL, &e));
  OK(mayfly_ca_add_provisioner(ca, "norenew", other, "pw", norenew, &e));

  /* Removal: unknown names, then a real one, which can be added again. */
  FAILS(MAYFLY_NOT_FOUND, NULL, mayfly_ca_remove_provisioner(ca, "nobody", &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_remove_provisioner(NULL, "x", &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "name",
        mayfly_ca_remove_provisioner(ca, NULL, &e));
  OK(mayfly_ca_remove_provisioner(ca, "norenew", &e));
  FAILS(MAYFLY_NOT_FOUND, NULL,
        mayfly_ca_remove_provisioner(ca, "norenew", &e));
  OK(mayfly_ca_add_provisioner(ca, "norenew", other, "pw", norenew, &e));

  OK(mayfly_ca_provisioners_json(ca, &json, &json_len, &e));
  CHECK(json_len == strlen(json));
  CHECK(strncmp(json, "{\"provisioners\":[{\"type\":\"JWK\",\"name\":\"admin\"",
                44) == 0);
  CHECK(strstr(json, "\"name\":\"short\"") != NULL);
  CHECK(strstr(json, "\"name\":\"norenew\"") != NULL);
  CHECK(strstr(json, "\"disableRenewal\":true") != NULL);
  CHECK(strstr(json, "\"encryptedKey\":") != NULL);
  CHECK(strstr(json, "],\"nextCursor\":\"\"}") != NULL);
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_provisioners_json(NULL, &out, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_provisioners_json(ca, NULL, NULL, &e));
  CHECK(out == SENTINEL);

  mayfly_free(json);
  mayfly_key_free(other);
  mayfly_provisioner_options_free(opts);
  mayfly_provisioner_options_free(norenew);
  mayfly_provisioner_options_free(NULL);
}

/* ---- Tokens -----------------------------------------------------------------
 */

static void test_tokens(const mayfly_ca_t* ca, const mayfly_key_t* key,
                        const char* fingerprint) {
  mayfly_token_signer_t* signer = NULL;
  mayfly_token_signer_t* untouched = SENTINEL;
  mayfly_token_options_t* opts = mayfly_token_options_new();
  char* token = NULL;
  size_t token_len = 0;
  char* out = SENTINEL;
  size_t out_len = 7;

  CHECK(opts != NULL);
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_token_signer_from_ca(ca, "admin", "wrong", &untouched, &e));
  FAILS(MAYFLY_NOT_FOUND, "nobody",
        mayfly_token_signer_from_ca(ca, "nobody", "pw", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_token_signer_from_ca(NULL, "admin", "pw", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "name",
        mayfly_token_signer_from_ca(ca, NULL, "pw", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "password",
        mayfly_token_signer_from_ca(ca, "admin", NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_token_signer_from_ca(ca, "admin", "pw", NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_token_signer_new(NULL, NULL, "short", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "issuer",
        mayfly_token_signer_new(key, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_token_signer_new(key, NULL, "short", NULL, &e));
  CHECK(untouched == SENTINEL);
  OK(mayfly_token_signer_new(key, NULL, "short", &signer, &e));

  /* Setters. */
  CHECK(mayfly_token_options_set_subject(NULL, "a") == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_subject(opts, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_ca_url(NULL, CA_URL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_ca_url(opts, NULL) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_purpose(NULL, MAYFLY_TOKEN_SIGN) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_purpose(opts, 7) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_add_san(NULL, "a") == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_add_san(opts, NULL) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_root_fingerprint(NULL, "") ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_lifetime(NULL, 60000) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_token_options_set_lifetime(opts, 0) == MAYFLY_INVALID_ARGUMENT);

  /* A token needs a subject and a CA URL. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "CA URL",
        mayfly_token_sign(signer, opts, &out, &out_len, &e));
  CHECK(mayfly_token_options_set_ca_url(opts, CA_URL) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_token_sign(signer, opts, &out, &out_len, &e));
  CHECK(mayfly_token_options_set_subject(opts, "svc.example") == MAYFLY_OK);
  CHECK(mayfly_token_options_add_san(opts, "svc.example") == MAYFLY_OK);
  CHECK(mayfly_token_options_add_san(opts, "10.0.0.7") == MAYFLY_OK);
  CHECK(mayfly_token_options_set_root_fingerprint(opts, fingerprint) ==
        MAYFLY_OK);
  CHECK(mayfly_token_options_set_purpose(opts, MAYFLY_TOKEN_SIGN) == MAYFLY_OK);
  /* Outside step's 10 s .. 1 h token lifetime. */
  CHECK(mayfly_token_options_set_lifetime(opts, 5000) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_token_sign(signer, opts, &out, &out_len, &e));
  CHECK(mayfly_token_options_set_lifetime(opts, 120000) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, "signer",
        mayfly_token_sign(NULL, opts, &out, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "opts",
        mayfly_token_sign(signer, NULL, &out, &out_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_token_sign(signer, opts, NULL, &out_len, &e));
  CHECK(out == SENTINEL && out_len == 7);
  OK(mayfly_token_sign(signer, opts, &token, &token_len, &e));
  CHECK(token_len == strlen(token) && strncmp(token, "eyJ", 3) == 0);
  CHECK(strchr(token, '.') != strrchr(token, '.')); /* three parts */
  mayfly_free(token);
  CHECK(mayfly_token_options_set_root_fingerprint(opts, NULL) == MAYFLY_OK);
  OK(mayfly_token_sign(signer, opts, &token, NULL, &e));
  mayfly_free(token);

  mayfly_token_options_free(opts);
  mayfly_token_options_free(NULL);
  mayfly_token_signer_free(signer);
  mayfly_token_signer_free(NULL);
}

/* ---- Sign, renew, rekey, revoke, CRL ------------------------------------ */

static void test_sign(mayfly_ca_t* ca, const mayfly_token_signer_t* admin,
                      const mayfly_token_signer_t* short_signer) {
  const char* name = "svc.example";
  const char* other_name = "other.example";
  mayfly_key_t* key = NULL;
  mayfly_csr_t* csr = NULL;
  mayfly_csr_t* other_csr = NULL;
  mayfly_chain_t* chain = NULL;
  mayfly_chain_t* untouched = SENTINEL;
  char* token;
  int64_t nb = 0;
  int64_t na = 0;

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  csr = make_csr(key, name);
  other_csr = make_csr(key, other_name);
  token = make_token(admin, MAYFLY_TOKEN_SIGN, name);

  /* Refusals that must not burn the token. */
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_sign(ca, csr, "not.a.token", NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_PERMISSION_DENIED, NULL,
        mayfly_ca_sign(ca, other_csr, token, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_ca_sign(ca, csr, token, NULL, "soon", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_sign(NULL, csr, token, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "csr",
        mayfly_ca_sign(ca, NULL, token, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "token",
        mayfly_ca_sign(ca, csr, NULL, NULL, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_sign(ca, csr, token, NULL, NULL, NULL, &e));
  CHECK(untouched == SENTINEL);

  OK(mayfly_ca_sign(ca, csr, token, NULL, NULL, &chain, &e));
  test_cert_and_chain(chain, name);
  /* The default lifetime is 24 h (plus the 2 s backdate of init). */
  OK(mayfly_cert_validity(mayfly_chain_get(chain, 0), &nb, &na, &e));
  CHECK(na - nb == 24 * 3600000LL + 2000);
  mayfly_chain_free(chain);

  /* The same token again is a replay. */
  FAILS(MAYFLY_UNAUTHENTICATED, "used",
        mayfly_ca_sign(ca, csr, token, NULL, NULL, &untouched, &e));
  CHECK(untouched == SENTINEL);
  mayfly_free(token);

  /* The short provisioner allows 1 s .. 1 h and asked validity. */
  token = make_token(short_signer, MAYFLY_TOKEN_SIGN, name);
  FAILS(MAYFLY_INVALID_ARGUMENT, "maximum",
        mayfly_ca_sign(ca, csr, token, NULL, "2h", &untouched, &e));
  OK(mayfly_ca_sign(ca, csr, token, NULL, "90s", &chain, &e));
  OK(mayfly_cert_validity(mayfly_chain_get(chain, 0), &nb, &na, &e));
  CHECK(na - nb == 90000 + 2000);
  mayfly_chain_free(chain);
  mayfly_free(token);

  mayfly_csr_free(csr);
  mayfly_csr_free(other_csr);
  mayfly_key_free(key);
}

/* test_renew_rekey renews and rekeys a certificate, and checks what may
 * not be renewed. */
static void test_renew_rekey(mayfly_ca_t* ca,
                             const mayfly_token_signer_t* admin,
                             const mayfly_token_signer_t* norenew) {
  mayfly_key_t* key = NULL;
  mayfly_key_t* new_key = NULL;
  mayfly_csr_t* csr = NULL;
  mayfly_chain_t* chain = NULL;
  mayfly_chain_t* renewed = NULL;
  mayfly_chain_t* rekeyed = NULL;
  mayfly_chain_t* roots = NULL;
  mayfly_chain_t* untouched = SENTINEL;
  char* serial;
  char* renewed_serial;
  char* s = NULL;

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  OK(mayfly_key_generate(MAYFLY_KEY_P384, &new_key, &e));
  chain = issue(ca, admin, key, "app.example");
  OK(mayfly_ca_renew(ca, chain, &renewed, &e));
  serial = cert_serial(mayfly_chain_get(chain, 0));
  renewed_serial = cert_serial(mayfly_chain_get(renewed, 0));
  CHECK(strcmp(serial, renewed_serial) != 0);
  OK(mayfly_cert_common_name(mayfly_chain_get(renewed, 0), &s, NULL, &e));
  CHECK(strcmp(s, "app.example") == 0);
  mayfly_free(s);

  csr = make_csr(new_key, "app.example");
  OK(mayfly_ca_rekey(ca, renewed, csr, &rekeyed, &e));
  CHECK(mayfly_chain_size(rekeyed) == 2);
  s = cert_serial(mayfly_chain_get(rekeyed, 0));
  CHECK(strcmp(s, renewed_serial) != 0);
  mayfly_free(s);

  /* A root is not a leaf of this CA; renewal can be disabled. */
  OK(mayfly_ca_roots(ca, &roots, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_renew(ca, roots, &untouched, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_rekey(ca, roots, csr, &untouched, &e));
  mayfly_chain_free(roots);
  mayfly_chain_free(chain);
  chain = issue(ca, norenew, key, "app.example");
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_renew(ca, chain, &untouched, &e));

  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_renew(NULL, chain, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "peer_chain",
        mayfly_ca_renew(ca, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_ca_renew(ca, renewed, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_rekey(NULL, renewed, csr, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "peer_chain",
        mayfly_ca_rekey(ca, NULL, csr, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "csr",
        mayfly_ca_rekey(ca, renewed, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_rekey(ca, renewed, csr, NULL, &e));
  /* A renew token is made by a client from the certificate's key (see
   * mayfly_client_renew_with_token); here only its refusals. */
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_renew_with_token(ca, "not.a.token", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_renew_with_token(NULL, "x", &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "token",
        mayfly_ca_renew_with_token(ca, NULL, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_renew_with_token(ca, "x", NULL, &e));
  CHECK(untouched == SENTINEL);

  mayfly_free(serial);
  mayfly_free(renewed_serial);
  mayfly_csr_free(csr);
  mayfly_chain_free(chain);
  mayfly_chain_free(renewed);
  mayfly_chain_free(rekeyed);
  mayfly_key_free(key);
  mayfly_key_free(new_key);
}

/* test_revoke revokes by token and by certificate, checks that neither the
 * certificate nor what was renewed from it renews again, and that the CRL
 * lists both. */
static void test_revoke(mayfly_ca_t* ca, const mayfly_token_signer_t* admin) {
  mayfly_key_t* key = NULL;
  mayfly_chain_t* a = NULL;
  mayfly_chain_t* a2 = NULL;
  mayfly_chain_t* b = NULL;
  mayfly_chain_t* c = NULL;
  mayfly_chain_t* untouched = SENTINEL;
  char* a_serial;
  char* b_serial;
  char* c_serial;
  char* token;
  uint8_t* crl = NULL;
  size_t crl_len = 0;
  uint8_t* bout = SENTINEL;
  size_t bout_len = 7;

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  a = issue(ca, admin, key, "a.example");
  b = issue(ca, admin, key, "b.example");
  c = issue(ca, admin, key, "c.example");
  OK(mayfly_ca_renew(ca, a, &a2, &e));
  a_serial = cert_serial(mayfly_chain_get(a, 0));
  b_serial = cert_serial(mayfly_chain_get(b, 0));
  c_serial = cert_serial(mayfly_chain_get(c, 0));

  /* A revoke token names one serial; a bad reason code is refused. */
  token = make_token(admin, MAYFLY_TOKEN_REVOKE, a_serial);
  FAILS(MAYFLY_PERMISSION_DENIED, NULL,
        mayfly_ca_revoke(ca, b_serial, 1, NULL, token, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_ca_revoke(ca, a_serial, 11, NULL, token, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "exactly one",
        mayfly_ca_revoke(ca, a_serial, 1, NULL, token, a, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "exactly one",
        mayfly_ca_revoke(ca, a_serial, 1, NULL, NULL, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_revoke(NULL, a_serial, 1, NULL, token, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "serial",
        mayfly_ca_revoke(ca, NULL, 1, NULL, token, NULL, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_revoke(ca, a_serial, 1, NULL, "not.a.token", NULL, &e));
  OK(mayfly_ca_revoke(ca, a_serial, 1, "key compromise", token, NULL, &e));
  mayfly_free(token);

  /* Renewal refused for it and for its renewed successor. */
  FAILS(MAYFLY_UNAUTHENTICATED, NULL, mayfly_ca_renew(ca, a, &untouched, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL, mayfly_ca_renew(ca, a2, &untouched, &e));
  CHECK(untouched == SENTINEL);
  token = make_token(admin, MAYFLY_TOKEN_REVOKE, a_serial);
  FAILS(MAYFLY_ALREADY_EXISTS, NULL,
        mayfly_ca_revoke(ca, a_serial, 1, NULL, token, NULL, &e));
  mayfly_free(token);

  /* By the certificate itself, as over mTLS: its own serial only. */
  FAILS(MAYFLY_PERMISSION_DENIED, NULL,
        mayfly_ca_revoke(ca, c_serial, 0, NULL, NULL, b, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_ca_revoke(ca, "not a serial", 0, NULL, NULL, b, &e));
  OK(mayfly_ca_revoke(ca, b_serial, 0, NULL, NULL, b, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL, mayfly_ca_renew(ca, b, &untouched, &e));

  /* The CRL lists a and b, not c. */
  OK(mayfly_ca_crl(ca, 0, &crl, &crl_len, &e));
  CHECK(crl_len > 0 && crl[0] == 0x30);
  CHECK(crl_lists(crl, crl_len, mayfly_chain_get(a, 0)));
  CHECK(crl_lists(crl, crl_len, mayfly_chain_get(b, 0)));
  CHECK(!crl_lists(crl, crl_len, mayfly_chain_get(c, 0)));
  mayfly_free(crl);
  OK(mayfly_ca_crl(ca, 1, &crl, &crl_len, &e));
  CHECK(crl_len > 30 &&
        strncmp((const char*)crl, "-----BEGIN X509 CRL-----\n", 25) == 0);
  mayfly_free(crl);
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_ca_crl(NULL, 0, &bout, &bout_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_ca_crl(ca, 0, NULL, &bout_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out_len",
        mayfly_ca_crl(ca, 0, &bout, NULL, &e));
  CHECK(bout == SENTINEL && bout_len == 7);

  mayfly_free(a_serial);
  mayfly_free(b_serial);
  mayfly_free(c_serial);
  mayfly_chain_free(a);
  mayfly_chain_free(a2);
  mayfly_chain_free(b);
  mayfly_chain_free(c);
  mayfly_key_free(key);
}

/* ---- The server --------------------------------------------------------- */

/* LogState is a log callback's user_data. The server's threads write it;
 * the test reads it only after mayfly_server_stop has joined them. */
typedef struct {
  int lines;
  int health_lines;
  int destroyed;
} LogState;

static void on_log(void* user_data, const char* line, size_t line_len) {
  LogState* state = (LogState*)user_data;
  state->lines++;
  if (strlen(line) == line_len && strstr(line, "/health") != NULL &&
      line[0] == '{') { /* JSON lines were asked for */
    state->health_lines++;
  }
}

static void on_destroy(void* user_data) { ((LogState*)user_data)->destroyed++; }

static void test_server_options(void) {
  mayfly_server_options_t* opts = mayfly_server_options_new();
  LogState refused = {0, 0, 0};

  CHECK(opts != NULL);
  CHECK(mayfly_server_options_set_address(NULL, "127.0.0.1:0") ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_server_options_set_address(opts, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_server_options_set_worker_threads(NULL, 2) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_server_options_set_worker_threads(opts, -1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_server_options_set_json_logs(NULL, 1) ==
        MAYFLY_INVALID_ARGUMENT);
  /* A refused registration destroys user_data at once. */
  CHECK(mayfly_server_options_set_log_callback(
            NULL, on_log, &refused, on_destroy) == MAYFLY_INVALID_ARGUMENT);
  CHECK(refused.destroyed == 1);
  CHECK(mayfly_server_options_set_log_callback(
            opts, NULL, &refused, on_destroy) == MAYFLY_INVALID_ARGUMENT);
  CHECK(refused.destroyed == 2);
  /* Replacing a callback releases the old one; destroy may be NULL. */
  CHECK(mayfly_server_options_set_log_callback(opts, on_log, &refused,
                                               on_destroy) == MAYFLY_OK);
  CHECK(mayfly_server_options_set_log_callback(opts, on_log, &refused, NULL) ==
        MAYFLY_OK);
  CHECK(refused.destroyed == 3);
  mayfly_server_options_free(opts);
  CHECK(refused.destroyed == 3 && refused.lines == 0);
  mayfly_server_options_free(NULL);
}

static void test_server(mayfly_ca_t* ca) {
  mayfly_server_options_t* opts = mayfly_server_options_new();
  mayfly_server_options_t* clash = mayfly_server_options_new();
  mayfly_server_t* server = NULL;
  mayfly_server_t* other = NULL;
  mayfly_server_t* untouched = SENTINEL;
  mayfly_chain_t* roots = NULL;
  mayfly_client_t* client = NULL;
  LogState log = {0, 0, 0};
  LogState clash_log = {0, 0, 0};
  char url[64];
  char address[64];
  int port;

  test_server_options();
  CHECK(mayfly_server_options_set_address(opts, "127.0.0.1:0") == MAYFLY_OK);
  CHECK(mayfly_server_options_set_worker_threads(opts, 2) == MAYFLY_OK);
  CHECK(mayfly_server_options_set_json_logs(opts, 1) == MAYFLY_OK);
  CHECK(mayfly_server_options_set_log_callback(opts, on_log, &log,
                                               on_destroy) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca",
        mayfly_server_start(NULL, opts, &untouched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_server_start(ca, opts, NULL, &e));
  OK(mayfly_server_start(ca, opts, &server, &e));
  port = mayfly_server_port(server);
  CHECK(port > 0 && port < 65536);

  /* One request through the C client, to see its log line. */
  snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
  OK(mayfly_ca_roots(ca, &roots, &e));
  OK(mayfly_client_new(url, roots, &client, &e));
  OK(mayfly_client_health(client, &e));
  mayfly_client_free(client);
  mayfly_chain_free(roots);

  /* The same port again: not bound; its callback is released with its
   * options, since the failed server holds none. */
  snprintf(address, sizeof(address), "127.0.0.1:%d", port);
  CHECK(mayfly_server_options_set_address(clash, address) == MAYFLY_OK);
  CHECK(mayfly_server_options_set_log_callback(clash, on_log, &clash_log,
                                               on_destroy) == MAYFLY_OK);
  FAILS(MAYFLY_UNAVAILABLE, NULL,
        mayfly_server_start(ca, clash, &untouched, &e));
  CHECK(mayfly_server_options_set_address(clash, "no port") == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_server_start(ca, clash, &untouched, &e));
  CHECK(untouched == SENTINEL);
  mayfly_server_options_free(clash);
  CHECK(clash_log.destroyed == 1 && clash_log.lines == 0);

  mayfly_server_stop(server, 1000);
  mayfly_server_stop(server, 1000); /* idempotent */
  CHECK(log.lines >= 1 && log.health_lines == 1);
  /* The callback lives while the options or the server hold it. */
  mayfly_server_options_free(opts);
  CHECK(log.destroyed == 0);
  mayfly_server_free(server);
  CHECK(log.destroyed == 1);

  /* Without options: the config's address (127.0.0.1:0) and stderr. */
  OK(mayfly_server_start(ca, NULL, &other, &e));
  CHECK(mayfly_server_port(other) > 0);
  mayfly_server_free(other); /* stops it */

  CHECK(mayfly_server_port(NULL) == -1);
  mayfly_server_stop(NULL, 0);
  mayfly_server_free(NULL);
}

int main(void) {
  mayfly_key_t* short_key = NULL;
  mayfly_token_signer_t* admin = NULL;
  mayfly_token_signer_t* short_signer = NULL;
  mayfly_token_signer_t* norenew = NULL;
  mayfly_token_signer_t* wrong_kid = NULL;
  mayfly_ca_t* ca;
  mayfly_key_t* key = NULL;
  mayfly_csr_t* csr;
  mayfly_chain_t* untouched = SENTINEL;
  char* token;
  char* fingerprint = NULL;
  char* config;

  if (!make_dir("capi_ca_test")) {
    return 1;
  }
  atexit(remove_dir);

  test_keys();
  test_csr();
  config = init_ca(&fingerprint);
  ca = open_ca(config, fingerprint);

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &short_key, &e));
  test_provisioners(ca, short_key);
  test_tokens(ca, short_key, fingerprint);
  OK(mayfly_token_signer_from_ca(ca, "admin", PROVISIONER_PASSWORD, &admin,
                                 &e));
  OK(mayfly_token_signer_new(short_key, NULL, "short", &short_signer, &e));
  OK(mayfly_token_signer_from_ca(ca, "norenew", "pw", &norenew, &e));

  /* A token under a kid the CA does not know is refused. */
  OK(mayfly_token_signer_new(short_key, "unknown-kid", "short", &wrong_kid,
                             &e));
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  csr = make_csr(key, "x.example");
  token = make_token(wrong_kid, MAYFLY_TOKEN_SIGN, "x.example");
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_ca_sign(ca, csr, token, NULL, NULL, &untouched, &e));
  CHECK(untouched == SENTINEL);
  mayfly_free(token);
  mayfly_csr_free(csr);
  mayfly_key_free(key);

  test_sign(ca, admin, short_signer);
  test_renew_rekey(ca, admin, norenew);
  test_revoke(ca, admin);
  test_server(ca);

  mayfly_token_signer_free(admin);
  mayfly_token_signer_free(short_signer);
  mayfly_token_signer_free(norenew);
  mayfly_token_signer_free(wrong_kid);
  mayfly_key_free(short_key);
  mayfly_ca_free(ca);
  mayfly_ca_free(NULL);
  free(config);
  free(fingerprint);

  if (g_failures != 0) {
    fprintf(stderr, "capi_ca_test: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("capi_ca_test: all checks passed\n");
  return 0;
}
