"""Hangs, matching side: text a host, a snapshot or a bundle controls never meets a backtracking
pattern, and never makes a PDF row taller than a page.

* A glob key in a host's sysctl.d (``net.ipv4.****************x = 1``) was a regex of one
  ``[^/]*`` per star: re tried every way of splitting each running key among the stars, 15 s a key
  at 16 stars, hours at 20.  Now a walk over the set of positions reached: O(len(key)**2).
* The "install PROGRAM" hint searched every not-reviewed reason with a regex that ran to the next
  ":" from every start: a snapshot's gap reason of 40,000 characters took evaluate 3 minutes.
* ``ver.txt`` of a Windows bundle: ``[`` * 20,000 took 15 s to be refused (quadratic).
* A hostname, kernel, machine id or gap reason of thousands of characters on the PDF's cover made
  a table row taller than the page (reportlab's LayoutError, exit 70), and a 500 kB gap reason in
  one paragraph of section 5 took minutes to break into lines.

Each case runs the real command in a child process under a hard timeout, and asserts its exact
exit code and that it ended within a bound far below what the old code took.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.domain.sysctl import glob_matches
from auditor.report.summary import missing_program
from auditor.storage.snapshot import snapshot_bytes
from tests.hostile.test_input_loaders import POLICY, rich_snapshot

REPO = Path(__file__).resolve().parents[2]
NON_COMPLIANT = 1
HARD_TIMEOUT = 120  # the child is killed past this; the old code took minutes to hours on each case
BOUND = 60.0  # what each run must stay under, on a loaded 2-core machine


def lbaudit(*args: object, cwd: Path) -> tuple[int, str, float]:
    """``python -m auditor.cli ARGS`` in a child: (exit code, its stdout and stderr, seconds).  A run past
    HARD_TIMEOUT is killed and fails the test (subprocess.TimeoutExpired)."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=HARD_TIMEOUT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                                               "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


# ---------------------------------------------------------------- sysctl.d glob keys


def test_many_stars_in_a_sysctl_glob_match_in_bounded_time():
    started = time.monotonic()
    assert not glob_matches("net.ipv4." + "*" * 40 + "x", "net.ipv4.tcp_fin_timeout")
    assert not glob_matches("net.ipv4." + "*i" * 40 + "*x", "net.ipv4." + "i" * 1000)
    assert glob_matches("net.ipv4." + "*i" * 40 + "*", "net.ipv4." + "i" * 1000)
    assert time.monotonic() - started < 5  # the regex: 15 s at 16 stars, the second case never ends


@pytest.mark.parametrize("pattern, key, matched", [
    ("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0.rp_filter", True),
    ("net.ipv4.*.rp_filter", "net.ipv4.conf.all.rp_filter", False),  # * stays in one component
    ("net.ipv4.conf.eth?.rp_filter", "net.ipv4.conf.eth1.rp_filter", True),
    ("net.ipv4.conf.eth[0-3].rp_filter", "net.ipv4.conf.eth2.rp_filter", True),
    ("net.ipv4.conf.eth[!0-3].rp_filter", "net.ipv4.conf.eth2.rp_filter", False),
    ("net.ipv4.conf.eth[]].x", "net.ipv4.conf.eth].x", True),  # "]" first in a class is a member
    ("net.ipv4.conf.eth[.x", "net.ipv4.conf.eth[.x", True),  # an unclosed "[" is itself
    ("net.ipv4.conf.eth0/200.rp_filter", "net.ipv4.conf.eth0/200.rp_filter", True),  # a VLAN's dot
    ("net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0/200.rp_filter", True),
    ("net.ipv4.conf.[e]*", "net.ipv4.conf.eth0", True),
])
def test_sysctl_globs_match_as_glob_7_says(pattern, key, matched):
    assert glob_matches(pattern, key) is matched


@pytest.mark.slow
def test_a_sysctl_d_glob_of_many_stars_is_judged_in_bounded_time(tmp_path):
    """What a host's /etc/sysctl.d/50-glob.conf line ``net.ipv4.********************x = 1`` becomes
    in its snapshot.  drift.sysctl looks every running key up among the configured globs: before,
    each lookup split the key among 20 stars (the run did not end in an hour)."""
    data = json.loads(snapshot_bytes(rich_snapshot()))
    data["facts"]["sysctl"]["persistent"]["net.ipv4." + "*" * 20 + "x"] = {
        "value": "1", "origin": "/etc/sysctl.d/50-glob.conf:1"}
    snap = tmp_path / "host.snapshot.json"
    snap.write_text(json.dumps(data))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "evidence.json"
    code, err, seconds = lbaudit("evaluate", "--policy", policy, "--snapshot", snap, "-o", out, "-q", "--no-plugins",
                                 cwd=tmp_path)
    assert code == NON_COMPLIANT, err
    assert seconds < BOUND
    findings = json.loads(out.read_text())["result"]["findings"]
    # the glob matches no running key ("x" ends none of them): nothing of it is compared
    assert not [f for f in findings if f["rule_id"] == "drift-sysctl" and "50-glob.conf" in json.dumps(f)]


# ---------------------------------------------------------------- the missing-program hint


