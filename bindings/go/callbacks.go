package mayfly

// This file holds only the exported trampolines (cgo copies the preamble of
// a file with //export into _cgo_export.h, so it must declare, not define).

/*
#include <stdint.h>
#include "mayfly/c.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// liveCallbacks counts the callback handles mayfly has not destroyed yet:
// tests check that every one is released.
var liveCallbacks atomic.Int64

// newCallback wraps v in a cgo.Handle for a registration call. mayfly calls
// the destroy trampoline exactly once, also when the registration fails,
// and that deletes the handle: the only cleanup path.
func newCallback(v any) C.uintptr_t {
	liveCallbacks.Add(1)
	return C.uintptr_t(cgo.NewHandle(v))
}

// recoverCallback stops a panic from unwinding into C, which would crash
// the process; the panic is reported on standard error instead.
func recoverCallback(what string) {
	if r := recover(); r != nil {
		warnf("panic in %s callback: %v", what, r)
	}
}

//export mayflyGoDelete
func mayflyGoDelete(h C.uintptr_t) {
	cgo.Handle(h).Delete()
	liveCallbacks.Add(-1)
}

//export mayflyGoChange
func mayflyGoChange(h C.uintptr_t, generation C.uint64_t) {
	defer recoverCallback("credentials change")
	switch fn := cgo.Handle(h).Value().(type) {
	case func(uint64):
		fn(uint64(generation))
	case *tlsCache:
		fn.refresh()
	}
}

//export mayflyGoEvent
func mayflyGoEvent(h C.uintptr_t, ev *C.mayfly_event_t) {
	defer recoverCallback("scheduler event")
	fn := cgo.Handle(h).Value().(func(Event))
	fn(eventFromC(ev))
}

//export mayflyGoDeliver
func mayflyGoDeliver(h C.uintptr_t, chainPEM *C.char, chainLen C.size_t, keyPEM *C.char, keyLen C.size_t) (rc C.int) {
	// A panic counts as a failed delivery.
	rc = 1
	defer recoverCallback("entry delivery")
	fn := cgo.Handle(h).Value().(func(chainPEM, keyPEM []byte) error)
	chain := C.GoBytes(unsafe.Pointer(chainPEM), C.int(chainLen))
	key := C.GoBytes(unsafe.Pointer(keyPEM), C.int(keyLen))
	if err := fn(chain, key); err != nil {
		// c.h has no way to pass the error on: the scheduler reports a
		// MAYFLY_EVENT_SINK_FAILED event.
		return 1
	}
	return 0
}

//export mayflyGoLog
func mayflyGoLog(h C.uintptr_t, line *C.char, n C.size_t) {
	defer recoverCallback("server log")
	fn := cgo.Handle(h).Value().(func(string))
	fn(C.GoStringN(line, C.int(n)))
}
