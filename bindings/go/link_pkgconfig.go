//go:build mayfly_pkgconfig

package mayfly

// With -tags mayfly_pkgconfig the flags come from mayfly.pc (installed by
// `cmake --install`; set PKG_CONFIG_PATH for a non-standard prefix).

// #cgo pkg-config: mayfly
import "C"
