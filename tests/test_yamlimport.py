"""auditor.yamlimport: PyYAML imported with its set of forbidden characters compiled as the
complement it is (issue 16).  The pattern handed to PyYAML must match exactly the characters its
own does, so that the reader refuses the same files at the same place with the same message."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.yamlimport import NON_PRINTABLE, PYYAML_NON_PRINTABLE

REPO = Path(__file__).resolve().parents[1]


def test_the_complement_matches_exactly_the_characters_pyyamls_pattern_matches():
    every_code_point = "".join(map(chr, range(sys.maxunicode + 1)))
    # (re.UNICODE, the default for text, is another key of re's cache: PyYAML's own text compiled anew)
    pyyamls = re.compile(PYYAML_NON_PRINTABLE, re.UNICODE)
    ours = re.compile(NON_PRINTABLE)
    assert pyyamls.pattern == PYYAML_NON_PRINTABLE and ours is not pyyamls
    matched = ours.findall(every_code_point)
    assert matched == pyyamls.findall(every_code_point)
    assert len(matched) == 9 + 2 + 18 + 6 + 26 + 2048 + 2  # C0 but TAB LF CR, DEL and C1 but NEL, surrogates, U+FFFE/F


def _in_a_fresh_interpreter(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_pyyaml_gets_the_complement_and_its_own_text_is_the_one_seeded():
    """PyYAML's reader holds the cheaper pattern after lbaudit imports it, and the text seeded is the
    one yaml/reader.py compiles (a PyYAML that changed it would compile its own again: this says so)."""
    out = _in_a_fresh_interpreter("import auditor.policy.yamlsafe, yaml.reader\n"
                                  "print(ascii(yaml.reader.Reader.NON_PRINTABLE.pattern), end='')")
    assert out == ascii(NON_PRINTABLE)
    import yaml.reader

    compiled = [node.args[0] for node in ast.walk(ast.parse(Path(yaml.reader.__file__).read_text(encoding="utf-8")))
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "compile"]
    assert [ast.literal_eval(node) for node in compiled] == [PYYAML_NON_PRINTABLE]


@pytest.mark.parametrize("text", ["a: b\x07c\n", "rules:\n  - \ufffe\n", "a: '\ud800'\n", "ok: \x85yes\U0001f600\n"])
def test_the_reader_refuses_the_same_text_with_the_same_message(text):
    code = ("import ast, sys, yaml\n"
            "try:\n    print(ascii(yaml.safe_load(ast.literal_eval(sys.argv[1]))))\n"
            "except yaml.YAMLError as exc:\n    print(type(exc).__name__, exc)\n")
    plain = subprocess.run([sys.executable, "-c", code, ascii(text)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": ""})
    seeded = subprocess.run([sys.executable, "-c", "import auditor.yamlimport\n" + code, ascii(text)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (seeded.returncode, seeded.stdout, seeded.stderr) == (plain.returncode, plain.stdout, plain.stderr)
