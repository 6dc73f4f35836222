# The one entry point. `make demo` and `make test` are the two commands a newcomer needs.
#
#   make build     debug build of the library, CLI and dev server
#   make header    regenerate include/cctoken.h from src/ffi (committed; tests check drift)
#   make stage     release libcctoken.{so,a} + header into target/stage and the bindings
#   make test      every suite: Rust, C (sanitizers + valgrind), Python, Go, examples
#   make demo      dev server + the examples in every language
#   make bench     side-by-side benchmarks (not part of test)
#   make install   PREFIX=/usr/local: library, header, pkg-config, CMake config, cctoken, cctoken-dev-server
#   make dist      release artifacts in dist/: C SDK archive, Python wheel + sdist, Go proxy dir, crate
#   make test-dist install dist/ into a scratch dir without cargo and use it from C, Python, Go, CLI
#   make abi       re-bless abi/cctoken.symbols after adding C functions (test-abi checks it)
#   make fuzz      each cargo-fuzz target for FUZZ_SECONDS (nightly + cargo-fuzz)
#   make tsan      ThreadSanitizer over a mixed Rust / C ABI stress (nightly, rust-src)

CARGO   ?= cargo
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
STAGE   := target/stage
DEV_SERVER := target/debug/cctoken-dev-server

export CCTOKEN_DEV_SERVER := $(CURDIR)/$(DEV_SERVER)

.PHONY: all build header stage test test-rust lint test-c test-python test-go test-store test-examples \
        interop-deps demo bench bench-smoke install clean fuzz test-fuzz tsan
.PHONY: dist test-dist abi test-abi

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

test: lint test-rust stage test-c test-python test-go test-store test-examples bench-smoke test-fuzz test-abi test-dist
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

# Release builds only, with cargo's progress. The dev server is built together with the cctoken
# package: built alone, its dependencies' features differ and half of them would compile twice.
demo:
	@echo "demo: building the release library (libcctoken.so/.a) that every language uses;"
	@echo "demo: the first build compiles the dependencies too (about 2 minutes on 2 idle cores)"
	@$(MAKE) --no-print-directory stage
	@echo "demo: building the dev server and the Rust example"
	$(CARGO) build --release -p cctoken -p cctoken-dev-server --bins --example fetch_token
	@echo "demo: starting the dev server, then the Rust, C, Python and Go examples against it (Go compiles first)"
	@CCTOKEN_DEV_SERVER=$(CURDIR)/target/release/cctoken-dev-server CCTOKEN_EXAMPLE_PROFILE=release \
		tools/run-examples.sh --demo

bench: stage
	$(MAKE) -C benches bench

# Every benchmark once with tiny counts, so `make bench` cannot rot unnoticed.
bench-smoke: stage
	$(MAKE) -C benches smoke

# Fuzzing: the targets and seed corpus are in fuzz/ (its own workspace, nightly). `make test`
# replays the committed corpus and fuzzes each target for FUZZ_TEST_SECONDS.
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 10

fuzz:
	tools/fuzz.sh $(FUZZ_SECONDS)

test-fuzz:
	tools/fuzz.sh --replay $(FUZZ_TEST_SECONDS)

# ThreadSanitizer: tests/tsan (own workspace) built with -Zsanitizer=thread and -Zbuild-std,
# after a deliberate-race program proves TSan reports races in this build.
TSAN_SECONDS ?= 20

tsan:
	$(CARGO) build --quiet -p cctoken-dev-server
	tools/tsan.sh $(TSAN_SECONDS)

# The same layout as the C SDK archive (packaging/install-sdk.sh), with PREFIX in the .pc files.
install: stage
	$(CARGO) build --release --quiet -p cctoken --bins -p cctoken-dev-server
	VERSION=$(VERSION) MAJOR=$(MAJOR) packaging/install-sdk.sh $(abspath $(DESTDIR)$(PREFIX)) $(PREFIX)
	@echo "installed into $(DESTDIR)$(PREFIX): bin/cctoken, bin/cctoken-dev-server, include/cctoken.h,"
	@echo "  lib/libcctoken.{so,a}, lib/pkgconfig/cctoken{,-static}.pc, lib/cmake/cctoken"
	@case "$(PREFIX)" in /usr|/usr/local) echo "  run ldconfig so programs find libcctoken.so.$(MAJOR)";; \
	 *) echo "  $(PREFIX)/lib is not searched by the dynamic loader: link with -Wl,-rpath,$(PREFIX)/lib"; \
	    echo "  (or set LD_LIBRARY_PATH), else programs fail with 'libcctoken.so.$(MAJOR): cannot open shared object file'";; esac

# Release artifacts in dist/ (packaging/dist.sh lists them), from the release build of `make stage`.
dist: stage
	$(CARGO) build --release --quiet -p cctoken --bins -p cctoken-dev-server
	VERSION=$(VERSION) MAJOR=$(MAJOR) CARGO=$(CARGO) packaging/dist.sh

# Installs dist/ in a scratch directory, with no cargo or rustc on PATH, and fetches a token from
# the archive's dev server in C (CMake and pkg-config, shared and static), Python, Go and the CLI.
test-dist: dist
	VERSION=$(VERSION) MAJOR=$(MAJOR) packaging/test-dist.sh

# The exported symbols of libcctoken.so against abi/cctoken.symbols (tools/abi.py says the rules).
test-abi: stage
	python3 tools/abi.py check $(STAGE)/lib/libcctoken.so.$(VERSION) --header include/cctoken.h
	python3 tools/abi.py selftest $(STAGE)/lib/libcctoken.so.$(VERSION) --header include/cctoken.h

abi: stage
	python3 tools/abi.py bless $(STAGE)/lib/libcctoken.so.$(VERSION)

clean:
	$(CARGO) clean
	rm -rf bindings/go/lib bindings/python/cctoken/libcctoken.so dist
