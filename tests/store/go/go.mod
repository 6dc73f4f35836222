module github.com/cctoken/cctoken/tests/store/go

go 1.26.0

require github.com/cctoken/cctoken/bindings/go v0.0.0

require golang.org/x/oauth2 v0.38.0 // indirect

// The binding from this repository (with its staged libcctoken.a), not a published version.
replace github.com/cctoken/cctoken/bindings/go => ../../../bindings/go
