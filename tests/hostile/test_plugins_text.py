"""A plugin check's text reaches every output: the evidence and every report rendered from it.

A plugin's outcome (subject, message, reason, key, evidence pointers, and every string of its
observed, expected and subject_detail values, keys too) or the message of what it raised held what
it liked: a lone surrogate (a byte of a file name that was not UTF-8, as Python carries it) ended
``evaluate`` with exit 70 and no evidence; ESC, NUL, the other C0 and C1 controls and the bidi
overrides went into the evidence, and from it raw into SARIF, JUnit, OSCAL and HDF (a C1 CSI or a
U+202E in a CI page's text).  The engine now passes every string of a plugin's outcome through the
helpers host text takes (``auditor.model.base.text_of_plugin``: a lone surrogate as ``\\xNN``, each
control and bidi character as its escape, line breaks and tabs kept), where the outcome enters the
run, so the evidence holds no such character and no renderer has to be trusted to escape it.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin
from tests.report.conftest import hdf_validator, junit_schema, oscal_validator, sarif_validator  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "tests" / "fixtures" / "roots" / "sysctl-precedence"
NON_COMPLIANT, INCOMPLETE = 1, 3
FORMATS = "sarif,junit,html,text,oscal,hdf,prometheus"

PLUGIN = """
from auditor.model.check import CheckParams, Outcome, check, failed, passed
from auditor.model.result import Status


class Text(str):
    pass


class Params(CheckParams):
    mode: str


# An OSC title, a CSI that clears the screen, a fake green PASS, NUL, DEL, a C1 CSI and NEL, the
# right-to-left override and an isolate, a byte that was not UTF-8 (a lone surrogate), a line break.
HOSTILE = "\\x1b]0;pwn\\x07\\x1b[2J\\x1b[32mPASS\\x00\\x7f\\x9b\\x85\\u202eevil\\u2066\\udcff\\nnext"


@check(name="textplug.x", title="A plugin with hostile text", version="1", needs=["sysctl"], params=Params,
       severity="high", controls=["CM-6"], rationale="A test plugin.", remediation="None.")
def x(snapshot, params):
    if params.mode == "raises":
        raise ValueError(HOSTILE)
    if params.mode == "huge":  # 10 MB of text in one outcome beside an ordinary one
        yield passed("small", "an ordinary outcome")
        yield passed("big", "A" * 10_000_000)
        return
    if params.mode == "huge-escaped":  # 0.6 MB of right-to-left overrides that their escapes make 1.4 MB
        yield failed("big", "\\u202e" * 200_000)
        return
    if params.mode == "str-subclass":  # text that is a str subclass, in an outcome built without validation
        yield Outcome.model_construct(status=Status.FAIL, subject="s", message="m", reason=Text("r \\x1b[2J"),
                                      observed=Text("o \\x1b[2J"), expected=[Text("x \\u202e")],
                                      subject_detail={Text("d \\x9b"): Text("w \\x00")}, evidence=[Text("/facts/sysctl/e \\x07")],
                                      key=None)
        return
    if params.mode == "huge-raises":
        raise ValueError("A" * 10_000_000)
    yield failed("s " + HOSTILE, "m " + HOSTILE, reason="r " + HOSTILE, key="k " + HOSTILE,
                 evidence=["/facts/sysctl/e " + HOSTILE], observed={"o " + HOSTILE: ["v " + HOSTILE, 1]},
                 expected="x " + HOSTILE, subject_detail={"d " + HOSTILE: "w " + HOSTILE})
