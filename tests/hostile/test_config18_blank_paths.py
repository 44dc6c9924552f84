"""Hostile corpus, config round 18: a path of blanks alone is refused wherever it comes from, naming
the option and the variable, before anything is written.

``LBAUDIT_OUT_DIR=' '`` (a blank left by a template, a unit's ``Environment=LBAUDIT_OUT_DIR= ``, a
CI variable of one space) made a directory called ' ' in the working directory and wrote the
evidence and every report into it, exit 1 as for any non-compliant run; ``-o ' '`` wrote the
evidence as a file called ' '.  click takes an empty variable as unset, and lbaudit refused the
empty path ('an empty path names no file'), the configuration file a blank one (``out_dir: ' '``:
expected a path) and ``--store`` a blank store; a path of blanks alone was taken as a name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

POLICY = """\
id: t
version: "1"
owner: Sec
rules:
  - id: bind
    check: net.bind_addresses
"""


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    (tmp_path / "p.yaml").write_text(POLICY)
    (tmp_path / "image").mkdir()
    return tmp_path


@pytest.mark.parametrize("blank", [" ", "   ", "\t", " \t "])
def test_a_blank_out_dir_variable_is_refused_naming_it(work: Path, blank: str):
    result = run_cli("evaluate", "--policy", "p.yaml", "--root", "image", "--format", "text",
                     env={"LBAUDIT_CONFIG": "", "LBAUDIT_OUT_DIR": blank}, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "LBAUDIT_OUT_DIR" in result.stderr and "blank" in result.stderr, result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["image", "p.yaml"]


@pytest.mark.parametrize(("option", "variable"), [
    ("-o", None), ("--out-dir", None), ("--policy", "LBAUDIT_POLICY"), ("--sign-key", "LBAUDIT_SIGN_KEY"),
])
def test_a_blank_path_option_is_refused(work: Path, option: str, variable: str | None):
    arguments = ["evaluate", "--root", "image", "--format", "text"]
    if option != "--policy":
        arguments += ["--policy", "p.yaml"]
    result = run_cli(*arguments, option, " ", env={"LBAUDIT_CONFIG": ""}, cwd=work)
    assert result.returncode == 2, result.stdout + result.stderr
    assert option in result.stderr and "blank" in result.stderr, result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["image", "p.yaml"]
    if variable is not None:
        result = run_cli(*arguments, env={"LBAUDIT_CONFIG": "", variable: "  "}, cwd=work)
        assert result.returncode == 2, result.stdout + result.stderr
        assert variable in result.stderr and "blank" in result.stderr, result.stderr


def test_a_name_with_blanks_around_it_is_still_a_name(work: Path):
    result = run_cli("evaluate", "--policy", "p.yaml", "--root", "image", "-o", " e.json",
                     env={"LBAUDIT_CONFIG": ""}, cwd=work)
    assert result.returncode in (0, 1, 3), result.stdout + result.stderr
    assert (work / " e.json").is_file()
