"""Output that reads well anywhere (issue 15): pipes and logs get one finding per line, terminals
get tables at their width grouped by rule; -o - and --json put parseable JSON on stdout; --color,
--quiet, plain verdict words, next steps, the signature line, ``lbaudit show`` and completion."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.model.facts import Gap, ProcessInfo
from auditor.storage.snapshot import snapshot_bytes
from tests.cli import run_cli
from tests.factories import listener, snapshot

REPO = Path(__file__).resolve().parents[1]
LONG_NAME = "worker-" + "x" * 230  # a subject well over 200 characters
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = ("┃", "│", "┏", "└")

POLICY = """\
id: output-test
version: "1"
owner: QA <qa@example.test>
description: output tests
rules:
  - id: listeners-loopback-only
    check: net.bind_addresses
    severity: high
    params: {allow: [loopback]}
  - id: time-wait
    check: net.time_wait
    severity: medium
    params: {allowed_tw_reuse: [0]}
"""


def _files(tmp_path: Path, snap=None) -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    if snap is None:
        snap = snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=4242, name=LONG_NAME)]),
                                   listener("127.0.0.1", 5432, processes=[ProcessInfo(pid=77, name="postgres")])])
    snapshot_path = tmp_path / "host.snapshot.json"
    snapshot_path.write_bytes(snapshot_bytes(snap))
    return policy, snapshot_path


def _evaluate(tmp_path: Path, *extra: object, snap=None, **options):
    policy, snapshot_path = _files(tmp_path, snap)
    args = ["evaluate", "--policy", policy, "--snapshot", snapshot_path, *extra]
    if "-o" not in extra:
        args += ["-o", tmp_path / "e.json"]
    return run_cli(*args, cwd=tmp_path, **options)


def _expected_lines(evidence: dict) -> list[str]:
    """Every finding of the evidence as the plain layout must print it, from the file's own JSON."""
    lines = []
    for f in evidence["result"]["findings"]:
        reason = f["message"] if f["status"] in ("fail", "pass") else (f["reason"] or f["message"])
        lines.append(" | ".join([f["rule_id"], f["severity"], f["status"], f["subject"], reason]))
    return lines


# ------------------------------------------------------------------ pipes, logs and terminals

def test_captured_output_prints_every_finding_on_one_unwrapped_line_whatever_columns_says(tmp_path):
    result = _evaluate(tmp_path, env={"COLUMNS": "40"})
    assert result.returncode == 1, result.stderr
    evidence = json.loads((tmp_path / "e.json").read_text())
    out_lines = result.stdout.splitlines()
    expected = _expected_lines(evidence)
    assert len(expected) == len(evidence["result"]["findings"]) >= 3
    for line in expected:
        assert line in out_lines, line
    long_line = next(line for line in out_lines if LONG_NAME in line)
    assert long_line.startswith("listeners-loopback-only | high | fail | tcp 0.0.0.0:8080 " + LONG_NAME)
    assert len(long_line) > 200 and "..." not in long_line
    assert not any(box in result.stdout for box in BOX)  # no table drawn into a log
    assert not ANSI.search(result.stdout)


