"""A host name of a megabyte in a snapshot, and a policy version of a megabyte, in the run summary.

A fleet directory's name cannot be longer than NAME_MAX, but the host name a snapshot file says is
whatever its writer put there, and a policy's version is any YAML scalar.  The summary's first line
(``lbaudit V policy ID VERSION on HOST``), printed by ``evaluate`` and ``show``, held both whole: a
megabyte each on a terminal or a CI log.  Now the provenance's, the policy's and the tool's text
fields are cut as a finding's texts are (``bounded_evidence``, ``MAX_REPORT_TEXT_CHARS``), with the
marker saying the rest is in the evidence; the evidence keeps them whole.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor import __version__
from auditor.storage.snapshot import write_snapshot
from auditor.text import MAX_REPORT_TEXT_CHARS
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
SHOWN = 0
MEGABYTE = 1_000_000


def _shown(text: str) -> str:
    rest = len(text) - MAX_REPORT_TEXT_CHARS
    cut = text[:MAX_REPORT_TEXT_CHARS].replace("\x1b", "\\x1b").replace("\r", "\\x0d")
    return f"{cut}\u2026 ({rest:,} more characters and 0 more lines in the evidence)"


def test_a_host_name_and_a_policy_version_of_a_megabyte_are_cut_in_the_summary(tmp_path: Path):
    hostname = "\x1b[2J\r" + "h" * MEGABYTE
    version = "v" * MEGABYTE
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=hostname), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("big").replace('version: "1"', f'version: "{version}"'))
    evidence = tmp_path / "e.json"

    evaluated = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                        "-o", evidence)
    shown = run_cli("show", evidence)

    assert (evaluated.returncode, evaluated.stderr) == (NON_COMPLIANT, "")
    assert (shown.returncode, shown.stderr) == (SHOWN, "")
    first = f"lbaudit {__version__} policy big {_shown(version)} on {_shown(hostname)} (snapshot, as root)"
    for result in (evaluated, shown):
        assert result.stdout.split("\n", 1)[0] == first
        assert "\x1b" not in result.stdout and "\r" not in result.stdout
        assert len(result.stdout) < 2 * MAX_REPORT_TEXT_CHARS + 5_000
    # the evidence keeps both whole
    document = json.loads(evidence.read_text(encoding="utf-8"))
    assert document["snapshot"]["provenance"]["hostname"] == hostname
    assert document["policy"]["version"] == version


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_a_rule_title_of_a_megabyte_is_cut_in_every_report(tmp_path: Path):
    title = "t" * MEGABYTE
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)]), tmp_path / "snap.json")
    policy = loopback_only_policy("big").replace("check: net.bind_addresses",
                                                 f"check: net.bind_addresses\n    title: {title}")
    (tmp_path / "policy.yaml").write_text(policy)
    out = tmp_path / "out"

    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "html,hdf,oscal,sarif,junit,text", "--out-dir", out, "-q")

    assert (result.returncode, result.stderr) == (NON_COMPLIANT, "")
    cut = f"{'t' * MAX_REPORT_TEXT_CHARS}\u2026 ({MEGABYTE - MAX_REPORT_TEXT_CHARS:,} more characters and 0 more lines " \
          "in the evidence)"
    for name in ("big.hdf.json", "big.oscal.json"):
        texts = [text for text in _strings(json.loads((out / name).read_text(encoding="utf-8"))) if "tttt" in text]
        assert any(text.startswith(cut) for text in texts), name
        assert all("t" * (MAX_REPORT_TEXT_CHARS + 1) not in text for text in texts), name
    page = (out / "big.html").read_text(encoding="utf-8")
    assert cut in page and "t" * (MAX_REPORT_TEXT_CHARS + 1) not in page
    for report in out.iterdir():
        assert report.stat().st_size < 3 * MAX_REPORT_TEXT_CHARS, report.name
    assert json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))["policy"]["rules"][0]["title"] == title
