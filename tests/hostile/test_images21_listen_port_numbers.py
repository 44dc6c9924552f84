"""Hostile offline images: the port of ``ListenStream=`` as systemd reads the number.

systemd reads the port of a listen address with parse_ip_port(), a strtoul() of base 0: ``0443``
is octal, port 291; ``0x1bb`` is hex, 443; ``+443`` is 443; ``0o``/``0b`` prefixes are octal and
binary (checked with systemd-socket-activate 252, which parses addresses with the same
socket_address_parse() as PID 1, in a new network namespace).  lbaudit read every run of digits as
decimal: ``ListenStream=0.0.0.0:0443`` was judged as port 443 (a policy's exception for its web
front end passed it) while the booted image listens on every address at port 291; and a bare
``0443``, which systemd binds on ``[::]:291``, the same.  A number systemd refuses (``080``, 8 is
no octal digit; ``65536``) is not a listener lbaudit may judge either: the rule is not reviewed,
naming the value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.collect.systemd_sockets import ListenAddress, ListenValueError, parse_listen_address
from tests.cli import run_cli
from tests.hostile.test_offline_images import TIMEOUT, UNITS, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

POLICY = """\
id: hostile-ports
version: "1"
owner: Hostile corpus <tests@example.com>
rules:
  - id: listeners
    check: net.bind_addresses
    params:
      allow: [loopback]
      exceptions:
        - match: {ports: [443], protocol: tcp}
          allow: [any]
          reason: the public web front end
"""


def _evaluate(root: Path) -> tuple[int, dict[str, str]]:
    policy = root.parent / "policy.yaml"
    policy.write_text(POLICY)
    evidence = root.parent / "evidence.json"
    result = run_cli("evaluate", "--policy", str(policy), "--root", str(root), "--output", str(evidence),
                     cwd=root.parent, timeout=TIMEOUT)
    assert result.returncode in (0, 1, 3), result.stderr
    findings = json.loads(evidence.read_text())["result"]["findings"]
    return result.returncode, {" ".join(f["subject"].split()[:2]): f["status"] for f in findings}


@pytest.mark.parametrize("value, listener", [
    ("0.0.0.0:0443", "tcp 0.0.0.0:291"),
    ("0443", "tcp [::]:291"),
    ("[::]:0443", "tcp [::]:291"),
])
def test_a_leading_zero_port_is_octal_and_not_the_excepted_port(image: Path, value: str, listener: str) -> None:
    write(image, f"{UNITS}/web.socket", f"[Socket]\nListenStream={value}\n")
    code, statuses = _evaluate(image)
    assert statuses.get(listener) == "fail", statuses
    assert "tcp 0.0.0.0:443" not in statuses and "tcp [::]:443" not in statuses
    assert code == 1


@pytest.mark.parametrize("value", ["0.0.0.0:0x1bb", "0.0.0.0:+443", "0.0.0.0:443"])
def test_hex_and_signed_ports_are_the_excepted_port(image: Path, value: str) -> None:
    write(image, f"{UNITS}/web.socket", f"[Socket]\nListenStream={value}\n")
    code, statuses = _evaluate(image)
    assert statuses["tcp 0.0.0.0:443"] == "pass", statuses
    assert code == 0


@pytest.mark.parametrize("value", ["0.0.0.0:080", "080", "65536", "0.0.0.0:0200000"])
def test_a_number_systemd_refuses_is_not_reviewed(image: Path, value: str) -> None:
    write(image, f"{UNITS}/web.socket", f"[Socket]\nListenStream={value}\n")
    code, statuses = _evaluate(image)
    assert statuses["listeners (collection)"] == "not_reviewed", statuses
    assert code == 3


# What systemd-socket-activate 252 bound for each (ss -ltn in a new network namespace); None: refused.
SYSTEMD_READS = {
    "0120": ("ipv6", "::", 80), "0x50": ("ipv6", "::", 80), "+80": ("ipv6", "::", 80),
    "0o120": ("ipv6", "::", 80), "0b1010000": ("ipv6", "::", 80), "80": ("ipv6", "::", 80),
    "0.0.0.0:0x50": ("ipv4", "0.0.0.0", 80), "0.0.0.0:+80": ("ipv4", "0.0.0.0", 80),
    "0.0.0.0:0120": ("ipv4", "0.0.0.0", 80), "[::]:0120": ("ipv6", "::", 80),
    "0.0.0.0:\f82": ("ipv4", "0.0.0.0", 82), "0.0.0.0:" + "0" * 60 + "77": ("ipv4", "0.0.0.0", 63),
    "080": None, "0.0.0.0:080": None, "0.0.0.0: 80": None, "[::]:\t85": None, "0.0.0.0:\f0o120": None,
    "65536": None, "0": None,
}


@pytest.mark.parametrize("value", sorted(SYSTEMD_READS))
def test_listen_port_forms(value: str) -> None:
    expected = SYSTEMD_READS[value]
    if expected is None:
        with pytest.raises(ListenValueError):
            parse_listen_address(value)
    else:
        assert parse_listen_address(value) == ListenAddress(*expected)


def test_a_port_of_thousands_of_digits_is_refused_not_a_crash() -> None:
    """int() of more than 4,300 digits raises its own ValueError (CPython's limit)."""
    for value in ("9" * 5000, "0.0.0.0:1" + "0" * 5000, "0x" + "f" * 5000):
        with pytest.raises(ListenValueError):
            parse_listen_address(value)
    assert parse_listen_address("0" * 5000 + "77") == ListenAddress("ipv6", "::", 63)  # leading zeros are free


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None or shutil.which("unshare") is None,
                    reason="systemd-socket-activate or unshare is not installed")
@pytest.mark.integration  # runs systemd-socket-activate
@pytest.mark.parametrize("value", sorted(v for v, read in SYSTEMD_READS.items() if read is not None))
def test_systemd_socket_activate_binds_the_port_read(value: str) -> None:
    """The table above, asked of systemd itself: what it binds for the value, in a new network
    namespace (nothing of this host is bound)."""
    script = ('ip link set lo up 2>/dev/null; systemd-socket-activate -l "$1" sleep 30 >/dev/null 2>&1 & '
              'for i in $(seq 50); do out=$(ss -Hltn); [ -n "$out" ] && break; sleep 0.1; done; '
              'echo "$out"; kill $!')
    proc = subprocess.run(["unshare", "--net", "sh", "-c", script, "sh", value], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("unshare --net is not permitted here")
    family, address, port = SYSTEMD_READS[value]  # type: ignore[misc]
    bound = {"ipv6": f"*:{port}" if address == "::" else f"[{address}]:{port}", "ipv4": f"{address}:{port}"}[family]
    assert bound in proc.stdout.split(), proc.stdout