@pytest.mark.slow  # a real process with a pipe as stdout
def test_a_real_pipe_gets_one_line_per_finding(tmp_path):
    """A real process with stdout a pipe (``lbaudit evaluate ... | cat``), COLUMNS=40."""
    policy, snapshot_path = _files(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "40", "PYTHONPATH": str(REPO), "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", "evaluate", "--policy", str(policy), "--snapshot",
                           str(snapshot_path), "-o", str(tmp_path / "e.json")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    evidence = json.loads((tmp_path / "e.json").read_text())
    for line in _expected_lines(evidence):
        assert line in proc.stdout.splitlines(), line
    assert not any(box in proc.stdout for box in BOX)


def test_a_terminal_gets_tables_at_its_width_grouped_by_rule(tmp_path):
    snap = snapshot(listeners=[listener("0.0.0.0", port, processes=[ProcessInfo(pid=port, name=f"svc{port}")])
                               for port in (8080, 8081, 8082)])
    result = _evaluate(tmp_path, snap=snap, terminal=100, env={"NO_COLOR": "1"})
    assert result.returncode == 1, result.stderr
    assert "┃ rule" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    # the rule is named on the first row of its group only, the three listeners under it
    rows = [line for line in result.stdout.splitlines() if "0.0.0.0:808" in line]
    assert len(rows) == 3
    assert "listeners-loopback-only" in rows[0] and "listeners-loopback-only" not in rows[1] + rows[2]
    narrow = _evaluate(tmp_path, snap=snap, terminal=60, env={"NO_COLOR": "1"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


# ------------------------------------------------------------------ JSON on stdout

def test_dash_output_writes_the_evidence_to_stdout_and_the_summary_to_stderr(tmp_path):
    result = _evaluate(tmp_path, "-o", "-")
    assert result.returncode == 1, result.stderr
    evidence = json.loads(result.stdout)
    assert evidence["schema"] == "lbaudit/evidence" and evidence["result"]["verdict"] == "non_compliant"
    assert not (tmp_path / "-").exists()
    assert "verdict: NON-COMPLIANT" in result.stderr and "evidence: standard output" in result.stderr
    # what went to stdout is a valid evidence file: show reads it back
    (tmp_path / "piped.json").write_text(result.stdout)
    assert run_cli("show", tmp_path / "piped.json").returncode == 0


def test_dash_output_with_quiet_prints_only_the_evidence(tmp_path):
    result = _evaluate(tmp_path, "-o", "-", "-q")
    assert result.returncode == 1
    assert json.loads(result.stdout)["schema"] == "lbaudit/evidence" and result.stderr == ""


@pytest.mark.parametrize("extra, word", [
    (["--json"], "--json"),
    (["--sign-key", "k.key"], "--sign-key"),
    (["--format", "sarif"], "reports"),
    (["--pdf", "r.pdf"], "reports"),
])
def test_dash_output_refuses_what_needs_a_file(tmp_path, extra, word):
    result = _evaluate(tmp_path, "-o", "-", *extra)
    assert result.returncode == 2 and word in result.stderr and result.stdout == ""


@pytest.mark.parametrize("option", ["--pdf", "--out-dir"])
def test_dash_is_not_a_file_for_other_outputs(tmp_path, option):
    result = _evaluate(tmp_path, option, "-", "--format", "sarif")
    assert result.returncode == 2 and f"{option} -" in result.stderr
    assert not (tmp_path / "-").exists()
    evidence_path = tmp_path / "e.json"
    report = run_cli("report", evidence_path, "--format", "sarif", option, "-", cwd=tmp_path)
    assert report.returncode == 2 and not (tmp_path / "-").exists()


def test_json_summary_parses_and_matches_the_run(tmp_path):
    result = _evaluate(tmp_path, "--json", "--fail-on", "high")
    summary = json.loads(result.stdout)
    assert result.returncode == summary["exit_code"] == 1
    assert summary["verdict"] == "non_compliant" and summary["fail_on"] == "high"
    evidence = json.loads((tmp_path / "e.json").read_text())
    assert summary["counts"] == {s: evidence["result"]["summary"]["by_status"].get(s, 0)
                                 for s in ("pass", "fail", "error", "not_reviewed", "not_applicable", "waived")}
    counted = [f for f in summary["failing"] if f["counted"]]
    below = [f for f in summary["failing"] if not f["counted"]]
    assert [f["rule"] for f in counted] == ["listeners-loopback-only"] and LONG_NAME in counted[0]["subject"]
    assert {f["rule"] for f in below} == {"time-wait"} and all(f["severity"] == "medium" for f in below)
    assert summary["evidence"] == str(tmp_path / "e.json") and summary["signature"] is None
    assert any("lbaudit explain net.bind_addresses" in step for step in summary["next_steps"])


def test_collect_dash_output_writes_the_snapshot_to_stdout(tmp_path):
    result = run_cli("collect", "--root", REPO / "tests/fixtures/roots/audit-rules", "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "lbaudit/snapshot"
    assert "snapshot: standard output" in result.stderr and not (tmp_path / "-").exists()
    signed = run_cli("collect", "--root", REPO / "tests/fixtures/roots/audit-rules", "-o", "-", "--sign-key", "k",
                     cwd=tmp_path)
    assert signed.returncode == 2 and "--sign-key" in signed.stderr and signed.stdout == ""


# ------------------------------------------------------------------ colour

@pytest.mark.parametrize("args, env, coloured", [
    ([], {}, False),                                     # auto, captured: no colour
    (["--color", "always"], {}, True),
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ([], {"FORCE_COLOR": "1"}, True),
    ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins over FORCE_COLOR
    (["--color", "always"], {"NO_COLOR": "1"}, True),   # the command line wins over both
])
def test_color_option_and_environment(tmp_path, args, env, coloured):
    result = _evaluate(tmp_path, *args, env={"NO_COLOR": None, "FORCE_COLOR": None, **env})
    assert result.returncode == 1
    assert bool(ANSI.search(result.stdout)) is coloured


def test_no_color_on_a_terminal_draws_tables_without_escape_sequences(tmp_path):
    result = _evaluate(tmp_path, env={"NO_COLOR": "1"}, terminal=120)
    assert "┃ rule" in result.stdout and not ANSI.search(result.stdout)
    coloured = _evaluate(tmp_path, env={"NO_COLOR": None, "FORCE_COLOR": None}, terminal=120)
    assert ANSI.search(coloured.stdout)


# ------------------------------------------------------------------ verdict words and next steps

def test_verdict_speaks_plainly(tmp_path):
    result = _evaluate(tmp_path)
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("verdict:"))
    assert "fails on any failure" in verdict and "fail-on info" not in result.stdout
    high = _evaluate(tmp_path, "--fail-on", "high")
    assert "fails on failures of severity high or above" in high.stdout


def test_failures_below_the_threshold_are_labelled_as_such_under_a_compliant_verdict(tmp_path):
    snap = snapshot(listeners=[listener("127.0.0.1", 5432)])  # only time-wait (medium) fails
    result = _evaluate(tmp_path, "--fail-on", "high", snap=snap)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert not any(line.startswith("failing (counted") for line in lines)
    title = lines.index(next(line for line in lines if line.startswith("failing below the threshold")))
    assert lines[title + 1].startswith("time-wait | medium | fail | ")
    verdict = next(line for line in lines if line.startswith("verdict:"))
    assert verdict.startswith("verdict: COMPLIANT (exit 0)") and "below the threshold" in verdict
    assert "next steps:" not in result.stdout  # a compliant run has none to take
    terminal = _evaluate(tmp_path, "--fail-on", "high", snap=snap, terminal=160)
    assert "Failing below the threshold" in terminal.stdout and "Failing (counted" not in terminal.stdout


def test_a_non_compliant_run_ends_with_explain_and_the_remediation_of_each_failing_rule(tmp_path):
    result = _evaluate(tmp_path)
    tail = result.stdout.split("next steps:\n", 1)[1].splitlines()
    for rule, check in (("listeners-loopback-only", "net.bind_addresses"), ("time-wait", "net.time_wait")):
        explain = run_cli("explain", check).stdout
        # explain shows every platform's remediation; this Linux host is shown the part under "On Linux:"
        remediation = explain.split("Remediation:\n", 1)[1].split("On Linux:\n\n", 1)[-1]
        paragraph = " ".join(line.strip() for line in remediation.split("\n\n", 1)[0].splitlines())
        step = next(line for line in tail if line.startswith(f"  {rule}: lbaudit explain {check} -- "))
        remedy = step.split(" -- ", 1)[1]
        # the remediation's first sentence, whole: not its first wrapped line, not the paragraph
        assert paragraph.startswith(remedy) and remedy.endswith(".") and len(remedy) < len(paragraph)
        assert len(remedy) > len(remediation.splitlines()[0].strip())


@pytest.mark.parametrize("reason, privileged, hint", [
    ("auditctl -s: command not found in /usr/sbin:/usr/bin:/sbin:/bin", True,
     "install auditctl (Debian/Ubuntu package auditd), then run again"),
    ("/proc/sys/net/ipv4/tcp_tw_reuse: permission denied", False, "run lbaudit as root"),
    ("ss -ltn: timed out after 10 s", True, "run again when the host is less loaded: a command timed out"),
])
def test_not_reviewed_rows_say_what_would_make_them_reviewable(tmp_path, reason, privileged, hint):
    """The hint is read from the reason the collector recorded and the run's privileges."""
    snap = snapshot(listeners=[listener("127.0.0.1", 5432)], sysctl=None, privileged=privileged,
                    gaps=[Gap(section="sysctl", reason=reason)])
    result = _evaluate(tmp_path, snap=snap)
    assert result.returncode == 3, result.stdout
    steps = result.stdout.split("next steps:\n", 1)[1]
    assert f"  time-wait: {hint}" in steps


def test_an_unreadable_file_as_root_does_not_say_run_as_root(tmp_path):
    snap = snapshot(listeners=[listener("127.0.0.1", 5432)], sysctl=None, privileged=True,
                    gaps=[Gap(section="sysctl", reason="/proc/sys/net: permission denied")])
    result = _evaluate(tmp_path, snap=snap)
    assert result.returncode == 3 and "run lbaudit as root" not in result.stdout


def test_an_offline_root_says_to_evaluate_the_running_host(tmp_path):
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--root", "tests/fixtures/roots/audit-rules",
                     "-o", tmp_path / "e.json")
    steps = result.stdout.split("next steps:\n", 1)[1]
    # socket-audit: whether the image's kernel offers io_uring is a running value too
    assert "ephemeral-pool, time-wait-headroom, socket-audit: evaluate the running host" in steps


def test_signing_says_so_with_the_fingerprint(tmp_path):
    keys = run_cli("keygen", "--out", tmp_path / "keys", cwd=tmp_path)
    fingerprint = keys.stdout.split("fingerprint: ", 1)[1].strip()
    result = _evaluate(tmp_path, "--sign-key", tmp_path / "keys/lbaudit.key")
    assert result.returncode == 1
    assert f"signature: {tmp_path / 'e.json.sig'} written (Ed25519, key {fingerprint}" in result.stdout
    summary = json.loads(_evaluate(tmp_path, "--sign-key", tmp_path / "keys/lbaudit.key", "--json").stdout)
    assert summary["signature"] == {"path": str(tmp_path / "e.json.sig"), "key": fingerprint}
    collected = run_cli("collect", "--root", REPO / "tests/fixtures/roots/audit-rules", "-o", tmp_path / "s.json",
                        "--sign-key", tmp_path / "keys/lbaudit.key")
    assert f"signature: {tmp_path / 's.json'}.sig written (Ed25519, key {fingerprint})" in collected.stdout


# ------------------------------------------------------------------ show

def test_show_prints_what_evaluate_printed(tmp_path):
    evaluated = _evaluate(tmp_path)
    shown = run_cli("show", tmp_path / "e.json", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout == evaluated.stdout
    on_terminal = (_evaluate(tmp_path, terminal=120).stdout, run_cli("show", tmp_path / "e.json", cwd=tmp_path,
                                                                      terminal=120).stdout)
    assert on_terminal[0] == on_terminal[1] and "┃ rule" in ANSI.sub("", on_terminal[1])
    as_json = json.loads(run_cli("show", tmp_path / "e.json", "--json", cwd=tmp_path).stdout)
    evaluated_json = json.loads(_evaluate(tmp_path, "--json").stdout)
    assert as_json == {k: v for k, v in evaluated_json.items() if k not in ("signature", "reports")}


@pytest.mark.parametrize("content", [b"{}", b"not json", b'{"schema": "lbaudit/evidence"}'])
def test_show_refuses_a_bad_evidence_file_with_exit_2(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = run_cli("show", bad)
    assert result.returncode == 2 and result.stdout == "" and str(bad) in result.stderr


# ------------------------------------------------------------------ quiet, listings, completion

def test_quiet_silences_every_command_that_prints(tmp_path):
    evaluated = _evaluate(tmp_path, "--sign-key", _key(tmp_path), "-q")
    assert evaluated.returncode == 1 and evaluated.stdout == ""
    evidence = tmp_path / "e.json"
    runs = {
        "keygen": run_cli("keygen", "--out", tmp_path / "k2", "-q"),
        "collect": run_cli("collect", "--root", "tests/fixtures/roots/audit-rules", "-o", tmp_path / "s.json", "-q"),
        "report": run_cli("report", evidence, "--format", "sarif", "--out-dir", tmp_path / "r", "-q"),
        "diff": run_cli("diff", evidence, evidence, "-q"),
        "coverage": run_cli("coverage", "--policy", tmp_path / "policy.yaml", "--baseline", "moderate", "-q"),
        "verify": run_cli("verify", evidence, "--pubkey", tmp_path / "keys/lbaudit.pub", "-q"),
    }
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr)
        assert result.stdout == "" and result.stderr == "", name
    assert (tmp_path / "k2/lbaudit.key").is_file() and (tmp_path / "s.json").is_file()
    assert (tmp_path / "r/output-test.sarif").is_file()


def _key(tmp_path: Path) -> Path:
    run_cli("keygen", "--out", tmp_path / "keys", "-q")
    return tmp_path / "keys/lbaudit.key"


def test_list_checks_piped_prints_one_check_per_line():
    result = run_cli("list-checks", "--no-plugins", env={"COLUMNS": "40"})
    names = json.loads(run_cli("list-checks", "--no-plugins", "--json").stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == len(names)
    for line, check in zip(lines, names):
        assert line == " | ".join([check["name"], check["title"], check["severity"], ", ".join(check["controls"]),
                                   check["origin"]])


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _lbaudit_completion lbaudit"),
                                           ("zsh", "compdef _lbaudit_completion lbaudit"),
                                           ("fish", "complete --no-files --command lbaudit")])
def test_shell_completion_script_is_produced(shell, marker):
    result = run_cli(env={"_LBAUDIT_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0 and marker in result.stdout


def test_completion_completes_lazily_loaded_commands_and_their_options():
    words = run_cli(env={"_LBAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "lbaudit sh", "COMP_CWORD": "1"})
    assert "plain,show" in words.stdout.splitlines()
    options = run_cli(env={"_LBAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "lbaudit evaluate --col",
                           "COMP_CWORD": "2"})
    assert "plain,--color" in options.stdout.splitlines()


# ------------------------------------------------------------------ README and --help say what the commands do

def test_readme_and_help_document_the_output_options():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for text in ("lbaudit show E", "-o -", "--json", "--color auto|always|never", "NO_COLOR", "FORCE_COLOR",
                 "--quiet", "pipx install .", "_LBAUDIT_COMPLETE=bash_source lbaudit", "one finding per line"):
        assert text in readme, text
    evaluate_help = run_cli("evaluate", "--help", env={"COLUMNS": "200"}).stdout
    for text in ("- writes it to stdout", "--json", "--color [auto|always|never]", "--quiet", "one finding per line"):
        assert text in evaluate_help, text
    for command in ("collect", "report", "diff", "coverage", "keygen", "verify"):
        assert "--quiet" in run_cli(command, "--help").stdout, command
    assert "show" in run_cli("--help").stdout
    # every command the README's quiet sentence names has the option
    quiet_sentence = readme.split("`--quiet`/`-q` (", 1)[1].split(")", 1)[0]
    for command in [c.strip() for c in quiet_sentence.split(",")]:
        assert "--quiet" in run_cli(command, "--help").stdout, command


def test_readme_one_line_example_is_what_lbaudit_prints(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("wrapped or cut, whatever `COLUMNS` says:\n\n  ```\n", 1)[1].split("  ```", 1)[0]
    snap = snapshot(listeners=[listener("0.0.0.0", 8080, processes=[ProcessInfo(pid=4242, name="myapp")])])
    snapshot_path = tmp_path / "s.json"
    snapshot_path.write_bytes(snapshot_bytes(snap))
    result = run_cli("evaluate", "--policy", "policies/corp.yaml", "--snapshot", snapshot_path, "-o", tmp_path / "e.json")
    lines = result.stdout.splitlines()
    for line in example.splitlines():
        assert line.strip() in lines, line


def test_the_text_report_is_the_one_line_layout(tmp_path):
    result = _evaluate(tmp_path, "--format", "text", "--out-dir", tmp_path / "r")
    assert result.returncode == 1
    report = (tmp_path / "r/output-test.txt").read_text()
    evidence = json.loads((tmp_path / "e.json").read_text())
    for line in _expected_lines(evidence):
        assert line in report.splitlines(), line
    assert not any(box in report for box in BOX)
