"""The cron line `schedule install --backend cron` writes, as Debian's cron (3.0pl1-162) reads it.

Measured with that cron itself, run on a private /etc/cron.d in a mount namespace:

* a line whose command is longer than 998 bytes is an error, and cron then ignores the whole file:
  the job never runs and nothing says so (a --policy, --out-dir, --store... long enough was written
  with exit 0);
* a backslash escapes the next character: ``\\%`` is ``%`` and ``\\\\`` is one backslash, so a path
  holding ``\\%`` (written ``\\\\%``) ended the command at the ``%`` (an unclosed quote: every run a
  shell syntax error), and one holding ``\\\\`` named another file.  cronie keeps ``\\\\`` as two, so
  no escaping reads the same under both: such a value is refused.

Exit 2 naming the problem, nothing written.  The systemd backend has neither limit."""

from __future__ import annotations

import pytest

from auditor import schedule as sched
from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


def _cron_command(root) -> str:
    job = (root / "etc/cron.d/lbaudit").read_text(encoding="utf-8").splitlines()[-1]
    return job.split(" root ", 1)[1]


def test_a_cron_command_longer_than_cron_reads_is_refused(image_root):
    out_dir = "/srv/" + "/".join(["d" * 200] * 5)  # each part a name, the whole a path: 1,009 bytes
    (image_root / out_dir.lstrip("/")).parent.mkdir(parents=True)
    before = tree(image_root)
    result = install(image_root, "--out-dir", out_dir, backend="cron")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "cron job's command is" in result.stderr and "at most 998 bytes" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(image_root) == before
    # the same paths fit a systemd unit (whose ReadWritePaths= needs the directory itself)
    (image_root / out_dir.lstrip("/")).mkdir()
    assert install(image_root, "--out-dir", out_dir).returncode == 0


def test_a_cron_command_of_998_bytes_is_written(image_root):
    parent = "/srv/" + "/".join(["d" * 200] * 3)
    (image_root / parent.lstrip("/")).mkdir(parents=True)
    result = install(image_root, "--out-dir", f"{parent}/x", backend="cron")
    assert result.returncode == 0, result.stderr
    short = len(_cron_command(image_root).encode())
    # the command grows by exactly the bytes the out-dir grows by (a plain name needs no quoting)
    out_dir = f"{parent}/" + "x" * (1 + sched.CRON_MAX_COMMAND - short)
    assert install(image_root, "--out-dir", out_dir, backend="cron").returncode == 0
    assert len(_cron_command(image_root).encode()) == sched.CRON_MAX_COMMAND
    result = install(image_root, "--out-dir", out_dir + "x", backend="cron")
    assert result.returncode == 2 and "999 bytes" in result.stderr, result.stderr


@pytest.mark.parametrize("directory", ["/srv/a\\%b", "/srv/a\\\\b", "/srv/100%\\\\"])
def test_a_backslash_cron_reads_as_an_escape_is_refused(image_root, directory):
    (image_root / directory.lstrip("/")).mkdir(parents=True)
    before = tree(image_root)
    result = install(image_root, "--textfile-dir", directory, backend="cron")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "a backslash before" in result.stderr and "cron" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(image_root) == before


def test_a_lone_backslash_and_a_percent_are_written_as_cron_reads_them(image_root):
    directory = "/srv/a\\b 100%"
    (image_root / directory.lstrip("/")).mkdir(parents=True)
    result = install(image_root, "--textfile-dir", directory, backend="cron")
    assert result.returncode == 0, result.stderr
    # '\b' is kept by every cron, '%' escaped as '\%' (cron removes the backslash)
    assert "--textfile-dir '/srv/a\\b 100\\%' " in _cron_command(image_root)
