package cctoken

// Where cgo finds cctoken.h. In the repository, client.go's -I${SRCDIR}/../../include (searched
// first) finds include/cctoken.h. A released module (`make dist`'s dist/goproxy, or a tagged
// release) cannot reach outside its own directory, so it carries the header in include/ here,
// next to the static libraries in lib/<goos>_<goarch>/ (link_static.go).

// #cgo CFLAGS: -I${SRCDIR}/include
import "C"
