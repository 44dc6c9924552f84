"""The PDF reporter imports reportlab without compiling its unused URL pattern at start (issue 16),
and the pattern still works, as compiled at once, when reportlab does use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """\
import json, re
real_compile = re.compile
import auditor.report.pdf
import reportlab.platypus.paragraph as paragraph
from auditor.report._pdf_start import CompiledOnFirstUse
deferred = type(paragraph.uri_pat) is CompiledOnFirstUse and paragraph.uri_pat.compiled is None
uris = ["https://example.com/a/b/c", "HTTP://EXAMPLE.ORG:8080/x?y=1", "ftp://user@host.example/p",
        "not a url", "https://xn--bcher-kva.example/", "https://\\u00fcber.example/\\u4e2d"]
eager = real_compile(paragraph.uri_pat.pattern_text, re.I)
spans = lambda pattern: [m.span() if m else None for m in map(pattern.match, uris)]
same = spans(paragraph.uri_pat) == spans(eager)
print(json.dumps({"deferred": deferred, "restored": re.compile is real_compile, "same": same,
                  "matches": [bool(eager.match(u)) for u in uris], "compiled": paragraph.uri_pat.compiled is not None,
                  "split": paragraph._uri_split_pairs("https://example.com/a/b")}))
"""


def test_the_url_pattern_is_compiled_when_first_used_and_matches_as_compiled_at_once():
    out = subprocess.run([sys.executable, "-c", PROBE], env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["deferred"] and result["restored"] and result["compiled"]
    assert result["same"] and result["matches"] == [True, True, True, False, True, True]
    assert result["split"] == [["https://example.com/a/", "b"], ["https://example.com/", "a/b"],
                               ["https://", "example.com/a/b"]]