@pytest.mark.parametrize("reason, program", [
    ("sh: 1: ss: command not found", "ss"),
    ("auditctl -l: command not found in /usr/sbin:/usr/bin:/sbin:/bin", "auditctl"),
    ("(augenrules --check: command not found)", "augenrules"),
    ("x; sysctl -a: command not found", "sysctl"),
    ("a:b: command not found", None),  # "b" follows ":" with no space: not a program name
    ("no such thing", None),
])
def test_the_missing_program_is_read_as_before(reason, program):
    assert missing_program(reason) == program


def test_the_missing_program_hint_is_linear_in_the_reason():
    started = time.monotonic()
    assert missing_program("a " * 200_000) is None
    assert missing_program("word " * 100_000 + ": command not found") == "word"
    assert missing_program(": command not found" * 50_000) == "command"
    assert time.monotonic() - started < 5  # the regex: 20 s at 40,000 characters, quadratic


def _snapshot_with_audit_gap(tmp_path: Path, reason: str) -> Path:
    data = json.loads(snapshot_bytes(rich_snapshot()))
    data["facts"]["audit"] = None
    data["gaps"].append({"section": "audit", "field": "", "reason": reason})
    path = tmp_path / "host.snapshot.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.slow
def test_a_snapshot_gap_reason_of_400k_characters_is_reported_in_bounded_time(tmp_path):
    snap = _snapshot_with_audit_gap(tmp_path, "a " * 200_000)  # before: about an hour and a half
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "out"
    out.mkdir()
    code, err, seconds = lbaudit("evaluate", "--policy", policy, "--snapshot", snap, "-o", out / "evidence.json",
                                 "--no-plugins", "--pdf", out / "report.pdf", cwd=tmp_path)
    assert code == NON_COMPLIANT, err[-2000:]
    assert seconds < BOUND
    assert "next steps:" in err  # the summary with its hints was printed
    assert (out / "report.pdf").stat().st_size > 0


# ---------------------------------------------------------------- a Windows bundle's ver.txt


@pytest.mark.slow
def test_a_ver_txt_of_a_million_brackets_is_refused_in_bounded_time(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(REPO / "tests" / "fixtures" / "bundles" / "windows-default-en", bundle)
    (bundle / "ver.txt").write_text("[" * 1_000_000)  # before: quadratic, days
    out = tmp_path / "e.json"
    code, err, seconds = lbaudit("evaluate", "--policy", REPO / "policies" / "corp.yaml", "--target",
                                 f"replay:{bundle}", "-o", out, "-q", cwd=tmp_path)
    assert code == NON_COMPLIANT, err
    assert seconds < BOUND
    provenance = json.loads(out.read_text())["snapshot"]["provenance"]
    assert provenance["os"] == "Microsoft Windows" and provenance["os_build"] is None  # unknown, not guessed


# ---------------------------------------------------------------- the PDF's cover and section 5


def _evaluated_with_a_pdf(tmp_path: Path, field: str, value: str) -> Path:
    """``evaluate --pdf`` of the rich snapshot with provenance ``field`` set to ``value``, which must
    be non-compliant within BOUND; the folder holding evidence.json and report.pdf."""
    data = json.loads(snapshot_bytes(rich_snapshot()))
    data["provenance"][field] = value
    snap = tmp_path / "host.snapshot.json"
    snap.write_text(json.dumps(data))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "out"
    out.mkdir()
    code, err, seconds = lbaudit("evaluate", "--policy", policy, "--snapshot", snap, "-o", out / "evidence.json",
                                 "--no-plugins", "-q", "--pdf", out / "report.pdf", cwd=tmp_path)
    assert code == NON_COMPLIANT, err[-2000:]
    assert seconds < BOUND
    return out


def _pdf_pages(out: Path) -> list[str]:
    import pypdf

    return [page.extract_text() for page in pypdf.PdfReader(out / "report.pdf").pages]


@pytest.mark.slow
@pytest.mark.parametrize("field", ["hostname", "kernel", "os", "arch", "machine_id"])
def test_a_cover_value_of_20000_characters_fits_its_page(tmp_path, field):
    out = _evaluated_with_a_pdf(tmp_path, field, "w" * 20_000)  # before: 70, LayoutError, nothing written
    text = "".join(_pdf_pages(out))
    assert "more characters in the evidence" in text
    assert json.loads((out / "evidence.json").read_text())["snapshot"]["provenance"][field] == "w" * 20_000


@pytest.mark.slow
def test_a_host_name_of_300000_characters_is_laid_out_in_bounded_time(tmp_path):
    """Clipping the cover's cells was not enough: the executive summary, the attestation statement
    and the running header of every page printed the host name whole.  reportlab breaks a word
    wider than its line by trying ever longer prefixes (quadratic), so a 600,000-character name took
    3 min 47 s to render; 300,000 about a minute.  Now every paragraph value and header part is
    clipped (the evidence, attached to the PDF, keeps every character)."""
    name = "h" * 300_000
    out = _evaluated_with_a_pdf(tmp_path, "hostname", name)
    pages = _pdf_pages(out)
    header = "h" * 47 + "\u2026 \u00b7 hostile-inputs 1\n"  # each page's running header: clipped
    assert all(header in page and "h" * 48 + "\u2026 \u00b7" not in page for page in pages[1:])
    longest = max(len(run) for page in pages for run in re.findall("h+", page.replace("\n", "")))
    assert 47 < longest < 4000  # each paragraph's value clipped, saying how many more the evidence holds
    assert json.loads((out / "evidence.json").read_text())["snapshot"]["provenance"]["hostname"] == name
