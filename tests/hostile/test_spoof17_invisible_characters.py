"""Invisible characters of host text in every rendered output.

Any local user names a process, and a name can hold characters that are drawn as nothing: the
zero-width space, joiners and non-joiner (U+200B-U+200D), the word joiner and invisible operators
(U+2060-U+2064), the byte order mark (U+FEFF), the soft hyphen (U+00AD), the Mongolian vowel
separator (U+180E), variation selectors, tag characters (U+E0000 block): Unicode's
Default_Ignorable_Code_Point.  Before, every output but the evidence's own escaping rules let them
through raw: a listener of ``ss\\u200bhd`` (not sshd, owned by whoever named it) read ``sshd`` on the
terminal, in the text report, the HTML report, the PDF attestation, JUnit, SARIF, OSCAL and HDF, so
that the reader who knows sshd listens on 22 took it for the real one.  The escape rules already
showed control and bidi characters as ``\\u202e``; now each output kind shows these the same way
(``ss\\u200bhd``).  The evidence keeps the name as the host had it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from auditor.model.facts import ProcessInfo
from auditor.storage.snapshot import write_snapshot
from auditor.text import document_text, one_line, plain_json, plain_text
from tests.cli import run_cli
from tests.factories import listener, loopback_only_policy, snapshot

NON_COMPLIANT = 1
# Each drawn as nothing, between "ss" and "hd": zero-width space, non-joiner, joiner, word joiner,
# invisible separator, BOM, soft hyphen, Mongolian vowel separator, variation selector 16, a tag
# character, Hangul filler.
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\u2063", "\ufeff", "\u00ad", "\u180e", "\ufe0f",
              "\U000e0041", "\u3164"]
INVISIBLE = re.compile("[" + "".join(INVISIBLES) + "]")
NAME = "ss" + "".join(INVISIBLES) + "hd"
SHOWN = ("ss\\u200b\\u200c\\u200d\\u2060\\u2063\\ufeff\\xad\\u180e\\ufe0f\\U000e0041\\u3164hd")
FORMATS = "sarif,junit,oscal,hdf,html,prometheus,text"


@pytest.mark.parametrize("escape", [one_line, plain_text, document_text])
def test_each_escape_rule_shows_invisible_characters(escape):
    # before: the name came back unchanged from each of them
    assert escape(NAME) == SHOWN


def test_json_documents_show_invisible_characters():
    # plain_json skips its walk when the JSON text shows nothing to escape: it must see these too
    assert json.loads(plain_json({"name": NAME})) == {"name": SHOWN}


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """``lbaudit evaluate`` of a snapshot whose listener's process, user and interface are named with
    the invisible characters, writing every format and the PDF."""
    process = ProcessInfo(pid=7, name=NAME, user=NAME, exe=f"/usr/sbin/{NAME}", argv0=NAME, cmdline=[NAME])
    hostile = listener("0.0.0.0", 22, interface=f"eth{NAME}", user=NAME, processes=[process])
    write_snapshot(snapshot(listeners=[hostile], hostname=f"web{NAME}"), tmp_path / "snap.json")
    (tmp_path / "policy.yaml").write_text(loopback_only_policy("hidden"))
    result = run_cli("evaluate", "--policy", tmp_path / "policy.yaml", "--snapshot", tmp_path / "snap.json",
                     "-o", tmp_path / "e.json", "--format", FORMATS, "--out-dir", tmp_path / "out",
                     "--pdf", tmp_path / "out" / "hidden.pdf")
    assert result.returncode == NON_COMPLIANT, result.stderr
    (tmp_path / "out" / "summary.txt").write_text(result.stdout, encoding="utf-8")
    pdf_text = subprocess.run(["pdftotext", "-enc", "UTF-8", tmp_path / "out" / "hidden.pdf", "-"],
                              capture_output=True, check=True, timeout=120).stdout.decode("utf-8")
    (tmp_path / "out" / "hidden.pdf.txt").write_text(pdf_text, encoding="utf-8")
    (tmp_path / "out" / "hidden.pdf").unlink()
    return tmp_path


def test_no_output_holds_an_invisible_character_raw(rendered: Path):
    out = rendered / "out"
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(out.iterdir())}
    assert sorted(texts) == ["hidden.hdf.json", "hidden.html", "hidden.junit.xml", "hidden.oscal.json",
                             "hidden.pdf.txt", "hidden.prom", "hidden.sarif", "hidden.txt", "summary.txt"]
    # before: every one of them but the Prometheus file (which names no process) held the name raw
    assert {name: sorted({f"U+{ord(c):04X}" for c in INVISIBLE.findall(text)}) for name, text in texts.items()} \
        == {name: [] for name in texts}
    # and each shows the name's escapes where it names the process (JSON writes a backslash doubled;
    # the PDF may break a long word over two lines)
    for name, text in texts.items():
        if name == "hidden.prom":
            continue
        flat = text.replace("\\\\", "\\") if name.endswith((".json", ".sarif")) else text
        flat = flat.replace("\n", "") if name == "hidden.pdf.txt" else flat
        assert SHOWN in flat, name
    # the evidence keeps the name as the host had it
    evidence = json.loads((rendered / "e.json").read_text(encoding="utf-8"))
    assert NAME in json.dumps(evidence, ensure_ascii=False)
