/* The client side of the C ABI from C99: the CA client, rotating
 * credentials, the renewal scheduler with its events and sinks, against a CA
 * served in-process on 127.0.0.1. Every function is called on its success
 * and its error paths; run plainly and under valgrind's memcheck (CTest
 * capi.client, capi.client_valgrind), which must find no error and no leak,
 * including while the scheduler's thread delivers into objects the host is
 * freeing. */

#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capi_test_util.h"
#include "mayfly/c.h"

/* A refusal by the CA: revoked, bad token. */
static int is_refusal(int code) {
  return code == MAYFLY_UNAUTHENTICATED || code == MAYFLY_PERMISSION_DENIED;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int file_exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static size_t count(const char* haystack, const char* needle) {
  size_t n = 0;
  const char* p = haystack;
  while ((p = strstr(p, needle)) != NULL) {
    ++n;
    p += strlen(needle);
  }
  return n;
}

/* ---- The CA, served on 127.0.0.1 -------------------------------------- */

static char g_url[64];
static char g_fingerprint[80];
static mayfly_ca_t* g_ca;
static mayfly_server_t* g_server;
static mayfly_token_signer_t* g_signer;       /* "admin": 24 h certificates */
static mayfly_token_signer_t* g_short_signer; /* "short": 5 s certificates */
static mayfly_chain_t* g_roots;

/* Tracker counts a callback's calls and its destroy. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls;
  int destroyed;
  int result; /* what a deliver callback returns */
  uint64_t last_generation;
  size_t last_chain_certs;
  int last_key_ok;
} tracker;

static void tracker_init(tracker* t) {
  memset(t, 0, sizeof(*t));
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
}

static void tracker_destroy(tracker* t) {
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
}

static void on_destroy(void* user_data) {
  tracker* t = (tracker*)user_data;
  pthread_mutex_lock(&t->mu);
  ++t->destroyed;
  pthread_mutex_unlock(&t->mu);
}

static int destroyed(tracker* t) {
  int n;
  pthread_mutex_lock(&t->mu);
  n = t->destroyed;
  pthread_mutex_unlock(&t->mu);
  return n;
}

static int calls(tracker* t) {
  int n;
  pthread_mutex_lock(&t->mu);
  n = t->calls;
  pthread_mutex_unlock(&t->mu);
  return n;
}

static void discard_log(void* user_data, const char* line, size_t line_len) {
  tracker* t = (tracker*)user_data;
  (void)line;
  (void)line_len;
  pthread_mutex_lock(&t->mu);
  ++t->calls;
  pthread_mutex_unlock(&t->mu);
}

static tracker g_log;

static char* make_token(mayfly_token_signer_t* signer, const char* subject,
                        int purpose) {
  mayfly_token_options_t* opts = mayfly_token_options_new();
  char* token = NULL;
  if (opts == NULL) {
    exit(1);
  }
  OK(mayfly_token_options_set_subject(opts, subject));
  OK(mayfly_token_options_set_ca_url(opts, g_url));
  OK(mayfly_token_options_set_purpose(opts, purpose));
  OK(mayfly_token_sign(signer, opts, &token, NULL, &e));
  mayfly_token_options_free(opts);
  return token;
}

/* A sign token as "admin" would make it, but signed by another key. */
static char* make_forged_token(const char* subject) {
  mayfly_key_t* key = NULL;
  mayfly_token_signer_t* signer = NULL;
  char* token;
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  OK(mayfly_token_signer_new(key, NULL, "admin", &signer, &e));
  token = make_token(signer, subject, MAYFLY_TOKEN_SIGN);
  mayfly_token_signer_free(signer);
  mayfly_key_free(key);
  return token;
}

static void setup_ca(void) {
  mayfly_init_options_t* init = mayfly_init_options_new();
  mayfly_init_result_t* result = NULL;
  mayfly_server_options_t* server_opts = mayfly_server_options_new();
  mayfly_provisioner_options_t* prov = mayfly_provisioner_options_new();
  mayfly_key_t* prov_key = NULL;
  char config[512];

  if (!make_dir("mayfly-capi-client") || init == NULL || server_opts == NULL ||
      prov == NULL) {
    perror("setup");
    exit(1);
  }
  OK(mayfly_init_options_set_dir(init, g_dir));
  OK(mayfly_init_options_set_name(init, "Client Test"));
  OK(mayfly_init_options_add_dns_name(init, "localhost"));
  OK(mayfly_init_options_add_dns_name(init, "127.0.0.1"));
  OK(mayfly_init_options_set_password(init, "ca-password"));
  OK(mayfly_init_options_set_kdf_iterations(init, 1000));
  OK(mayfly_init_options_set_store(init, "memory:"));
  OK(mayfly_pki_init(init, &result, &e));
  snprintf(config, sizeof(config), "%s",
           mayfly_init_result_config_path(result));
  snprintf(g_fingerprint, sizeof(g_fingerprint), "%s",
           mayfly_init_result_root_fingerprint(result));
  mayfly_init_result_free(result);
  mayfly_init_options_free(init);

  OK(mayfly_ca_open(config, "ca-password", "memory:", &g_ca, &e));
  OK(mayfly_ca_roots(g_ca, &g_roots, &e));

  /* "short" issues 5 s certificates (65 s with the 1 minute backdate), so
   * that the scheduler's thread renews them within the test. */
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &prov_key, &e));
  OK(mayfly_provisioner_options_set_durations(prov, 1000, 5000, 3600000));
  OK(mayfly_provisioner_options_set_kdf_iterations(prov, 1000));
  OK(mayfly_ca_add_provisioner(g_ca, "short", prov_key, "short-password", prov,
                               &e));
  mayfly_provisioner_options_free(prov);
  mayfly_key_free(prov_key);

  tracker_init(&g_log);
  OK(mayfly_server_options_set_address(server_opts, "127.0.0.1:0"));
  OK(mayfly_server_options_set_worker_threads(server_opts, 2));
  OK(mayfly_server_options_set_log_callback(server_opts, discard_log, &g_log,
                                            on_destroy));
  OK(mayfly_server_start(g_ca, server_opts, &g_server, &e));
  mayfly_server_options_free(server_opts);
  snprintf(g_url, sizeof(g_url), "https://127.0.0.1:%d",
           mayfly_server_port(g_server));

  OK(mayfly_token_signer_from_ca(g_ca, "admin", "ca-password", &g_signer, &e));
  OK(mayfly_token_signer_from_ca(g_ca, "short", "short-password",
                                 &g_short_signer, &e));
}

static void teardown_ca(void) {
  mayfly_token_signer_free(g_signer);
  mayfly_token_signer_free(g_short_signer);
  mayfly_chain_free(g_roots);
  mayfly_server_free(g_server);
  mayfly_ca_free(g_ca);
  CHECK(destroyed(&g_log) == 1);
  tracker_destroy(&g_log);
  remove_dir();
}

/* Issue signs a certificate for `name` through `client`. */
static void issue(mayfly_client_t* client, mayfly_token_signer_t* signer,
                  const char* name, mayfly_key_t** key,
                  mayfly_chain_t** chain) {
  char* token = make_token(signer, name, MAYFLY_TOKEN_SIGN);
  OK(mayfly_key_generate(MAYFLY_KEY_P256, key, &e));
  OK(mayfly_client_sign(client, *key, token, chain, &e));
  mayfly_free(token);
}

static char* serial_of(const mayfly_chain_t* chain) {
  char* serial = NULL;
  OK(mayfly_cert_serial(mayfly_chain_get(chain, 0), &serial, NULL, &e));
  return serial;
}

