#!/usr/bin/env bash
# `make test-dist`: the artifacts in dist/ work for a user who has neither this repository's build
# nor Rust. In a scratch directory outside the repository, with cargo and rustc taken off PATH,
# it installs from dist/ only and fetches a token from the dev server shipped in the C archive:
#   C       CMake find_package(cctoken): cctoken::cctoken (run with no LD_LIBRARY_PATH) and
#           cctoken::cctoken_static; pkg-config: cctoken (shared, rpath), cctoken-static, and
#           `--static cctoken` on a static-only copy (Libs.private)
#   Python  a fresh venv, pip install --no-index dist/*.whl, examples/python/fetch_token.py
#   Go      a fresh module and module cache, the file GOPROXY, examples/go (oauth2.NewClient)
#   CLI     bin/cctoken token ... from the archive, the header used with curl
# and checks SHA256SUMS, the shipped library's ABI and stripping, and the crate's and sdist's contents.
# Sources come from the repository's examples (copied), never its libraries.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=$repo/dist
: "${VERSION:?}" "${MAJOR:?}"
module=$(sed -n 's/^module[[:space:]]*//p' "$repo/bindings/go/go.mod")

step() { echo "test-dist: $*"; }
fail() { echo "test-dist: FAILED: $*" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cctoken-test-dist.XXXXXX")
server_pid=
cleanup() {
    exec 3>&- 2>/dev/null || true
    [[ -n $server_pid ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    chmod -R u+w "$scratch" 2>/dev/null || true # the Go module cache is read-only
    rm -rf "$scratch"
}
trap cleanup EXIT

# A PATH without cargo and rustc: a directory that holds them is replaced by a copy of its links
# minus the Rust tools (so go, python3, cmake there stay usable).
new_path= n=0
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    if [[ -e $d/cargo || -e $d/rustc ]]; then
        n=$((n + 1)) && mkdir -p "$scratch/path$n"
        for f in "$d"/*; do
            case ${f##*/} in cargo* | rust* | clippy-driver) ;; *) ln -s "$f" "$scratch/path$n/" ;; esac
        done
        d=$scratch/path$n
    fi
    new_path=${new_path:+$new_path:}$d
done
export PATH=$new_path
! command -v cargo >/dev/null || fail "cargo is still on PATH"
! command -v rustc >/dev/null || fail "rustc is still on PATH"
unset CCTOKEN_LIBRARY CCTOKEN_DEV_SERVER LD_LIBRARY_PATH PYTHONPATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH \
    GOFLAGS CARGO_TARGET_DIR
cd "$scratch"
step "scratch $scratch, cargo and rustc not on PATH"

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match dist/"

# --- C SDK: unpack, check what ships ----------------------------------------------------------
arch=$(uname -m)
tar -xzf "$dist/cctoken-$VERSION-linux-$arch.tar.gz" -C "$scratch"
sdk=$scratch/cctoken-$VERSION-linux-$arch
for f in include/cctoken.h lib/libcctoken.a "lib/libcctoken.so.$VERSION" lib/pkgconfig/cctoken.pc \
    lib/pkgconfig/cctoken-static.pc lib/cmake/cctoken/cctokenConfig.cmake bin/cctoken bin/cctoken-dev-server \
    LICENSE README.md; do
    [[ -f $sdk/$f ]] || fail "C archive lacks $f"
done
[[ $(readlink "$sdk/lib/libcctoken.so.$MAJOR") == "libcctoken.so.$VERSION" && $(readlink "$sdk/lib/libcctoken.so") == "libcctoken.so.$MAJOR" ]] \
    || fail "SONAME links are wrong"
for f in "lib/libcctoken.so.$VERSION" bin/cctoken bin/cctoken-dev-server; do
    ! readelf -S "$sdk/$f" | grep -q '\.debug_' || fail "$f is not stripped"
done
python3 "$repo/tools/abi.py" check "$sdk/lib/libcctoken.so.$VERSION" --header "$sdk/include/cctoken.h" >/dev/null \
    || fail "the shipped library's ABI differs from abi/cctoken.symbols"

