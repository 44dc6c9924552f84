"""/etc/sysctl.conf linked to nothing, under a systemd-sysctl whose version cannot be told.

A systemd-sysctl before 207 (or RHEL 7's 219) applies /etc/sysctl.conf last, over every sysctl.d
file; when the installed version is not known lbaudit reads that file too, and a key it changes is
not known at boot (tests/hostile/test_rules12_sysctl_conf_old_systemd.py).  But a link to nothing
there (``/etc/sysctl.conf -> /srv/conf/sysctl.conf``, a mount the image does not carry) was read
as no file at all, and net.time_wait passed on the sysctl.d files alone although the booted host's
/etc/sysctl.conf may set tcp_tw_reuse 1 over them.  In an image such a link is now a file that
cannot be read: the keys are not reviewed.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.model.result import Status
from tests.hostile.test_rules12_sysctl_conf_old_systemd import image, tw_reuse


def test_sysctl_conf_linked_to_nothing_makes_the_key_unknown(tmp_path: Path) -> None:
    root = image(tmp_path, "")
    (root / "etc/sysctl.conf").unlink()
    os.symlink("/srv/conf/sysctl.conf", root / "etc/sysctl.conf")
    outcome = tw_reuse(root)
    assert outcome.status == Status.NOT_REVIEWED, outcome
    assert "/etc/sysctl.conf" in (outcome.reason or ""), outcome.reason


def test_no_sysctl_conf_at_all_is_the_files_alone(tmp_path: Path) -> None:
    root = image(tmp_path, "")
    (root / "etc/sysctl.conf").unlink()
    assert tw_reuse(root).status == Status.PASS
