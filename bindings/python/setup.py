"""Build hook: bundles libcctoken.so into the package (metadata is in pyproject.toml).

Where the library comes from, in order:
  1. $CCTOKEN_LIBRARY, an already built libcctoken.so;
  2. the cctoken repository this directory sits in: `cargo build --release --lib` there
     (incremental, so an up-to-date target/ makes it quick; $CARGO_TARGET_DIR is honoured);
  3. native/, the cctoken crate that `make dist` puts into the sdist: built the same way, so
     `pip install cctoken-X.tar.gz` works anywhere with Rust (cargo) installed;
  4. cctoken/libcctoken.so already in this directory (`make stage` copies it there).
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

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _in_repository() -> bool:
    cargo_toml = REPO / "Cargo.toml"
    return cargo_toml.is_file() and 'name = "cctoken"' in cargo_toml.read_text()


def _cargo_build(crate: Path) -> Path:
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run([cargo, "build", "--release", "--lib"], cwd=crate, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", crate / "target"))
    return (crate / target / "release" / "libcctoken.so").resolve()


def library() -> Path:
    override = os.environ.get("CCTOKEN_LIBRARY")
    if override:
        return Path(override).resolve()
    has_cargo = shutil.which(os.environ.get("CARGO", "cargo")) is not None
    if _in_repository() and has_cargo:
        return _cargo_build(REPO)
    if (HERE / "native" / "Cargo.toml").is_file():
        if not has_cargo:
            raise SystemExit(
                "cctoken: building from source needs Rust (cargo, https://rustup.rs); "
                "or install the prebuilt wheel: pip install --only-binary cctoken cctoken"
            )
        return _cargo_build(HERE / "native")
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


class AnyPythonWheel(bdist_wheel):
    """py3-none-<platform>: the package is pure ctypes, so one wheel serves every Python 3 (the
    library inside has no Python ABI); only the platform tag applies (auditwheel turns
    linux_x86_64 into manylinux_2_X in `make dist`)."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": AnyPythonWheel},
    distclass=BinaryDistribution,
)
