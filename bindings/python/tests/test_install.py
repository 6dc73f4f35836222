"""`pip install ./bindings/python` into a fresh virtual environment builds and bundles the
library, and the installed package works on its own (no CCTOKEN_LIBRARY, no source tree).

Slow-ish (a venv and a wheel build; cargo reuses the repository's target/ directory), so it
is marked `install`: `pytest -m "not install"` skips it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from devserver import REPO, SECRET

pytestmark = pytest.mark.install

PROBE = textwrap.dedent(
    """
    import sys, cctoken
    from cctoken import _native
    assert _native.library_path.startswith(sys.prefix), _native.library_path
    with cctoken.Client(token_url=sys.argv[1], client_id="svc", client_secret=sys.argv[2]) as c:
        print(c.token().token_type, cctoken.version())
    """
)


def test_pip_install_into_a_fresh_venv(tmp_path, server):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("CCTOKEN_LIBRARY", "PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO / "bindings" / "python")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    site = subprocess.run([python, "-c", "import cctoken, os; print(os.path.dirname(cctoken.__file__))"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert site.returncode == 0, site.stderr
    package_dir = site.stdout.strip()
    assert package_dir.startswith(str(venv))
    assert {"__init__.py", "client.py", "libcctoken.so", "py.typed"} <= set(os.listdir(package_dir))
    # Run from another directory, so the source tree cannot be imported by accident.
    probe = subprocess.run([python, "-c", PROBE, server.token_url, SECRET], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["Bearer", "0.1.0"]
