/* C side of the Go callbacks: each mayfly_go_* function registers one of
 * the trampolines of shim.c with a cgo.Handle (an integer) as user_data, so
 * that Go never converts an integer to a pointer. Private to the package. */
#ifndef MAYFLY_GO_SHIM_H_
#define MAYFLY_GO_SHIM_H_

#include <stdint.h>

#include "mayfly/c.h"

/* mayfly_go_in_callback is nonzero while this thread runs a Go callback. */
int mayfly_go_in_callback(void);

int mayfly_go_credentials_on_change(mayfly_credentials_t* creds,
                                    uintptr_t handle, mayfly_error_t** err);
int mayfly_go_scheduler_options_set_event_callback(
    mayfly_scheduler_options_t* opts, uintptr_t handle);
int mayfly_go_entry_options_add_callback(mayfly_entry_options_t* opts,
                                         uintptr_t handle);
int mayfly_go_server_options_set_log_callback(mayfly_server_options_t* opts,
                                              uintptr_t handle);

#endif /* MAYFLY_GO_SHIM_H_ */
