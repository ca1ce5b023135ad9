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

/* ------------------------------------------------------------------------
 * Conventions of the object API below.
 *
 * - Times are int64_t milliseconds since the Unix epoch (UTC), durations
 *   int64_t milliseconds; names end in _ms.
 * - Text outputs are (char** out, size_t* out_len): a NUL-terminated buffer
 *   freed with mayfly_free; out_len may be NULL. Binary outputs are
 *   (uint8_t** out, size_t* out_len), out_len required.
 * - A getter returning `const char*` lends memory owned by its object, valid
 *   until that object is freed.
 * - Immutable objects (key, CSR, certificate, chain, event) are thread-safe.
 *   Options objects are not: fill one on one thread, then pass it; a call
 *   that takes options copies what it needs, so they may be freed at once.
 * - Callbacks are (function, void* user_data, destroy): mayfly calls
 *   destroy(user_data) exactly once, when the object holding the callback
 *   is freed (or at once if the call registering it fails); destroy may be
 *   NULL. A callback may run on a mayfly thread, never under a mayfly lock,
 *   and may call back into mayfly except to free the object that runs it.
 * ------------------------------------------------------------------------ */

/* Key types. */
#define MAYFLY_KEY_P256 0    /* ECDSA P-256 (ES256), the default */
#define MAYFLY_KEY_P384 1    /* ECDSA P-384 (ES384) */
#define MAYFLY_KEY_ED25519 2 /* Ed25519 (EdDSA) */
#define MAYFLY_KEY_RSA 3     /* RSA (RS256): parsed, never generated */

/* ---- Keys ---------------------------------------------------------------
 * mayfly_key_t is a private key (with its public half). */
typedef struct mayfly_key mayfly_key_t;

/* mayfly_key_generate makes a new key of `type` (MAYFLY_KEY_*): P-256,
 * P-384 or Ed25519; INVALID_ARGUMENT for RSA. */
MAYFLY_EXPORT int mayfly_key_generate(int type, mayfly_key_t** out,
                                      mayfly_error_t** err);
/* mayfly_key_parse reads a PEM (PKCS#8, SEC1 or PKCS#1; encrypted PEM with
 * `password`, which may be NULL otherwise) or PKCS#8 DER private key. */
MAYFLY_EXPORT int mayfly_key_parse(const uint8_t* in, size_t in_len,
                                   const char* password, mayfly_key_t** out,
                                   mayfly_error_t** err);
/* mayfly_key_to_pem writes the key as PKCS#8 PEM, encrypted with `password`
 * when it is not NULL or empty. */
MAYFLY_EXPORT int mayfly_key_to_pem(const mayfly_key_t* key,
                                    const char* password, char** out,
                                    size_t* out_len, mayfly_error_t** err);
/* mayfly_key_public_pem writes the public key as SubjectPublicKeyInfo PEM. */
MAYFLY_EXPORT int mayfly_key_public_pem(const mayfly_key_t* key, char** out,
                                        size_t* out_len, mayfly_error_t** err);
/* mayfly_key_type returns the key's MAYFLY_KEY_* type, or -1 for NULL. */
MAYFLY_EXPORT int mayfly_key_type(const mayfly_key_t* key);
MAYFLY_EXPORT void mayfly_key_free(mayfly_key_t* key);

/* ---- Certificate requests ---------------------------------------------- */
typedef struct mayfly_csr mayfly_csr_t;

/* mayfly_csr_new makes a CSR signed by `key` for `common_name` (may be NULL
 * or "") with `sans` (n_sans strings: DNS names, IPs, emails, URIs). */
MAYFLY_EXPORT int mayfly_csr_new(const mayfly_key_t* key,
                                 const char* common_name,
                                 const char* const* sans, size_t n_sans,
                                 mayfly_csr_t** out, mayfly_error_t** err);
