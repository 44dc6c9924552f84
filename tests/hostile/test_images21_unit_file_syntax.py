"""Hostile offline images: unit file syntax that systemd reads one way and lbaudit read another.

lbaudit's unit-file parser (the one every socket unit, drop-in, auditd.service and
systemd-sysctl.service is read with) differed from systemd's config_parse() (src/shared/conf-parser.c)
in five ways, each of which hid a wildcard listener that the image starts at boot, so ``evaluate
--root`` passed:

* a UTF-8 byte order mark before ``[Socket]``: systemd skips it, lbaudit kept it, so ``\\ufeff[Socket]``
  was no section header and every ``ListenStream=`` under it was outside any section;
* a line ending in an escaped backslash (``C:\\\\``) is not continued by systemd (it counts the
  backslashes), lbaudit continued it and swallowed the next line (``[Socket]``) into the value;
* a backslash followed by white space at the end of a line is not a continuation either (systemd
  looks at the last byte of the line as read), lbaudit stripped the space first and continued;
* a continuation at the end of a file without a final newline is parsed by systemd, lbaudit dropped it;
* systemd strips only " \\t\\n\\r" (WHITESPACE); Python's ``str.strip()`` also strips a form feed,
  a vertical tab or a no-break space, so ``\\f[Unit]`` was a section header to lbaudit (leaving
  ``[Socket]``) and a "Missing '='" line to systemd (staying in it).

Each reading was checked with systemd 252 (``systemd-analyze verify`` names each ``ListenStream=``
value it parsed in ``[Socket]``); the last test here makes that check wherever systemd-analyze is
installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from auditor.collect.systemd_sockets import parse_unit_file
from tests.hostile.test_offline_images import ETC_UNITS, UNITS, evaluate, listener_statuses, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

WIDE = "0.0.0.0:9001"
# Each a whole unit file (or drop-in) whose [Socket] section, as systemd reads it, holds ListenStream=WIDE.
HIDDEN = {
    "byte-order-mark": f"\ufeff[Socket]\nListenStream={WIDE}\n",
    "escaped-backslash": f"[Unit]\nDescription=share C:\\\\\n[Socket]\nListenStream={WIDE}\n",
    "backslash-then-space": f"[Unit]\nDescription=continued? \\ \n[Socket]\nListenStream={WIDE}\n",
    "continuation-at-end-of-file": f"[Socket]\nListenStream=127.0.0.1:8082\nListenStream={WIDE}\\",
    "form-feed-header": f"[Socket]\nListenStream=127.0.0.1:8082\n\f[Unit]\nListenStream={WIDE}\n",
    "vertical-tab-header": f"[Socket]\nListenStream=127.0.0.1:8082\n\v[Unit]\nListenStream={WIDE}\n",
    "no-break-space-header": f"[Socket]\nListenStream=127.0.0.1:8082\n\u00a0[Unit]\nListenStream={WIDE}\n",
}


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_wildcard_listener_of_a_static_unit_is_found(image: Path, case: str) -> None:
    write(image, f"{UNITS}/odd.socket", HIDDEN[case])  # static: no [Install], pulled in by its service
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses.get(f"tcp {WIDE}") == "fail", statuses
    assert code == 1


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_wildcard_listener_of_a_drop_in_is_found(image: Path, case: str) -> None:
    write(image, f"{ETC_UNITS}/local.socket.d/10-x.conf", HIDDEN[case])  # local.socket is enabled
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses.get(f"tcp {WIDE}") == "fail", statuses
    assert statuses["tcp 127.0.0.1:8081"] == "pass"
    assert code == 1


def test_control_cases_are_read_as_before(image: Path) -> None:
    """A real continuation still joins, a comment inside one is skipped, and a line systemd does
    continue still swallows the next one (no listener where systemd has none)."""
    write(image, f"{UNITS}/joined.socket", "[Socket]\nListenStream=\\\n# note\n  127.0.0.1:8083\n")
    write(image, f"{UNITS}/swallowed.socket", f"[Socket]\nSocketUser=nobody\\\nListenStream={WIDE}\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", "tcp 127.0.0.1:8083": "pass"}
    assert code == 0


SYSTEMD_ANALYZE = next((p for p in ("/usr/bin/systemd-analyze", "/bin/systemd-analyze") if os.access(p, os.X_OK)), None)


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.live
@pytest.mark.integration  # runs systemd-analyze
@pytest.mark.parametrize("case", sorted(HIDDEN) + ["joined", "swallowed"])
def test_listen_values_parsed_match_systemd_analyze_verify(tmp_path: Path, case: str) -> None:
    text = {"joined": "[Socket]\nListenStream=\\\n# note\n  bogus:\\\n\\\n 7\n",
            "swallowed": "[Socket]\nSocketUser=nobody\\\nListenStream=bogus:1\n"}.get(case)
    if text is None:  # a value systemd refuses by name: it says which it parsed in [Socket]
        text = HIDDEN[case].replace(WIDE, "bogus:wide").replace("127.0.0.1:8082", "bogus:local")
    path = tmp_path / "image" / ETC_UNITS / "odd.socket"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    proc = subprocess.run([SYSTEMD_ANALYZE, f"--root={tmp_path / 'image'}", "--man=no", "--generators=no",
                           "verify", "odd.socket"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    parsed = re.findall(r"Failed to parse address value in '(.*)', ignoring", proc.stderr + proc.stdout)
    assert "odd.socket" in proc.stderr + proc.stdout  # systemd read the unit at all
    ours = [e.value for e in parse_unit_file(text) if (e.section, e.key) == ("Socket", "ListenStream")]
    assert ours == parsed
