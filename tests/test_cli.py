"""End to end through the command line: exit codes, evidence, schemas, bad input, unprivileged runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from auditor.resources import data_dir
from tests.cli import Result, run_cli
from tests.factories import listener, snapshot
from tests.privileges import run_as_unprivileged

REPO = Path(__file__).resolve().parents[1]
BAD = Path(__file__).parent / "fixtures" / "policies" / "bad"
CORP = data_dir("policies") / "corp.yaml"


def lbaudit(*args: object, cwd: Path | None = None, env: dict | None = None) -> Result:
    return run_cli(*args, cwd=cwd or REPO, env=env)


def schema_of(kind: str) -> dict:
    result = lbaudit("schema", kind)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def evidence_validator():
    schema = schema_of("evidence")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.slow  # evaluates this host and renders its PDF
@pytest.mark.live
def test_evaluate_corp_policy_on_this_host(tmp_path, evidence_validator):
    out = tmp_path / "evidence.json"
    result = lbaudit("evaluate", "--policy", CORP, "--output", out)
    assert result.returncode in (0, 1, 3), result.stderr
    assert "Traceback" not in result.stderr
    evidence = json.loads(out.read_text())
    evidence_validator.validate(evidence)
    assert evidence["result"]["exit_code"] == result.returncode
    # the summary wraps a long path at the terminal width (pytest-xdist's tmp paths are longer)
    assert "verdict:" in result.stdout and str(out) in result.stdout.replace("\n", "")
    assert len(evidence["policy_sha256"]) == 64 and len(evidence["facts_sha256"]) == 64
    assert {c["name"] for c in evidence["checks"]} == {
        "net.bind_addresses", "net.ephemeral_port_range", "net.time_wait", "audit.socket_logging",
        "drift.sysctl", "drift.audit_rules"}  # corp.yaml judges drift too
    assert all(c["origin"].startswith("builtin lbaudit") for c in evidence["checks"])
    for finding in evidence["result"]["findings"]:
        if finding["status"] in ("not_reviewed", "not_applicable", "error"):
            assert finding["reason"], finding
    # the per-control rollup covers every control a finding maps to
    assert {c["id"] for c in evidence["result"]["controls"]} == {
        c for f in evidence["result"]["findings"] for c in f["controls"]}


@pytest.mark.live
def test_wildcard_listeners_fail_and_loopback_pass(tmp_path):
    policy = tmp_path / "bind.yaml"
    policy.write_text("id: bind-only\nversion: '1'\nowner: tests\nrules:\n"
                      "  - id: bind\n    check: net.bind_addresses\n    params: {allow: [loopback]}\n")
    opened = []
    try:
        for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1"),
                                (socket.AF_INET6, "::"), (socket.AF_INET6, "::1")):
            if family == socket.AF_INET6 and not socket.has_ipv6:
                continue
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((address, 0))
            s.listen()
            opened.append((address, s.getsockname()[1], s))
        out = tmp_path / "e.json"
        result = lbaudit("evaluate", "--policy", policy, "--output", out)
        assert result.returncode == 1, result.stdout + result.stderr
        findings = json.loads(out.read_text())["result"]["findings"]
        for address, port, _ in opened:
            # this namespace's alone: a listener of another namespace (another test's or session's,
            # on a port of its own numbering) may have the same port; its finding names its netns
            mine = [f for f in findings if f["subject_detail"].get("port") == port and " in netns " not in f["subject"]]
            assert mine, f"no finding for {address}:{port}"
            expected = "fail" if address in ("0.0.0.0", "::") else "pass"
            assert {f["status"] for f in mine} == {expected}, mine
            if expected == "fail":
                assert str(port) in mine[0]["subject"] and f"pid {os.getpid()}" in mine[0]["subject"]
                assert str(port) in result.stdout  # the terminal names the port too
    finally:
        for _, _, s in opened:
            s.close()


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yaml")))
def test_bad_policy_exit_2_with_place_and_no_output(tmp_path, name):
    out = tmp_path / "evidence.json"
    result = lbaudit("evaluate", "--policy", BAD / name, "--output", out, "--format", "text", "--out-dir", tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{name}:" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even half


def test_validate_reports_every_file(tmp_path):
    result = lbaudit("validate", CORP, BAD / "unknown_key.yaml")
    assert result.returncode == 2
    assert "corp.yaml: ok" in result.stdout
    assert "unknown_key.yaml:7:5: rules[0]: unknown key 'severty'" in result.stderr


def test_validate_shipped_policies_exit_0():
    result = lbaudit("validate", *sorted(data_dir("policies").glob("*.yaml")))
    assert result.returncode == 0, result.stderr


def test_policy_schema_accepts_shipped_policies_and_rejects_bad_params():
    schema = schema_of("policy")
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(data_dir("policies").glob("*.yaml")):
        document = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        errors = list(validator.iter_errors(document))
        assert not errors, f"{path.name}: {errors[0].message}"
    bad = {"id": "x", "version": "1", "owner": "o",
           "rules": [{"id": "r", "check": "net.ephemeral_port_range", "params": {"min_pool_size": "lots"}}]}
    assert list(validator.iter_errors(bad))


def test_list_checks_and_explain():
    listing = lbaudit("list-checks", "--json")
    assert listing.returncode == 0
    checks = {c["name"]: c for c in json.loads(listing.stdout)}
    assert {"net.bind_addresses", "net.ephemeral_port_range", "net.time_wait", "audit.socket_logging"} <= set(checks)
    for name, info in checks.items():
        text = lbaudit("explain", name)
        assert text.returncode == 0, text.stderr
        for control in info["controls"]:
            assert control in text.stdout
        assert "Rationale:" in text.stdout and "Remediation:" in text.stdout and "Params:" in text.stdout
    unknown = lbaudit("explain", "no.such_check")
    assert unknown.returncode == 2 and "unknown check" in unknown.stderr


def test_explain_time_wait_says_fin_timeout_does_not_change_time_wait():
    text = lbaudit("explain", "net.time_wait").stdout
    assert "tcp_fin_timeout" in text and "60" in text


def test_unknown_format_is_usage_error_before_any_work(tmp_path):
    out = tmp_path / "e.json"
    result = lbaudit("evaluate", "--policy", CORP, "--output", out, "--format", "docx")
    assert result.returncode == 2 and "unknown format 'docx'" in result.stderr
    assert not out.exists()


def test_help_documents_exit_codes():
    text = lbaudit("--help").stdout + lbaudit("evaluate", "--help").stdout
    for code in ("0   compliant", "1   non-compliant", "2   usage error", "3   incomplete"):
        assert code in text


def _evaluate_in_process(policy: str, out: str) -> int:
    from auditor.cli import main

    saved = sys.argv
    sys.argv = ["lbaudit", "evaluate", "--policy", policy, "--output", out, "--quiet"]
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = saved
    return 0


@pytest.fixture
def shared_tmp():
    """A directory nobody may write (pytest's tmp_path sits below a 0700 directory)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="lbaudit-nobody-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unwritable_output_is_a_usage_error_before_any_work(shared_tmp):
    blocker = shared_tmp / "file"
    blocker.write_text("x")
    result = lbaudit("evaluate", "--policy", CORP, "--output", blocker / "evidence.json")
    assert result.returncode == 2 and "cannot write evidence" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.live
def test_unprivileged_run_never_passes_what_it_cannot_see(shared_tmp):
    """As nobody: auditctl refuses, root's sockets cannot be attributed: not_reviewed, never pass."""
    tmp_path = shared_tmp
    out = tmp_path / "nobody.json"
    # Warm-up as root: the interpreter's standard library lives under /root (0700 here), so every
    # module the run needs must be imported before the child drops its privileges.
    _evaluate_in_process(str(CORP), str(tmp_path / "root.json"))
    # A root-owned wildcard listener in this (root) process: nobody cannot see who owns it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def child() -> int:
            listener.close()  # the child must not hold the socket itself
            return _evaluate_in_process(str(CORP), str(out))

        code = run_as_unprivileged(child)
    evidence = json.loads(out.read_text())
    assert evidence["snapshot"]["provenance"]["effective_uid"] != 0
    assert code in (1, 3) and evidence["result"]["verdict"] != "compliant"
    findings = evidence["result"]["findings"]
    audit = [f for f in findings if f["check"] == "audit.socket_logging"]
    assert audit and all(f["status"] != "pass" for f in audit if "loaded" in f["subject"] or "enabled" in f["subject"])
    assert any(f["status"] == "not_reviewed" and f["reason"] for f in audit)
    mine = [f for f in findings if f["check"] == "net.bind_addresses" and f["subject_detail"].get("port") == port]
    assert mine and all(f["status"] in ("fail", "not_reviewed") for f in mine), mine
    assert "owner unknown" in mine[0]["subject"]
    assert evidence["snapshot"]["gaps"], "an unprivileged run must record what it could not see"


SMOKE_POLICY = ("id: smoke\nversion: '1'\nowner: tests\nrules:\n"
                "  - id: bind\n    check: net.bind_addresses\n    params: {allow: [loopback]}\n")
SMOKE_AUDIT_POLICY = ("id: smoke-audit\nversion: '1'\nowner: tests\nrules:\n"
                      "  - id: audit\n    check: audit.socket_logging\n")
# An unexpected exception inside a command, in a real process: main() must print one line, exit 70.
BUG_COMMAND = """
import sys, click
import auditor.cli as cli
@click.command("explode")
def explode():
    raise RuntimeError("boom")
cli.COMMANDS["explode"] = ("auditor.cli:explode_for_test", "")
cli.explode_for_test = explode
sys.argv = ["lbaudit", "explode"]
cli.main()
"""


@pytest.mark.slow  # a real interpreter per exit code
def test_main_exit_codes_from_a_real_process(tmp_path):
    """The one subprocess smoke test of main(): every other CLI test runs in-process through
    auditor.cli.run (tests/cli.py); this proves that main() hands run's codes to a real shell,
    through ``python -m auditor.cli`` and the installed ``lbaudit`` script."""
    from auditor.storage.snapshot import snapshot_bytes

    (tmp_path / "bind.yaml").write_text(SMOKE_POLICY)
    (tmp_path / "audit.yaml").write_text(SMOKE_AUDIT_POLICY)
    (tmp_path / "loopback.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("127.0.0.1", 22)])))
    (tmp_path / "wildcard.json").write_bytes(snapshot_bytes(snapshot(listeners=[listener("0.0.0.0", 22)])))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("LBAUDIT_DEBUG", None)

    def evaluate(policy: str, snap: str) -> list[str]:
        return ["evaluate", "--policy", str(tmp_path / policy), "--snapshot", str(tmp_path / snap),
                "--output", str(tmp_path / "e.json"), "-q"]

    module = [sys.executable, "-m", "auditor.cli"]
    script = [str(Path(sys.executable).parent / "lbaudit")]  # the console script pip installed next to python
    assert Path(script[0]).exists(), "the lbaudit script is not installed (scripts/bootstrap installs it)"
    cases = [(module, evaluate("bind.yaml", "loopback.json"), 0), (script, evaluate("bind.yaml", "wildcard.json"), 1),
             (module, ["evaluate"], 2), (module, evaluate("audit.yaml", "loopback.json"), 3)]
    for launcher, args, expected in cases:
        result = subprocess.run([*launcher, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == expected, (launcher, args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    bug = subprocess.run([sys.executable, "-c", BUG_COMMAND], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert bug.returncode == 70, bug.stderr
    assert "lbaudit: internal error: RuntimeError: boom" in bug.stderr and "Traceback" not in bug.stderr


def test_ctx_exit_codes_reach_the_shell():
    """click without standalone mode returns ctx.exit codes instead of raising: they must not become 0."""
    result = lbaudit("evaluate")  # missing --policy: click usage error
    assert result.returncode == 2
    assert lbaudit("--version").returncode == 0


@pytest.mark.live
def test_re_evaluating_without_a_key_removes_the_stale_signature(tmp_path):
    out = tmp_path / "e.json"
    keys = tmp_path / "keys"
    assert lbaudit("keygen", "--out", keys).returncode == 0
    key = next(p for p in keys.iterdir() if p.suffix == ".key")
    first = lbaudit("evaluate", "--policy", CORP, "--output", out, "--sign-key", key, "-q")
    assert first.returncode in (0, 1, 3) and (tmp_path / "e.json.sig").exists()
    second = lbaudit("evaluate", "--policy", CORP, "--output", out, "-q")
    assert second.returncode in (0, 1, 3) and not (tmp_path / "e.json.sig").exists()


def _without_time_fields(document: dict) -> dict:
    from auditor.model.evidence import TIME_FIELDS

    for path in TIME_FIELDS:
        node = document
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1])
    return document


@pytest.mark.live
def test_same_inputs_give_the_same_evidence_bytes_apart_from_time_fields(tmp_path):
    snapshot = tmp_path / "host.snapshot.json"
    assert lbaudit("collect", "--output", snapshot).returncode == 0
    outputs = []
    for name in ("a.json", "b.json"):
        result = lbaudit("evaluate", "--policy", CORP, "--snapshot", snapshot, "--output", tmp_path / name, "-q")
        assert result.returncode in (0, 1, 3), result.stderr
        outputs.append((tmp_path / name).read_bytes())
    first, second = (json.loads(data) for data in outputs)
    canonical = [json.dumps(_without_time_fields(doc), sort_keys=True, indent=2).encode() for doc in (first, second)]
    assert canonical[0] == canonical[1]
    assert first["snapshot"]["provenance"]["source"] == "snapshot"
    assert len(first["snapshot"]["provenance"]["source_sha256"]) == 64


@pytest.mark.live
def test_collect_to_an_unwritable_place_is_a_usage_error():
    result = lbaudit("collect", "--output", "/proc/lbaudit-snapshot.json")
    assert result.returncode == 2 and "cannot write" in result.stderr and "internal error" not in result.stderr
