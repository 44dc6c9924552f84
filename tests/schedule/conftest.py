"""Helpers of the scheduling tests: an image root to install into, the lbaudit executable, systemd-analyze."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.schedule import PRIVATE_TMP_DIRS
from tests.report.conftest import in_ci

REPO = Path(__file__).resolve().parents[2]
POLICY = "/etc/lbaudit/corp.yaml"  # as the scheduled host sees it
IMAGE_EXECUTABLE = "/usr/local/bin/lbaudit"  # in an image the executable is not checked (it may be installed later)


@pytest.fixture
def tmp_path(tmp_path: Path) -> Iterator[Path]:
    """pytest's ``tmp_path``, unless it is under /tmp or /var/tmp (``TMPDIR=/tmp``, or
    ``LBAUDIT_TEST_TMP_ON_DISK=1``): these tests install systemd units naming their files by this
    host's paths, which install refuses there (the unit's PrivateTmp=yes hides both), so then a
    directory of /dev/shm, which the unit sees (its private /dev binds the host's /dev/shm)."""
    real = os.path.realpath(tmp_path)
    if not any(real == d or real.startswith(d + "/") for d in PRIVATE_TMP_DIRS) or not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    seen = Path(tempfile.mkdtemp(prefix="lbaudit-schedule-test-", dir="/dev/shm"))
    try:
        yield seen
    finally:
        shutil.rmtree(seen, ignore_errors=True)


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    return make_image_root(tmp_path)


def make_image_root(tmp_path: Path) -> Path:
    """An offline image root as a Debian host with systemd, cron and util-linux has it, holding a policy."""
    root = tmp_path / "image"
    for directory in ("etc/systemd/system", "etc/cron.d", "etc/lbaudit", "var/lib", "usr/bin"):
        (root / directory).mkdir(parents=True)
    shutil.copy(REPO / "policies" / "corp.yaml", root / POLICY.lstrip("/"))
    # A copy, not a link to this host's: inside an image an absolute link leads to the image's own
    # /usr/bin/flock, as it will on the host that boots it (so a link to itself, a loop)
    shutil.copy2(shutil.which("flock") or "/usr/bin/flock", root / "usr/bin/flock")
    return root


def install_into_image(root: Path, *extra: object, backend: str = "systemd"):
    """``lbaudit schedule install`` of POLICY into the image ``root`` (in-process), as the hostile
    schedule tests run it with their own extra options (a --policy of theirs instead of POLICY: an
    option given twice is refused)."""
    from tests.cli import run_cli

    policy = () if "--policy" in extra else ("--policy", POLICY)
    return run_cli("schedule", "install", "--backend", backend, "--root", root, "--executable", IMAGE_EXECUTABLE,
                   *policy, *extra)


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``: its kind and mode, a link's target, a file's bytes."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = os.lstat(path)
            if path.is_symlink():
                found[str(path.relative_to(root))] = f"link {os.readlink(path)}"
            elif path.is_dir():
                found[str(path.relative_to(root))] = f"dir {st.st_mode:o}"
            else:
                found[str(path.relative_to(root))] = f"file {st.st_mode:o} {path.read_bytes()!r}"
    return found


def lbaudit_executable() -> Path:
    """The installed ``lbaudit`` script of this venv (scripts/bootstrap installs it; CI has it)."""
    path = Path(sys.executable).parent / "lbaudit"
    if not (path.is_file() and os.access(path, os.X_OK)):
        message = f"no lbaudit executable beside {sys.executable} (run scripts/bootstrap --test)"
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


def systemd_analyze() -> str:
    """systemd-analyze (Debian package systemd, in scripts/bootstrap --test); a skip without it, a failure in CI."""
    path = shutil.which("systemd-analyze")
    if path is None:
        message = "systemd-analyze is not installed (Debian package systemd; scripts/bootstrap --test installs it)"
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


def subprocess_env() -> dict[str, str]:
    """The environment a child lbaudit needs to import this checkout (the venv's may be another one's)."""
    return {**os.environ, "PYTHONPATH": str(REPO)}
