"""typing's forward references compile each text once (auditor/forwardrefs.py, issue 16): the code a
ForwardRef gets is what the built-in compiled for it, its evaluation is the same in every namespace,
and a text that does not compile still raises typing's SyntaxError."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

import auditor.model  # noqa: F401  (installs the remembering compile, as every model module's import does)
from auditor.forwardrefs import typing_compile

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_typing_compiles_through_the_remembering_compile() -> None:
    assert vars(typing)["compile"] is typing_compile


@pytest.mark.parametrize("text", ["int", "list[str] | None", "dict[str, tuple[int, ...]]", "Annotated[str, 1]",
                                  "'nested'", "a.b[c]"])
def test_the_code_is_the_builtins(text: str) -> None:
    code = typing.ForwardRef(text).__forward_code__
    del typing.compile  # typing's own call, to the built-in from typing's frame, as without lbaudit
    try:
        builtin = typing.ForwardRef(text).__forward_code__
    finally:
        typing.compile = typing_compile  # type: ignore[attr-defined]
    assert builtin is not code
    assert (code.co_code, code.co_consts, code.co_names, code.co_flags) == (
        builtin.co_code, builtin.co_consts, builtin.co_names, builtin.co_flags)
    assert typing.ForwardRef(text).__forward_code__ is code  # compiled once


def test_shared_code_evaluates_in_each_namespace() -> None:
    first = typing.ForwardRef("Thing | None")
    second = typing.ForwardRef("Thing | None")
    assert first.__forward_code__ is second.__forward_code__
    assert first._evaluate({"Thing": int}, None, frozenset()) == int | None
    assert second._evaluate({"Thing": str}, None, frozenset()) == str | None


def test_a_text_that_does_not_compile_raises_as_before() -> None:
    for _ in range(2):  # a failure is not remembered: the second raises the same
        with pytest.raises(SyntaxError, match="Forward reference must be an expression -- got 'int ='"):
            typing.ForwardRef("int =")


def test_other_calls_reach_the_builtin() -> None:
    code = typing_compile("x = 1", "<other>", "exec")
    namespace: dict[str, int] = {}
    exec(code, namespace)
    assert namespace["x"] == 1
    assert typing_compile("1", "<string>", "eval", 0, True) is not typing_compile("1", "<string>", "eval", 0, True)


@pytest.mark.slow
def test_models_are_the_same_with_and_without_it() -> None:
    """Every model of the policy, facts and evidence has the same JSON schema whether its annotations
    were compiled once per text or once per reference (a fresh interpreter each)."""
    program = ("import sys, json, typing\n"
               "if sys.argv[1] == 'off':\n"
               "    import auditor.forwardrefs as f; f.install = lambda: None\n"
               "from auditor.model.evidence import Evidence\n"
               "from auditor.model.policy import Policy\n"
               "assert ('compile' in vars(typing)) == (sys.argv[1] == 'on')\n"
               "print(json.dumps([Evidence.model_json_schema(), Policy.model_json_schema()], sort_keys=True))\n")
    runs = [subprocess.run([sys.executable, "-c", program, mode], cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout for mode in ("on", "off")]
    assert runs[0] == runs[1]
    assert len(runs[0]) > 10_000
