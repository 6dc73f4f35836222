#!/usr/bin/env bash
# `make dist`: every release artifact into dist/, from the release build `make stage` made.
#
#   dist/cctoken-V-linux-ARCH.tar.gz          C SDK (lib, include, pkg-config, CMake, bin/)
#   dist/cctoken-V-py3-none-manylinux_*.whl   Python wheel (ctypes + the library), auditwheel-checked
#   dist/cctoken-V.tar.gz                     Python sdist (builds the library with cargo)
#   dist/cctoken-V.crate                      the crate, as `cargo publish` would upload it
#   dist/goproxy/                             the Go module in GOPROXY layout, static library inside
#   dist/SHA256SUMS
#
# Needs: target/stage (make stage) and target/release/{cctoken,cctoken-dev-server}; cargo (the
# crate is packaged and verified by `cargo publish --dry-run`, which needs crates.io's index);
# python3 with venv; PyPI for the packaging tools (packaging/requirements-dist.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VERSION:?}" "${MAJOR:?}"
CARGO=${CARGO:-cargo}

step() { echo "dist: $*"; }

arch=$(uname -m)
case $arch in
x86_64) goarch=amd64 ;;
aarch64) goarch=arm64 ;;
*) echo "dist: unsupported architecture $arch" >&2; exit 1 ;;
esac
py_version=$(sed -n 's/^version = "\(.*\)"/\1/p' bindings/python/pyproject.toml)
[[ $py_version == "$VERSION" ]] || { echo "dist: bindings/python/pyproject.toml says $py_version, Cargo.toml $VERSION" >&2; exit 1; }

work=target/dist-build
rm -rf dist "$work"
mkdir -p dist "$work"

# 1. The C SDK: relocatable (.pc files use ${pcfiledir}, the CMake config its own location).
sdk_name=cctoken-$VERSION-linux-$arch
sdk=$work/$sdk_name
step "C SDK $sdk_name"
packaging/install-sdk.sh "$sdk" '${pcfiledir}/../..' --strip
cp LICENSE "$sdk/"
sed -e "s|@VERSION@|$VERSION|g" -e "s|@MAJOR@|$MAJOR|g" -e "s|@ARCH@|$arch|g" packaging/README.sdk.md >"$sdk/README.md"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=2026-01-01 -C "$work" -czf "dist/$sdk_name.tar.gz" "$sdk_name"

# 2. The crate. --allow-dirty: `make test` runs this on working trees too; what is packaged is
# what the tests test. `cargo publish --dry-run` builds the extracted crate on its own (a debug
# build of everything): skipped when the .crate (deterministic) is the one it last passed.
crate=target/package/cctoken-$VERSION.crate
"$CARGO" package --no-verify --allow-dirty --quiet -p cctoken
crate_sum=$(sha256sum "$crate" | cut -d' ' -f1)
if [[ $(cat target/dist-crate-verified 2>/dev/null) != "$crate_sum" ]]; then
    step "crate: cargo publish --dry-run (packages and builds the crate alone)"
    "$CARGO" publish --dry-run --allow-dirty --quiet -p cctoken
    echo "$crate_sum" >target/dist-crate-verified
else
    step "crate: unchanged since cargo publish --dry-run last passed on it"
fi
cp "$crate" dist/

# 3. Python: tools in their own venv; the package built from a copy of bindings/python (its
# tracked files) with the crate as native/ for the sdist and the SDK's stripped library for the wheel.
step "Python wheel and sdist"
venv=target/dist-venv
if ! cmp -s packaging/requirements-dist.txt "$venv/requirements-dist.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r packaging/requirements-dist.txt
    cp packaging/requirements-dist.txt "$venv/"
fi
pysrc=$work/python
mkdir -p "$pysrc/native"
git ls-files -z bindings/python | while IFS= read -r -d '' f; do
    install -D -m 644 "$f" "$pysrc/${f#bindings/python/}"
done
cp LICENSE "$pysrc/"
tar -xzf "dist/cctoken-$VERSION.crate" -C "$pysrc/native" --strip-components=1
(cd "$pysrc" && ../../../"$venv"/bin/python -m build --sdist --no-isolation --outdir ../../../dist) \
    >"$work/sdist.log" 2>&1 || { cat "$work/sdist.log" >&2; exit 1; }
(cd "$pysrc" && CCTOKEN_LIBRARY="$PWD/../$sdk_name/lib/libcctoken.so.$VERSION" \
    ../../../"$venv"/bin/python -m build --wheel --no-isolation --outdir ../wheel) \
    >"$work/wheel.log" 2>&1 || { cat "$work/wheel.log" >&2; exit 1; }
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/auditwheel" repair --wheel-dir dist "$work"/wheel/*.whl >"$work/auditwheel.log" 2>&1 \
    || { cat "$work/auditwheel.log" >&2; exit 1; }
"$venv/bin/auditwheel" show dist/*manylinux*.whl | tr '\n' ' ' | sed 's/  */ /g; s/^/dist: auditwheel: /; s/$/\n/'

# 4. Go: the module with the SDK's (stripped) static library, as a proxy directory.
step "Go module proxy directory"
python3 packaging/goproxy.py dist/goproxy "v$VERSION" "linux_$goarch:$sdk/lib/libcctoken.a"

# 5. Checksums over everything a user downloads.
(cd dist && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum >SHA256SUMS)
step "done; sizes:"
(cd dist && find . -type f | sort | xargs du -h --apparent-size | sed 's/^/  /')
echo "  C SDK unpacked: $(du -sh --apparent-size "$sdk" | cut -f1) (libcctoken.so $(du -h --apparent-size "$sdk/lib/libcctoken.so.$VERSION" | cut -f1), libcctoken.a $(du -h --apparent-size "$sdk/lib/libcctoken.a" | cut -f1))"
