"""Hostile outputs of ``lbaudit schedule``: a file it wrote that an administrator edited since is
neither replaced nor removed.

Install and remove knew their files by the first line alone (:data:`auditor.schedule.MARKER`),
which an edit keeps (``systemctl edit --full lbaudit-scan.service`` adds an ``Environment=`` line
and leaves the comment), so installing again (say, for another ``--on-calendar``) replaced the
edited unit without a word, and ``remove`` deleted it.  Each case asserts the exact exit code and
that every file under the image root is byte for byte what it was.
"""

from __future__ import annotations

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import install_into_image as install
from tests.schedule.conftest import make_image_root, tree

USAGE = 2


@pytest.fixture
def image_root(tmp_path):
    return make_image_root(tmp_path)


@pytest.mark.parametrize("backend, name", [("systemd", f"etc/systemd/system/{sched.SERVICE}"),
                                           ("systemd", f"etc/systemd/system/{sched.TIMER}"),
                                           ("cron", "etc/cron.d/lbaudit")])
def test_an_edited_file_is_neither_replaced_nor_removed(image_root, backend, name):
    assert install(image_root, backend=backend).returncode == 0
    edited = image_root / name
    edited.write_text(edited.read_text() + "# the administrator's line\n")
    before = tree(image_root)
    again = install(image_root, "--on-calendar", "hourly", backend=backend)
    assert again.returncode == USAGE, again.stderr  # before: 0, the edit gone
    assert "edited since" in again.stderr and str(edited) in again.stderr
    assert tree(image_root) == before
    removed = run_cli("schedule", "remove", "--root", image_root)
    assert removed.returncode == USAGE, removed.stderr  # before: 0, the edited file deleted
    assert tree(image_root) == before


def test_control_case_a_file_of_an_earlier_version_without_its_digest_is_still_replaced(image_root):
    assert install(image_root).returncode == 0
    service = image_root / "etc/systemd/system" / sched.SERVICE
    lines = service.read_text().split("\n")
    assert lines[0] == sched.MARKER and lines[1].startswith(sched.DIGEST_PREFIX)
    service.write_text("\n".join([lines[0], *lines[2:]]))  # as lbaudit wrote it before the digest line
    assert install(image_root, "--on-calendar", "hourly").returncode == 0
    assert "OnCalendar=hourly" in (image_root / "etc/systemd/system" / sched.TIMER).read_text()
    assert run_cli("schedule", "remove", "--root", image_root).returncode == 0
    assert not service.exists()