"""

# HOSTILE as the evidence holds it: every character shown as its escape, but the line break.
SHOWN = ("\\x1b]0;pwn\\x07\\x1b[2J\\x1b[32mPASS\\x00\\x7f\\x9b\\x85\\u202eevil\\u2066\\xff\nnext")
# What no output may hold: C0 controls but tab, line feed and carriage return, DEL, C1, the bidi
# controls, and (not encodable) lone surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "textplug", PLUGIN, "[lbaudit.checks]\ntextplug = textplug\n")
    yield
    sys.modules.pop("textplug", None)


def _evaluate(tmp_path: Path, mode: str, *options: object):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"id: textplug\nversion: '1'\nowner: T\nrules:\n  - id: x\n    check: textplug.x\n"
                      f"    params: {{mode: {mode}}}\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    return run_cli("evaluate", "--policy", policy, "--target", f"root:{ROOT}", "-o", tmp_path / "out" / "ev.json",
                   *options)


def test_hostile_text_in_every_field_of_a_plugin_outcome_is_escaped_in_the_evidence_and_every_output(
        plugin, tmp_path: Path, sarif_validator, oscal_validator, hdf_validator, junit_schema):  # noqa: F811
    out = tmp_path / "out"
    run = _evaluate(tmp_path, "fail", "--out-dir", out, "--format", FORMATS, "--pdf", out / "r.pdf")
    assert run.returncode == NON_COMPLIANT, run.stderr  # before: 70, UnicodeEncodeError, no evidence
    [finding] = json.loads((out / "ev.json").read_text(encoding="utf-8"))["result"]["findings"]
    assert (finding["status"], finding["subject"], finding["message"], finding["reason"]) == (
        "fail", "s " + SHOWN, "m " + SHOWN, "r " + SHOWN)
    assert finding["evidence"] == ["/facts/sysctl/e " + SHOWN]
    assert finding["observed"] == {"o " + SHOWN: ["v " + SHOWN, 1]}
    assert finding["expected"] == "x " + SHOWN
    assert finding["subject_detail"] == {"d " + SHOWN: "w " + SHOWN}
    for path in sorted(out.iterdir()):
        if path.suffix != ".pdf":
            text = path.read_bytes().decode("utf-8")
            assert not FORBIDDEN.search(text), (path.name, FORBIDDEN.search(text))
    assert not FORBIDDEN.search(run.stdout) and not FORBIDDEN.search(run.stderr)
    assert "\\x1b[2J" in run.stdout  # the summary names the finding, shown, not obeyed
    assert not list(sarif_validator.iter_errors(json.loads((out / "textplug.sarif").read_text())))
    assert not list(oscal_validator.iter_errors(json.loads((out / "textplug.oscal.json").read_text())))
    assert not list(hdf_validator.iter_errors(json.loads((out / "textplug.hdf.json").read_text())))
    ET.parse(out / "textplug.junit.xml")
    assert junit_schema.is_valid(str(out / "textplug.junit.xml"))
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF-")
    # the evidence renders again, as it is, into every format
    again = run_cli("report", out / "ev.json", "--format", FORMATS, "--out-dir", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    for path in sorted((tmp_path / "again").iterdir()):
        assert not FORBIDDEN.search(path.read_bytes().decode("utf-8")), path.name


def test_hostile_text_in_what_a_plugin_check_raised_is_escaped_in_its_error_finding(plugin, tmp_path: Path):
    run = _evaluate(tmp_path, "raises", "-q")
    assert run.returncode == INCOMPLETE, run.stderr  # before: 70, UnicodeEncodeError, no evidence
    [finding] = json.loads((tmp_path / "out" / "ev.json").read_text(encoding="utf-8"))["result"]["findings"]
    assert (finding["status"], finding["subject"], finding["reason"]) == (
        "error", "check textplug.x", "ValueError: " + SHOWN)


def test_a_plugin_outcome_of_ten_megabytes_is_an_error_finding_and_no_output_holds_it(plugin, tmp_path: Path):
    out = tmp_path / "out"
    run = _evaluate(tmp_path, "huge", "--out-dir", out, "--format", FORMATS, "--pdf", out / "r.pdf", "-q")
    # before: exit 0 (a pass), with its 10 MB in the evidence and every report (as a failure's
    # message, the PDF alone took 27 s to lay it out)
    assert run.returncode == INCOMPLETE, run.stderr
    findings = json.loads((out / "ev.json").read_text(encoding="utf-8"))["result"]["findings"]
    assert [(f["status"], f["subject"]) for f in findings] == [("pass", "small"), ("error", "check textplug.x")]
    assert findings[1]["reason"] == (
        "check textplug.x (plugin textplug 1.0) returned an outcome (status pass, subject 'big') of "
        "10,000,137 bytes as JSON; a plugin's outcome may be at most 1,048,576")
    assert max(path.stat().st_size for path in out.iterdir()) < 1_000_000


def test_the_bound_counts_the_escapes_a_plugin_outcome_is_written_with(plugin, tmp_path: Path):
    run = _evaluate(tmp_path, "huge-escaped", "-q")
    assert run.returncode == INCOMPLETE, run.stderr
    [finding] = json.loads((tmp_path / "out" / "ev.json").read_text(encoding="utf-8"))["result"]["findings"]
    assert finding["status"] == "error"
    assert "returned an outcome (status fail, subject 'big') of 1,400,137 bytes as JSON" in finding["reason"]


def test_ten_megabytes_of_what_a_plugin_check_raised_are_cut_in_its_error_finding(plugin, tmp_path: Path):
    run = _evaluate(tmp_path, "huge-raises", "-q")
    assert run.returncode == INCOMPLETE, run.stderr
    [finding] = json.loads((tmp_path / "out" / "ev.json").read_text(encoding="utf-8"))["result"]["findings"]
    assert (finding["status"], finding["subject"]) == ("error", "check textplug.x")
    assert finding["reason"] == "ValueError: " + "A" * 4000 + " ... (9,996,000 more characters)"


def test_text_of_a_str_subclass_in_a_plugin_outcome_is_escaped_too(plugin, tmp_path: Path):
    run = _evaluate(tmp_path, "str-subclass", "-q")
    assert run.returncode == NON_COMPLIANT, run.stderr
    text = (tmp_path / "out" / "ev.json").read_text(encoding="utf-8")
    [finding] = json.loads(text)["result"]["findings"]
    # before: each as it was (the validated copy was thrown away and the walk passed a str subclass by)
    assert (finding["reason"], finding["observed"], finding["expected"], finding["subject_detail"],
            finding["evidence"]) == ("r \\x1b[2J", "o \\x1b[2J", ["x \\u202e"], {"d \\x9b": "w \\x00"}, ["/facts/sysctl/e \\x07"])
