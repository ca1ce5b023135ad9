//go:build !mayfly_pkgconfig

package mayfly

// Links libmayfly from the linker's search path; add a build tree or an
// install prefix with CGO_CFLAGS / CGO_LDFLAGS (see the package doc), or
// build with -tags mayfly_pkgconfig.

// #cgo LDFLAGS: -lmayfly
import "C"