# --- the archive's dev server ------------------------------------------------------------------
mkfifo "$scratch/server.stdin"
"$sdk/bin/cctoken-dev-server" --addr 127.0.0.1:0 --exit-on-stdin-eof \
    --client demo-client --secret demo-secret --scopes read,write \
    <"$scratch/server.stdin" >"$scratch/server.out" 2>"$scratch/server.log" &
server_pid=$!
exec 3>"$scratch/server.stdin"
base=
for _ in $(seq 200); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$scratch/server.out")
    [[ -n $base ]] && break
    sleep 0.05
done
[[ -n $base ]] || fail "the archive's dev server did not start: $(cat "$scratch/server.log")"
export CCTOKEN_TOKEN_URL=$base/token CCTOKEN_CLIENT_ID=demo-client CCTOKEN_CLIENT_SECRET=demo-secret
export CCTOKEN_RESOURCE_URL=$base/resource
step "dev server from the archive at $base"

# Each example prints "<lang>: token fetches=N cache hits=M ..." on success.
expect() {
    local what=$1 lang=$2 out
    shift 2
    out=$("$@") || fail "$what exited with $?"
    grep -Eq "^$lang: token fetches=[1-9][0-9]* cache hits=[1-9][0-9]*" <<<"$out" || fail "$what printed: $out"
    step "ok  $what: $out"
}

# --- CLI ---------------------------------------------------------------------------------------
printf %s demo-secret >"$scratch/secret"
header=$("$sdk/bin/cctoken" token --token-url "$CCTOKEN_TOKEN_URL" --client-id demo-client \
    --client-secret-file "$scratch/secret" --scope read --format header) || fail "bin/cctoken token failed"
[[ $header == "Authorization: Bearer "* ]] || fail "bin/cctoken printed an unexpected header line"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "$CCTOKEN_RESOURCE_URL")
[[ $status == 200 ]] || fail "the resource refused the CLI's token: $status"
step "ok  CLI: bin/cctoken token --format header, resource answered 200"

# --- C: CMake ----------------------------------------------------------------------------------
mkdir -p c-cmake
cp "$repo/examples/c/fetch_token.c" c-cmake/
cat >c-cmake/CMakeLists.txt <<EOF
cmake_minimum_required(VERSION 3.16)
project(cctoken_user C)
find_package(cctoken $MAJOR REQUIRED)
add_executable(app_shared fetch_token.c)
target_link_libraries(app_shared PRIVATE cctoken::cctoken)
add_executable(app_static fetch_token.c)
target_link_libraries(app_static PRIVATE cctoken::cctoken_static)
EOF
cmake -S c-cmake -B c-cmake/build -DCMAKE_PREFIX_PATH="$sdk" >c-cmake/configure.log || fail "cmake: $(cat c-cmake/configure.log)"
cmake --build c-cmake/build >c-cmake/build.log 2>&1 || fail "cmake --build: $(cat c-cmake/build.log)"
readelf -d c-cmake/build/app_shared | grep -q "NEEDED.*libcctoken.so.$MAJOR" || fail "app_shared does not use libcctoken.so.$MAJOR"
! readelf -d c-cmake/build/app_static | grep -q "libcctoken" || fail "app_static needs libcctoken at run time"
expect "C, CMake cctoken::cctoken (no LD_LIBRARY_PATH)" c c-cmake/build/app_shared
expect "C, CMake cctoken::cctoken_static" c c-cmake/build/app_static

# --- C: pkg-config -----------------------------------------------------------------------------
mkdir -p c-pkgconfig
export PKG_CONFIG_PATH=$sdk/lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc -std=c11 "$repo/examples/c/fetch_token.c" $(pkg-config --cflags --libs cctoken) \
    -Wl,-rpath,"$(pkg-config --variable=libdir cctoken)" -o c-pkgconfig/app_shared || fail "pkg-config shared link"
# shellcheck disable=SC2046
cc -std=c11 "$repo/examples/c/fetch_token.c" $(pkg-config --cflags --libs cctoken-static) \
    -o c-pkgconfig/app_static || fail "pkg-config cctoken-static link"
