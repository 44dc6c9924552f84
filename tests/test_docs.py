"""The README documents every check and param exactly as declared, and the commands it shows."""

from __future__ import annotations

from pathlib import Path

from auditor.docs import render_readme
from auditor.engine.registry import load_registry

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_check_reference_is_current():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text, load_registry(plugins=False)) == text, "run: python -m auditor.docs"


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert block == [
        "scripts/bootstrap && .venv/bin/lbaudit evaluate --policy policies/corp.yaml",
        "scripts/bootstrap --test && .venv/bin/python -m pytest",
    ]
    ci = (README.parent / ".ci" / "run").read_text()
    assert block[1] in ci  # CI runs the README's test command, word for word


def test_readme_documents_every_exit_code():
    from auditor.model.result import ExitCode

    text = README.read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in text, f"exit code {int(code)} ({code.name}) is not in the README"
