"""The signed original of a run recorded first as an unsigned copy was skipped as "already
recorded": a copy of the evidence file without its ``.sig`` (an archive that kept only the JSON, a
re-indented copy) imported first, then the original and its ``.sig``, and the store kept only the
unsigned row.  ``history list`` said "signed: no", ``history export --with-evidence`` carried no
signature, and ``history verify --pubkey --require-signed`` failed the run (exit 11) though a
signature of it by that key had been handed to the store.  Now the row of the run takes the
signature when it signs the evidence the store holds (the same canonical document): "its signature
is now recorded", the run still counted once by trend.  A signature that does not sign the stored
copy (the copy says something else than what was signed) refuses the import (exit 10), the copy
left as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.history.conftest import postgres_server, store_url  # noqa: F401  (the fixtures, both backends)
from tests.history.scans import CORP, later, write_scan_snapshot

pytestmark = pytest.mark.slow  # real evaluations


def _signed_scan(tmp_path: Path) -> tuple[Path, Path]:
    keys = tmp_path / "keys"
    assert run_cli("keygen", "--out", keys).returncode == 0
    snapshot = write_scan_snapshot(tmp_path / "scan.snapshot.json", wildcard_redis=True, when=later(0))
    evidence = tmp_path / "signed" / "scan.evidence.json"
    evidence.parent.mkdir()
    result = run_cli("evaluate", "--policy", CORP, "--snapshot", snapshot, "-o", evidence, "-q",
                     "--sign-key", keys / "lbaudit.key")
    assert result.returncode in (1, 3), result.stderr
    assert Path(f"{evidence}.sig").is_file()
    return evidence, keys / "lbaudit.pub"


@pytest.mark.parametrize("copy_kind", ["same bytes", "re-indented"])
def test_the_signed_original_after_an_unsigned_copy_is_recorded_signed(tmp_path, store_url, copy_kind):  # noqa: F811
    evidence, pub = _signed_scan(tmp_path)
    copy = tmp_path / "archive" / "scan.evidence.json"
    copy.parent.mkdir()
    if copy_kind == "same bytes":
        shutil.copyfile(evidence, copy)
    else:
        copy.write_text(json.dumps(json.loads(evidence.read_text()), indent=4) + "\n")
    first = run_cli("history", "import", copy, "--store", store_url, "--json")
    assert first.returncode == 0, first.stderr
    second = run_cli("history", "import", evidence, "--store", store_url, "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == [{"file": str(evidence), "run": 1, "recorded": False, "signed_now": True}]
    said = run_cli("history", "import", evidence, "--store", store_url)
    assert said.returncode == 0 and "already recorded as run 1" in said.stdout, said.stdout + said.stderr

    listed = json.loads(run_cli("history", "list", "--json", "--store", store_url).stdout)
    assert [(run["id"], run["signature"]["state"]) for run in listed] == [(1, "signed")]  # before: unsigned
    exported = json.loads(run_cli("history", "export", "--with-evidence", "--store", store_url).stdout)
    assert exported["evidence_signature"] == Path(f"{evidence}.sig").read_text()
    verified = run_cli("history", "verify", "--pubkey", pub, "--require-signed", "--store", store_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr  # before: 11, "is unsigned"
    trend = run_cli("history", "trend", "--since", "2000-01-01", "--store", store_url, "--json")
    assert sum(day["runs"] for day in json.loads(trend.stdout)["by_day"]) == 1


def test_a_signature_that_does_not_sign_the_recorded_copy_is_refused(tmp_path):
    evidence, pub = _signed_scan(tmp_path)
    store = str(tmp_path / "history.db")
    document = json.loads(evidence.read_text())
    document["tool"]["version"] = document["tool"]["version"] + "+copied"  # the same run, said otherwise
    copy = tmp_path / "archive" / "scan.evidence.json"
    copy.parent.mkdir()
    copy.write_text(json.dumps(document, indent=2) + "\n")
    assert run_cli("history", "import", copy, "--store", store).returncode == 0
    refused = run_cli("history", "import", evidence, "--store", store)
    assert refused.returncode == 10, refused.stdout + refused.stderr
    assert "run 1" in refused.stderr and str(evidence) in refused.stderr
    listed = json.loads(run_cli("history", "list", "--json", "--store", store).stdout)
    assert [(run["id"], run["signature"]["state"]) for run in listed] == [(1, "unsigned")]


def test_control_case_a_signed_run_recorded_first_stays_signed(tmp_path):
    evidence, pub = _signed_scan(tmp_path)
    store = str(tmp_path / "history.db")
    assert run_cli("history", "import", evidence, "--store", store).returncode == 0
    copy = tmp_path / "archive" / "scan.evidence.json"
    copy.parent.mkdir()
    shutil.copyfile(evidence, copy)
    again = run_cli("history", "import", copy, "--store", store, "--json")
    assert json.loads(again.stdout) == [{"file": str(copy), "run": 1, "recorded": False}]
    assert run_cli("history", "verify", "--pubkey", pub, "--require-signed", "--store", store).returncode == 0
