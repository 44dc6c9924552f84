"""Hostile offline images: ``.include`` in a unit file of an image whose systemd is older than 246.

Until systemd 246 (PR #16043 removed it) a line ``.include PATH`` of a unit file or drop-in parsed
PATH (relative to the including file's directory) in its place, with its own sections; RHEL 7 (219)
and 8 (239), Debian 10 (241) and Ubuntu 20.04 (245) still do, and Puppet's PostgreSQL module writes
such units.  lbaudit ignored the line, so an image of one of those whose socket unit was only
``.include /etc/app/listen.conf`` (that file: ``[Socket]`` ``ListenStream=0.0.0.0:9001``) passed
``evaluate --root`` with no wildcard listener.  Since 246 the line is ignored ("Assignment outside
of section", checked with systemd-analyze 252), as lbaudit keeps ignoring it where the image's
systemd is known to be that new.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_offline_images import UNITS, evaluate, listener_statuses, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

INCLUDED = "[Socket]\nListenStream=0.0.0.0:9001\n"


def _systemd(image: Path, version: int) -> None:
    (image / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    (image / f"usr/lib/systemd/libsystemd-shared-{version}.so").write_bytes(b"")


@pytest.mark.parametrize("version", [219, 245, None])
@pytest.mark.parametrize("how", ["absolute", "relative", "nested"])
def test_an_included_wildcard_listener_is_found(image: Path, version: int | None, how: str) -> None:
    if version is not None:
        _systemd(image, version)
    write(image, "etc/app/listen.conf", INCLUDED)
    if how == "absolute":
        write(image, f"{UNITS}/app.socket", "[Unit]\nDescription=app\n.include /etc/app/listen.conf\n")
    elif how == "relative":
        write(image, f"{UNITS}/listen.inc", INCLUDED)
        write(image, f"{UNITS}/app.socket", "[Unit]\nDescription=app\n.include listen.inc\n")
    else:
        write(image, "etc/app/outer.conf", "[Unit]\n.include listen.conf\n")
        write(image, f"{UNITS}/app.socket", ".include /etc/app/outer.conf\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses.get("tcp 0.0.0.0:9001") == "fail", statuses
    assert code == 1


def test_control_systemd_246_and_later_ignore_the_line(image: Path) -> None:
    _systemd(image, 252)
    write(image, "etc/app/listen.conf", INCLUDED)
    write(image, f"{UNITS}/app.socket", "[Socket]\nListenStream=127.0.0.1:9002\n.include /etc/app/listen.conf\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 127.0.0.1:9002": "pass"}
    assert code == 0


def test_an_include_loop_is_a_gap_not_a_hang(image: Path) -> None:
    _systemd(image, 239)
    write(image, f"{UNITS}/app.socket", "[Socket]\nListenStream=127.0.0.1:9002\n.include /etc/app/loop.conf\n")
    write(image, "etc/app/loop.conf", ".include /etc/app/loop.conf\n")
    code, findings = evaluate(image)
    assert findings[("listeners", "listeners (collection)")]["status"] == "not_reviewed"
    assert "loop.conf" in findings[("listeners", "listeners (collection)")]["message"]
    assert code == 3