static int same_leaf(const mayfly_chain_t* a, const mayfly_chain_t* b) {
  char* sa = serial_of(a);
  char* sb = serial_of(b);
  int same = strcmp(sa, sb) == 0;
  mayfly_free(sa);
  mayfly_free(sb);
  return same;
}

static int common_name_is(const mayfly_chain_t* chain, const char* want) {
  char* cn = NULL;
  int ok;
  OK(mayfly_cert_common_name(mayfly_chain_get(chain, 0), &cn, NULL, &e));
  ok = strcmp(cn, want) == 0;
  mayfly_free(cn);
  return ok;
}

/* ---- The CA client ----------------------------------------------------- */

static mayfly_client_t* test_client_setup(void) {
  mayfly_client_t* client = SENTINEL;
  mayfly_client_t* boot = NULL;
  char wrong[80];

  FAILS(MAYFLY_INVALID_ARGUMENT, "ca_url",
        mayfly_client_new(NULL, g_roots, &client, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "roots",
        mayfly_client_new(g_url, NULL, &client, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_new(g_url, g_roots, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_client_new("http://127.0.0.1:1", g_roots, &client, &e));
  CHECK(client == SENTINEL);
  /* Without an error object the code still says what went wrong. */
  CHECK(mayfly_client_new(NULL, g_roots, &client, NULL) ==
        MAYFLY_INVALID_ARGUMENT);

  /* Bootstrap: the right fingerprint pins the root; a wrong one is refused
   * before anything is trusted; a malformed one before anything is sent. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "fingerprint",
        mayfly_client_bootstrap(g_url, NULL, &client, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "ca_url",
        mayfly_client_bootstrap(NULL, g_fingerprint, &client, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_bootstrap(g_url, g_fingerprint, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_client_bootstrap(g_url, "abc", &client, &e));
  snprintf(wrong, sizeof(wrong), "%s", g_fingerprint);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  FAILS(MAYFLY_FAILED_PRECONDITION, NULL,
        mayfly_client_bootstrap(g_url, wrong, &client, &e));
  CHECK(client == SENTINEL);
  OK(mayfly_client_bootstrap(g_url, g_fingerprint, &boot, &e));
  OK(mayfly_client_health(boot, &e));
  mayfly_client_free(boot);

  OK(mayfly_client_new(g_url, g_roots, &client, &e));
  return client;
}

static void test_client_queries(mayfly_client_t* client) {
  mayfly_chain_t* roots = SENTINEL;
  char* json = SENTINEL;
  size_t json_len = 0;
  char* fingerprint = NULL;

  OK(mayfly_client_health(client, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "client", mayfly_client_health(NULL, &e));

  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_roots(NULL, &roots, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_client_roots(client, NULL, &e));
  CHECK(roots == SENTINEL);
  OK(mayfly_client_roots(client, &roots, &e));
  CHECK(mayfly_chain_size(roots) == 1);
  OK(mayfly_cert_fingerprint(mayfly_chain_get(roots, 0), &fingerprint, NULL,
                             &e));
  CHECK(strcmp(fingerprint, g_fingerprint) == 0);
  mayfly_free(fingerprint);
  mayfly_chain_free(roots);

  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_provisioners_json(NULL, &json, &json_len, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_provisioners_json(client, NULL, &json_len, &e));
  CHECK(json == SENTINEL);
  OK(mayfly_client_provisioners_json(client, &json, &json_len, &e));
  CHECK(json_len == strlen(json));
  CHECK(strncmp(json, "{\"provisioners\":[", 17) == 0);
  CHECK(strstr(json, "\"admin\"") != NULL);
  CHECK(strstr(json, "\"short\"") != NULL);
  CHECK(strstr(json, "\"JWK\"") != NULL);
  mayfly_free(json);
  json = NULL;
  OK(mayfly_client_provisioners_json(client, &json, NULL, &e));
  mayfly_free(json);
}

static void test_client_sign(mayfly_client_t* client) {
  mayfly_key_t* key = NULL;
  mayfly_csr_t* csr = NULL;
  mayfly_chain_t* chain = SENTINEL;
  char* token = make_token(g_signer, "sign.test", MAYFLY_TOKEN_SIGN);
  char* forged = make_forged_token("sign.test");
  const char* sans[] = {"csr.test"};

  OK(mayfly_key_generate(MAYFLY_KEY_P256, &key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_sign(NULL, key, token, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_client_sign(client, NULL, token, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "token",
        mayfly_client_sign(client, key, NULL, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_sign(client, key, token, NULL, &e));
  /* A token that is not one is refused before anything is sent (the
   * client reads the subject from it); one signed by a key the CA does not
   * know, by the CA. */
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_client_sign(client, key, "not.a.token", &chain, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_client_sign(client, key, forged, &chain, &e));
  CHECK(chain == SENTINEL);

  OK(mayfly_client_sign(client, key, token, &chain, &e));
  CHECK(mayfly_chain_size(chain) == 2);
  CHECK(common_name_is(chain, "sign.test"));
  mayfly_chain_free(chain);
  /* The token was used. */
  chain = SENTINEL;
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_client_sign(client, key, token, &chain, &e));
  CHECK(chain == SENTINEL);
  mayfly_free(token);

  /* From a CSR. */
  token = make_token(g_signer, "csr.test", MAYFLY_TOKEN_SIGN);
  OK(mayfly_csr_new(key, "csr.test", sans, 1, &csr, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_sign_csr(NULL, csr, token, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "csr",
        mayfly_client_sign_csr(client, NULL, token, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "token",
        mayfly_client_sign_csr(client, csr, NULL, &chain, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_sign_csr(client, csr, token, NULL, &e));
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_client_sign_csr(client, csr, forged, &chain, &e));
  CHECK(chain == SENTINEL);
  OK(mayfly_client_sign_csr(client, csr, token, &chain, &e));
  CHECK(common_name_is(chain, "csr.test"));
  mayfly_chain_free(chain);
  chain = SENTINEL;
  FAILS(MAYFLY_UNAUTHENTICATED, NULL,
        mayfly_client_sign_csr(client, csr, token, &chain, &e));
  CHECK(chain == SENTINEL);
  mayfly_free(token);
  mayfly_free(forged);
  mayfly_csr_free(csr);
  mayfly_key_free(key);
}

/* The rekeyed certificate must be for `key`: rotating credentials refuse a
 * key that is not the leaf's. */
static int chain_matches_key(const mayfly_chain_t* chain,
                             const mayfly_key_t* key) {
  mayfly_credentials_t* creds = NULL;
  int rc;
  OK(mayfly_credentials_new(&creds, &e));
  rc = mayfly_credentials_set(creds, chain, key, NULL);
  mayfly_credentials_free(creds);
  return rc == MAYFLY_OK;
}

static void test_client_renew_revoke(mayfly_client_t* client) {
  mayfly_key_t* key = NULL;
  mayfly_key_t* new_key = NULL;
  mayfly_chain_t* chain = NULL;
  mayfly_chain_t* renewed = NULL;
  mayfly_chain_t* by_token = NULL;
  mayfly_chain_t* rekeyed = NULL;
  mayfly_chain_t* out = SENTINEL;
  mayfly_key_t* other_key = NULL;
  mayfly_chain_t* other = NULL;
  char* serial = NULL;
  char* token = NULL;
  mayfly_error_t* err = NULL;
  int rc;

  issue(client, g_signer, "renew.test", &key, &chain);

  /* Renew over mTLS. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_renew(NULL, chain, key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_client_renew(client, NULL, key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_client_renew(client, chain, NULL, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_renew(client, chain, key, NULL, &e));
  CHECK(out == SENTINEL);
  OK(mayfly_client_renew(client, chain, key, &renewed, &e));
  CHECK(mayfly_chain_size(renewed) == 2);
  CHECK(common_name_is(renewed, "renew.test"));
  CHECK(!same_leaf(chain, renewed));
  CHECK(chain_matches_key(renewed, key));

  /* Renew with a renew token signed by the key. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_renew_with_token(NULL, chain, key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_client_renew_with_token(client, NULL, key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_client_renew_with_token(client, chain, NULL, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_renew_with_token(client, chain, key, NULL, &e));
  CHECK(out == SENTINEL);
  OK(mayfly_client_renew_with_token(client, renewed, key, &by_token, &e));
  CHECK(common_name_is(by_token, "renew.test"));
  CHECK(!same_leaf(renewed, by_token));

  /* Rekey: the new certificate is for the new key. */
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &new_key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_rekey(NULL, chain, key, new_key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_client_rekey(client, NULL, key, new_key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_client_rekey(client, chain, NULL, new_key, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "new_key",
        mayfly_client_rekey(client, chain, key, NULL, &out, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out",
        mayfly_client_rekey(client, chain, key, new_key, NULL, &e));
  CHECK(out == SENTINEL);
  OK(mayfly_client_rekey(client, by_token, key, new_key, &rekeyed, &e));
  CHECK(common_name_is(rekeyed, "renew.test"));
  CHECK(chain_matches_key(rekeyed, new_key));
  CHECK(!chain_matches_key(rekeyed, key));

  /* Revoke over mTLS (serial NULL: the leaf's), then renewal is refused. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_client_revoke(NULL, NULL, 0, NULL, NULL, rekeyed, new_key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_client_revoke(client, NULL, 0, NULL, NULL, NULL, new_key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_client_revoke(client, NULL, 0, NULL, NULL, rekeyed, NULL, &e));
  FAILS(
      MAYFLY_INVALID_ARGUMENT, NULL,
      mayfly_client_revoke(client, NULL, 11, NULL, NULL, rekeyed, new_key, &e));
  OK(mayfly_client_revoke(client, NULL, 1, "key compromise", NULL, rekeyed,
                          new_key, &e));
  rc = mayfly_client_renew(client, rekeyed, new_key, &out, &err);
  CHECK(is_refusal(rc));
  CHECK(err != NULL && mayfly_error_code(err) == rc);
  mayfly_error_free(err);
  err = NULL;
  CHECK(out == SENTINEL);

  /* Revoke with a revoke token for another certificate. */
  issue(client, g_signer, "revoke.test", &other_key, &other);
  serial = serial_of(other);
  token = make_token(g_signer, serial, MAYFLY_TOKEN_REVOKE);
  FAILS(MAYFLY_INVALID_ARGUMENT, "serial",
        mayfly_client_revoke(client, NULL, 0, NULL, token, NULL, NULL, &e));
  /* Both authorisations at once. */
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_client_revoke(client, serial, 0, NULL, token, other, other_key,
                             &e));
  /* A token that is not one. */
  rc = mayfly_client_revoke(client, serial, 0, NULL, "a.b.c", NULL, NULL, &err);
  CHECK(is_refusal(rc));
  mayfly_error_free(err);
  err = NULL;
  OK(mayfly_client_revoke(client, serial, 0, NULL, token, NULL, NULL, &e));
  rc = mayfly_client_renew(client, other, other_key, &out, &err);
  CHECK(is_refusal(rc));
  CHECK(err != NULL);
  mayfly_error_free(err);
  CHECK(out == SENTINEL);

  mayfly_free(token);
  mayfly_free(serial);
  mayfly_chain_free(other);
  mayfly_key_free(other_key);
  mayfly_chain_free(rekeyed);
  mayfly_chain_free(by_token);
  mayfly_chain_free(renewed);
  mayfly_chain_free(chain);
  mayfly_key_free(new_key);
  mayfly_key_free(key);
}

/* ---- Rotating credentials ---------------------------------------------- */

static void on_change(void* user_data, uint64_t generation) {
  tracker* t = (tracker*)user_data;
  pthread_mutex_lock(&t->mu);
  ++t->calls;
  t->last_generation = generation;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

static uint64_t generation_of(const mayfly_credentials_t* creds) {
  uint64_t generation = 0;
  OK(mayfly_credentials_current(creds, NULL, NULL, NULL, NULL, &generation,
                                &e));
  return generation;
}

static void test_credentials(mayfly_client_t* client) {
  mayfly_credentials_t* creds = SENTINEL;
  mayfly_key_t* key = NULL;
  mayfly_key_t* other_key = NULL;
  mayfly_chain_t* chain = NULL;
  char* chain_pem = SENTINEL;
  char* key_pem = SENTINEL;
  size_t chain_len = 0;
  size_t key_len = 0;
  uint64_t generation = 77;
  tracker changes;
  tracker refused;
  tracker refused2;

  tracker_init(&changes);
  tracker_init(&refused);
  tracker_init(&refused2);

  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_credentials_new(NULL, &e));
  OK(mayfly_credentials_new(&creds, &e));

  FAILS(
      MAYFLY_INVALID_ARGUMENT, "creds",
      mayfly_credentials_current(NULL, &chain_pem, NULL, NULL, NULL, NULL, &e));
  FAILS(MAYFLY_FAILED_PRECONDITION, NULL,
        mayfly_credentials_current(creds, &chain_pem, &chain_len, &key_pem,
                                   &key_len, &generation, &e));
  CHECK(chain_pem == SENTINEL && key_pem == SENTINEL && generation == 77);

  /* A registration that fails destroys the user data at once. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "fn",
        mayfly_credentials_on_change(creds, NULL, &refused, on_destroy, &e));
  CHECK(destroyed(&refused) == 1);
  FAILS(
      MAYFLY_INVALID_ARGUMENT, "creds",
      mayfly_credentials_on_change(NULL, on_change, &refused2, on_destroy, &e));
  CHECK(destroyed(&refused2) == 1);
  OK(mayfly_credentials_on_change(creds, on_change, &changes, on_destroy, &e));
  /* destroy may be NULL. */
  OK(mayfly_credentials_on_change(creds, on_change, &refused2, NULL, &e));

  issue(client, g_signer, "creds.test", &key, &chain);
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &other_key, &e));

  FAILS(MAYFLY_INVALID_ARGUMENT, "creds",
        mayfly_credentials_set(NULL, chain, key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_credentials_set(creds, NULL, key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_credentials_set(creds, chain, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_credentials_set(creds, chain, other_key, &e));
  CHECK(calls(&changes) == 0);

  OK(mayfly_credentials_set(creds, chain, key, &e));
  /* The callbacks ran before set returned, with the new generation. */
  CHECK(calls(&changes) == 1);
  CHECK(changes.last_generation == 1);
  CHECK(calls(&refused2) == 1);

  OK(mayfly_credentials_current(creds, &chain_pem, &chain_len, &key_pem,
                                &key_len, &generation, &e));
  CHECK(generation == 1);
  CHECK(chain_len == strlen(chain_pem));
  CHECK(count(chain_pem, "-----BEGIN CERTIFICATE-----") == 2);
  CHECK(key_len == strlen(key_pem));
  CHECK(strstr(key_pem, "-----BEGIN PRIVATE KEY-----") != NULL);
  mayfly_free(chain_pem);
  mayfly_free(key_pem);
  /* Any output may be NULL. */
  OK(mayfly_credentials_current(creds, NULL, NULL, NULL, NULL, NULL, &e));
  chain_pem = NULL;
  OK(mayfly_credentials_current(creds, &chain_pem, NULL, NULL, NULL, NULL, &e));
  CHECK(chain_pem != NULL);
  mayfly_free(chain_pem);

  /* A key that is not the leaf's is refused and changes nothing. */
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_credentials_set(creds, chain, other_key, &e));
  CHECK(generation_of(creds) == 1);
  CHECK(calls(&changes) == 1);

  OK(mayfly_credentials_set(creds, chain, key, &e));
  CHECK(generation_of(creds) == 2);
  CHECK(calls(&changes) == 2 && changes.last_generation == 2);

  CHECK(destroyed(&changes) == 0);
  mayfly_credentials_free(creds);
  CHECK(destroyed(&changes) == 1);
  CHECK(destroyed(&refused2) == 1); /* from the failed registration only */

  mayfly_chain_free(chain);
  mayfly_key_free(key);
  mayfly_key_free(other_key);
  tracker_destroy(&changes);
  tracker_destroy(&refused);
  tracker_destroy(&refused2);
}

/* ---- Scheduler events --------------------------------------------------- */

#define MAX_EVENTS 64

typedef struct {
  int type;
  uint64_t entry;
  int64_t time_ms;
  int code;
  char message[256];
  int attempts;
  int64_t next_attempt_ms;
  size_t chain_size;
  int chain_stable; /* mayfly_event_chain lends the same chain twice */
  int chain_common_name_ok;
} event_record;

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  event_record events[MAX_EVENTS];
  int n;
  int by_type[5];
  int destroyed;
  /* Thread test: the callback stops its scheduler after this many
   * renewals (0: never), and frees `creds_to_free` after the first. */
  int stop_after;
  mayfly_scheduler_t* sched;
  mayfly_credentials_t* creds_to_free;
  int stopped; /* the callback has stopped the scheduler */
} event_log;

static void event_log_init(event_log* log) {
  memset(log, 0, sizeof(*log));
  pthread_mutex_init(&log->mu, NULL);
  pthread_cond_init(&log->cv, NULL);
}

static void event_log_destroy(event_log* log) {
  pthread_mutex_destroy(&log->mu);
  pthread_cond_destroy(&log->cv);
}

static void event_log_on_destroy(void* user_data) {
  event_log* log = (event_log*)user_data;
  pthread_mutex_lock(&log->mu);
  ++log->destroyed;
  pthread_mutex_unlock(&log->mu);
}

static void on_event(void* user_data, const mayfly_event_t* ev) {
  event_log* log = (event_log*)user_data;
  event_record r;
  const mayfly_chain_t* chain = mayfly_event_chain(ev);
  int stop = 0;
  mayfly_credentials_t* to_free = NULL;

  memset(&r, 0, sizeof(r));
  r.type = mayfly_event_type(ev);
  r.entry = mayfly_event_entry(ev);
  r.time_ms = mayfly_event_time_ms(ev);
  r.code = mayfly_event_code(ev);
  snprintf(r.message, sizeof(r.message), "%s", mayfly_event_message(ev));
  r.attempts = mayfly_event_attempts(ev);
  r.next_attempt_ms = mayfly_event_next_attempt_ms(ev);
  r.chain_size = mayfly_chain_size(chain);
  r.chain_stable = mayfly_event_chain(ev) == chain;
  if (chain != NULL) {
    char* cn = NULL;
    if (mayfly_cert_common_name(mayfly_chain_get(chain, 0), &cn, NULL, NULL) ==
        MAYFLY_OK) {
      r.chain_common_name_ok = cn[0] != '\0';
      mayfly_free(cn);
    }
  }

  pthread_mutex_lock(&log->mu);
  if (log->n < MAX_EVENTS) {
    log->events[log->n] = r;
  }
  ++log->n;
  if (r.type >= 0 && r.type < 5) {
    ++log->by_type[r.type];
  }
  if (r.type == MAYFLY_EVENT_RENEWED) {
    if (log->creds_to_free != NULL) {
      to_free = log->creds_to_free;
      log->creds_to_free = NULL;
    }
    if (log->stop_after > 0 &&
        log->by_type[MAYFLY_EVENT_RENEWED] == log->stop_after) {
      stop = 1;
    }
  }
  pthread_cond_broadcast(&log->cv);
  pthread_mutex_unlock(&log->mu);

  /* Callbacks may call back into mayfly: free another object, stop the
   * scheduler that runs them. */
  mayfly_credentials_free(to_free);
  if (stop) {
    mayfly_scheduler_stop(log->sched);
    pthread_mutex_lock(&log->mu);
    log->stopped = 1;
    pthread_cond_broadcast(&log->cv);
    pthread_mutex_unlock(&log->mu);
  }
}

static int events_of(event_log* log, int type) {
  int n;
  pthread_mutex_lock(&log->mu);
  n = log->by_type[type];
  pthread_mutex_unlock(&log->mu);
  return n;
}

/* Waits until `log` has `want` events of `type`, for at most `seconds`. */
static int wait_events(event_log* log, int type, int want, int seconds) {
  struct timespec deadline;
  int ok;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  pthread_mutex_lock(&log->mu);
  while (log->by_type[type] < want) {
    if (pthread_cond_timedwait(&log->cv, &log->mu, &deadline) == ETIMEDOUT) {
      break;
    }
  }
  ok = log->by_type[type] >= want;
  pthread_mutex_unlock(&log->mu);
  return ok;
}

/* Waits until the event callback has stopped its scheduler. */
static int wait_stopped(event_log* log, int seconds) {
  struct timespec deadline;
  int ok;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  pthread_mutex_lock(&log->mu);
  while (!log->stopped) {
    if (pthread_cond_timedwait(&log->cv, &log->mu, &deadline) == ETIMEDOUT) {
      break;
    }
  }
  ok = log->stopped;
  pthread_mutex_unlock(&log->mu);
  return ok;
}

/* The last event recorded. */
static event_record last_event(event_log* log) {
  event_record r;
  pthread_mutex_lock(&log->mu);
  r = log->events[(log->n < MAX_EVENTS ? log->n : MAX_EVENTS) - 1];
  pthread_mutex_unlock(&log->mu);
  return r;
}

static void test_event_null(void) {
  CHECK(mayfly_event_type(NULL) == -1);
  CHECK(mayfly_event_entry(NULL) == 0);
  CHECK(mayfly_event_time_ms(NULL) == 0);
  CHECK(mayfly_event_code(NULL) == MAYFLY_INVALID_ARGUMENT);
  CHECK(strcmp(mayfly_event_message(NULL), "") == 0);
  CHECK(mayfly_event_attempts(NULL) == 0);
  CHECK(mayfly_event_next_attempt_ms(NULL) == INT64_MAX);
  CHECK(mayfly_event_chain(NULL) == NULL);
}

/* ---- Sinks' witnesses ---------------------------------------------------- */

static volatile sig_atomic_t g_signals = 0;

static void on_signal(int sig) {
  (void)sig;
  ++g_signals;
}

static int on_deliver(void* user_data, const char* chain_pem,
                      size_t chain_pem_len, const char* key_pem,
                      size_t key_pem_len) {
  tracker* t = (tracker*)user_data;
  int result;
  pthread_mutex_lock(&t->mu);
  ++t->calls;
  t->last_chain_certs = count(chain_pem, "-----BEGIN CERTIFICATE-----");
  t->last_key_ok = strlen(chain_pem) == chain_pem_len &&
                   strlen(key_pem) == key_pem_len &&
                   strstr(key_pem, "PRIVATE KEY") != NULL;
  result = t->result;
  pthread_mutex_unlock(&t->mu);
  return result;
}

/* Waits for the sinks' signal to arrive: kill() to this process may be
 * delivered after it returns (under valgrind, at its next check). */
static int wait_signals(int want) {
  int i;
  struct timespec pause = {0, 10 * 1000 * 1000};
  for (i = 0; i < 1000 && g_signals < want; ++i) {
    nanosleep(&pause, NULL);
  }
  return g_signals >= want;
}

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  char* buf;
  long n;
  if (f == NULL) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return NULL;
  }
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* ---- Scheduler options and entry options ------------------------------ */

static void test_scheduler_options(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_entry_options_t* entry = mayfly_entry_options_new();
  mayfly_scheduler_t* sched = SENTINEL;
  tracker refused;
  tracker replaced;
  tracker deliver;
  event_log log;
  const char* argv_empty[1] = {NULL};
  const char* argv_null[2] = {"true", NULL};
  char same[256];

  tracker_init(&refused);
  tracker_init(&replaced);
  tracker_init(&deliver);
  event_log_init(&log);
  CHECK(opts != NULL && entry != NULL);

  CHECK(mayfly_scheduler_options_set_client(NULL, client, 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_client(opts, NULL, 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_ca(NULL, g_ca) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_ca(opts, NULL) == MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_retry(NULL, 1, 2) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_retry(opts, 0, 2) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_retry(opts, 5, 2) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_retry(opts, 5, -1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_scheduler_options_set_retry(opts, 100, 1000) == MAYFLY_OK);
  /* A failed registration destroys the user data at once. */
  CHECK(mayfly_scheduler_options_set_event_callback(
            opts, NULL, &refused, on_destroy) == MAYFLY_INVALID_ARGUMENT);
  CHECK(destroyed(&refused) == 1);
  CHECK(mayfly_scheduler_options_set_event_callback(
            NULL, on_event, &refused, on_destroy) == MAYFLY_INVALID_ARGUMENT);
  CHECK(destroyed(&refused) == 2);
  /* A callback replaced by another is released. */
  CHECK(mayfly_scheduler_options_set_event_callback(opts, on_event, &replaced,
                                                    on_destroy) == MAYFLY_OK);
  CHECK(mayfly_scheduler_options_set_event_callback(
            opts, on_event, &log, event_log_on_destroy) == MAYFLY_OK);
  CHECK(destroyed(&replaced) == 1);

  /* Without a client or a CA there is nothing to renew with. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "client",
        mayfly_scheduler_new(opts, &sched, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "opts",
        mayfly_scheduler_new(NULL, &sched, &e));
  CHECK(sched == SENTINEL);
  CHECK(mayfly_scheduler_options_set_client(opts, client, 1) == MAYFLY_OK);
  FAILS(MAYFLY_INVALID_ARGUMENT, "out", mayfly_scheduler_new(opts, NULL, &e));
  CHECK(sched == SENTINEL);
  OK(mayfly_scheduler_new(opts, &sched, &e));
  /* The scheduler holds the callback: freeing the options keeps it. */
  mayfly_scheduler_options_free(opts);
  CHECK(log.destroyed == 0);

  /* An empty scheduler. */
  CHECK(mayfly_scheduler_size(sched) == 0);
  CHECK(mayfly_scheduler_next_deadline_ms(sched) == INT64_MAX);
  CHECK(mayfly_scheduler_run_due(sched, now_ms()) == 0);
  FAILS(MAYFLY_NOT_FOUND, NULL, mayfly_scheduler_remove(sched, 1, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "sched", mayfly_scheduler_remove(NULL, 1, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "sched", mayfly_scheduler_start(NULL, &e));
  OK(mayfly_scheduler_start(sched, &e));
  FAILS(MAYFLY_FAILED_PRECONDITION, NULL, mayfly_scheduler_start(sched, &e));
  mayfly_scheduler_stop(sched);
  mayfly_scheduler_stop(sched); /* a no-op when stopped */
  OK(mayfly_scheduler_start(sched, &e));
  mayfly_scheduler_stop(sched);

  /* Entry options: each destination's own checks. */
  CHECK(mayfly_entry_options_add_credentials(NULL, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_credentials(entry, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_files(NULL, "a", "b") ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_files(entry, NULL, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_files(entry, "", "") ==
        MAYFLY_INVALID_ARGUMENT);
  snprintf(same, sizeof(same), "%s/same.pem", g_dir);
  CHECK(mayfly_entry_options_add_files(entry, same, same) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_files(entry, "/tmp/", "/tmp/k.pem") ==
        MAYFLY_INVALID_ARGUMENT);
  /* The chain without its key (or the key alone) is refused: the pair is
   * never out of step. */
  CHECK(mayfly_entry_options_add_files(entry, same, NULL) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_files(entry, NULL, same) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_exec(NULL, argv_null, 1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_exec(entry, NULL, 1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_exec(entry, argv_empty, 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_exec(entry, argv_null, 2) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_signal(NULL, getpid(), SIGUSR1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_signal(entry, 0, SIGUSR1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_signal(entry, -1, SIGUSR1) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_signal(entry, getpid(), 0) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_signal(entry, getpid(), 100000) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(mayfly_entry_options_add_callback(
            NULL, on_deliver, &refused, on_destroy) == MAYFLY_INVALID_ARGUMENT);
  CHECK(destroyed(&refused) == 3);
  CHECK(mayfly_entry_options_add_callback(entry, NULL, &refused, on_destroy) ==
        MAYFLY_INVALID_ARGUMENT);
  CHECK(destroyed(&refused) == 4);
  /* A callback the options were never used with goes with them. */
  CHECK(mayfly_entry_options_add_callback(entry, on_deliver, &deliver,
                                          on_destroy) == MAYFLY_OK);
  mayfly_entry_options_free(entry);
  CHECK(destroyed(&deliver) == 1);

  mayfly_scheduler_free(sched);
  CHECK(log.destroyed == 1);
  CHECK(log.n == 0);
  tracker_destroy(&refused);
  tracker_destroy(&replaced);
  tracker_destroy(&deliver);
  event_log_destroy(&log);
}

/* ---- The scheduler in the host's loop ----------------------------------- */

static void test_scheduler_host_loop(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_entry_options_t* entry = mayfly_entry_options_new();
  mayfly_scheduler_t* sched = NULL;
  mayfly_credentials_t* creds = NULL;
  mayfly_key_t* key = NULL;
  mayfly_key_t* other_key = NULL;
  mayfly_chain_t* chain = NULL;
  mayfly_chain_t* info_chain = SENTINEL;
  mayfly_chain_t* now_chain = NULL;
  tracker changes;
  tracker deliver;
  event_log log;
  uint64_t id = 0;
  uint64_t bad_id = 12345;
  int64_t deadline;
  int64_t next_attempt = -5;
  int attempts = -5;
  char cert_path[256];
  char key_path[256];
  char touched[256];
  const char* touch_argv[2];
  char* text;
  struct stat st;
  struct sigaction sa;
  event_record r;

  tracker_init(&changes);
  tracker_init(&deliver);
  event_log_init(&log);
  snprintf(cert_path, sizeof(cert_path), "%s/svc.crt", g_dir);
  snprintf(key_path, sizeof(key_path), "%s/svc.key", g_dir);
  snprintf(touched, sizeof(touched), "%s/renewed.flag", g_dir);
  touch_argv[0] = "touch";
  touch_argv[1] = touched;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);

  OK(mayfly_scheduler_options_set_client(opts, client, 0));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &log,
                                                 event_log_on_destroy));
  OK(mayfly_scheduler_new(opts, &sched, &e));
  mayfly_scheduler_options_free(opts);

  OK(mayfly_credentials_new(&creds, &e));
  OK(mayfly_credentials_on_change(creds, on_change, &changes, on_destroy, &e));
  OK(mayfly_entry_options_add_credentials(entry, creds));
  OK(mayfly_entry_options_add_files(entry, cert_path, key_path));
  OK(mayfly_entry_options_add_exec(entry, touch_argv, 2));
  OK(mayfly_entry_options_add_signal(entry, (int)getpid(), SIGUSR1));
  OK(mayfly_entry_options_add_callback(entry, on_deliver, &deliver,
                                       on_destroy));

  issue(client, g_signer, "loop.test", &key, &chain);
  OK(mayfly_key_generate(MAYFLY_KEY_P256, &other_key, &e));

  /* Bad input adds nothing and leaves the credentials alone. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "sched",
        mayfly_scheduler_add(NULL, chain, key, entry, &id, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_scheduler_add(sched, NULL, key, entry, &id, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_scheduler_add(sched, chain, NULL, entry, &id, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "out_id",
        mayfly_scheduler_add(sched, chain, key, entry, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_scheduler_add(sched, chain, other_key, entry, &id, &e));
  CHECK(id == 0);
  CHECK(mayfly_scheduler_size(sched) == 0);
  CHECK(calls(&changes) == 0);
  CHECK(mayfly_credentials_current(creds, NULL, NULL, NULL, NULL, NULL, NULL) ==
        MAYFLY_FAILED_PRECONDITION);

  /* Added: the credentials get the pair at once. */
  OK(mayfly_scheduler_add(sched, chain, key, entry, &id, &e));
  CHECK(id != 0);
  mayfly_entry_options_free(entry); /* the scheduler copied what it needs */
  CHECK(destroyed(&deliver) == 0);
  CHECK(mayfly_scheduler_size(sched) == 1);
  CHECK(generation_of(creds) == 1);
  CHECK(calls(&changes) == 1);
  CHECK(calls(&deliver) == 0);
  CHECK(!file_exists(cert_path)); /* sinks run after renewals only */

  FAILS(MAYFLY_INVALID_ARGUMENT, "sched",
        mayfly_scheduler_entry_info(NULL, id, NULL, NULL, NULL, &e));
  FAILS(MAYFLY_NOT_FOUND, NULL,
        mayfly_scheduler_entry_info(sched, bad_id, &info_chain, &next_attempt,
                                    &attempts, &e));
  CHECK(info_chain == SENTINEL && next_attempt == -5 && attempts == -5);
  info_chain = NULL;
  OK(mayfly_scheduler_entry_info(sched, id, &info_chain, &next_attempt,
                                 &attempts, &e));
  CHECK(same_leaf(info_chain, chain));
  CHECK(attempts == 0);
  mayfly_chain_free(info_chain);
  OK(mayfly_scheduler_entry_info(sched, id, NULL, NULL, NULL, &e));

  /* A 24 h certificate is due at about two thirds of its life. */
  deadline = mayfly_scheduler_next_deadline_ms(sched);
  CHECK(deadline == next_attempt);
  CHECK(deadline > now_ms() + 10 * 3600 * 1000LL);
  CHECK(mayfly_scheduler_run_due(sched, now_ms()) == 0);
  CHECK(mayfly_scheduler_run_due(sched, deadline - 1) == 0);
  CHECK(log.n == 0);

  /* Due: renewed through the client, every sink ran, then the event. */
  CHECK(mayfly_scheduler_run_due(sched, deadline) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_RENEWED) == 1);
  CHECK(log.n == 1);
  r = last_event(&log);
  CHECK(r.type == MAYFLY_EVENT_RENEWED);
  CHECK(r.entry == id);
  CHECK(r.code == MAYFLY_OK);
  CHECK(strcmp(r.message, "") == 0);
  CHECK(r.chain_size == 2);
  CHECK(r.chain_stable);
  CHECK(r.chain_common_name_ok);
  CHECK(r.time_ms >= deadline);
  CHECK(r.next_attempt_ms > r.time_ms);
  CHECK(r.attempts == 0);

  CHECK(generation_of(creds) == 2);
  CHECK(calls(&changes) == 2 && changes.last_generation == 2);
  OK(mayfly_scheduler_entry_info(sched, id, &now_chain, NULL, NULL, &e));
  CHECK(!same_leaf(now_chain, chain));
  CHECK(common_name_is(now_chain, "loop.test"));

  text = read_file(cert_path);
  CHECK(text != NULL && count(text, "-----BEGIN CERTIFICATE-----") == 2);
  CHECK(text != NULL && strstr(text, "PRIVATE KEY") == NULL);
  free(text);
  text = read_file(key_path);
  CHECK(text != NULL && strstr(text, "-----BEGIN PRIVATE KEY-----") != NULL);
  free(text);
  CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK(stat(cert_path, &st) == 0 && (st.st_mode & 0777) == 0644);
  CHECK(file_exists(touched));
  CHECK(wait_signals(1) && g_signals == 1);
  CHECK(calls(&deliver) == 1);
  CHECK(deliver.last_chain_certs == 2 && deliver.last_key_ok);

  /* A deliver callback that fails reports SINK_FAILED; the renewal
   * stands. */
  pthread_mutex_lock(&deliver.mu);
  deliver.result = 7;
  pthread_mutex_unlock(&deliver.mu);
  deadline = mayfly_scheduler_next_deadline_ms(sched);
  CHECK(mayfly_scheduler_run_due(sched, deadline) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_SINK_FAILED) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_RENEWED) == 2);
  CHECK(log.n == 3);
  CHECK(log.events[1].type == MAYFLY_EVENT_SINK_FAILED);
  CHECK(log.events[1].code != MAYFLY_OK);
  CHECK(strstr(log.events[1].message, "7") != NULL);
  CHECK(log.events[1].chain_size == 0); /* the chain is RENEWED's only */
  CHECK(log.events[2].type == MAYFLY_EVENT_RENEWED);
  CHECK(generation_of(creds) == 3);
  CHECK(wait_signals(2) && g_signals == 2);

  /* Update replaces the pair; bad input changes nothing. */
  FAILS(MAYFLY_INVALID_ARGUMENT, "sched",
        mayfly_scheduler_update(NULL, id, chain, key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "chain",
        mayfly_scheduler_update(sched, id, NULL, key, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, "key",
        mayfly_scheduler_update(sched, id, chain, NULL, &e));
  FAILS(MAYFLY_INVALID_ARGUMENT, NULL,
        mayfly_scheduler_update(sched, id, chain, other_key, &e));
  FAILS(MAYFLY_NOT_FOUND, NULL,
        mayfly_scheduler_update(sched, bad_id, chain, key, &e));
  OK(mayfly_scheduler_update(sched, id, chain, key, &e));
  info_chain = NULL;
  OK(mayfly_scheduler_entry_info(sched, id, &info_chain, NULL, NULL, &e));
  CHECK(same_leaf(info_chain, chain));
  mayfly_chain_free(info_chain);

  /* Removed: nothing runs for it any more. */
  OK(mayfly_scheduler_remove(sched, id, &e));
  FAILS(MAYFLY_NOT_FOUND, NULL, mayfly_scheduler_remove(sched, id, &e));
  CHECK(mayfly_scheduler_size(sched) == 0);
  CHECK(mayfly_scheduler_next_deadline_ms(sched) == INT64_MAX);
  CHECK(mayfly_scheduler_run_due(sched, deadline + 3600 * 1000LL) == 0);

  /* Added without options. */
  OK(mayfly_scheduler_add(sched, now_chain, key, NULL, &id, &e));
  CHECK(mayfly_scheduler_size(sched) == 1);

  /* Expired before its turn: with no renewal after expiry configured, an
   * EXPIRED event, and the entry is gone. */
  CHECK(mayfly_scheduler_run_due(sched, now_ms() + 48 * 3600 * 1000LL) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_EXPIRED) == 1);
  r = last_event(&log);
  CHECK(r.type == MAYFLY_EVENT_EXPIRED);
  CHECK(r.entry == id);
  CHECK(r.code == MAYFLY_FAILED_PRECONDITION);
  CHECK(strlen(r.message) > 0);
  CHECK(r.chain_size == 0);
  CHECK(r.next_attempt_ms == INT64_MAX);
  CHECK(mayfly_scheduler_size(sched) == 0);

  /* Revoked: the CA refuses, a REVOKED event, and the entry stops. */
  {
    mayfly_key_t* rkey = NULL;
    mayfly_chain_t* rchain = NULL;
    uint64_t rid = 0;
    issue(client, g_signer, "revoked.test", &rkey, &rchain);
    OK(mayfly_scheduler_add(sched, rchain, rkey, NULL, &rid, &e));
    OK(mayfly_client_revoke(client, NULL, 0, NULL, NULL, rchain, rkey, &e));
    CHECK(mayfly_scheduler_run_due(
              sched, mayfly_scheduler_next_deadline_ms(sched)) == 1);
    CHECK(events_of(&log, MAYFLY_EVENT_REVOKED) == 1);
    r = last_event(&log);
    CHECK(r.type == MAYFLY_EVENT_REVOKED);
    CHECK(r.entry == rid);
    CHECK(is_refusal(r.code));
    CHECK(strlen(r.message) > 0);
    CHECK(mayfly_scheduler_size(sched) == 0);
    FAILS(MAYFLY_NOT_FOUND, NULL,
          mayfly_scheduler_entry_info(sched, rid, NULL, NULL, NULL, &e));
    CHECK(mayfly_scheduler_run_due(sched, now_ms() + 30 * 3600 * 1000LL) == 0);
    mayfly_chain_free(rchain);
    mayfly_key_free(rkey);
  }

  /* The files and exec sinks ran twice, the callbacks' owners are the
   * scheduler and the credentials: freed with them. */
  CHECK(events_of(&log, MAYFLY_EVENT_RENEWED) == 2);
  mayfly_scheduler_free(sched);
  CHECK(log.destroyed == 1);
  CHECK(destroyed(&deliver) == 1);
  CHECK(destroyed(&changes) == 0);
  mayfly_credentials_free(creds);
  CHECK(destroyed(&changes) == 1);

  mayfly_chain_free(now_chain);
  mayfly_chain_free(chain);
  mayfly_key_free(key);
  mayfly_key_free(other_key);
  tracker_destroy(&changes);
  tracker_destroy(&deliver);
  event_log_destroy(&log);
}

/* A failing CA: FAILED events with backoff; then an in-process CA. */
static void test_scheduler_failures_and_ca(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_scheduler_t* sched = NULL;
  mayfly_client_t* down = NULL;
  mayfly_key_t* key = NULL;
  mayfly_chain_t* chain = NULL;
  event_log log;
  event_log ca_log;
  uint64_t id = 0;
  int64_t deadline;
  int64_t next_attempt = 0;
  int attempts = 0;
  event_record r;

  event_log_init(&log);
  issue(client, g_signer, "failing.test", &key, &chain);

  /* Port 1 on 127.0.0.1 answers nothing: UNAVAILABLE, retried. */
  OK(mayfly_client_new("https://127.0.0.1:1", g_roots, &down, &e));
  OK(mayfly_scheduler_options_set_client(opts, down, 0));
  OK(mayfly_scheduler_options_set_retry(opts, 1000, 60000));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &log,
                                                 event_log_on_destroy));
  OK(mayfly_scheduler_new(opts, &sched, &e));
  /* The scheduler holds the client: the host may free its handle. */
  mayfly_client_free(down);
  OK(mayfly_scheduler_add(sched, chain, key, NULL, &id, &e));
  deadline = mayfly_scheduler_next_deadline_ms(sched);
  CHECK(mayfly_scheduler_run_due(sched, deadline) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_FAILED) == 1);
  r = last_event(&log);
  CHECK(r.type == MAYFLY_EVENT_FAILED);
  CHECK(r.code == MAYFLY_UNAVAILABLE);
  CHECK(r.attempts == 1);
  CHECK(r.next_attempt_ms >= r.time_ms &&
        r.next_attempt_ms <= r.time_ms + 1000);
  CHECK(r.chain_size == 0);
  OK(mayfly_scheduler_entry_info(sched, id, NULL, &next_attempt, &attempts,
                                 &e));
  CHECK(attempts == 1);
  CHECK(next_attempt == r.next_attempt_ms);
  CHECK(mayfly_scheduler_run_due(sched, next_attempt) == 1);
  r = last_event(&log);
  CHECK(r.type == MAYFLY_EVENT_FAILED && r.attempts == 2);
  mayfly_scheduler_free(sched);
  /* The options still hold the callback. */
  CHECK(log.destroyed == 0);

  /* Through the CA in-process: the same certificate renews. */
  event_log_init(&ca_log);
  OK(mayfly_scheduler_options_set_ca(opts, g_ca));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &ca_log,
                                                 event_log_on_destroy));
  CHECK(log.destroyed == 1);
  event_log_destroy(&log);
  OK(mayfly_scheduler_new(opts, &sched, &e));
  mayfly_scheduler_options_free(opts);
  OK(mayfly_scheduler_add(sched, chain, key, NULL, &id, &e));
  CHECK(mayfly_scheduler_run_due(
            sched, mayfly_scheduler_next_deadline_ms(sched)) == 1);
  CHECK(events_of(&ca_log, MAYFLY_EVENT_RENEWED) == 1);
  r = last_event(&ca_log);
  CHECK(r.type == MAYFLY_EVENT_RENEWED && r.chain_size == 2);
  CHECK(r.entry == id);
  CHECK(ca_log.destroyed == 0);
  mayfly_scheduler_free(sched);
  CHECK(ca_log.destroyed == 1);

  event_log_destroy(&ca_log);
  mayfly_chain_free(chain);
  mayfly_key_free(key);
}

/* Renewal after expiry: a certificate the scheduler finds expired is
 * renewed with a renew token when the client is set with after_expiry
 * (without it: EXPIRED, as in test_scheduler_host_loop). The CA, whose
 * clock says the certificate is still valid, renews it. */
static void test_scheduler_after_expiry(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_scheduler_t* sched = NULL;
  mayfly_key_t* key = NULL;
  mayfly_chain_t* chain = NULL;
  event_log log;
  uint64_t id = 0;
  event_record r;

  event_log_init(&log);
  issue(client, g_signer, "expiry.test", &key, &chain);
  OK(mayfly_scheduler_options_set_client(opts, client, 1));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &log,
                                                 event_log_on_destroy));
  OK(mayfly_scheduler_new(opts, &sched, &e));
  mayfly_scheduler_options_free(opts);
  OK(mayfly_scheduler_add(sched, chain, key, NULL, &id, &e));
  CHECK(mayfly_scheduler_run_due(sched, now_ms() + 48 * 3600 * 1000LL) == 1);
  CHECK(events_of(&log, MAYFLY_EVENT_EXPIRED) == 0);
  CHECK(events_of(&log, MAYFLY_EVENT_RENEWED) == 1);
  r = last_event(&log);
  CHECK(r.type == MAYFLY_EVENT_RENEWED && r.entry == id && r.chain_size == 2);
  CHECK(mayfly_scheduler_size(sched) == 1);
  mayfly_scheduler_free(sched);
  CHECK(log.destroyed == 1);
  event_log_destroy(&log);
  mayfly_chain_free(chain);
  mayfly_key_free(key);
}

/* ---- The scheduler on its own thread ------------------------------------ */

static void test_scheduler_thread(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_entry_options_t* entry = mayfly_entry_options_new();
  mayfly_scheduler_t* sched = NULL;
  mayfly_credentials_t* kept = NULL;
  mayfly_credentials_t* dropped = NULL;
  mayfly_key_t* key = NULL;
  mayfly_chain_t* chain = NULL;
  tracker kept_changes;
  tracker dropped_changes;
  tracker deliver;
  event_log log;
  uint64_t id = 0;
  int renewed;

  tracker_init(&kept_changes);
  tracker_init(&dropped_changes);
  tracker_init(&deliver);
  event_log_init(&log);

  /* A 5 s certificate with the 1 minute backdate is due at once; each
   * renewed one is renewed halfway through what is left of it, about 2.5 s
   * later. */
  issue(client, g_short_signer, "thread.test", &key, &chain);

  OK(mayfly_scheduler_options_set_client(opts, client, 0));
  OK(mayfly_scheduler_options_set_retry(opts, 100, 1000));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &log,
                                                 event_log_on_destroy));
  OK(mayfly_scheduler_new(opts, &sched, &e));
  mayfly_scheduler_options_free(opts);

  OK(mayfly_credentials_new(&kept, &e));
  OK(mayfly_credentials_new(&dropped, &e));
  OK(mayfly_credentials_on_change(kept, on_change, &kept_changes, on_destroy,
                                  &e));
  OK(mayfly_credentials_on_change(dropped, on_change, &dropped_changes,
                                  on_destroy, &e));
  OK(mayfly_entry_options_add_credentials(entry, dropped));
  OK(mayfly_entry_options_add_credentials(entry, kept));
  OK(mayfly_entry_options_add_callback(entry, on_deliver, &deliver,
                                       on_destroy));
  OK(mayfly_scheduler_add(sched, chain, key, entry, &id, &e));
  mayfly_entry_options_free(entry);
  CHECK(generation_of(kept) == 1);

  /* The event callback frees `dropped` after the first renewal, while the
   * entry still delivers into it, and stops the scheduler from its own
   * thread after the third. */
  pthread_mutex_lock(&log.mu);
  log.sched = sched;
  log.creds_to_free = dropped;
  log.stop_after = 3;
  pthread_mutex_unlock(&log.mu);
  OK(mayfly_scheduler_start(sched, &e));
  CHECK(wait_events(&log, MAYFLY_EVENT_RENEWED, 3, 120));
  CHECK(wait_stopped(&log, 120));

  renewed = events_of(&log, MAYFLY_EVENT_RENEWED);
  CHECK(renewed >= 3);
  CHECK(events_of(&log, MAYFLY_EVENT_FAILED) == 0);
  CHECK(destroyed(&dropped_changes) == 1);
  /* Freed after the first renewal's sinks ran: its callback saw the set at
   * add and the first renewal only. */
  CHECK(calls(&dropped_changes) == 2);
  CHECK(generation_of(kept) >= 4);
  CHECK(calls(&kept_changes) >= 4);
  CHECK(calls(&deliver) >= 3);

  /* Stopped from its callback; a start again runs it again. */
  OK(mayfly_scheduler_start(sched, &e));
  pthread_mutex_lock(&log.mu);
  log.stop_after = 0;
  pthread_mutex_unlock(&log.mu);
  CHECK(wait_events(&log, MAYFLY_EVENT_RENEWED, renewed + 1, 120));
  mayfly_scheduler_stop(sched);

  mayfly_scheduler_free(sched);
  CHECK(log.destroyed == 1);
  CHECK(destroyed(&deliver) == 1);
  CHECK(destroyed(&kept_changes) == 0);
  mayfly_credentials_free(kept);
  CHECK(destroyed(&kept_changes) == 1);

  mayfly_chain_free(chain);
  mayfly_key_free(key);
  tracker_destroy(&kept_changes);
  tracker_destroy(&dropped_changes);
  tracker_destroy(&deliver);
  event_log_destroy(&log);
}

/* Free a running scheduler: the thread stops, a renewal under way ends,
 * then the user data is destroyed. */
static void test_scheduler_free_running(mayfly_client_t* client) {
  mayfly_scheduler_options_t* opts = mayfly_scheduler_options_new();
  mayfly_scheduler_t* sched = NULL;
  mayfly_key_t* key = NULL;
  mayfly_chain_t* chain = NULL;
  event_log log;
  uint64_t id = 0;

  event_log_init(&log);
  issue(client, g_short_signer, "free.test", &key, &chain);
  OK(mayfly_scheduler_options_set_client(opts, client, 0));
  OK(mayfly_scheduler_options_set_retry(opts, 1, 10));
  OK(mayfly_scheduler_options_set_event_callback(opts, on_event, &log,
                                                 event_log_on_destroy));
  OK(mayfly_scheduler_new(opts, &sched, &e));
  mayfly_scheduler_options_free(opts);
  OK(mayfly_scheduler_add(sched, chain, key, NULL, &id, &e));
  OK(mayfly_scheduler_start(sched, &e));
  CHECK(wait_events(&log, MAYFLY_EVENT_RENEWED, 1, 120));
  mayfly_scheduler_free(sched);
  pthread_mutex_lock(&log.mu);
  CHECK(log.destroyed == 1);
  pthread_mutex_unlock(&log.mu);
  event_log_destroy(&log);
  mayfly_chain_free(chain);
  mayfly_key_free(key);
}

static void test_free_null(void) {
  mayfly_client_free(NULL);
  mayfly_credentials_free(NULL);
  mayfly_scheduler_options_free(NULL);
  mayfly_scheduler_free(NULL);
  mayfly_entry_options_free(NULL);
  mayfly_scheduler_stop(NULL);
  CHECK(mayfly_scheduler_run_due(NULL, 0) == 0);
  CHECK(mayfly_scheduler_size(NULL) == 0);
  CHECK(mayfly_scheduler_next_deadline_ms(NULL) == INT64_MAX);
}

int main(void) {
  mayfly_client_t* client;

  setup_ca();
  client = test_client_setup();
  test_client_queries(client);
  test_client_sign(client);
  test_client_renew_revoke(client);
  test_credentials(client);
  test_event_null();
  test_scheduler_options(client);
  test_scheduler_host_loop(client);
  test_scheduler_failures_and_ca(client);
  test_scheduler_after_expiry(client);
  test_scheduler_thread(client);
  test_scheduler_free_running(client);
  test_free_null();
  mayfly_client_free(client);
  teardown_ca();

  if (g_failures != 0) {
    fprintf(stderr, "capi_client_test: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("capi_client_test: ok\n");
  return 0;
}
