/* Trampolines from mayfly's callbacks into the exported Go functions of
 * callbacks.go. user_data carries a cgo.Handle; destroy deletes it. */
#include "shim.h"

#include "_cgo_export.h"

/* How deep this thread is in Go callbacks: lets Close see that it runs
 * inside one and must not free the object that is calling it. */
static __thread int go_callback_depth;

int mayfly_go_in_callback(void) { return go_callback_depth > 0; }

static void go_destroy(void* user_data) {
  mayflyGoDelete((uintptr_t)user_data);
}

static void go_change(void* user_data, uint64_t generation) {
  ++go_callback_depth;
  mayflyGoChange((uintptr_t)user_data, generation);
  --go_callback_depth;
}

static void go_event(void* user_data, const mayfly_event_t* ev) {
  ++go_callback_depth;
  mayflyGoEvent((uintptr_t)user_data, (mayfly_event_t*)ev);
  --go_callback_depth;
}

static int go_deliver(void* user_data, const char* chain_pem,
                      size_t chain_pem_len, const char* key_pem,
                      size_t key_pem_len) {
  ++go_callback_depth;
  int rc = mayflyGoDeliver((uintptr_t)user_data, (char*)chain_pem,
                           chain_pem_len, (char*)key_pem, key_pem_len);
  --go_callback_depth;
  return rc;
}

static void go_log(void* user_data, const char* line, size_t line_len) {
  ++go_callback_depth;
  mayflyGoLog((uintptr_t)user_data, (char*)line, line_len);
  --go_callback_depth;
}

int mayfly_go_credentials_on_change(mayfly_credentials_t* creds,
                                    uintptr_t handle, mayfly_error_t** err) {
  return mayfly_credentials_on_change(creds, go_change, (void*)handle,
                                      go_destroy, err);
}

int mayfly_go_scheduler_options_set_event_callback(
    mayfly_scheduler_options_t* opts, uintptr_t handle) {
  return mayfly_scheduler_options_set_event_callback(opts, go_event,
                                                     (void*)handle, go_destroy);
}

int mayfly_go_entry_options_add_callback(mayfly_entry_options_t* opts,
                                         uintptr_t handle) {
  return mayfly_entry_options_add_callback(opts, go_deliver, (void*)handle,
                                           go_destroy);
}

int mayfly_go_server_options_set_log_callback(mayfly_server_options_t* opts,
                                              uintptr_t handle) {
  return mayfly_server_options_set_log_callback(opts, go_log, (void*)handle,
                                                go_destroy);
}
