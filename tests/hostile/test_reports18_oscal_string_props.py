"""An OSCAL prop value shows a host's text as it is, not as another host's.

OSCAL's ``string`` type (prop values, party names, the document version) is ``^\\S(.*\\S)?$``: not
empty, one line, no white space at either end.  To fit it, every run of white space in the text was
made one space and the ends dropped (``" ".join(text.split())``), and Python splits on more than
white space: the separators U+001C-U+001F too.  So the inventory item of a host named ``web01\\x1f``
(or ``web01\\u3000``, an ideographic space; or ``web01\\x1c``) carried the props ``hostname`` and
``fqdn`` of ``web01`` exactly, the identity a consumer matches inventory by, while every other output
showed the character as an escape; a machine id with one after it read as the real machine's.  Now
the text is plain text first (a control character as its escape, ``\\x1f``, a line feed as ``\\n``),
and a white space character at either end is written as its escape (``\\x20``, ``\\u3000``) instead of
dropped: the value still fits the schema, and no two names read alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.storage.snapshot import write_snapshot
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot
from tests.report.conftest import oscal_validator  # noqa: F401 - the official schema, as a fixture

NON_COMPLIANT = 1
HOST = "web01.example.test"
MACHINE = "0123456789abcdef0123456789abcdef"


def _oscal(tmp_path: Path, hostname: str, machine_id: str = MACHINE) -> dict:
    tmp_path.mkdir(exist_ok=True)
    write_snapshot(snapshot(listeners=[listener("0.0.0.0", 22)], hostname=hostname, machine_id=machine_id),
                   tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("corp"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", "oscal", "--out-dir", tmp_path / "out", "-q",
                     env={"LBAUDIT_CONFIG": ""})
    assert result.returncode == NON_COMPLIANT, result.stderr
    return json.loads((tmp_path / "out" / "corp.oscal.json").read_bytes())


def _props(document: dict) -> dict[str, str]:
    (result,) = document["assessment-results"]["results"]
    (item,) = result["local-definitions"]["inventory-items"]
    return {prop["name"]: prop["value"] for prop in item["props"]}


@pytest.mark.parametrize("hostname, shown", [
    (HOST + "\x1f", HOST + "\\x1f"),
    (HOST + "\x1c", HOST + "\\x1c"),
    ("\x1e" + HOST, "\\x1e" + HOST),
    (HOST + "\u3000", HOST + "\\u3000"),
    (HOST + " ", HOST + "\\x20"),
    (HOST + "\n", HOST + "\\n"),
    ("web01\x1f\x1fexample.test", "web01\\x1f\\x1fexample.test"),
])
def test_a_host_name_is_not_another_hosts_in_the_props(tmp_path, oscal_validator, hostname, shown):  # noqa: F811
    document = _oscal(tmp_path, hostname)
    assert not list(oscal_validator.iter_errors(document))
    props = _props(document)
    # before: "web01.example.test" exactly, the name of the host this one is not
    assert props["hostname"] == props["fqdn"] == shown


def test_a_machine_id_is_not_another_machines_in_the_props(tmp_path, oscal_validator):  # noqa: F811
    document = _oscal(tmp_path, HOST, MACHINE + "\x1f")
    assert not list(oscal_validator.iter_errors(document))
    assert _props(document)["machine-id"] == MACHINE + "\\x1f"


def test_a_plain_name_is_written_as_it_is_and_a_blank_one_is_named_blank(tmp_path, oscal_validator):  # noqa: F811
    assert _props(_oscal(tmp_path / "plain", HOST))["hostname"] == HOST
    blank = _oscal(tmp_path / "blank", "")
    assert not list(oscal_validator.iter_errors(blank))
    assert _props(blank)["hostname"] == "(blank)"
