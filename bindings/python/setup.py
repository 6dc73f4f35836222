"""Build hook: bundles libcctoken.so into the package (metadata is in pyproject.toml).

Where the library comes from, in order:
  1. $CCTOKEN_LIBRARY, an already built libcctoken.so;
  2. the cctoken repository this directory sits in: `cargo build --release --lib` there
     (incremental, so an up-to-date target/ makes it quick; $CARGO_TARGET_DIR is honoured);
  3. cctoken/libcctoken.so already in this directory (`make stage` copies it there).
Editable installs bundle nothing: the package then loads the .so from its source directory
or $CCTOKEN_LIBRARY at import time.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _in_repository() -> bool:
    cargo_toml = REPO / "Cargo.toml"
    return cargo_toml.is_file() and 'name = "cctoken"' in cargo_toml.read_text()


def library() -> Path:
    override = os.environ.get("CCTOKEN_LIBRARY")
    if override:
        return Path(override).resolve()
    if _in_repository() and shutil.which(os.environ.get("CARGO", "cargo")):
        cargo = os.environ.get("CARGO", "cargo")
        subprocess.run([cargo, "build", "--release", "--lib"], cwd=REPO, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        return (REPO / target / "release" / "libcctoken.so").resolve()
    staged = HERE / "cctoken" / "libcctoken.so"
    if staged.is_file():
        return staged
    raise SystemExit(
        "cctoken: no libcctoken.so to bundle. Install Rust (cargo) and build from the cctoken "
        "repository, run `make stage` there, or set CCTOKEN_LIBRARY to a built libcctoken.so."
    )


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = library()
        target = Path(self.build_lib) / "cctoken" / "libcctoken.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        print(f"cctoken: bundled {source}")


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is tagged for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
