package mayfly

/*
#include <stdint.h>
#include <stdlib.h>
#include "mayfly/c.h"
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// ServerOptions configure a CA server. Zero fields keep the defaults: the
// CA config's address, workers by core count, text logs to standard error.
type ServerOptions struct {
	// Address to listen on; "127.0.0.1:0" picks a free port (see Port).
	Address       string
	WorkerThreads int
	JSONLogs      bool
	// Log receives each log line (without newline) instead of standard
	// error, on server threads.
	Log func(line string)
}

// Server serves a CA over HTTPS with step-ca's API, in-process. Safe for
// concurrent use.
type Server struct {
	life lifecycle
	p    *C.mayfly_server_t
	ca   *CA // kept reachable: the CA must outlive the server
}

// StartServer serves ca until Stop or Close; opts may be nil. The CA stays
// open until the server is closed, even if the CA is closed first.
func StartServer(ca *CA, opts *ServerOptions) (*Server, error) {
	if ca == nil {
		return nil, invalid("StartServer needs a CA")
	}
	if err := ca.life.enter(); err != nil {
		return nil, err
	}
	p, err := startServer(ca, opts)
	if err != nil {
		ca.life.exit()
		return nil, err
	}
	s := &Server{p: p, ca: ca}
	caLife := &ca.life
	s.life.init(func() {
		C.mayfly_server_free(p)
		caLife.exit()
	})
	runtime.SetFinalizer(s, (*Server).Close)
	return s, nil
}

func startServer(ca *CA, o *ServerOptions) (*C.mayfly_server_t, error) {
	var opts *C.mayfly_server_options_t
	if o != nil {
		opts = C.mayfly_server_options_new()
		if opts == nil {
			return nil, &Error{Code: CodeResourceExhausted, Message: "out of memory"}
		}
		defer C.mayfly_server_options_free(opts)
		if o.Address != "" {
			a := cstr(o.Address)
			rc := C.mayfly_server_options_set_address(opts, a)
			free(a)
			if err := checkSetter(rc, "address"); err != nil {
				return nil, err
			}
		}
		if o.WorkerThreads != 0 {
			rc := C.mayfly_server_options_set_worker_threads(opts, C.int(o.WorkerThreads))
			if err := checkSetter(rc, "worker threads"); err != nil {
				return nil, err
			}
		}
		if o.JSONLogs {
			if err := checkSetter(C.mayfly_server_options_set_json_logs(opts, 1), "JSON logs"); err != nil {
				return nil, err
			}
		}
		if o.Log != nil {
			rc := C.mayfly_go_server_options_set_log_callback(opts, newCallback(o.Log))
			if err := checkSetter(rc, "log callback"); err != nil {
				return nil, err
			}
		}
	}
	var out *C.mayfly_server_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_server_start(ca.p, opts, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return out, nil
}

// Port returns the bound TCP port, or -1 after Close.
func (s *Server) Port() int {
	done, err := use(&s.life)
	if err != nil {
		return -1
	}
	defer done()
	return int(C.mayfly_server_port(s.p))
}

// Stop stops accepting, lets requests in flight finish for up to grace,
// then closes the listener. It is idempotent; Close still releases the
// server.
func (s *Server) Stop(grace time.Duration) {
	done, err := use(&s.life)
	if err != nil {
		return
	}
	defer done()
	C.mayfly_server_stop(s.p, millis(grace))
}

// Close stops the server (grace 10 s) if needed and releases it. It is safe
// to call more than once.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	s.life.close()
	return nil
}
