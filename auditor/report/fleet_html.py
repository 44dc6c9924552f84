"""The HTML fleet overview: one page for the whole estate, rendered from the fleet summary alone.

``lbaudit fleet evaluate`` writes ``fleet-summary.json`` (the record) and then this page from that
JSON, never from a second evaluation: run header, hosts by verdict, a row per host (its counts by
status, a link to its evidence, the reason a host could not be judged), the rules failing on most
hosts and the controls by the share of hosts that satisfy them.

The page is ``fleet.html.j2``, which extends the per-host ``report.html.j2`` and is rendered by
:func:`auditor.report.html.render_page`: the same Jinja environment (autoescaping on), the same
inlined stylesheet and script and the same Content-Security-Policy.  Host names and reasons come
from the targets' snapshots and directories, so they are hostile: besides autoescaping, line
breaks and bidirectional overrides in them are shown as ``[U+202E]`` rather than obeyed, so that a
host named ``\u202egnp.exe`` cannot display as another name.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from auditor.model.base import LINE_BREAK_OR_BIDI
from auditor.model.result import STATUS_ORDER
from auditor.report.html import CHART_WIDTH, _bar, render_page
from auditor.report.view import STATUS_LABELS

TEMPLATE = "fleet.html.j2"
NOT_EVALUATED = "not_evaluated"  # a host the fleet run could not judge (no evidence; its reason says why)
VERDICT_LABELS = {"compliant": "compliant", "non_compliant": "not compliant", "incomplete": "incomplete",
                  NOT_EVALUATED: "not evaluated"}
# The status colours of the stylesheet, reused for verdicts: a host not judged is an error.
VERDICT_CSS = {"compliant": "s-pass", "non_compliant": "s-fail", "incomplete": "s-not_reviewed",
               NOT_EVALUATED: "s-error"}
VERDICT_ORDER = ("non_compliant", NOT_EVALUATED, "incomplete", "compliant")
# The fleet's verdict box from its worst exit code (the stylesheet's three verdict colours).
EXIT_WORDS = {0: ("COMPLIANT", "compliant", "every host is compliant"),
              3: ("INCOMPLETE", "incomplete", "no host fails, but on some what the policy needs could not be seen"),
              1: ("NOT COMPLIANT", "non_compliant", "at least one host is not compliant"),
              2: ("HOSTS NOT JUDGED", "non_compliant", "at least one host could not be judged; its row says why")}
OTHER_EXIT = ("LBAUDIT ERROR", "non_compliant", "lbaudit failed on at least one host; its row says why")
# The store's overview (fleet report --html) of a fleet where no host fails but some were not scanned
# within --stale-days: their latest runs passed (exit 0), so the box said "every host is compliant"
# above the list of hosts not scanned for ten days.
NOT_SCANNED_LATELY = "NOT SCANNED LATELY"


def _not_scanned_lately(stale: Mapping[str, Any]) -> tuple[str, str, str]:
    count = len(stale["hosts"])
    return (NOT_SCANNED_LATELY, "incomplete",
            f"no host fails, but {count} {'was' if count == 1 else 'were'} not scanned for {stale['days']} days: "
            f"whether {'it complies' if count == 1 else 'they comply'} now is not known")


def _verdict_box(summary: Mapping[str, Any], exit_code: int) -> tuple[str, str, str]:
    """The fleet's verdict box: from its worst exit code, but never "every host is compliant" over a
    row that says otherwise.  The store's overview (fleet report --html) takes each row's exit code
    from what the store recorded: a host not scanned whose record says exit 0 (an export edited and
    imported) was under COMPLIANT, "0 judged: every host is compliant"."""
    if exit_code != 0:
        return EXIT_WORDS.get(exit_code, OTHER_EXIT)
    said = {row.get("verdict") for row in summary["hosts"]} - {"compliant"}
    if None in said:
        return EXIT_WORDS[2]
    if "non_compliant" in said:
        return EXIT_WORDS[1]
    if said:
        return EXIT_WORDS[3]
    stale = summary.get("not_scanned_for_days")
    if stale and stale.get("hosts"):
        return _not_scanned_lately(stale)
    return EXIT_WORDS[0]


def visible(text: object) -> str:
    """``text`` with line breaks and bidirectional controls shown as ``[U+XXXX]`` instead of obeyed."""
    return LINE_BREAK_OR_BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


@dataclass(frozen=True)
class HostRow:
    host: str
    verdict: str  # a key of VERDICT_LABELS
    label: str
    css: str  # the row's colour
    exit_code: int
    counts: tuple[int, ...]  # findings per status, in STATUS_ORDER
    evidence_href: str | None
    html_href: str | None
    signed: bool
    reason: str | None
    run_id: int | None  # the run in the history store (fleet report --html), when recorded
    collected_at: str | None = None  # when the host's facts were collected, as its row records
    collection_age: str | None = None  # how long before they were judged


@dataclass(frozen=True)
class RuleRow:
    rule: str
    hosts: int
    share: float


@dataclass(frozen=True)
class ControlRow:
    control: str
    satisfied: int
    judged: int
    share: float


def _href(target: str | None, links_from: Path | None) -> str | None:
    """A relative link from the page's directory to a file the run wrote (None when not written).
    Percent-encoded, and starting with ``./``, so that no part of a name can read as a scheme."""
    if not target or links_from is None:
        return None
    relative = os.path.relpath(os.path.abspath(target), os.path.abspath(links_from))
    return quote(relative if relative.startswith("../") else "./" + relative)


def _host_row(row: Mapping[str, Any], links_from: Path | None) -> HostRow:
    counts = row.get("counts") or {}
    verdict = row.get("verdict") or NOT_EVALUATED
    return HostRow(
        host=row["host"], verdict=verdict, label=VERDICT_LABELS.get(verdict, verdict),
        css=VERDICT_CSS.get(verdict, "s-error"), exit_code=int(row["exit_code"]),
        counts=tuple(int(counts.get(status.value, 0)) for status in STATUS_ORDER),
        # a host with a reason has no evidence of its own to link (two snapshots claiming one name
        # wrote one file between them: neither stands)
        evidence_href=None if row.get("error") else _href(row.get("evidence"), links_from),
        html_href=None if row.get("error") else _href(row.get("html"), links_from),
        signed=bool(row.get("signed")), reason=row.get("error"), run_id=row.get("run_id"),
        collected_at=row.get("collected_at"), collection_age=row.get("collection_age"))


def fleet_values(summary: Mapping[str, Any], links_from: Path | None) -> dict[str, Any]:
    """What the page shows, from the summary's dict (``fleet-summary.json`` as written);
    ``links_from`` is the directory the page is written into (None: no links)."""
    hosts = [_host_row(row, links_from) for row in summary["hosts"]]
    by_verdict = Counter(h.verdict for h in hosts)
    verdicts = [v for v in VERDICT_ORDER if by_verdict[v]] + sorted(v for v in by_verdict if v not in VERDICT_ORDER)
    failing: Counter[str] = Counter()
    controls: dict[str, list[int]] = {}  # control -> [hosts satisfied, hosts judged]
    judged = 0
    for row in summary["hosts"]:
        if row.get("verdict") is None:
            continue  # not evaluated: it neither fails nor satisfies anything
        judged += 1
        failing.update(set(row.get("failing_rules") or ()))
        for control, satisfied in (row.get("controls") or {}).items():
            counts = controls.setdefault(control, [0, 0])
            counts[0] += 1 if satisfied else 0
            counts[1] += 1
    exit_code = int(summary["exit_code"])
    word, css, sentence = _verdict_box(summary, exit_code)
    policy = summary["policy"]
    return {
        "view": None,  # not one host's report: report.html.j2's host blocks are replaced
        "fleet": summary,
        "policy": policy,
        "verdict_word": word,
        "verdict_css": css,
        "verdict_sentence": sentence,
        "hosts": hosts,
        "hosts_judged": judged,
        "verdict_counts": [(v, VERDICT_LABELS.get(v, v), VERDICT_CSS.get(v, "s-error"), by_verdict[v]) for v in verdicts],
        "verdict_bar": _bar([(VERDICT_LABELS.get(v, v), VERDICT_CSS.get(v, "s-error"), by_verdict[v])
                             for v in verdicts]),
        "chart_width": CHART_WIDTH,
        "statuses": [(s.value, STATUS_LABELS[s]) for s in STATUS_ORDER],
        "rules": [RuleRow(rule, n, n / judged) for rule, n in sorted(failing.items(), key=lambda i: (-i[1], i[0]))],
        "controls": [ControlRow(control, ok, total, ok / total) for control, (ok, total) in
                     sorted(controls.items(), key=lambda i: (i[1][0] / i[1][1], i[0]))],
        "visible": visible,
        # from the history store (fleet report --html): regressions and hosts not scanned lately
        "regressed": summary.get("regressed_since_previous_run"),
        "stale": summary.get("not_scanned_for_days"),
    }


def render_fleet_html(summary: Mapping[str, Any], links_from: Path | None) -> bytes:
    return render_page(fleet_values(summary, links_from), template=TEMPLATE).encode("utf-8")

