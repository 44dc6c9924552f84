"""An offline image's /run holds nothing its boot reads: systemd mounts a tmpfs there.

lbaudit read an image's unit directories under /run (/run/systemd/system, the generator and
transient directories) as a running host's: a socket unit masked there (a link to /dev/null, as
``systemctl mask --runtime`` makes), or moved to loopback by a drop-in there, was judged masked or
on loopback, though the booted image starts it on every address.  As for /run/sysctl.d, an image's
/run is not read; a running host's still is (its generators and runtime units are this boot's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import ETC_UNITS, UNITS, evaluate, link, listener_statuses, unit, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name


def wildcard_socket(image: Path) -> None:
    write(image, f"{UNITS}/open.socket", unit("0.0.0.0:8082"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/open.socket", f"/{UNITS}/open.socket")


def test_a_runtime_mask_in_the_images_run_does_not_hide_a_wildcard_socket(image: Path) -> None:
    wildcard_socket(image)
    link(image, "run/systemd/system/open.socket", "/dev/null")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:8082": "fail"}  # before: masked
    assert code == 1


def test_a_drop_in_in_the_images_run_does_not_move_it_to_loopback(image: Path) -> None:
    wildcard_socket(image)
    write(image, "run/systemd/system/open.socket.d/10-lo.conf", "[Socket]\nListenStream=\nListenStream=127.0.0.1:8082\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 0.0.0.0:8082": "fail"}
    assert code == 1


def test_a_unit_enabled_only_in_the_images_run_is_not_started(image: Path) -> None:
    write(image, "run/systemd/system/later.socket", unit("0.0.0.0:8083"))  # a unit only /run holds
    link(image, "run/systemd/system/sockets.target.wants/later.socket", "/run/systemd/system/later.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}  # before: 0.0.0.0:8083 failed
    assert code == 0


def test_control_case_a_mask_in_the_images_etc_still_hides_it(image: Path) -> None:
    wildcard_socket(image)
    link(image, f"{ETC_UNITS}/open.socket", "/dev/null")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


RUN_UNIT_DIRS = ["run/systemd/system.control", "run/systemd/transient", "run/systemd/generator.early",
                 "run/systemd/system", "run/systemd/system.attached", "run/systemd/generator",
                 "run/systemd/generator.late"]


@pytest.mark.parametrize("directory", RUN_UNIT_DIRS)
def test_nothing_in_a_unit_directory_of_the_images_run_applies_at_boot(image: Path, directory: str) -> None:
    write(image, f"{UNITS}/web-front.socket", unit("127.0.0.1:8080"))
    link(image, f"{ETC_UNITS}/sockets.target.wants/web-front.socket", f"/{UNITS}/web-front.socket")
    # a drop-in moving it to every address (once counted), and a mask of the wildcard socket (once hiding it)
    write(image, f"{directory}/web-front.socket.d/50-public.conf", "[Socket]\nListenStream=\nListenStream=0.0.0.0:8080\n")
    wildcard_socket(image)
    link(image, f"{directory}/open.socket", "/dev/null")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 127.0.0.1:8080": "pass",
                                           "tcp 0.0.0.0:8082": "fail"}
    assert code == 1
