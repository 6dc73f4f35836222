#!/usr/bin/env python3
"""Writes the Go module bindings/go as a GOPROXY directory (the layout `go` fetches over file://).

    packaging/goproxy.py OUT VERSION LIBDIR...

OUT/<escaped module path>/@v/{list, VERSION.info, VERSION.mod, VERSION.zip}. The zip holds the
module's files (as `git ls-files` lists them: no build output), the repository's LICENSE and
include/cctoken.h (header.go), and the prebuilt static libraries given as LIBDIR=GOOS_GOARCH:PATH/libcctoken.a, placed where
link_static.go's cgo LDFLAGS look (lib/<goos>_<goarch>/libcctoken.a, relative to ${SRCDIR}, so
it links from the read-only module cache). This is what a tagged release of the module with the
libraries committed looks like to `go get`.
"""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_DIR = ROOT / "bindings" / "go"
# Module zips have a fixed timestamp so the same inputs give the same zip (and go.sum hash).
STAMP = (2026, 1, 1, 0, 0, 0)


def escape(path: str) -> str:
    """Module path escaping of the proxy protocol: an upper-case letter becomes '!' + lower."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def main() -> None:
    out, version, libs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    gomod = (MODULE_DIR / "go.mod").read_text()
    module = re.search(r"^module\s+(\S+)", gomod, re.M).group(1)
    files = subprocess.run(["git", "ls-files", "-z", "."], cwd=MODULE_DIR, check=True, capture_output=True,
                           text=True).stdout.split("\0")
    entries = {f: MODULE_DIR / f for f in files if f and not f.startswith("lib/")}
    entries["LICENSE"] = ROOT / "LICENSE"
    entries["include/cctoken.h"] = ROOT / "include" / "cctoken.h"  # see header.go
    for spec in libs:
        platform, path = spec.split(":", 1)
        entries[f"lib/{platform}/libcctoken.a"] = Path(path)

    vdir = out / escape(module) / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(vdir / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{module}@{version}/{name}", STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, entries[name].read_bytes())
    (vdir / f"{version}.mod").write_text(gomod)
    (vdir / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}) + "\n")
    listed = set((vdir / "list").read_text().split()) if (vdir / "list").exists() else set()
    (vdir / "list").write_text("".join(f"{v}\n" for v in sorted(listed | {version})))
    print(f"goproxy: {module}@{version} ({len(entries)} files) in {vdir}")


if __name__ == "__main__":
    main()
