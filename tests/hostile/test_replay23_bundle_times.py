"""A captured bundle whose files were last written at a time no date can hold.

A bundle's capture time is its oldest file's modification time, which whoever hands the bundle
over sets at will (``touch -d``, ``os.utime``, an archive's recorded times).  On a file system that
keeps 64-bit times (tmpfs, where /dev/shm and many /tmp live; XFS with bigtime, Btrfs) a time can
lie hundreds of thousands of years from now, before or after: ``datetime.fromtimestamp`` then
raised ValueError ("year -314918 is out of range") and ``evaluate --target replay:DIR`` and
``collect --replay DIR`` ended in an internal error (exit 70) with nothing judged and no reason a
user could act on.  Such a bundle is now refused (exit 2) naming the file and its time, as a
snapshot whose collection time is not a date is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.bundles import BUNDLES, CORP
from tests.cli import run_cli

# About 317,000 years from the epoch: within a 64-bit time, outside Python's years 1 to 9999.
FAR = 10**13


def _bundle_dir_keeping(seconds: int) -> Path:
    """A directory on a file system that keeps ``seconds`` as a modification time (tmp_path is often
    on ext4, which clamps times to 1901-2446); skips where none does."""
    for base in ("/dev/shm", tempfile.gettempdir()):
        if not os.path.isdir(base) or not os.access(base, os.W_OK):
            continue
        directory = Path(tempfile.mkdtemp(prefix="replay23-", dir=base))
        probe = directory / "probe"
        probe.write_bytes(b"")
        try:
            os.utime(probe, (seconds, seconds))
            kept = os.stat(probe).st_mtime == seconds
        except OSError:
            kept = False
        probe.unlink()
        if kept:
            return directory
        shutil.rmtree(directory)
    pytest.skip(f"no writable file system here keeps a modification time of {seconds} s")


@pytest.fixture(params=[FAR, -FAR], ids=["far-future", "far-past"])
def far_bundle(request: pytest.FixtureRequest) -> Path:
    directory = _bundle_dir_keeping(request.param)
    bundle = directory / "windows-default-en"
    shutil.copytree(BUNDLES / "windows-default-en", bundle)
    for path in bundle.iterdir():
        os.utime(path, (request.param, request.param))
    yield bundle
    shutil.rmtree(directory)


def test_evaluate_refuses_a_bundle_written_at_no_date(far_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--target", f"replay:{far_bundle}", "--output", out, "-q",
                     "--no-plugins", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "internal error" not in result.stderr
    assert "modification time" in result.stderr and str(far_bundle) in result.stderr, result.stderr
    assert not out.exists()


def test_collect_refuses_a_bundle_written_at_no_date(far_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "snapshot.json"
    result = run_cli("collect", "--replay", far_bundle, "--output", out, "-q", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "internal error" not in result.stderr
    assert "modification time" in result.stderr
    assert not out.exists()


def test_a_bundle_of_ordinary_times_still_replays(tmp_path: Path) -> None:
    """The control: the same bundle with the times a copy gives is judged (exit 1: corp fails it)."""
    bundle = tmp_path / "windows-default-en"
    shutil.copytree(BUNDLES / "windows-default-en", bundle)
    out = tmp_path / "evidence.json"
    result = run_cli("evaluate", "--policy", CORP, "--target", f"replay:{bundle}", "--output", out, "-q",
                     "--no-plugins", cwd=tmp_path, timeout=60)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert out.exists()
