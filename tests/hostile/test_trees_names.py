"""Hostile offline images: file names that are not UTF-8.

A drop-in named ``\\xff.conf`` (one byte that is no UTF-8) holding a line lbaudit refuses made the
gap naming it impossible to build (a gap reason is text, the name was a lone surrogate), so the
whole sockets section was lost as "collector failed: ValidationError", and with it the wildcard
listener the same drop-in declares: not_reviewed where the image plainly fails.  A gap reason now
writes such a byte as its escape (``\\xff``), as the evidence writes every other name.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.hostile.test_offline_images import ETC_UNITS, evaluate, listener_statuses, status
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name


def _write_bytes(root: Path, directory: str, name: bytes, data: bytes) -> None:
    where = os.fsencode(root / directory)
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, name), "wb") as handle:
        handle.write(data)


def test_drop_in_named_in_bytes_that_are_not_utf8_is_judged_and_named(image: Path) -> None:
    _write_bytes(image, f"{ETC_UNITS}/local.socket.d", b"\xff.conf",
                 b"[Socket]\nListenStream=0.0.0.0:9\xff\nListenStream=0.0.0.0:9001\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses["tcp 0.0.0.0:9001"] == "fail"
    assert statuses["tcp 127.0.0.1:8081"] == "pass"
    collection = findings[("listeners", "listeners (collection)")]
    assert collection["status"] == "not_reviewed"
    assert "/etc/systemd/system/local.socket.d/\\xff.conf" in collection["reason"]
    assert "collector failed" not in collection["reason"]
    assert ("listeners", "facts: sockets") not in findings
    assert code == 1


def test_control_case_a_sysctl_file_named_in_such_bytes_is_read(image: Path) -> None:
    _write_bytes(image, "etc/sysctl.d", b"50-\xfe.conf", b"net.ipv4.ip_local_port_range = 60000 60100\n")
    code, findings = evaluate(image)
    assert status(findings, "pool", "ephemeral port pool") == "fail"  # 101 ports
    assert code == 1
