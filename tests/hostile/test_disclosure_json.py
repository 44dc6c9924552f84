"""A JSON file lbaudit reads (evidence, a snapshot, a signature, the OSCAL catalog) is quoted in no
problem: a duplicate key, a number out of range and a lone surrogate are named by line and column.

Each path may name any file the run can read (``lbaudit show /root/.docker/config.json``, a fleet's
fetched snapshot directory, a ``.sig`` beside the evidence), and the strict reader refuses a
document before anything has said what it is.  Its messages quoted the document: "duplicate key
'<the key>'", "the number <the number> is out of range", and a lone surrogate's JSON pointer, made
of the file's keys; the fleet wrote the same message into its summary files.  Now the reader names
the place alone (a JSON pointer only in a document that names itself one of lbaudit's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli import run_cli

SECRET = "S3cr3t-disclosure-json-5b7e"
SECRET_NUMBER = "7314462153"

FOREIGN = {
    "duplicate-key": (f'{{"auths": {{"registry": {{"{SECRET}": 1,\n  "{SECRET}": 2}}}}}}\n', "duplicate key (line 2, column 3)"),
    "number-out-of-range": (f'{{"pin":\n  {SECRET_NUMBER}e999}}\n', "a number is out of range (line 2, column 3)"),
    "lone-surrogate": (f'{{"{SECRET}":\n  "\\ud800"}}\n', "the escape \\ud800 is half of a UTF-16 pair, no character "
                                                        "(a lone surrogate): not text (line 2, column 4)"),
}

ENV = {"LBAUDIT_CONFIG": ""}
POLICY = 'id: p\nversion: "1"\nowner: O\nrules:\n  - id: r\n    check: net.time_wait\n    params: {max_fin_timeout: 60}\n'


@pytest.fixture(params=sorted(FOREIGN))
def foreign(request, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "elsewhere" / "config.json"
    path.parent.mkdir()
    text, message = FOREIGN[request.param]
    path.write_text(text, encoding="utf-8")
    return path, message


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> tuple[Path, Path]:
    """(evidence with its .sig, the public key) of a real run."""
    work = tmp_path_factory.mktemp("signed")
    assert run_cli("keygen", "--out", work / "keys", "-q", env=ENV).returncode == 0
    policy = work / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    root = work / "root"
    root.mkdir()
    evidence = work / "e.json"
    run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", root, "-q", "-o", evidence,
            "--sign-key", work / "keys" / "lbaudit.key", env=ENV)
    assert Path(f"{evidence}.sig").is_file()
    return evidence, work / "keys" / "lbaudit.pub"


def _says_where_and_quotes_nothing(result, path: Path, message: str, code: int = 2) -> None:
    shown = result.stdout + result.stderr
    assert result.returncode == code, shown
    assert SECRET not in shown and SECRET_NUMBER not in shown, shown
    assert str(path) in shown and message in shown, shown


@pytest.mark.parametrize("command", ["show", "report", "diff", "history-import"])
def test_evidence_that_is_another_file_is_named_by_place_not_quoted(tmp_path: Path, foreign, command: str):
    path, message = foreign
    args = {"show": ("show", path), "report": ("report", path, "--format", "sarif", "--out-dir", tmp_path / "out"),
            "diff": ("diff", path, path),
            "history-import": ("history", "import", "--store", tmp_path / "h.db", path)}[command]
    _says_where_and_quotes_nothing(run_cli(*args, env=ENV), path, message)


def test_a_snapshot_that_is_another_file_is_named_by_place_not_quoted(tmp_path: Path, foreign):
    path, message = foreign
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    evaluated = run_cli("evaluate", "--no-plugins", "--policy", policy, "--snapshot", path, "-q",
                        "-o", tmp_path / "e.json", env=ENV)
    _says_where_and_quotes_nothing(evaluated, path, message)
    assert not (tmp_path / "e.json").exists()


def test_a_fleet_host_whose_snapshot_is_another_file_writes_no_quote_of_it(tmp_path: Path, foreign):
    path, message = foreign
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    host = tmp_path / "fetched" / "web1"
    host.mkdir(parents=True)
    shutil.copy(path, host / "web1.snapshot.json")
    out = tmp_path / "fleet"
    result = run_cli("fleet", "evaluate", "--no-plugins", "--snapshots", tmp_path / "fetched", "--policy", policy,
                     "--out-dir", out, env=ENV)
    _says_where_and_quotes_nothing(result, host / "web1.snapshot.json", message)
    written = [item for item in out.rglob("*") if item.is_file()]
    assert written  # the summary says why the host was not evaluated
    for item in written:
        text = item.read_bytes().decode("utf-8", "replace")
        assert SECRET not in text and SECRET_NUMBER not in text, item


def test_an_oscal_catalog_that_is_another_file_is_named_by_place_not_quoted(tmp_path: Path, foreign):
    path, message = foreign
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    covered = run_cli("coverage", "--no-plugins", "--policy", policy, "--baseline", "low", "--catalog", path, env=ENV)
    _says_where_and_quotes_nothing(covered, path, message)


def test_an_oscal_catalog_that_is_valid_json_of_another_kind_is_not_quoted(tmp_path: Path):
    """Its first top-level key was quoted as what the file held instead ("top-level '<key>'")."""
    path = tmp_path / "credentials.json"
    path.write_text(f'{{"{SECRET}": {{"token": "x"}}}}', encoding="utf-8")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    covered = run_cli("coverage", "--no-plugins", "--policy", policy, "--baseline", "low", "--catalog", path, env=ENV)
    _says_where_and_quotes_nothing(covered, path, "not an OSCAL catalog (an object of 1 top-level keys, none an OSCAL "
                                                  "model; what it holds is not quoted; expected \"catalog\"")
    profile = tmp_path / "profile.json"
    profile.write_text('{"profile": {}}', encoding="utf-8")  # another OSCAL document is still named
    covered = run_cli("coverage", "--no-plugins", "--policy", policy, "--baseline", "low", "--catalog", profile, env=ENV)
    assert covered.returncode == 2
    assert f"{profile}: not an OSCAL catalog (top-level 'profile'; expected" in covered.stderr


def test_a_signature_that_is_another_file_is_named_by_place_not_quoted(tmp_path: Path, foreign, signed):
    path, message = foreign
    evidence, public = signed
    copy = tmp_path / "e.json"
    shutil.copy(evidence, copy)
    shutil.copy(path, f"{copy}.sig")
    _says_where_and_quotes_nothing(run_cli("verify", copy, "--pubkey", public, env=ENV), Path(f"{copy}.sig"), message)


def test_evidence_to_verify_that_is_another_file_fails_its_digest_without_quoting_it(tmp_path: Path, foreign,
                                                                                      signed):
    path, message = foreign
    evidence, public = signed
    shutil.copy(f"{evidence}.sig", f"{path}.sig")
    _says_where_and_quotes_nothing(run_cli("verify", path, "--pubkey", public, env=ENV), path, message, code=10)


def test_control_case_a_lone_surrogate_in_lbaudit_evidence_still_names_its_field(tmp_path: Path, signed):
    evidence, _ = signed
    edited = tmp_path / "e.json"
    raw = evidence.read_bytes()
    assert b'"owner": "O"' in raw
    edited.write_bytes(raw.replace(b'"owner": "O"', b'"owner": "O\\udcff"', 1))
    shown = run_cli("show", edited, env=ENV)
    assert shown.returncode == 2
    assert f"{edited}: not an lbaudit evidence file: /policy/owner: the escape \\udcff is half of a UTF-16 pair" \
        in shown.stderr
