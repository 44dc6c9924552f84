"""The terminal summary is rendered from the evidence and shows data verbatim."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone

from auditor.engine.evaluate import evaluate
from auditor.engine.evidence import build_evidence
from auditor.engine.registry import load_registry
from auditor.model.policy import Policy, PolicySource, ResolvedRule, Waiver
from auditor.report import ReportContext
from auditor.report.console import REPORTER
from auditor.report.summary import one_line
from auditor.storage.evidence import evidence_bytes
from tests.factories import listener, snapshot


def _evidence(snap, waivers=()):
    registry = load_registry(plugins=False)
    rule = ResolvedRule(id="bind", check="net.bind_addresses", params={"allow": ["loopback"]}, severity="high",
                        controls=["CM-7"], enabled=True, source="p.yaml:3")
    policy = Policy(id="p", version="1", owner="o", description="", rules=[rule], waivers=list(waivers),
                    sources=[PolicySource(path="p.yaml", sha256="0" * 64)])
    result = evaluate(policy, snap, registry, today=date(2026, 11, 22))
    when = datetime(2026, 11, 22, tzinfo=timezone.utc)
    return build_evidence(policy=policy, snapshot=snap, registry=registry, result=result, started_at=when,
                          finished_at=when, evaluated_on=when.date())


def test_text_summary_keeps_bracketed_ipv6_subjects_and_names_the_verdict():
    evidence = _evidence(snapshot(listeners=[listener("fe80::1", 6001), listener("::", 7002)]))
    text = REPORTER.render(evidence, ReportContext(evidence_bytes=evidence_bytes(evidence), evidence_path="e.json"))
    out = text.decode()
    assert "[fe80::1]:6001" in out and "[::]:7002" in out
    assert "NON-COMPLIANT" in out and "exit 1" in out and "evidence: e.json" in out


def test_text_summary_lists_expired_waivers():
    waiver = Waiver(rule="bind", reason="r", approver="CISO", expires=date(2026, 1, 1))
    evidence = _evidence(snapshot(listeners=[listener("0.0.0.0", 80)]), waivers=[waiver])
    out = REPORTER.render(evidence, ReportContext(evidence_bytes=b"{}")).decode()
    assert "waiver for rule bind expired on 2026-01-01" in out and "not honoured" in out


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15): the characters drawn
# as nothing, which one_line escapes too (a process named "ss\u200bhd" read as "sshd").
DEFAULT_IGNORABLE = [(0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
                     (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF)]
_IGNORABLE = frozenset(chr(code) for low, high in DEFAULT_IGNORABLE for code in range(low, high + 1))


def _noncharacter(code: int) -> bool:
    """Unicode's noncharacters (Noncharacter_Code_Point): U+FDD0-U+FDEF and the last two code points of
    every plane, which one_line escapes too (no XML or HTML document may hold them)."""
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _one_line_by_category(text: str) -> str:
    """one_line's rule spelled out per character: Cc, Zl and Zp, the bidi controls (Unicode's
    Bidi_Control property: the marks, embeddings, overrides and isolates) and the default-ignorable
    code points and the noncharacters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif (char in _IGNORABLE or _noncharacter(code) or unicodedata.category(char) in ("Cc", "Zl", "Zp")
              or char in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def test_one_line_escapes_exactly_the_control_separator_bidi_invisible_and_noncharacters():
    # every character of the Basic Multilingual Plane (surrogates cannot be printed and are left out;
    # no character beyond it is Cc, Zl or Zp) and each range of default-ignorable ones beyond it, with
    # its neighbours: the one character class agrees with unicodedata and the ranges on each
    beyond = [code for low, high in DEFAULT_IGNORABLE if low > 0xFFFF for code in range(low - 16, high + 17)]
    beyond += [code for plane in range(1, 17) for code in range(plane << 16 | 0xFFF0, (plane << 16 | 0xFFFF) + 1)]
    every = "".join(chr(code) for code in [*range(0x10000), *beyond] if not 0xD800 <= code <= 0xDFFF)
    assert one_line(every) == _one_line_by_category(every)
    assert one_line("a\nb\tc\x1b[31m\u2028\u202e\x85") == "a\\nb\\tc\\x1b[31m\\u2028\\u202e\\x85"
    assert one_line(None) == "" and one_line(8080) == "8080"
