// Package mayfly is the Go binding of mayfly, an embeddable private
// certificate authority for short-lived certificates with a step-ca
// compatible HTTP API.
//
// The package wraps mayfly's C ABI (mayfly/c.h) with cgo. Every handle type
// (Key, CSR, Certificate, Chain, CA, TokenSigner, Server, Client,
// Credentials, Scheduler) owns a C object: Close releases it at once, and a
// finalizer releases it if Close was never called. Close is idempotent, and
// a handle used after Close returns ErrClosed instead of touching freed
// memory. A handle that another one depends on (the CA of a Server or
// Scheduler, the Client of a Scheduler, the Credentials an entry feeds) is
// released only when its dependents are, even if it is closed first.
//
// Failed calls return *Error, which carries the mayfly status code;
// errors.Is(err, mayfly.ErrUnauthenticated) and the like compare codes.
//
// # Building
//
// The package links libmayfly.so and includes <mayfly/c.h>. Point cgo at an
// installed library with pkg-config (build tag mayfly_pkgconfig):
//
//	PKG_CONFIG_PATH=/usr/local/lib/pkgconfig go build -tags mayfly_pkgconfig
//
// or at a build tree with the cgo environment variables:
//
//	CGO_CFLAGS="-I$SRC/include -I$BUILD/include" \
//	CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD" go build
//
// Without either, the compiler and linker search their default paths
// (/usr/include, /usr/lib, ...), which works for a library installed there.
package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// The major and minor version this package was written for. Before 1.0 a
// minor release may change the ABI, so both must match the library's.
const (
	boundMajor = 0
	boundMinor = 1
)

func init() {
	n := uint32(C.mayfly_version_number())
	major, minor := n/1000000, n/1000%1000
	if major != boundMajor || (major == 0 && minor != boundMinor) {
		panic(fmt.Sprintf("mayfly: the loaded library is version %s, but "+
			"this package is written for %d.%d", Version(), boundMajor,
			boundMinor))
	}
}

// Version returns the version string of the loaded library ("0.1.0").
func Version() string { return C.GoString(C.mayfly_version()) }

// VersionNumber returns the loaded library's version as
// major*1000000 + minor*1000 + patch.
func VersionNumber() uint32 { return uint32(C.mayfly_version_number()) }

// Inspect describes a certificate or CSR (PEM or DER) as readable text, as
// `step certificate inspect` does.
func Inspect(data []byte) (string, error) {
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	p, l := bytesIn(data)
	rc := C.mayfly_certificate_inspect(p, l, &out, &n, &cerr)
	runtime.KeepAlive(data)
	if err := check(rc, cerr); err != nil {
		return "", err
	}
	return takeString(out, n), nil
}

// ---- Conversions ---------------------------------------------------------

// bytesIn lends b to C for the duration of a call: cgo allows passing a
// pointer to Go memory that holds no Go pointers, and mayfly never keeps
// input bytes past the call. (NULL, 0) stands for an empty slice.
func bytesIn(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// cstr is a C copy of s for one call; release it with free.
func cstr(s string) *C.char { return C.CString(s) }

// cstrOrNil is like cstr but maps "" to NULL, for optional text arguments.
func cstrOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// cstrArray is a C array of C strings; release it with freeArray.
func cstrArray(ss []string) (**C.char, C.size_t) {
	if len(ss) == 0 {
		return nil, 0
	}
	size := C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
	arr := (**C.char)(C.malloc(size))
	elems := unsafe.Slice(arr, len(ss))
	for i, s := range ss {
		elems[i] = C.CString(s)
	}
	return arr, C.size_t(len(ss))
}

func freeArray(arr **C.char, n C.size_t) {
	if arr == nil {
		return
	}
	for _, p := range unsafe.Slice(arr, int(n)) {
		free(p)
	}
	C.free(unsafe.Pointer(arr))
}

// takeString copies a text output of mayfly and releases the original.
func takeString(p *C.char, n C.size_t) string {
	if p == nil {
		return ""
	}
	s := C.GoStringN(p, C.int(n))
	C.mayfly_free(unsafe.Pointer(p))
	return s
}

// takeBytes copies an output buffer of mayfly and releases the original.
// mayfly_free wipes the buffer, which matters for private keys.
func takeBytes(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	b := C.GoBytes(p, C.int(n))
	C.mayfly_free(p)
	return b
}

func millis(d time.Duration) C.int64_t { return C.int64_t(d.Milliseconds()) }

func fromMillis(ms C.int64_t) time.Time { return time.UnixMilli(int64(ms)) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ---- Handle lifetime -----------------------------------------------------

// lifecycle guards one C object against use after free. Every call that
// passes the object to C runs between enter and exit; Close marks the
// handle closed, and whoever leaves it last (Close itself, a call in
// flight, or a dependent handle) runs the release function, exactly once.
// Nothing blocks: a Close racing with a call simply lets the call finish
// and free the object afterwards.
type lifecycle struct {
	mu      sync.Mutex
	closed  bool
	active  int // calls in flight plus dependent handles
	release func()
}

func (l *lifecycle) init(release func()) { l.release = release }

// enter registers a use of the C object, or returns ErrClosed.
func (l *lifecycle) enter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.active++
	return nil
}

// exit ends a use begun by enter.
func (l *lifecycle) exit() {
	l.mu.Lock()
	l.active--
	var f func()
	if l.closed && l.active == 0 {
		f, l.release = l.release, nil
	}
	l.mu.Unlock()
	runRelease(f)
}

// close marks the handle closed and releases the C object once unused.
func (l *lifecycle) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	var f func()
	if l.active == 0 {
		f, l.release = l.release, nil
	}
	l.mu.Unlock()
	runRelease(f)
}

func (l *lifecycle) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// runRelease frees a C object. Inside a mayfly callback it hands the work to
// a new goroutine: freeing the object that runs the callback (a scheduler
// from its own event, credentials from their change callback) would wait
// for the callback itself, and c.h forbids it.
func runRelease(f func()) {
	if f == nil {
		return
	}
	if inCallback() {
		go f()
		return
	}
	f()
}

// use enters every handle in hs (nil entries are skipped) and returns the
// function that exits them, or ErrClosed, having entered none.
func use(hs ...*lifecycle) (func(), error) {
	for i, h := range hs {
		if h == nil {
			continue
		}
		if err := h.enter(); err != nil {
			for _, done := range hs[:i] {
				if done != nil {
					done.exit()
				}
			}
			return nil, err
		}
	}
	return func() {
		for _, h := range hs {
			if h != nil {
				h.exit()
			}
		}
	}, nil
}

// inCallback reports whether this goroutine runs a mayfly callback (cgo
// runs a callback on the thread of the C code that called it, so a
// thread-local depth counter in shim.c tells).
func inCallback() bool { return C.mayfly_go_in_callback() != 0 }

// warnf reports a problem that has no caller to return to, such as a panic
// in a callback run by a mayfly thread.
func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mayfly: "+format+"\n", args...)
}
