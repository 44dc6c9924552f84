"""``lbaudit explain`` of a plugin check whose params nest models without end, or widely.

Before: explain lists every field of every nested model (``exceptions[].match.process``) by
descending into each model wherever a param holds one.  A params model holding a model that holds
itself (a tree of nodes, which pydantic and the policy schema take) recursed until RecursionError,
exit 70; one holding two of a model that holds two of the next, 40 deep, would list 2**40 rows
(a hang, memory without bound).  Now each nested model's fields are listed once, where it first
appears, and a later param of it refers there.

The plugin is a real installed distribution on ``sys.path`` (a module and a ``*.dist-info``).
"""

from __future__ import annotations

import pytest

from tests.cli import run_cli
from tests.plugin_distribution import install_plugin

HEADER = """
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from auditor.model.check import CheckParams, check, passed
"""

FOOTER = """

@check(name="nestplug.x", title="T", version="1", needs=["sysctl"], params=Params, severity="high",
       controls=["CM-6"], rationale="r", remediation="m")
def x(snapshot, params):
    return [passed("a", "b")]
"""

TREE = """
class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "n"
    child: Optional[Node] = None


class Params(CheckParams):
    root: Node = Field(default_factory=Node)
"""

SELF = """
class Params(CheckParams):
    limit: int = 3
    inner: Optional[Params] = None
"""


def _wide(depth: int) -> str:
    """Level i holds two of level i+1: 2**depth paths down to the last."""
    classes = [f"class L{depth}(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n    leaf: int = 1\n"]
    for level in range(depth - 1, -1, -1):
        classes.append(f"class L{level}(BaseModel):\n    model_config = ConfigDict(extra='forbid')\n"
                       f"    a: Optional[L{level + 1}] = None\n    b: Optional[L{level + 1}] = None\n")
    return "\n\n".join(classes) + "\n\nclass Params(CheckParams):\n    top: Optional[L0] = None\n"


@pytest.mark.parametrize("models, listed", [
    (TREE, ["root: mapping", "root.name: string", "root.child: mapping or null"]),
    (SELF, ["limit: integer", "inner: mapping or null"]),
    (_wide(40), ["top: mapping or null", "top.a: mapping or null", "top.b: mapping or null"]),
], ids=["a tree", "params holding themselves", "two of each, 40 deep"])
def test_explain_lists_nested_params_once(tmp_path, monkeypatch, models, listed):
    install_plugin(tmp_path / "site", monkeypatch, "nestplug", HEADER + models + FOOTER,
                   "[lbaudit.checks]\nnestplug = nestplug\n")
    run = run_cli("explain", "nestplug.x", timeout=60)
    assert run.returncode == 0, run.stderr
    params = run.stdout.split("Params:\n", 1)[1].split("\n\n", 1)[0]
    for line in listed:
        assert f"  {line}" in params, params
    assert "its fields as listed at" in params, params
    assert len(params.splitlines()) < 400, f"{len(params.splitlines())} lines"
