"""``lbaudit evaluate --root`` of a container image passed every rule its sysctl.d decides.

Before: the base image of tests/hostile/test_offline_images.py without what applies its sysctl.d at
boot (no systemd-sysctl; no procps sysctl, /etc/init.d/procps or init: a container image) exited 0
with the ephemeral pool, its bounds and the listeners in its range passed on the image's
``ip_local_port_range``, and the io_uring persistent rules passed on its ``kernel.io_uring_disabled
= 2``: values no container started from it holds (its network namespace has the kernel's defaults
and what the runtime sets; io_uring_disabled is the host's).  Now each is not_reviewed naming what
is missing, and the run exits 3; with procps' boot it is judged as before (exit 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PROCPS_BOOT_FILES
from tests.hostile.test_offline_images import evaluate, status
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

DECIDED_BY_SYSCTL_D = [("pool", "ephemeral port pool"), ("pool", "ephemeral port range bounds"),
                       ("pool", "listeners in the ephemeral port range"), ("audit", "persistent rules io_uring")]


def test_control_case_an_image_whose_boot_applies_sysctl_d_is_judged_on_it(image: Path) -> None:
    code, found = evaluate(image)
    assert code == 0
    assert [status(found, *key) for key in DECIDED_BY_SYSCTL_D] == ["pass"] * len(DECIDED_BY_SYSCTL_D)


@pytest.mark.parametrize("removed", [tuple(PROCPS_BOOT_FILES), ("sbin/init",)], ids=["container", "no-init"])
def test_an_image_whose_sysctl_d_nothing_applies_is_not_passed_on_it(image: Path, removed: tuple[str, ...]) -> None:
    for name in removed:
        (image / name).unlink()
    code, found = evaluate(image)
    assert code == 3
    for key in DECIDED_BY_SYSCTL_D:
        assert status(found, *key) == "not_reviewed", (key, found[key])
        assert "nothing in this image applies its sysctl configuration" in found[key]["reason"], found[key]
