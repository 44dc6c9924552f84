"""Hostile offline images: route_localnet that the image's own configuration turns on.

With ``net.ipv4.conf.all.route_localnet = 1`` (or ``default``, or one interface's) the kernel
delivers packets addressed to 127.0.0.0/8 that arrive on the links, so a listener on 127.0.0.1 is
reachable from every host on them (CVE-2020-8558).  On a live host lbaudit judges such a listener
at the addresses of those interfaces.  An image has no interfaces to read, and the check took "no
namespace described" for "route_localnet adds nothing": an image whose sysctl.d turns it on for all
interfaces passed ``evaluate --root`` with its socket unit on 127.0.0.1, which the booted host
serves to its whole link.  Now the image's configured route_localnet is judged as on every interface
it names, at all of IPv4 (their addresses are not known offline).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import evaluate, listener_statuses, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name


@pytest.mark.parametrize("line", [
    "net.ipv4.conf.all.route_localnet = 1",
    "net.ipv4.conf.default.route_localnet = 1",
    "net/ipv4/conf/eth0/route_localnet = 1",
])
def test_a_loopback_socket_unit_of_an_image_that_routes_localnet_fails(image: Path, line: str) -> None:
    write(image, "etc/sysctl.d/50-localnet.conf", line + "\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses == {"tcp 127.0.0.1:8081": "fail"}
    finding = next(f for (rule, subject), f in findings.items() if subject.startswith("tcp 127.0.0.1:8081"))
    assert "route_localnet" in finding["message"]
    assert code == 1


@pytest.mark.parametrize("line", [
    "net.ipv4.conf.all.route_localnet = 0",
    "net.ipv4.conf.eth0.route_localnet = 0",
])
def test_control_route_localnet_off_leaves_loopback_passing(image: Path, line: str) -> None:
    write(image, "etc/sysctl.d/50-localnet.conf", line + "\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_a_loopback_socket_unit_of_an_image_whose_sysctl_files_are_unknown_is_not_reviewed(image: Path) -> None:
    """A glob key procps before 4.0 does not expand, with the installed procps unknown: the
    configuration is not known (persistent None), so route_localnet is not known either."""
    write(image, "etc/sysctl.d/50-localnet.conf", "net.ipv4.conf.*.route_localnet = 1\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "not_reviewed"}
    finding = next(f for (rule, subject), f in findings.items() if subject.startswith("tcp 127.0.0.1:8081"))
    assert "route_localnet" in finding["message"]
    assert code == 3


def test_a_glob_that_systemd_sysctl_expands_turns_it_on_too(image: Path) -> None:
    (image / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    (image / "usr/lib/systemd/systemd-sysctl").write_bytes(b"")  # the boot applies sysctl.d with it
    write(image, "etc/sysctl.d/50-localnet.conf", "net.ipv4.conf.*.route_localnet = 1\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "fail"}
    assert code == 1
