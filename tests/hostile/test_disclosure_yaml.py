"""A YAML file lbaudit reads (a policy, one it extends, ``--waivers``, ``LBAUDIT_CONFIG``) is quoted
in no problem before it is recognised as its kind, and then only under a key of that kind.

A policy is data a pull request may change and lbaudit often runs as root in CI, so ``extends:``,
``--waivers`` or the configuration path may name any file the run can read.  The refusal of a
mapping none of whose keys was a policy key (tests/hostile/test_policy_foreign_files.py) came after
the values were built, and building them quoted the file: a duplicate key by its name, an octal,
grouped or too large number, a value an explicit ``!!int`` did not fit, and PyYAML's own message an
alias name.  A file that did have a key of the kind (a ``docker-compose.yml`` has ``version``) was
quoted anywhere in it: ``POSTGRES_PASSWORD: 0731946285`` was "an octal number" in the CI log.  Now
the document is recognised on its composed nodes before any value is built, and a problem elsewhere
names its file, line and column alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

SECRET = "S3cr3t-disclosure-9c41"
SECRET_NUMBER = "7314462153"  # a PIN (octal digits: YAML 1.1 reads 0 and it as a number)

# Files a run can read, each holding the secret where a problem of its build quoted it.
FOREIGN = {
    # another program's file: no key of any lbaudit kind
    "duplicate-key": f"{SECRET}_user: 1\n{SECRET}_user: 2\n",
    "octal-value": f"pin: 0{SECRET_NUMBER}\n",
    "grouped-number": f"pin: {SECRET_NUMBER[:3]}_{SECRET_NUMBER[3:]}\n",
    "integer-out-of-range": f"token: {SECRET_NUMBER * 4}\n",
    "tag-mismatch": f"api_key: !!int {SECRET}\n",
    "undefined-alias": f"password: *{SECRET}\n",
    "json-duplicate-key": f'{{"{SECRET}": 1, "{SECRET}": 2}}\n',
    # a file holding a key of every kind (version: a policy's, color: a setting's, waivers: the
    # waivers file's), its secret under another key
    "compose-octal": f"version: '3'\ncolor: never\nwaivers: []\nservices:\n  db:\n    password: 0{SECRET_NUMBER}\n",
    "compose-duplicate": (f"version: '3'\ncolor: never\nwaivers: []\nservices:\n  db:\n    {SECRET}: 1\n"
                          f"    {SECRET}: 2\n"),
    "compose-tag": f"version: '3'\ncolor: never\nwaivers: []\nenvironment:\n  API_KEY: !!float {SECRET}\n",
    "compose-integer": f"version: '3'\ncolor: never\nwaivers: []\nsecrets:\n  token: {SECRET_NUMBER * 4}\n",
}

# Where each was: line and column of the problem, which the message still names.
WHERE = {
    "duplicate-key": "1:1", "octal-value": "1:1", "grouped-number": "1:1", "integer-out-of-range": "1:1",
    "tag-mismatch": "1:1", "undefined-alias": "1:11", "json-duplicate-key": "1:1",
    "compose-octal": "6:15", "compose-duplicate": "7:5", "compose-tag": "5:12", "compose-integer": "5:10",
}

POLICY = 'id: p\nversion: "1"\nowner: O\nrules:\n  - id: r\n    check: net.time_wait\n    params: {max_fin_timeout: 60}\n'
CHILD = 'id: child\nversion: "1"\nowner: O\nextends: {parent}\nrules: []\n'


@pytest.fixture(params=sorted(FOREIGN))
def foreign(request, tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / f"{request.param}.conf"
    path.parent.mkdir()
    path.write_text(FOREIGN[request.param], encoding="utf-8")
    return path


def _quotes_nothing_and_names_the_place(result, path: Path) -> None:
    shown = result.stdout + result.stderr
    assert result.returncode == 2, shown
    assert SECRET not in shown and SECRET_NUMBER not in shown and SECRET_NUMBER[3:] not in shown, shown
    assert f"{path}:{WHERE[path.stem]}: " in shown, shown


def test_a_policy_given_directly_quotes_nothing_of_it(foreign: Path):
    _quotes_nothing_and_names_the_place(run_cli("validate", "--no-plugins", foreign, env={"LBAUDIT_CONFIG": ""}),
                                        foreign)


def test_a_policy_extending_it_quotes_nothing_of_it_and_writes_no_evidence(tmp_path: Path, foreign: Path):
    policy = tmp_path / "child.yaml"
    policy.write_text(CHILD.format(parent=foreign), encoding="utf-8")
    _quotes_nothing_and_names_the_place(run_cli("validate", "--no-plugins", policy, env={"LBAUDIT_CONFIG": ""}),
                                        foreign)
    evidence = tmp_path / "e.json"
    evaluated = run_cli("evaluate", "--no-plugins", "--policy", policy, "--root", tmp_path, "-o", evidence, "-q",
                        env={"LBAUDIT_CONFIG": ""})
    _quotes_nothing_and_names_the_place(evaluated, foreign)
    assert not evidence.exists()


def test_a_waivers_file_quotes_nothing_of_it(tmp_path: Path, foreign: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", "--waivers", foreign, policy, env={"LBAUDIT_CONFIG": ""})
    _quotes_nothing_and_names_the_place(checked, foreign)


def test_a_configuration_file_quotes_nothing_of_it(foreign: Path):
    _quotes_nothing_and_names_the_place(run_cli("config", "show", env={"LBAUDIT_CONFIG": str(foreign)}), foreign)


def test_yaml_syntax_errors_keep_their_one_character_and_drop_longer_fragments(tmp_path: Path):
    """PyYAML's messages are kept (what is wrong, where) with a character at fault, not a name."""
    tab = tmp_path / "tab.yaml"
    tab.write_text(f"{SECRET}:\tvalue\n", encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", tab, env={"LBAUDIT_CONFIG": ""})
    assert checked.returncode == 2
    assert f"{tab}:1:24: invalid YAML: found character '\\t' that cannot start any token" in checked.stderr
    assert SECRET not in checked.stdout + checked.stderr
    alias = tmp_path / "alias.yaml"
    alias.write_text(FOREIGN["undefined-alias"], encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", alias, env={"LBAUDIT_CONFIG": ""})
    assert f"{alias}:1:11: invalid YAML: found undefined alias (not quoted)" in checked.stderr
    assert SECRET not in checked.stdout + checked.stderr


def test_control_case_a_policy_mistake_under_its_own_keys_is_still_quoted(tmp_path: Path):
    """Recognised as a policy, its values under rules are quoted as before: the author needs them."""
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("max_fin_timeout: 60", "max_fin_timeout: 060") + "unknown_key: 1\n",
                      encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", policy, env={"LBAUDIT_CONFIG": ""})
    assert checked.returncode == 2
    assert (f"{policy}:7:31: '060' is an octal number in YAML 1.1 but a decimal one in YAML 1.2; write it without "
            "the leading zero (or quote it for text)") in checked.stderr
    duplicate = tmp_path / "d.yaml"
    duplicate.write_text(POLICY + "owner: P\n", encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", duplicate, env={"LBAUDIT_CONFIG": ""})
    assert f"{duplicate}:8:1: duplicate key 'owner' (first defined at line 3); each key may appear once" in checked.stderr


@pytest.mark.parametrize("content, where, message", [
    # another program's file with a key of lbaudit's kind, holding a section of its own there
    (f"version: '2'\nowner:\n  email: ops@example.org\n  api_token: {SECRET}\n", "2:1",
     "owner: expected text; found a mapping of 2 keys"),
    (f"id: app\nrules:\n  db: {{password: {SECRET}}}\n", "2:1", "rules: expected a list; found a mapping of 1 key"),
])
def test_a_mapping_under_a_policy_key_is_named_by_its_kind_not_quoted(tmp_path: Path, content: str, where: str,
                                                                       message: str):
    path = tmp_path / "app.yaml"
    path.write_text(content, encoding="utf-8")
    checked = run_cli("validate", "--no-plugins", path, env={"LBAUDIT_CONFIG": ""})
    shown = checked.stdout + checked.stderr
    assert checked.returncode == 2
    assert SECRET not in shown, shown
    assert f"{path}:{where}: {message}" in shown, shown


def test_a_mapping_under_a_setting_is_named_by_its_kind_not_quoted(tmp_path: Path):
    """An application's configuration given as lbaudit's: its store section held the credentials."""
    path = tmp_path / "app.yaml"
    path.write_text(f"color: never\nstore:\n  backend: s3\n  secret_key: {SECRET}\n", encoding="utf-8")
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)})
    assert shown.returncode == 2
    assert SECRET not in shown.stdout + shown.stderr
    assert f"{path}:2:1: store: expected a path or a SQLAlchemy URL; found a mapping of 2 keys" in shown.stderr


def test_an_lbaudit_document_given_as_the_configuration_is_named_by_its_schema(tmp_path: Path):
    """Evidence has a policy key, which is also a setting: its policy section was printed as the
    value of a setting ("policy: expected a path; found {...}") and its other keys as unknown ones."""
    path = tmp_path / "evidence.json"
    path.write_text(f'{{"schema": "lbaudit/evidence", "schema_version": "1.0", "policy": {{"owner": "{SECRET}"}}}}\n',
                    encoding="utf-8")
    shown = run_cli("config", "show", env={"LBAUDIT_CONFIG": str(path)})
    assert shown.returncode == 2
    assert SECRET not in shown.stdout + shown.stderr
    assert (f"{path}:1:1: this is an lbaudit document of schema 'lbaudit/evidence', not an lbaudit configuration "
            "file (expected a mapping of policy, ") in shown.stderr
