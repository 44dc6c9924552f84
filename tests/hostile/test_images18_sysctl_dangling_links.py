"""An offline image's sysctl file that is a symbolic link to nothing does not prove the key unset.

Before: ``/etc/sysctl.d/99-tuning.conf -> /srv/tuning/99.conf`` (or ``/etc/sysctl.conf`` linked
so), in an image that does not carry /srv (a separate partition, a volume mounted at boot), was
skipped as "sets nothing", and the pool passed on the earlier files, though at boot the link leads
to a file that may set ``net.ipv4.ip_local_port_range`` to anything.  lbaudit already treats such a
link as unknown for the sysctl and rules directories themselves, systemd-sysctl's program, the boot
loader files and rules.d's files; now a sysctl file so linked is too: the pool is not_reviewed,
naming the link.  A link to nothing where the image simply has no such file beside others
(``-> ../sysctl.conf`` with no /etc/sysctl.conf) is the same to an image: which one is a mount
cannot be told from it.  On a running host its mounts are there, and a link to nothing sets nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.test_offline_images import evaluate, image, link, status  # noqa: F401  (image: fixture)


@pytest.mark.parametrize("path", ["etc/sysctl.d/99-tuning.conf", "etc/sysctl.conf"])
def test_a_sysctl_file_linked_to_nothing_is_not_reviewed(image: Path, path: str) -> None:  # noqa: F811
    link(image, path, "/srv/tuning/99.conf")
    code, findings = evaluate(image)
    pool = findings[("pool", "ephemeral port pool")]
    assert pool["status"] == "not_reviewed", pool
    assert f"/{path}: not found, through a symbolic link to nothing" in pool["reason"], pool["reason"]
    assert code == 3


def test_the_link_made_to_the_file_is_judged(image: Path) -> None:  # noqa: F811
    """The same link with its target present: judged on what it sets (here a 11-port pool fails)."""
    target = image / "srv/tuning/99.conf"
    target.parent.mkdir(parents=True)
    target.write_text("net.ipv4.ip_local_port_range = 60000 60010\n")
    link(image, "etc/sysctl.d/99-tuning.conf", "/srv/tuning/99.conf")
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "fail"
    assert code == 1
    assert os.path.islink(image / "etc/sysctl.d/99-tuning.conf")