/* mayfly_csr_parse reads one PEM or DER CSR; the signature is checked. */
MAYFLY_EXPORT int mayfly_csr_parse(const uint8_t* in, size_t in_len,
                                   mayfly_csr_t** out, mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_csr_to_pem(const mayfly_csr_t* csr, char** out,
                                    size_t* out_len, mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_csr_free(mayfly_csr_t* csr);

/* ---- Certificates -------------------------------------------------------
 * mayfly_cert_t is one X.509 certificate. */
typedef struct mayfly_cert mayfly_cert_t;

/* mayfly_cert_parse reads exactly one PEM or DER certificate. */
MAYFLY_EXPORT int mayfly_cert_parse(const uint8_t* in, size_t in_len,
                                    mayfly_cert_t** out, mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_cert_to_pem(const mayfly_cert_t* cert, char** out,
                                     size_t* out_len, mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_cert_to_der(const mayfly_cert_t* cert, uint8_t** out,
                                     size_t* out_len, mayfly_error_t** err);
/* The serial in decimal (as step prints it), the subject's common name, and
 * the lowercase hex SHA-256 of the DER: text outputs as above. */
MAYFLY_EXPORT int mayfly_cert_serial(const mayfly_cert_t* cert, char** out,
                                     size_t* out_len, mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_cert_common_name(const mayfly_cert_t* cert, char** out,
                                          size_t* out_len,
                                          mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_cert_fingerprint(const mayfly_cert_t* cert, char** out,
                                          size_t* out_len,
                                          mayfly_error_t** err);
/* mayfly_cert_validity writes NotBefore and NotAfter (either may be NULL). */
MAYFLY_EXPORT int mayfly_cert_validity(const mayfly_cert_t* cert,
                                       int64_t* not_before_ms,
                                       int64_t* not_after_ms,
                                       mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_cert_free(mayfly_cert_t* cert);

/* ---- Chains -------------------------------------------------------------
 * mayfly_chain_t is an ordered list of certificates: an issued certificate
 * is a chain with the leaf first and then the intermediate; a set of roots
 * is a chain too. */
typedef struct mayfly_chain mayfly_chain_t;

/* mayfly_chain_parse reads every CERTIFICATE block of a PEM bundle (at
 * least one) or one DER certificate. */
MAYFLY_EXPORT int mayfly_chain_parse(const uint8_t* in, size_t in_len,
                                     mayfly_chain_t** out,
                                     mayfly_error_t** err);
/* mayfly_chain_size returns the number of certificates (0 for NULL). */
MAYFLY_EXPORT size_t mayfly_chain_size(const mayfly_chain_t* chain);
/* mayfly_chain_get lends the certificate at `index`, or NULL when out of
 * range; it lives as long as the chain. */
MAYFLY_EXPORT const mayfly_cert_t* mayfly_chain_get(const mayfly_chain_t* chain,
                                                    size_t index);
/* mayfly_chain_to_pem writes every certificate, in order, as PEM. */
MAYFLY_EXPORT int mayfly_chain_to_pem(const mayfly_chain_t* chain, char** out,
                                      size_t* out_len, mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_chain_free(mayfly_chain_t* chain);

/* ---- PKI initialisation (like `step ca init`) -------------------------- */
typedef struct mayfly_init_options mayfly_init_options_t;

/* mayfly_init_options_new returns options with the defaults of
 * mayfly-ca init: DNS name "localhost", address ":9000", provisioner
 * "admin", P-256, the default SQLite store in the CA folder. The folder, the
 * name and the password have no default and must be set. NULL only when
 * out of memory. */
MAYFLY_EXPORT mayfly_init_options_t* mayfly_init_options_new(void);
MAYFLY_EXPORT void mayfly_init_options_free(mayfly_init_options_t* opts);
/* Setters return MAYFLY_INVALID_ARGUMENT for NULL `opts` or text. */
MAYFLY_EXPORT int mayfly_init_options_set_dir(mayfly_init_options_t* opts,
                                              const char* dir);
MAYFLY_EXPORT int mayfly_init_options_set_name(mayfly_init_options_t* opts,
                                               const char* name);
/* Replaces the default "localhost" on the first call, then appends. */
MAYFLY_EXPORT int mayfly_init_options_add_dns_name(mayfly_init_options_t* opts,
                                                   const char* dns_name);
MAYFLY_EXPORT int mayfly_init_options_set_address(mayfly_init_options_t* opts,
                                                  const char* address);
MAYFLY_EXPORT int mayfly_init_options_set_provisioner(
    mayfly_init_options_t* opts, const char* name);
/* The password encrypts the CA keys and, unless a provisioner password is
 * set, the provisioner key. Required. */
MAYFLY_EXPORT int mayfly_init_options_set_password(mayfly_init_options_t* opts,
                                                   const char* password);
MAYFLY_EXPORT int mayfly_init_options_set_provisioner_password(
    mayfly_init_options_t* opts, const char* password);
MAYFLY_EXPORT int mayfly_init_options_set_key_type(mayfly_init_options_t* opts,
                                                   int type);
/* A store URL ("memory:", "sqlite:PATH", "postgres://..."). */
MAYFLY_EXPORT int mayfly_init_options_set_store(mayfly_init_options_t* opts,
                                                const char* url);
MAYFLY_EXPORT int mayfly_init_options_set_overwrite(mayfly_init_options_t* opts,
                                                    int overwrite);
/* PBES2 iterations protecting the provisioner key (default 600000). */
MAYFLY_EXPORT int mayfly_init_options_set_kdf_iterations(
    mayfly_init_options_t* opts, uint32_t iterations);
/* How far before the issuance time certificates start, to absorb clock
 * skew (ca.json authority.backdate; default 1 minute). A certificate lives
 * its lifetime plus the backdate: lifetimes of seconds want about 1000 ms.
 * INVALID_ARGUMENT if negative. */
MAYFLY_EXPORT int mayfly_init_options_set_backdate(mayfly_init_options_t* opts,
                                                   int64_t backdate_ms);

/* mayfly_init_result_t says what mayfly_pki_init wrote. */
typedef struct mayfly_init_result mayfly_init_result_t;

/* mayfly_pki_init writes a new CA folder (root, intermediate, encrypted
 * keys, config/ca.json with one JWK provisioner). ALREADY_EXISTS if the
 * folder holds a PKI and overwrite is not set. */
MAYFLY_EXPORT int mayfly_pki_init(const mayfly_init_options_t* opts,
                                  mayfly_init_result_t** out,
                                  mayfly_error_t** err);
/* Borrowed from the result: the ca.json path, the root certificate's path
 * and its SHA-256 fingerprint (lowercase hex), the provisioner's kid. */
MAYFLY_EXPORT const char* mayfly_init_result_config_path(
    const mayfly_init_result_t* result);
MAYFLY_EXPORT const char* mayfly_init_result_root_path(
    const mayfly_init_result_t* result);
MAYFLY_EXPORT const char* mayfly_init_result_root_fingerprint(
    const mayfly_init_result_t* result);
MAYFLY_EXPORT const char* mayfly_init_result_provisioner_kid(
    const mayfly_init_result_t* result);
MAYFLY_EXPORT void mayfly_init_result_free(mayfly_init_result_t* result);

/* ---- The CA (authority) -------------------------------------------------
 * mayfly_ca_t is a certificate authority with its store and provisioners.
 * Every mayfly_ca_* call is thread-safe. */
typedef struct mayfly_ca mayfly_ca_t;

/* mayfly_ca_open loads config/ca.json at `config_path`, decrypts the
 * intermediate key with `password` and opens the store: `store_url` if not
 * NULL, else the config's, else the default SQLite store of the CA folder. */
MAYFLY_EXPORT int mayfly_ca_open(const char* config_path, const char* password,
                                 const char* store_url, mayfly_ca_t** out,
                                 mayfly_error_t** err);
/* mayfly_ca_free closes the CA; free every server using it first. */
MAYFLY_EXPORT void mayfly_ca_free(mayfly_ca_t* ca);

/* mayfly_ca_roots returns the root certificates. */
MAYFLY_EXPORT int mayfly_ca_roots(const mayfly_ca_t* ca, mayfly_chain_t** out,
                                  mayfly_error_t** err);
/* mayfly_ca_root_fingerprint: the first root's SHA-256, lowercase hex. */
MAYFLY_EXPORT int mayfly_ca_root_fingerprint(const mayfly_ca_t* ca, char** out,
                                             size_t* out_len,
                                             mayfly_error_t** err);

/* Provisioner claims. Durations of 0 mean "inherit" (the CA's claims, then
 * mayfly's defaults: 5m min, 24h max and default). */
typedef struct mayfly_provisioner_options mayfly_provisioner_options_t;
MAYFLY_EXPORT mayfly_provisioner_options_t* mayfly_provisioner_options_new(
    void);
MAYFLY_EXPORT void mayfly_provisioner_options_free(
    mayfly_provisioner_options_t* opts);
MAYFLY_EXPORT int mayfly_provisioner_options_set_durations(
    mayfly_provisioner_options_t* opts, int64_t min_ms, int64_t default_ms,
    int64_t max_ms);
MAYFLY_EXPORT int mayfly_provisioner_options_set_disable_renewal(
    mayfly_provisioner_options_t* opts, int disable);
MAYFLY_EXPORT int mayfly_provisioner_options_set_allow_renewal_after_expiry(
    mayfly_provisioner_options_t* opts, int allow);
/* PBES2 iterations for the encrypted key (default 600000). */
MAYFLY_EXPORT int mayfly_provisioner_options_set_kdf_iterations(
    mayfly_provisioner_options_t* opts, uint32_t iterations);

/* mayfly_ca_add_provisioner adds a JWK provisioner `name` whose key is
 * `key` (its public half verifies tokens; the private half is stored
 * encrypted with `password`). `opts` may be NULL. ALREADY_EXISTS for a
 * name or kid in use. In memory only: ca.json is not rewritten. */
MAYFLY_EXPORT int mayfly_ca_add_provisioner(
    mayfly_ca_t* ca, const char* name, const mayfly_key_t* key,
    const char* password, const mayfly_provisioner_options_t* opts,
    mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_ca_remove_provisioner(mayfly_ca_t* ca,
                                               const char* name,
                                               mayfly_error_t** err);
/* mayfly_ca_provisioners_json writes {"provisioners":[...]} as step-ca's
 * /provisioners serves it. */
MAYFLY_EXPORT int mayfly_ca_provisioners_json(const mayfly_ca_t* ca, char** out,
                                              size_t* out_len,
                                              mayfly_error_t** err);

/* mayfly_ca_sign issues a certificate for `csr` authorised by the one-time
 * token `token`. not_before / not_after may be NULL or step's forms
 * ("5m", RFC 3339). UNAUTHENTICATED for a bad, expired or used token,
 * PERMISSION_DENIED for names the token does not cover. */
MAYFLY_EXPORT int mayfly_ca_sign(mayfly_ca_t* ca, const mayfly_csr_t* csr,
                                 const char* token, const char* not_before,
                                 const char* not_after, mayfly_chain_t** out,
                                 mayfly_error_t** err);
/* mayfly_ca_renew renews the certificate that leads `peer_chain`, as if it
 * had been presented over mTLS: the caller vouches that the peer holds its
 * key. UNAUTHENTICATED if it or an ancestor is revoked, expired, or not
 * ours. */
MAYFLY_EXPORT int mayfly_ca_renew(mayfly_ca_t* ca,
                                  const mayfly_chain_t* peer_chain,
                                  mayfly_chain_t** out, mayfly_error_t** err);
/* mayfly_ca_renew_with_token renews after expiry with a renew token signed
 * by the certificate's key (x5c header), when the provisioner allows it. */
MAYFLY_EXPORT int mayfly_ca_renew_with_token(mayfly_ca_t* ca, const char* token,
                                             mayfly_chain_t** out,
                                             mayfly_error_t** err);
/* mayfly_ca_rekey renews `peer_chain`'s certificate for the key of `csr`. */
MAYFLY_EXPORT int mayfly_ca_rekey(mayfly_ca_t* ca,
                                  const mayfly_chain_t* peer_chain,
                                  const mayfly_csr_t* csr, mayfly_chain_t** out,
                                  mayfly_error_t** err);
/* mayfly_ca_revoke passively revokes `serial` (decimal) with an RFC 5280
 * reason code (0..10) and text (may be NULL), authorised either by a revoke
 * token (`token`) or by the certificate itself (`peer_chain`, as over
 * mTLS); exactly one of them. */
MAYFLY_EXPORT int mayfly_ca_revoke(mayfly_ca_t* ca, const char* serial,
                                   int reason_code, const char* reason,
                                   const char* token,
                                   const mayfly_chain_t* peer_chain,
                                   mayfly_error_t** err);
/* mayfly_ca_crl signs the current CRL; DER, or PEM when `pem` is nonzero. */
MAYFLY_EXPORT int mayfly_ca_crl(mayfly_ca_t* ca, int pem, uint8_t** out,
                                size_t* out_len, mayfly_error_t** err);

/* ---- Tokens -------------------------------------------------------------
 * mayfly_token_signer_t makes one-time tokens for one JWK provisioner.
 * Thread-safe. */
typedef struct mayfly_token_signer mayfly_token_signer_t;

/* mayfly_token_signer_new signs as provisioner `issuer` (its name) with
 * `key`; `kid` is the provisioner's key id (NULL: the key's thumbprint). */
MAYFLY_EXPORT int mayfly_token_signer_new(const mayfly_key_t* key,
                                          const char* kid, const char* issuer,
                                          mayfly_token_signer_t** out,
                                          mayfly_error_t** err);
/* mayfly_token_signer_from_ca decrypts the key of the CA's provisioner
 * `name` with `password`. UNAUTHENTICATED for a wrong password. */
MAYFLY_EXPORT int mayfly_token_signer_from_ca(const mayfly_ca_t* ca,
                                              const char* name,
                                              const char* password,
                                              mayfly_token_signer_t** out,
                                              mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_token_signer_free(mayfly_token_signer_t* signer);

/* Token purposes. */
#define MAYFLY_TOKEN_SIGN 0
#define MAYFLY_TOKEN_REVOKE 1

typedef struct mayfly_token_options mayfly_token_options_t;
/* Defaults: sign token, 5 minute lifetime, SANs = {subject}. */
MAYFLY_EXPORT mayfly_token_options_t* mayfly_token_options_new(void);
MAYFLY_EXPORT void mayfly_token_options_free(mayfly_token_options_t* opts);
/* Required: the subject (the CN for sign tokens, the decimal serial for
 * revoke tokens) and the CA's URL ("https://ca.internal:9000"), from which
 * the audience is made for the purpose. */
MAYFLY_EXPORT int mayfly_token_options_set_subject(mayfly_token_options_t* opts,
                                                   const char* subject);
MAYFLY_EXPORT int mayfly_token_options_set_ca_url(mayfly_token_options_t* opts,
                                                  const char* ca_url);
MAYFLY_EXPORT int mayfly_token_options_set_purpose(mayfly_token_options_t* opts,
                                                   int purpose);
MAYFLY_EXPORT int mayfly_token_options_add_san(mayfly_token_options_t* opts,
                                               const char* san);
/* The root fingerprint to pin in the `sha` claim (NULL or "" omits it). */
MAYFLY_EXPORT int mayfly_token_options_set_root_fingerprint(
    mayfly_token_options_t* opts, const char* fingerprint);
MAYFLY_EXPORT int mayfly_token_options_set_lifetime(
    mayfly_token_options_t* opts, int64_t lifetime_ms);

/* mayfly_token_sign makes a token (compact JWS). */
MAYFLY_EXPORT int mayfly_token_sign(const mayfly_token_signer_t* signer,
                                    const mayfly_token_options_t* opts,
                                    char** out, size_t* out_len,
                                    mayfly_error_t** err);

/* ---- The CA server (step-ca's HTTPS API, in-process) ------------------- */
typedef struct mayfly_server mayfly_server_t;
typedef struct mayfly_server_options mayfly_server_options_t;

/* Defaults: the CA config's address, workers by core count, text logs to
 * standard error. */
MAYFLY_EXPORT mayfly_server_options_t* mayfly_server_options_new(void);
MAYFLY_EXPORT void mayfly_server_options_free(mayfly_server_options_t* opts);
/* "127.0.0.1:0" picks a free port (see mayfly_server_port). */
MAYFLY_EXPORT int mayfly_server_options_set_address(
    mayfly_server_options_t* opts, const char* address);
MAYFLY_EXPORT int mayfly_server_options_set_worker_threads(
    mayfly_server_options_t* opts, int threads);
/* JSON log lines instead of text when nonzero. */
MAYFLY_EXPORT int mayfly_server_options_set_json_logs(
    mayfly_server_options_t* opts, int json);
/* Each log line (no newline, NUL-terminated, borrowed for the call) goes to
 * `fn` instead of standard error; called from server threads. */
typedef void (*mayfly_log_fn)(void* user_data, const char* line,
                              size_t line_len);
MAYFLY_EXPORT int mayfly_server_options_set_log_callback(
    mayfly_server_options_t* opts, mayfly_log_fn fn, void* user_data,
    void (*destroy)(void* user_data));

/* mayfly_server_start serves `ca` over HTTPS until mayfly_server_stop or
 * mayfly_server_free; the CA must outlive the server. `opts` may be NULL. */
MAYFLY_EXPORT int mayfly_server_start(mayfly_ca_t* ca,
                                      const mayfly_server_options_t* opts,
                                      mayfly_server_t** out,
                                      mayfly_error_t** err);
/* mayfly_server_port returns the bound TCP port, or -1 for NULL. */
MAYFLY_EXPORT int mayfly_server_port(const mayfly_server_t* server);
/* mayfly_server_stop stops accepting, lets requests in flight finish for up
 * to `grace_ms`, then closes. Idempotent. */
MAYFLY_EXPORT void mayfly_server_stop(mayfly_server_t* server,
                                      int64_t grace_ms);
/* mayfly_server_free stops the server (grace 10 s) if needed and frees it. */
MAYFLY_EXPORT void mayfly_server_free(mayfly_server_t* server);

/* ---- The CA client (HTTPS to mayfly-ca or step-ca) ----------------------
 * mayfly_client_t talks to one CA, trusting only its pinned roots.
 * Thread-safe. Failures: UNAVAILABLE (no answer, 5xx), UNAUTHENTICATED or
 * PERMISSION_DENIED (the CA refused: revoked, bad token), INVALID_ARGUMENT
 * (the CA found the request bad), with the CA's message. */
typedef struct mayfly_client mayfly_client_t;

/* mayfly_client_new trusts `roots` for `ca_url`. */
MAYFLY_EXPORT int mayfly_client_new(const char* ca_url,
                                    const mayfly_chain_t* roots,
                                    mayfly_client_t** out,
                                    mayfly_error_t** err);
/* mayfly_client_bootstrap downloads /root/{fingerprint}, checks its SHA-256
 * against `fingerprint` (hex) and pins it. */
MAYFLY_EXPORT int mayfly_client_bootstrap(const char* ca_url,
                                          const char* fingerprint,
                                          mayfly_client_t** out,
                                          mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_client_free(mayfly_client_t* client);

MAYFLY_EXPORT int mayfly_client_health(mayfly_client_t* client,
                                       mayfly_error_t** err);
/* mayfly_client_roots fetches the CA's roots (/roots). */
MAYFLY_EXPORT int mayfly_client_roots(mayfly_client_t* client,
                                      mayfly_chain_t** out,
                                      mayfly_error_t** err);
/* mayfly_client_provisioners_json fetches /provisioners (every page). */
MAYFLY_EXPORT int mayfly_client_provisioners_json(mayfly_client_t* client,
                                                  char** out, size_t* out_len,
                                                  mayfly_error_t** err);
/* mayfly_client_sign makes a CSR for `key` with the token's subject and
 * SANs, and has it signed. */
MAYFLY_EXPORT int mayfly_client_sign(mayfly_client_t* client,
                                     const mayfly_key_t* key, const char* token,
                                     mayfly_chain_t** out,
                                     mayfly_error_t** err);
MAYFLY_EXPORT int mayfly_client_sign_csr(mayfly_client_t* client,
                                         const mayfly_csr_t* csr,
                                         const char* token,
                                         mayfly_chain_t** out,
                                         mayfly_error_t** err);
/* mayfly_client_renew renews over mTLS with `chain` and its `key`. */
MAYFLY_EXPORT int mayfly_client_renew(mayfly_client_t* client,
                                      const mayfly_chain_t* chain,
                                      const mayfly_key_t* key,
                                      mayfly_chain_t** out,
                                      mayfly_error_t** err);
/* mayfly_client_renew_with_token renews an expired certificate with a
 * token signed by its key, when the CA allows renewal after expiry. */
MAYFLY_EXPORT int mayfly_client_renew_with_token(mayfly_client_t* client,
                                                 const mayfly_chain_t* chain,
                                                 const mayfly_key_t* key,
                                                 mayfly_chain_t** out,
                                                 mayfly_error_t** err);
/* mayfly_client_rekey renews over mTLS for `new_key`. */
MAYFLY_EXPORT int mayfly_client_rekey(mayfly_client_t* client,
                                      const mayfly_chain_t* chain,
                                      const mayfly_key_t* key,
                                      const mayfly_key_t* new_key,
                                      mayfly_chain_t** out,
                                      mayfly_error_t** err);
/* mayfly_client_revoke revokes `serial` with a revoke token, or (token
 * NULL) over mTLS with `chain` and `key`. */
MAYFLY_EXPORT int mayfly_client_revoke(mayfly_client_t* client,
                                       const char* serial, int reason_code,
                                       const char* reason, const char* token,
                                       const mayfly_chain_t* chain,
                                       const mayfly_key_t* key,
                                       mayfly_error_t** err);

/* ---- Rotating credentials -----------------------------------------------
 * mayfly_credentials_t holds the newest certificate chain and key; readers
 * always see a matching pair. Thread-safe. */
typedef struct mayfly_credentials mayfly_credentials_t;

MAYFLY_EXPORT int mayfly_credentials_new(mayfly_credentials_t** out,
                                         mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_credentials_free(mayfly_credentials_t* creds);
/* mayfly_credentials_set replaces the pair. INVALID_ARGUMENT if `key` is
 * not the leaf's key. Change callbacks run before it returns. */
MAYFLY_EXPORT int mayfly_credentials_set(mayfly_credentials_t* creds,
                                         const mayfly_chain_t* chain,
                                         const mayfly_key_t* key,
                                         mayfly_error_t** err);
/* mayfly_credentials_current writes the current chain (PEM, leaf first) and
 * key (PKCS#8 PEM) and its generation (1 for the first set, +1 per set);
 * any output may be NULL. FAILED_PRECONDITION before the first set. */
MAYFLY_EXPORT int mayfly_credentials_current(
    const mayfly_credentials_t* creds, char** chain_pem, size_t* chain_pem_len,
    char** key_pem, size_t* key_pem_len, uint64_t* generation,
    mayfly_error_t** err);
/* mayfly_credentials_on_change registers `fn`, called with the new
 * generation after each set, on the setting thread. Several may be set. */
typedef void (*mayfly_change_fn)(void* user_data, uint64_t generation);
MAYFLY_EXPORT int mayfly_credentials_on_change(mayfly_credentials_t* creds,
                                               mayfly_change_fn fn,
                                               void* user_data,
                                               void (*destroy)(void* user_data),
                                               mayfly_error_t** err);

/* ---- The renewal scheduler ----------------------------------------------
 * Renews each certificate at about 2/3 of its lifetime (minus jitter), with
 * backoff while the CA is unavailable, and stops a certificate the CA
 * refuses (revoked). Thread-safe. */
typedef struct mayfly_scheduler mayfly_scheduler_t;
typedef struct mayfly_scheduler_options mayfly_scheduler_options_t;
typedef struct mayfly_event mayfly_event_t;

/* Event types. */
#define MAYFLY_EVENT_RENEWED 0
#define MAYFLY_EVENT_FAILED 1  /* will retry at next_attempt */
#define MAYFLY_EVENT_REVOKED 2 /* refused by the CA; no more attempts */
#define MAYFLY_EVENT_EXPIRED 3 /* expired before it could be renewed */
#define MAYFLY_EVENT_SINK_FAILED 4
/* After REVOKED or EXPIRED the entry is gone: remove, update and entry_info
 * then answer NOT_FOUND. */

/* The event accessors; an event is lent to the callback for its call. */
MAYFLY_EXPORT int mayfly_event_type(const mayfly_event_t* ev);
MAYFLY_EXPORT uint64_t mayfly_event_entry(const mayfly_event_t* ev);
MAYFLY_EXPORT int64_t mayfly_event_time_ms(const mayfly_event_t* ev);
/* The status code and message (MAYFLY_OK and "" for RENEWED). */
MAYFLY_EXPORT int mayfly_event_code(const mayfly_event_t* ev);
MAYFLY_EXPORT const char* mayfly_event_message(const mayfly_event_t* ev);
/* FAILED: failures in a row, and when the next attempt is due. */
MAYFLY_EXPORT int mayfly_event_attempts(const mayfly_event_t* ev);
MAYFLY_EXPORT int64_t mayfly_event_next_attempt_ms(const mayfly_event_t* ev);
/* RENEWED: the new chain (borrowed for the call; NULL otherwise). */
MAYFLY_EXPORT const mayfly_chain_t* mayfly_event_chain(
    const mayfly_event_t* ev);

typedef void (*mayfly_event_fn)(void* user_data, const mayfly_event_t* ev);

MAYFLY_EXPORT mayfly_scheduler_options_t* mayfly_scheduler_options_new(void);
MAYFLY_EXPORT void mayfly_scheduler_options_free(
    mayfly_scheduler_options_t* opts);
/* Renew through `client` over mTLS (renew after expiry with a token, if
 * `after_expiry` is nonzero and the CA allows it) ... */
MAYFLY_EXPORT int mayfly_scheduler_options_set_client(
    mayfly_scheduler_options_t* opts, mayfly_client_t* client,
    int after_expiry);
/* ... or through an in-process CA. One of the two is required; the client
 * or CA must outlive the scheduler. */
MAYFLY_EXPORT int mayfly_scheduler_options_set_ca(
    mayfly_scheduler_options_t* opts, mayfly_ca_t* ca);
MAYFLY_EXPORT int mayfly_scheduler_options_set_event_callback(
    mayfly_scheduler_options_t* opts, mayfly_event_fn fn, void* user_data,
    void (*destroy)(void* user_data));
/* Backoff from `first_ms` (default 1 s) up to `max_ms` (default 5 min). */
MAYFLY_EXPORT int mayfly_scheduler_options_set_retry(
    mayfly_scheduler_options_t* opts, int64_t first_ms, int64_t max_ms);

/* mayfly_scheduler_new makes a scheduler; it renews nothing until
 * mayfly_scheduler_start (its own thread) or mayfly_scheduler_run_due (the
 * host's loop). */
MAYFLY_EXPORT int mayfly_scheduler_new(const mayfly_scheduler_options_t* opts,
                                       mayfly_scheduler_t** out,
                                       mayfly_error_t** err);
/* mayfly_scheduler_free stops the thread (waiting for a renewal under way),
 * then calls every destroy. Not from a scheduler callback. */
MAYFLY_EXPORT void mayfly_scheduler_free(mayfly_scheduler_t* sched);
MAYFLY_EXPORT int mayfly_scheduler_start(mayfly_scheduler_t* sched,
                                         mayfly_error_t** err);
MAYFLY_EXPORT void mayfly_scheduler_stop(mayfly_scheduler_t* sched);
/* Host-loop mode: when the next entry is due (INT64_MAX if none), and run
 * every entry due at `now_ms`, returning how many ran. */
MAYFLY_EXPORT int64_t
mayfly_scheduler_next_deadline_ms(const mayfly_scheduler_t* sched);
MAYFLY_EXPORT size_t mayfly_scheduler_run_due(mayfly_scheduler_t* sched,
                                              int64_t now_ms);
MAYFLY_EXPORT size_t mayfly_scheduler_size(const mayfly_scheduler_t* sched);

/* Where an entry's renewed credentials go: any combination. */
typedef struct mayfly_entry_options mayfly_entry_options_t;
MAYFLY_EXPORT mayfly_entry_options_t* mayfly_entry_options_new(void);
MAYFLY_EXPORT void mayfly_entry_options_free(mayfly_entry_options_t* opts);
/* Into rotating credentials (set at once with the current pair too). */
MAYFLY_EXPORT int mayfly_entry_options_add_credentials(
    mayfly_entry_options_t* opts, mayfly_credentials_t* creds);
/* Atomically replaced files (temp, fsync, rename): the chain (0644) and
 * the key (0600), both required, never out of step with each other. */
MAYFLY_EXPORT int mayfly_entry_options_add_files(mayfly_entry_options_t* opts,
                                                 const char* cert_path,
                                                 const char* key_path);
/* A command run after each renewal (argv[0] looked up in PATH). */
MAYFLY_EXPORT int mayfly_entry_options_add_exec(mayfly_entry_options_t* opts,
                                                const char* const* argv,
                                                size_t argc);
/* A signal sent to `pid` after each renewal. */
MAYFLY_EXPORT int mayfly_entry_options_add_signal(mayfly_entry_options_t* opts,
                                                  int pid, int signal);
/* A host function given the new chain and key as PEM (borrowed for the
 * call); a nonzero return reports MAYFLY_EVENT_SINK_FAILED. */
typedef int (*mayfly_deliver_fn)(void* user_data, const char* chain_pem,
                                 size_t chain_pem_len, const char* key_pem,
                                 size_t key_pem_len);
MAYFLY_EXPORT int mayfly_entry_options_add_callback(
    mayfly_entry_options_t* opts, mayfly_deliver_fn fn, void* user_data,
    void (*destroy)(void* user_data));

/* mayfly_scheduler_add manages `chain` (leaf first) and its `key`; `opts`
 * may be NULL. *out_id identifies the entry in events. */
MAYFLY_EXPORT int mayfly_scheduler_add(mayfly_scheduler_t* sched,
                                       const mayfly_chain_t* chain,
                                       const mayfly_key_t* key,
                                       const mayfly_entry_options_t* opts,
                                       uint64_t* out_id, mayfly_error_t** err);
/* NOT_FOUND for an unknown id. */
MAYFLY_EXPORT int mayfly_scheduler_remove(mayfly_scheduler_t* sched,
                                          uint64_t id, mayfly_error_t** err);
/* mayfly_scheduler_update replaces an entry's pair (renewed elsewhere). */
MAYFLY_EXPORT int mayfly_scheduler_update(mayfly_scheduler_t* sched,
                                          uint64_t id,
                                          const mayfly_chain_t* chain,
                                          const mayfly_key_t* key,
                                          mayfly_error_t** err);
/* mayfly_scheduler_entry_info writes an entry's current chain, next attempt
 * and failures in a row; any output may be NULL. */
MAYFLY_EXPORT int mayfly_scheduler_entry_info(
    const mayfly_scheduler_t* sched, uint64_t id, mayfly_chain_t** chain,
    int64_t* next_attempt_ms, int* attempts, mayfly_error_t** err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MAYFLY_C_H_ */
