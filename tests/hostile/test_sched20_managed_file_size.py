"""`schedule install` wrote a unit that `schedule remove` (and the next install) disowned.

install and remove tell lbaudit's own files by reading at most ``MAX_MANAGED_FILE`` bytes of them;
a longer file is "not something lbaudit wrote".  A ``--store`` URL is no path, so no PATH_MAX
bounds it: ``--store 'postgresql+psycopg://db/lbaudit?application_name=' + 70,000 characters``
was installed with exit 0 as a 72 KB lbaudit-scan.service, and then ``schedule remove`` refused it
(exit 2, "exists and was not written by lbaudit schedule install"), as did every later install: the
only way out was deleting the unit by hand.  Now a file longer than lbaudit can read back is
refused before anything is written (exit 2, naming the file), with ``--dry-run`` too.
"""

from __future__ import annotations

import pytest

from auditor import schedule as sched
from tests.cli import run_cli
from tests.schedule.conftest import install_into_image, make_image_root, tree

LONG_STORE = "postgresql+psycopg://db.example/lbaudit?application_name=" + "a" * 70_000


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)])
def test_a_unit_too_long_to_read_back_is_refused_and_nothing_written(tmp_path, dry_run):
    root = make_image_root(tmp_path)
    before = tree(root)
    result = install_into_image(root, "--store", LONG_STORE, *dry_run)
    assert result.returncode == 2, result.stdout[:300]
    assert sched.SERVICE in result.stderr and "internal error" not in result.stderr, result.stderr[:500]
    assert tree(root) == before


def test_what_install_writes_remove_removes(tmp_path):
    """The control case: a long URL that still fits is installed, and removed again."""
    root = make_image_root(tmp_path)
    before = tree(root)
    store = LONG_STORE[:len(LONG_STORE) - 70_000] + "a" * 20_000
    assert install_into_image(root, "--store", store).returncode == 0
    removed = run_cli("schedule", "remove", "--root", root)
    assert removed.returncode == 0, removed.stderr[:500]
    assert tree(root) == before