readelf -d c-pkgconfig/app_shared | grep -q "NEEDED.*libcctoken.so.$MAJOR" || fail "pkg-config shared build is not shared"
! readelf -d c-pkgconfig/app_static | grep -q "libcctoken" || fail "pkg-config static build needs libcctoken"
# cctoken.pc's Libs.private, on a static-only install (a distribution's -dev package without the .so).
mkdir -p static-only/lib/pkgconfig
cp -r "$sdk/include" static-only/ && cp "$sdk/lib/libcctoken.a" static-only/lib/
cp "$sdk/lib/pkgconfig/cctoken.pc" static-only/lib/pkgconfig/
export PKG_CONFIG_PATH=$scratch/static-only/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 "$repo/examples/c/fetch_token.c" $(pkg-config --cflags --static --libs cctoken) \
    -o c-pkgconfig/app_static_only || fail "pkg-config --static --libs cctoken on a static-only install"
unset PKG_CONFIG_PATH
expect "C, pkg-config cctoken (rpath)" c c-pkgconfig/app_shared
expect "C, pkg-config cctoken-static" c c-pkgconfig/app_static
expect "C, pkg-config --static cctoken (static-only install)" c c-pkgconfig/app_static_only

# --- Python: the wheel in a fresh venv ---------------------------------------------------------
wheels=("$dist"/cctoken-"$VERSION"-py3-none-manylinux_*.whl)
[[ -f ${wheels[0]} ]] || fail "no py3-none-manylinux wheel in dist/"
python3 -m venv py-venv
py-venv/bin/pip install --quiet --disable-pip-version-check --no-index "${wheels[@]}" || fail "pip install of the wheel"
cp "$repo/examples/python/fetch_token.py" .
where=$(py-venv/bin/python -c 'import cctoken, os; print(os.path.dirname(cctoken.__file__))')
[[ $where == "$scratch/py-venv/"* && -f $where/libcctoken.so ]] || fail "cctoken imported from $where, not the wheel"
expect "Python wheel ($(basename "${wheels[0]}"))" python py-venv/bin/python fetch_token.py

# --- Go: a fresh module from the file GOPROXY --------------------------------------------------
mkdir -p go-app
cp "$repo/examples/go/main.go" go-app/
(
    cd go-app
    export GOPROXY=file://$dist/goproxy,https://proxy.golang.org GONOSUMDB=$module GOFLAGS=-mod=mod \
        GOMODCACHE=$scratch/gomodcache GOTOOLCHAIN=local
    go mod init example.com/cctoken-user >/dev/null 2>&1
    go get "$module@v$VERSION" >get.log 2>&1 || fail "go get $module@v$VERSION: $(cat get.log)"
    go mod tidy >tidy.log 2>&1 || fail "go mod tidy: $(cat tidy.log)"
    ! grep -q replace go.mod || fail "go.mod has a replace directive"
    go build -o app . >build.log 2>&1 || fail "go build: $(cat build.log)"
)
! readelf -d go-app/app | grep -q libcctoken || fail "the Go program needs libcctoken at run time"
expect "Go module from the file GOPROXY ($module@v$VERSION)" go go-app/app

# --- the crate and the sdist: what they carry --------------------------------------------------
crate_files=$(tar -tzf "$dist/cctoken-$VERSION.crate")
for f in Cargo.toml Cargo.lock build.rs src/lib.rs src/ffi/mod.rs include/cctoken.h LICENSE; do
    grep -qx "cctoken-$VERSION/$f" <<<"$crate_files" || fail "the crate lacks $f"
done
! grep -Eq "^cctoken-$VERSION/(tests|bindings|benches|dev-server|target)/" <<<"$crate_files" || fail "the crate carries tests, bindings or build output"
sdist_files=$(tar -tzf "$dist/cctoken-$VERSION.tar.gz")
for f in setup.py pyproject.toml LICENSE cctoken/__init__.py native/Cargo.toml native/Cargo.lock native/src/lib.rs; do
    grep -qx "cctoken-$VERSION/$f" <<<"$sdist_files" || fail "the sdist lacks $f"
done
! grep -q '\.so$' <<<"$sdist_files" || fail "the sdist carries a built library"
step "ok  crate ($(wc -l <<<"$crate_files") files) and sdist ($(wc -l <<<"$sdist_files") files, crate inside)"

step "every artifact installed and fetched a token without cargo; dev server answered $(curl -s "$base/_dev/stats")"
