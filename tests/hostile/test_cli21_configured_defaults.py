"""A setting of the environment or the configuration file is a default: it applies where its option
does, and never makes a command fail that the command line alone would run.

The defect: the checks "--store says how to --record: give --record as well" and "--org-logo goes
on the PDF cover: give --pdf as well" looked at the option's value, wherever it came from.  With
``store:`` in /etc/lbaudit/config.yaml (or ``LBAUDIT_STORE`` set, as the README suggests for the
history commands) every ``evaluate`` and ``fleet evaluate`` without ``--record`` was exit 2, and
``report --format sarif`` was exit 2 while the store had not been created yet ("no history store
here"); with ``org_logo:`` every ``evaluate`` and ``report`` without ``--pdf`` was exit 2: a
scheduled scan failed every night because of a logo.  Now an option only typed on the command line
is held to what goes with it; a configured one that does not apply is not used.  A configured
``--sign-key`` with ``-o -`` is still refused (the configuration says evidence is signed), but the
message says where the key came from: it named ``--sign-key``, which the command line did not hold.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

BASE = {"LBAUDIT_DISABLE_PLUGIN_AUTOLOAD": "1", "LBAUDIT_CONFIG": ""}
USAGE = 2
NON_COMPLIANT = 1
# the smallest valid PNG: a 1x1 image
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    os.chmod(tmp_path, 0o755)
    (tmp_path / "corp.yaml").write_text(loopback_only_policy("corp"))
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="h1"), tmp_path / "s.json")
    (tmp_path / "fetch" / "h1").mkdir(parents=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname="h1"),
                   tmp_path / "fetch" / "h1" / "lbaudit.snapshot.json")
    (tmp_path / "logo.png").write_bytes(PNG)
    return tmp_path


def _configured(work: Path, how: str, key: str, value: str) -> dict[str, str]:
    """The environment of a run with KEY set in the configuration file or by its variable."""
    if how == "file":
        config = work / "config.yaml"
        config.write_text(f"{key}: {value}\n")
        os.chmod(config, 0o644)
        return {**BASE, "LBAUDIT_CONFIG": str(config)}
    return {**BASE, f"LBAUDIT_{key.upper()}": value}


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_configured_store_does_not_make_evaluate_without_record_a_usage_error(work, how):
    env = _configured(work, how, "store", str(work / "history.db"))
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", cwd=work, env=env)
    # before: exit 2, "--store and --trigger say how to --record: give --record as well"
    assert done.returncode == NON_COMPLIANT, done.stderr
    assert (work / "e.json").exists()
    assert not (work / "history.db").exists()  # not recorded: --record was not asked for


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_configured_store_does_not_make_fleet_evaluate_without_record_a_usage_error(work, how):
    env = _configured(work, how, "store", str(work / "history.db"))
    done = run_cli("fleet", "evaluate", "--snapshots", "fetch", "--policy", "corp.yaml", "--out-dir", "out", "-q",
                   cwd=work, env=env)
    # before: exit 2, "--store says where --record records: give --record as well"
    assert done.returncode == NON_COMPLIANT, done.stderr
    assert (work / "out" / "h1.evidence.json").exists()
    assert not (work / "history.db").exists()


def test_a_configured_store_is_still_the_store_of_evaluate_record(work):
    env = _configured(work, "environment", "store", str(work / "history.db"))
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", "--record",
                   cwd=work, env=env)
    assert done.returncode == NON_COMPLIANT, done.stderr
    assert (work / "history.db").exists()


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_configured_store_not_created_yet_does_not_stop_a_report_that_marks_nothing(work, how):
    assert run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q",
                   cwd=work, env=BASE).returncode == NON_COMPLIANT
    env = _configured(work, how, "store", str(work / "history.db"))
    done = run_cli("report", "e.json", "--format", "sarif", "--out-dir", "r", "-q", cwd=work, env=env)
    # before: exit 2, "no history store here": the store marks only runs a PDF or OSCAL attests
    assert done.returncode == 0, done.stderr
    assert json.loads((work / "r" / "corp.sarif").read_text())["version"] == "2.1.0"
    assert not (work / "history.db").exists()


def test_a_configured_store_not_created_yet_does_not_stop_an_attesting_report_either(work):
    """Nothing is recorded in a store that is not there: an OSCAL report has no run to mark."""
    assert run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q",
                   cwd=work, env=BASE).returncode == NON_COMPLIANT
    env = _configured(work, "environment", "store", str(work / "history.db"))
    done = run_cli("report", "e.json", "--format", "oscal", "--out-dir", "r", "-q", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    assert not (work / "history.db").exists()
    typed = run_cli("report", "e.json", "--format", "oscal", "--out-dir", "r2", "-q", "--store", "history.db",
                    cwd=work, env=BASE)
    assert typed.returncode == USAGE and "no history store here" in typed.stderr, typed.stderr


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_configured_logo_does_not_make_a_run_without_pdf_a_usage_error(work, how):
    env = _configured(work, how, "org_logo", str(work / "logo.png"))
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", cwd=work, env=env)
    # before: exit 2, "--org-logo goes on the PDF cover: give --pdf as well"
    assert done.returncode == NON_COMPLIANT, done.stderr
    done = run_cli("report", "e.json", "--format", "junit", "--out-dir", "r", "-q", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    assert (work / "r").is_dir()


@pytest.mark.parametrize(("args", "expected"), [
    (("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", "--store", "h.db"),
     "give --record as well"),
    (("fleet", "evaluate", "--snapshots", "fetch", "--policy", "corp.yaml", "--out-dir", "out", "-q", "--store", "h.db"),
     "give --record as well"),
    (("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "e.json", "-q", "--org-logo", "logo.png"),
     "give --pdf as well"),
])
def test_the_same_options_typed_on_the_command_line_are_still_refused(work, args, expected):
    before = sorted(os.listdir(work))
    done = run_cli(*args, cwd=work, env=BASE)
    assert done.returncode == USAGE, done.stderr
    assert expected in done.stderr
    assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize("how", ["file", "environment"])
def test_a_configured_signing_key_with_evidence_to_stdout_is_refused_naming_where_it_came_from(work, how):
    assert run_cli("keygen", "--out", "keys", "-q", cwd=work, env=BASE).returncode == 0
    env = _configured(work, how, "sign_key", str(work / "keys" / "lbaudit.key"))
    done = run_cli("evaluate", "--policy", "corp.yaml", "--snapshot", "s.json", "-o", "-", "-q", cwd=work, env=env)
    assert done.returncode == USAGE, done.stderr
    assert done.stdout == ""
    # before: "--sign-key writes a detached signature ...", an option the command line did not hold
    assert ("LBAUDIT_SIGN_KEY" if how == "environment" else "sign_key in the configuration file") in done.stderr


def test_collect_names_a_configured_signing_key_it_refuses_with_standard_output(work):
    assert run_cli("keygen", "--out", "keys", "-q", cwd=work, env=BASE).returncode == 0
    (work / "img").mkdir()
    env = _configured(work, "file", "sign_key", str(work / "keys" / "lbaudit.key"))
    done = run_cli("collect", "--root", "img", "-o", "-", "-q", cwd=work, env=env)
    assert done.returncode == USAGE, done.stderr
    assert done.stdout == ""
    assert "--sign-key (from sign_key in the configuration file" in done.stderr, done.stderr
