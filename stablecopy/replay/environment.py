"""Finding (or making) the Python that runs pywb, which lives in a virtualenv of its own.

pywb pins libraries the crawler cannot share (redis==2.10.6, an exact werkzeug), so it is never
installed beside stablecopy: it gets its own virtualenv, made on first use from PyPI.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import venv
from collections.abc import Callable
from importlib.resources import as_file, files
from pathlib import Path

logger = logging.getLogger(__name__)

_PROBE = "import gevent.pywsgi, pywb.apps.frontendapp"


class ReplayEnvironmentError(RuntimeError):
    """No Python with pywb can be found or made."""


def has_pywb(python: str) -> bool:
    try:
        probe = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _install(folder: Path, notify: Callable[[str], None]) -> str:
    """A fresh virtualenv in `folder` with pywb installed from the package index."""
    notify(f"Installing pywb into {folder} (first use only; it needs the package index)...")
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = str(folder / "bin" / "python")
    with as_file(files("stablecopy.replay").joinpath("pywb-requirements.txt")) as requirements:
        done = subprocess.run(
            [python, "-m", "pip", "install", "-q", "-r", str(requirements)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["pip failed"]
        raise ReplayEnvironmentError(f"could not install pywb into {folder}: {tail[0]}")
    return python


def pywb_python(
    explicit: str | None, cache: Path, notify: Callable[[str], None] = logger.warning
) -> str:
    """The Python to run pywb with: the one given, this one if it has pywb, or a managed one."""
    if explicit:
        if not has_pywb(explicit):
            raise ReplayEnvironmentError(f"{explicit} cannot import pywb and gevent")
        return explicit
    if importlib.util.find_spec("pywb") is not None and has_pywb(sys.executable):
        return sys.executable
    managed = cache / "pywb-2.10"
    python = managed / "bin" / "python"
    if python.exists() and has_pywb(str(python)):
        return str(python)
    return _install(managed, notify)
