#!/usr/bin/env python3
"""The exported ABI of libcctoken.so as a contract, checked against abi/cctoken.symbols.

    tools/abi.py check LIB [--header H]   fail on any difference from the committed list
    tools/abi.py bless LIB                rewrite the list (refuses removals without a SONAME bump)
    tools/abi.py selftest LIB             show that check catches an added, removed and leaked symbol

The list records the SONAME it was blessed for. `check` fails when
  - the library exports a symbol that is not `cct_*` (Rust's runtime or a dependency leaking);
  - it exports a `cct_*` symbol not in the list (a new function: run `make abi` and commit);
  - a listed symbol is gone (removed or renamed) while the SONAME major is unchanged: that breaks
    every program linked against libcctoken.so.N, so it needs a major version bump;
  - the SONAME is not libcctoken.so.<major version of Cargo.toml>, or differs from the list's;
  - with --header, the header declares a function the library does not export or vice versa.
`bless` writes the current symbols, but refuses to drop listed symbols under the same SONAME.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "abi" / "cctoken.symbols"


def exported(lib: Path) -> tuple[str, set[str]]:
    """(SONAME, defined dynamic symbols) of a shared library, read with binutils."""
    dynamic = subprocess.run(["readelf", "-d", str(lib)], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic)
    if not m:
        sys.exit(f"abi: {lib} has no SONAME")
    out = subprocess.run(
        ["nm", "-D", "--defined-only", "--format=posix", str(lib)], check=True, capture_output=True, text=True
    ).stdout
    return m.group(1), {line.split()[0] for line in out.splitlines() if line.strip()}


def read_list(path: Path) -> tuple[str, set[str]]:
    soname, symbols = "", set()
    for line in path.read_text().splitlines():
        if line.startswith("# soname:"):
            soname = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#"):
            symbols.add(line.strip())
    return soname, symbols


def write_list(path: Path, soname: str, symbols: set[str]) -> None:
    header = (
        "# The exported ABI of libcctoken.so: one symbol a line, checked by tools/abi.py (make test-abi).\n"
        "# Added functions: `make abi` and commit. Removed or renamed ones: only with a major version\n"
        "# bump (a new SONAME), since programs linked against the old SONAME would fail to load.\n"
        f"# soname: {soname}\n"
    )
    path.write_text(header + "".join(f"{s}\n" for s in sorted(symbols)))


def header_functions(header: Path) -> set[str]:
    """Functions the C header declares (cbindgen writes one declaration per statement)."""
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    return set(re.findall(r"\b(cct_\w+)\s*\([^;{]*\)\s*;", text))


def cargo_major() -> str:
    m = re.search(r'^version = "(\d+)\.', (ROOT / "Cargo.toml").read_text(), re.M)
    return m.group(1) if m else "?"


def problems(soname: str, symbols: set[str], listed_soname: str, listed: set[str], header: set[str] | None) -> list[str]:
    found = []
    leaked = sorted(s for s in symbols if not s.startswith("cct_"))
    if leaked:
        found.append(f"exports symbols outside the cct_ namespace (runtime leaking?): {', '.join(leaked[:10])}")
    expected_soname = f"libcctoken.so.{cargo_major()}"
    if soname != expected_soname:
        found.append(f"SONAME is {soname}, expected {expected_soname} (build.rs sets it from the major version)")
    added = sorted(s for s in symbols if s.startswith("cct_") and s not in listed)
    if added:
        found.append(f"new symbols not in abi/cctoken.symbols (run `make abi` and commit): {', '.join(added)}")
    removed = sorted(listed - symbols)
    if removed and soname == listed_soname:
        found.append(
            f"symbols removed or renamed without a major version bump (SONAME still {soname}): "
            f"{', '.join(removed)}; restore them, or bump the major version and `make abi`"
        )
    elif removed:
        found.append(f"SONAME changed {listed_soname} -> {soname}, list not re-blessed: run `make abi`")
    elif soname != listed_soname:
        found.append(f"SONAME changed {listed_soname} -> {soname}: run `make abi`")
    if header is not None:
        cct = {s for s in symbols if s.startswith("cct_")}
        if header - cct:
            found.append(f"declared in the header but not exported: {', '.join(sorted(header - cct))}")
        if cct - header:
            found.append(f"exported but not declared in the header: {', '.join(sorted(cct - header))}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "bless", "selftest"])
    parser.add_argument("lib", type=Path)
    parser.add_argument("--header", type=Path)
    parser.add_argument("--list", type=Path, default=LIST)
    args = parser.parse_args()
    soname, symbols = exported(args.lib)

    if args.command == "bless":
        if args.list.exists():
            listed_soname, listed = read_list(args.list)
            if listed - symbols and soname == listed_soname:
                print(f"abi: refusing to drop {', '.join(sorted(listed - symbols))} under {soname}: that is a "
                      "breaking change and needs a major version bump", file=sys.stderr)
                return 1
        write_list(args.list, soname, {s for s in symbols if s.startswith("cct_")})
        print(f"abi: {args.list.relative_to(ROOT)}: {len(symbols)} symbols for {soname}")
        return 0

    listed_soname, listed = read_list(args.list)
    header = header_functions(args.header) if args.header else None
    if args.command == "check":
        found = problems(soname, symbols, listed_soname, listed, header)
        for p in found:
            print(f"abi: {p}", file=sys.stderr)
        if not found:
            print(f"abi: {len(symbols)} exported symbols match abi/cctoken.symbols ({soname})")
        return 1 if found else 0

    # selftest: the checker must pass on the real list and flag each kind of change.
    assert not problems(soname, symbols, listed_soname, listed, header), "the library does not match the list"
    victim = sorted(symbols)[0]
    cases = {
        "a function removed": (soname, symbols - {victim}, "removed or renamed"),
        "a function renamed": (soname, (symbols - {victim}) | {victim + "_v2"}, "removed or renamed"),
        "a new unlisted function": (soname, symbols | {"cct_new_function"}, "new symbols"),
        "a Rust runtime symbol": (soname, symbols | {"rust_eh_personality"}, "outside the cct_ namespace"),
    }
    for what, (so, syms, expect) in cases.items():
        found = problems(so, syms, listed_soname, listed, None)
        if not any(expect in p for p in found):
            print(f"abi selftest: {what} was not caught: {found}", file=sys.stderr)
            return 1
    # A removal under a bumped SONAME is allowed once re-blessed, and bless refuses it otherwise.
    with tempfile.TemporaryDirectory() as tmp:
        bumped = Path(tmp) / "bumped.symbols"
        write_list(bumped, "libcctoken.so.999", symbols - {victim})
        if problems("libcctoken.so.999", symbols - {victim}, *read_list(bumped), None) != [
            f"SONAME is libcctoken.so.999, expected libcctoken.so.{cargo_major()} (build.rs sets it from the major version)"
        ]:
            print("abi selftest: a re-blessed major bump was not accepted", file=sys.stderr)
            return 1
    print(f"abi selftest: removal, rename, addition and leak each detected ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
