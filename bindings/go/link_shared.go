//go:build cctoken_shared

package cctoken

// With -tags cctoken_shared the binary links the staged libcctoken.so instead, found at run
// time through the rpath (or LD_LIBRARY_PATH): for testing the shared library itself, or to
// share one copy between processes.

// #cgo LDFLAGS: -L${SRCDIR}/../../target/stage/lib -Wl,-rpath,${SRCDIR}/../../target/stage/lib -lcctoken
import "C"
