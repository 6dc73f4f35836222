//go:build !cctoken_shared

package cctoken

// Static linking (the default): the binary carries libcctoken and needs nothing at run time.
// `make stage` copies libcctoken.a to lib/<goos>_<goarch>/; the native libraries are the ones
// `rustc --print native-static-libs` lists for the Rust standard library.

// #cgo linux,amd64 LDFLAGS: ${SRCDIR}/lib/linux_amd64/libcctoken.a
// #cgo linux,arm64 LDFLAGS: ${SRCDIR}/lib/linux_arm64/libcctoken.a
// #cgo linux LDFLAGS: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"
