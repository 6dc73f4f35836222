# The one entry point. `make demo` and `make test` are the two commands a newcomer needs.
#
#   make build     debug build of the library, CLI and dev server
#   make header    regenerate include/cctoken.h from src/ffi (committed; tests check drift)
#   make stage     release libcctoken.{so,a} + header into target/stage and the bindings
#   make test      every suite: Rust, C (sanitizers + valgrind), Python, Go, examples
#   make demo      dev server + the examples in every language
#   make bench     side-by-side benchmarks (not part of test)
#   make install   PREFIX=/usr/local: library, header, pkg-config file

CARGO   ?= cargo
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
STAGE   := target/stage
DEV_SERVER := target/debug/cctoken-dev-server

export CCTOKEN_DEV_SERVER := $(CURDIR)/$(DEV_SERVER)

.PHONY: all build header stage test test-rust lint test-c test-python test-go test-store test-examples \
        interop-deps demo bench bench-smoke install clean

all: build

build:
	$(CARGO) build --workspace --all-targets

header:
	CCTOKEN_BLESS_HEADER=1 $(CARGO) test --quiet --test header

# Release artefacts, staged where the C tests, Python package and Go package look for them.
stage:
	$(CARGO) build --release --lib
	mkdir -p $(STAGE)/lib $(STAGE)/include
	cp target/release/libcctoken.a $(STAGE)/lib/
	cp target/release/libcctoken.so $(STAGE)/lib/libcctoken.so.$(VERSION)
	ln -sf libcctoken.so.$(VERSION) $(STAGE)/lib/libcctoken.so.$(MAJOR)
	ln -sf libcctoken.so.$(MAJOR) $(STAGE)/lib/libcctoken.so
	cp include/cctoken.h $(STAGE)/include/
	mkdir -p bindings/go/lib/linux_amd64
	cp target/release/libcctoken.a bindings/go/lib/linux_amd64/
	mkdir -p bindings/python/cctoken
	cp target/release/libcctoken.so bindings/python/cctoken/libcctoken.so

test: lint test-rust stage test-c test-python test-go test-store test-examples bench-smoke
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# oidc-provider (pinned in tests/interop/package-lock.json) for the interop suites.
INTEROP_MODULES := tests/interop/node_modules/.package-lock.json
$(INTEROP_MODULES): tests/interop/package.json tests/interop/package-lock.json
	npm ci --prefix tests/interop --no-audit --no-fund
	@touch $@

interop-deps: $(INTEROP_MODULES)

test-rust: interop-deps
	$(CARGO) build --quiet -p cctoken-dev-server
	$(CARGO) test --workspace

test-c: stage interop-deps
	$(MAKE) -C tests/c test

test-python: stage interop-deps
	$(MAKE) -C bindings/python test

test-go: stage interop-deps
	$(MAKE) -C bindings/go test

# Python, Go and C processes sharing one cache directory (tests/store/run.py); a fleet of
# network-namespace hosts sharing Redis (tests/store/fleet.py, as root).
test-store: stage
	$(CARGO) build --quiet -p cctoken-dev-server
	python3 tests/store/run.py
	python3 tests/store/fleet.py

test-examples: stage
	tools/run-examples.sh

demo: stage
	$(CARGO) build --quiet -p cctoken-dev-server
	$(CARGO) build --quiet -p cctoken --example fetch_token
	tools/run-examples.sh --demo

bench: stage
	$(MAKE) -C benches bench

# Every benchmark once with tiny counts, so `make bench` cannot rot unnoticed.
bench-smoke: stage
	$(MAKE) -C benches smoke

install: stage
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(STAGE)/lib/libcctoken.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(STAGE)/lib/libcctoken.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libcctoken.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcctoken.so.$(MAJOR)
	ln -sf libcctoken.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libcctoken.so
	install -m 644 include/cctoken.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' cctoken.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/cctoken.pc

clean:
	$(CARGO) clean
	rm -rf bindings/go/lib bindings/python/cctoken/libcctoken.so
