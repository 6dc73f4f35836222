#!/usr/bin/env bash
# Lays out the C SDK under ROOT: lib/ (versioned libcctoken.so + SONAME links, libcctoken.a),
# include/cctoken.h, lib/pkgconfig/cctoken{,-static}.pc, lib/cmake/cctoken/, bin/cctoken and
# bin/cctoken-dev-server. Used by `make install` and `make dist` (the archive's contents).
#
#   packaging/install-sdk.sh ROOT PC_PREFIX [--strip]
#
# PC_PREFIX is the prefix written into the .pc files: the install prefix, or '${pcfiledir}/../..'
# for a relocatable archive. The CMake config is always relocatable.
# Inputs: target/stage (make stage), target/release/{cctoken,cctoken-dev-server}, VERSION, MAJOR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$1 pc_prefix=$2 strip=${3:-}
: "${VERSION:?}" "${MAJOR:?}"

stage=target/stage
native_libs=$(sed -n 's/^Libs.private: //p' cctoken.pc.in)
native_cmake=$(sed 's/-l//g; s/ /;/g' <<<"$native_libs")

install -d "$root/lib/pkgconfig" "$root/lib/cmake/cctoken" "$root/include" "$root/bin"
install -m 644 "$stage/lib/libcctoken.a" "$root/lib/"
install -m 755 "$stage/lib/libcctoken.so.$VERSION" "$root/lib/"
ln -sfn "libcctoken.so.$VERSION" "$root/lib/libcctoken.so.$MAJOR"
ln -sfn "libcctoken.so.$MAJOR" "$root/lib/libcctoken.so"
install -m 644 include/cctoken.h "$root/include/"
install -m 755 target/release/cctoken target/release/cctoken-dev-server "$root/bin/"

subst() {
    sed -e "s|@PREFIX@|$pc_prefix|g" -e "s|@VERSION@|$VERSION|g" -e "s|@MAJOR@|$MAJOR|g" \
        -e "s|@NATIVE_LIBS@|$native_libs|g" -e "s|@NATIVE_LIBS_CMAKE@|$native_cmake|g" "$1" >"$2"
    chmod 644 "$2"
}
subst cctoken.pc.in "$root/lib/pkgconfig/cctoken.pc"
subst packaging/cctoken-static.pc.in "$root/lib/pkgconfig/cctoken-static.pc"
subst packaging/cmake/cctokenConfig.cmake.in "$root/lib/cmake/cctoken/cctokenConfig.cmake"
subst packaging/cmake/cctokenConfigVersion.cmake.in "$root/lib/cmake/cctoken/cctokenConfigVersion.cmake"

if [[ $strip == --strip ]]; then
    # Debug info goes; the symbol tables the linker and the exported ABI need stay.
    strip --strip-debug "$root/lib/libcctoken.a"
    strip --strip-unneeded "$root/lib/libcctoken.so.$VERSION"
    strip "$root/bin/cctoken" "$root/bin/cctoken-dev-server"
fi
