"""Which waiver covers which failing finding, and each waiver's state: one judgement for the engine,
which applies it (:mod:`auditor.engine.waivers`), and for whoever reads evidence back, which checks
the recorded waivers against it (auditor/storage/evidence.py ``result_contradictions``), as
:func:`auditor.model.result.tally_run` is for the verdict.  Pure; in the model so that both layers
share it and cannot drift apart.
"""

from __future__ import annotations

import bisect
import functools
import re
from datetime import date
from typing import Any, Literal, NamedTuple, Sequence

from auditor.model.facts import UNPROVEN_NAME
from auditor.model.policy import Waiver
from auditor.model.result import AppliedWaiver, Finding, Status, WaiverState
from auditor.patterns import first_use


def subject_matches(glob: str, subject: str) -> bool:
    """Whether ``subject`` is matched by ``glob`` as a whole.

    ``*`` and ``?`` are the only wildcards: subjects such as ``tcp [::]:22 sshd pid 1`` hold
    brackets, which fnmatch would read as a character class and so match nothing.  The glob is cut
    at its stars: the first piece must start the subject, the last end it, and each piece between
    is found leftmost after the one before (for star-only wildcards leftmost is never wrong), by
    ``str.find`` or, for a piece with ``?``, a regular expression without repetition, both at C
    speed.  A regular expression of ``.*`` runs backtracks exponentially on a glob such as
    ``*a*a*a*a*a*a*a*a*a*a*b``, so a waiver could hang the evaluation; the walk back to the last
    star this replaces took len(glob) x len(subject) steps of Python, which evidence read back
    (its waivers and subjects both written by whoever wrote the file) made a hang again."""
    if "*" not in glob:
        return len(glob) == len(subject) and _piece_at(glob, subject, 0)
    first, middle, last, wildcards = _pieces(glob)
    end = len(subject) - len(last)
    if len(first) > end:
        return False
    if not wildcards:  # the common glob ("tcp 0.0.0.0:8080 *"): string methods only
        if not (subject.startswith(first) and subject.endswith(last)):
            return False
        position = len(first)
        for piece in middle:
            position = subject.find(piece, position, end)
            if position < 0:
                return False
            position += len(piece)
        return True
    if not _piece_at(first, subject, 0) or not _piece_at(last, subject, end):
        return False
    position = len(first)
    for piece in middle:
        found = _find_piece(piece, subject, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


@functools.lru_cache(maxsize=256)
def _pieces(glob: str) -> tuple[str, tuple[str, ...], str, bool]:
    """A glob with a star cut at its stars: the first piece, the non-empty ones between, the last,
    and whether any holds a ``?``; made once per glob (a waiver is matched against every failure)."""
    first, *middle, last = glob.split("*")
    return first, tuple(piece for piece in middle if piece), last, "?" in glob


def _piece_at(piece: str, subject: str, at: int) -> bool:
    """Whether the star-free ``piece`` matches ``subject`` at ``at`` (``?``: any one character)."""
    if at + len(piece) > len(subject):
        return False
    if "?" not in piece:
        return subject.startswith(piece, at)
    return _piece_pattern(piece).match(subject, at, at + len(piece)) is not None


def _find_piece(piece: str, subject: str, start: int, end: int) -> int:
    """The leftmost position in [start, end - len(piece)] where ``piece`` matches, else -1."""
    if "?" not in piece:
        return subject.find(piece, start, end)
    found = _piece_pattern(piece).search(subject, start, end)
    return found.start() if found is not None else -1


@functools.lru_cache(maxsize=256)
def _piece_pattern(piece: str) -> re.Pattern[str]:
    return re.compile(".".join(re.escape(part) for part in piece.split("?")), re.DOTALL)


# What a subject in another network namespace ends with (checks/_namespaces.py ``rebase``), and
# the subject_detail key that says a finding is in one.
NAMESPACE_WORDS = "in netns"
NAMESPACE_DETAIL = "netns"


def is_blanket(glob: str | None) -> bool:
    """Whether a waiver of this subject glob waives every failing finding of its rule: it names no
    subject, or one with a star and no letter or digit (``*``, ``?*``, ``* *``, ``*:*``): it names no
    protocol, address, port, program or setting, and matches every subject of its kind (each is a
    few words, and each listener's has a port after a colon), as wildcards alone do.  Such a rule
    cannot fail while the waiver is honoured."""
    return glob is None or ("*" in glob and not any(character.isalnum() for character in glob))


def is_namespace_blanket(glob: str | None) -> bool:
    """Whether a waiver of this subject glob waives every failing finding of its rule in every other
    network namespace: it says ``in netns`` (which such a subject must, :func:`reaches_other_namespaces`)
    and otherwise names nothing, as :func:`is_blanket` reads a subject (``* in netns *``,
    ``*in netns*``, ``*:* in netns ?*``): no protocol, address, port, program or namespace, so it
    covers every container and ``ip netns``, those started later too."""
    return (glob is not None and NAMESPACE_WORDS in glob and not is_blanket(glob)
            and is_blanket(glob.replace(NAMESPACE_WORDS, "*")))


def shadows(prior: Waiver, waiver: Waiver) -> bool:
    """Whether ``prior``, applied before ``waiver``, leaves it nothing to waive whatever the findings:
    of its rule, honoured at least as long, and of its subject or of one matching every subject
    (none, or stars alone).  A failing finding is waived by the first honoured waiver that matches it."""
    return prior.rule == waiver.rule and prior.expires >= waiver.expires and (
        prior.subject == waiver.subject or _matches_every_subject(prior.subject))


def _matches_every_subject(subject: str | None) -> bool:
    return subject is None or (bool(subject) and subject.count("*") == len(subject))


class _ShadowGroup(NamedTuple):
    """Earlier waivers that would shadow the same later ones but for their expiry, in order."""

    positions: list[int]
    latest_expiry: list[date]  # per entry: the latest expiry of it and every entry before it


class EarlierWaivers:
    """The waivers of a policy so far, in the order they are applied, indexed so that the first of
    them that :func:`shadows` a later one is found without reading them all: asked of every waiver
    against all before it, that was quadratic, and a policy of a few thousand waivers took minutes
    to validate and evaluate.  A waiver is shadowed only by one of its rule and its subject, or of
    its rule and every subject; of those, by the first honoured at least as long."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str | None, bool], _ShadowGroup] = {}

    def add(self, position: int, waiver: Waiver) -> None:
        every = _matches_every_subject(waiver.subject)
        group = self._groups.setdefault((waiver.rule, None if every else waiver.subject, every), _ShadowGroup([], []))
        group.positions.append(position)
        group.latest_expiry.append(max(waiver.expires, group.latest_expiry[-1]) if group.latest_expiry
                                   else waiver.expires)

    def first_shadowing(self, waiver: Waiver) -> int | None:
        """The position of the first waiver added that shadows ``waiver``, or None."""
        found = [self._first_lasting(self._groups.get((waiver.rule, None, True)), waiver.expires)]
        if not _matches_every_subject(waiver.subject):  # (else one of its subject is in the group of every subject)
            found.append(self._first_lasting(self._groups.get((waiver.rule, waiver.subject, False)), waiver.expires))
        return min((position for position in found if position is not None), default=None)

    @staticmethod
    def _first_lasting(group: _ShadowGroup | None, expires: date) -> int | None:
        if group is None:
            return None
        # the first entry honoured until ``expires`` or later: where the running latest first reaches it
        at = bisect.bisect_left(group.latest_expiry, expires)
        return group.positions[at] if at < len(group.positions) else None


def reaches_other_namespaces(glob: str | None) -> bool:
    """Whether a waiver of this subject glob may waive a finding in another network namespace than
    the collector's (a container's, an ``ip netns``'s): only one that says so (``... in netns web``,
    ``... in netns *``), or names no subject, or one of wildcards alone (a blanket waiver, warned
    about as one).  The subject of such a finding is the host's form with `` in netns N`` after
    it, so a glob written for the host's listener (``tcp 0.0.0.0:8080 *``, "whatever holds it")
    matched the same port in every namespace, now and later, which its approver never looked at."""
    return glob is None or NAMESPACE_WORDS in glob or (bool(glob) and set(glob) <= {"*", "?"})


def in_other_namespace(finding: Finding) -> bool:
    """Whether ``finding`` is about another network namespace than the collector's."""
    return finding.subject_detail.get(NAMESPACE_DETAIL) is not None


class _RuleWaivers(NamedTuple):
    """One rule's waivers (entries: position, the finding ids it matched, the waiver, honoured today)."""

    exact: dict[str, list[tuple[int, list[str], Waiver, bool]]]  # by the one subject each names
    # globs by their literal start (before the first wildcard), by its length
    by_start: dict[int, dict[str, list[tuple[tuple[int, list[str], Waiver, bool], str]]]]
    # globs starting with a wildcard, by a run of WINDOW characters of their literal text: tried
    # only on the failures whose subject holds that run
    by_window: dict[str, list[tuple[tuple[int, list[str], Waiver, bool], str]]]
    tried: list[tuple[tuple[int, list[str], Waiver, bool], str | None]]  # no subject, or wildcards and short text


# How many characters of a glob's literal text index it when it starts with a wildcard
# (``*:8080 *``): such globs were each tried on every failure of their rule, and evidence read back
# with 500 of them (``*:70000 *``, ...) and 20,000 failures took over a minute.  Each subject is
# cut into its runs of this length once, and only the globs of the runs it holds are tried.
WINDOW = 4


def _window(glob: str, by_window: dict[str, list[Any]]) -> str | None:
    """The run of WINDOW characters of ``glob``'s literal text (between its wildcards) that indexes
    it: of its runs, the one fewest globs are indexed by yet, so that globs sharing text (``*:8080
    a*``, ``*:8080 b*``) are spread; None when no literal stretch is that long."""
    runs = {text[at:at + WINDOW] for text in re.split(r"[*?]", glob) for at in range(len(text) - WINDOW + 1)}
    return min(sorted(runs), key=lambda run: len(by_window.get(run, ())), default=None)


class WaiverJudgement(NamedTuple):
    applied: list[Waiver | None]  # per finding: the waiver that waives it (the first unexpired match)
    states: list[WaiverState]  # per waiver, in order: applied, expired or unused, and what it matched


def applied_waiver(waiver: Waiver) -> AppliedWaiver:
    """How a finding records the waiver that waived it."""
    return AppliedWaiver(reason=waiver.reason, approver=waiver.approver, expires=waiver.expires, subject=waiver.subject)


def judge_waivers(findings: Sequence[Finding], waivers: Sequence[Waiver], today: date,
                  failed: tuple[Status, ...] = (Status.FAIL,)) -> WaiverJudgement:
    """Which of ``waivers`` waives each finding whose status is one of ``failed`` (only a failure is
    ever waived), and each waiver's state on ``today``.  The engine judges its findings before
    waiving (``failed``: fail); a reader of evidence judges them as recorded (fail or waived)."""
    matched: list[list[str]] = [[] for _ in waivers]
    # The waivers of each rule, with what each matched and whether it is honoured today: a finding
    # is matched against its own rule's waivers only.  A waiver naming one subject exactly (no
    # wildcard) is looked up by that subject, in a dict, not tried on every failure of its rule:
    # evidence read back with 20,000 findings and 200 such waivers of their rule took 1.5 s in
    # subject_matches (issue 16).  A glob is tried only on the failures whose subject starts with its
    # literal start; the others (no subject, a glob starting with a wildcard) on each failure.
    # Keyed by rule and whether the findings are in another network namespace: there only the
    # waivers that say so are tried (reaches_other_namespaces).
    by_rule: dict[tuple[str, bool], _RuleWaivers] = {}
    for index, waiver in enumerate(waivers):
        entry = (index, matched[index], waiver, waiver.expires >= today)
        glob = waiver.subject
        for elsewhere in (False, True) if reaches_other_namespaces(glob) else (False,):
            rule = by_rule.get((waiver.rule, elsewhere))
            if rule is None:
                rule = by_rule[waiver.rule, elsewhere] = _RuleWaivers({}, {}, {}, [])
            if glob is not None and "*" not in glob and "?" not in glob:
                rule.exact.setdefault(glob, []).append(entry)
            elif glob is not None and "?" not in (start := glob[:glob.index("*")] if "*" in glob else glob) and start:
                # a glob starting with literal text matches only subjects that start so
                rule.by_start.setdefault(len(start), {}).setdefault(start, []).append((entry, glob))
            elif glob is not None and (window := _window(glob, rule.by_window)) is not None:
                # a subject it matches holds each run of its literal text, so this window too
                rule.by_window.setdefault(window, []).append((entry, glob))
            else:
                rule.tried.append((entry, glob))
    applied: list[Waiver | None] = []
    for finding in findings:
        chosen: Waiver | None = None
        rule = by_rule.get((finding.rule_id, in_other_namespace(finding))) if by_rule else None
        if rule is not None and finding.status in failed:
            subject = finding.subject
            # the first honoured waiver in the order given, of those that match
            first = len(waivers)
            for index, found, waiver, honoured in rule.exact.get(subject, ()):
                found.append(finding.id)
                if honoured and index < first:
                    first, chosen = index, waiver
            for length, starts in rule.by_start.items():
                for (index, found, waiver, honoured), glob in starts.get(subject[:length], ()):
                    if subject_matches(glob, subject):
                        found.append(finding.id)
                        if honoured and index < first:
                            first, chosen = index, waiver
            if rule.by_window:
                windows = {subject[at:at + WINDOW] for at in range(len(subject) - WINDOW + 1)}
                for window in windows.intersection(rule.by_window):
                    for (index, found, waiver, honoured), glob in rule.by_window[window]:
                        if subject_matches(glob, subject):
                            found.append(finding.id)
                            if honoured and index < first:
                                first, chosen = index, waiver
            for (index, found, waiver, honoured), glob in rule.tried:
                if glob is not None and not subject_matches(glob, subject):
                    continue
                found.append(finding.id)
                if honoured and index < first:
                    first, chosen = index, waiver
        applied.append(chosen)
    states = []
    for index, waiver in enumerate(waivers):
        state: Literal["applied", "expired", "unused"]
        if waiver.expires < today:
            state = "expired"
        elif matched[index]:
            state = "applied"
        else:
            state = "unused"
        states.append(WaiverState(rule_id=waiver.rule, subject=waiver.subject, reason=waiver.reason,
                                  approver=waiver.approver, expires=waiver.expires, state=state,
                                  findings=matched[index]))
    return WaiverJudgement(applied, states)


def unused_reasons(findings: Sequence[Finding], waivers: Sequence[Waiver],
                   states: Sequence[WaiverState]) -> list[str | None]:
    """For each waiver that waived nothing (state "unused"), why it matched no failure when the
    cause is not that what it names is gone: the findings it names were not judged (not_reviewed,
    error: a waiver never covers them, so "fixed" would be read where the run only could not
    look), or failed in another network namespace, which a subject without "in netns" does not
    cover (:func:`reaches_other_namespaces`), or failed held by a process whose name the subject
    shows as unproven (``? (comm NAME, unproven)``: a waiver written for NAME before subjects said
    so), or failed under a subject its glob matches but for case or Unicode compatibility forms
    (``TCP``, a no-break space: globs are matched exactly).  None: it names no finding of this run,
    or it was not unused.  Only those findings of each rule are tried (a run has few), not every
    finding for every unused waiver; failures by their folded subject only for an unused glob, and
    only those whose folded subject starts as the glob's literal start does."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.status in (Status.NOT_REVIEWED, Status.ERROR) or (finding.status is Status.FAIL and (
                in_other_namespace(finding) or _UNPROVEN_START in finding.subject)):
            by_rule.setdefault(finding.rule_id, []).append(finding)
    folded: dict[str, list[tuple[str, Finding]]] | None = None  # failures by rule, with folded subjects
    escaped: dict[str, list[Finding]] = {}  # failures whose subject writes a name's space, ":" or "\\" as an escape
    for finding in findings:
        if finding.status is Status.FAIL and _NAME_ESCAPE().search(finding.subject):
            escaped.setdefault(finding.rule_id, []).append(finding)
    reasons: list[str | None] = []
    for waiver, state in zip(waivers, states):
        why = _unused_reason(waiver, by_rule.get(waiver.rule, [])) if state.state == "unused" else None
        if why is None and state.state == "unused" and waiver.subject is not None and waiver.rule in escaped:
            why = _escaped_reason(waiver.subject, escaped[waiver.rule])
        if why is None and state.state == "unused" and waiver.subject is not None:
            if folded is None:
                folded = {}
                for finding in findings:
                    if finding.status is Status.FAIL:
                        folded.setdefault(finding.rule_id, []).append((_folded(finding.subject), finding))
            why = _near_reason(waiver.subject, folded.get(waiver.rule, []))
        reasons.append(why)
    return reasons


# What auditor.model.facts.subject_word writes for a process name's space, ":" and "\\".
_NAME_ESCAPE = first_use(r"\\x(?:20|3a|5c)")
_NAME_ESCAPED = {"\\x20": " ", "\\x3a": ":", "\\x5c": "\\"}


def _escaped_reason(glob: str, failures: list[Finding]) -> str | None:
    """Why a glob that matched no failure would match some were a process name's escapes written
    as the characters they stand for (a waiver written for ``my app`` before subjects wrote it
    ``my\\x20app``)."""
    near = [f for f in failures if _in_its_place(glob, f)
            and subject_matches(glob, _NAME_ESCAPE().sub(lambda found: _NAME_ESCAPED[found.group()], f.subject))]
    if not near:
        return None
    return (f"{_count(near, 'failing finding matches', 'failing findings match')} it were the escapes of its process "
            f"name read as the characters they stand for ({_some(near)}): a subject writes a name's spaces, ':' and "
            "'\\' as \\x20, \\x3a and \\x5c, so that a name cannot spell a port or the subject's words; write the "
            "subject as the finding's subject is written")


def _in_its_place(glob: str | None, finding: Finding) -> bool:
    """Whether a waiver of this subject glob may waive ``finding`` by its network namespace."""
    return reaches_other_namespaces(glob) or not in_other_namespace(finding)


def _folded(text: str) -> str:
    """``text`` with case and Unicode compatibility forms (a no-break space, full-width letters) folded."""
    import unicodedata  # only for a waiver that matched nothing

    return unicodedata.normalize("NFKC", text).casefold()


def _near_reason(written: str, failures: list[tuple[str, Finding]]) -> str | None:
    """Why a glob that matched no failure would match some but for case or compatibility forms."""
    glob = _folded(written)
    start = glob[:min((i for i in (glob.find("*"), glob.find("?")) if i >= 0), default=len(glob))]
    reaches = reaches_other_namespaces(written)
    near = [finding for subject, finding in failures if subject.startswith(start) and subject_matches(glob, subject)
            and (reaches or not in_other_namespace(finding))]
    if not near:
        return None
    return (f"{_count(near, 'failing finding matches', 'failing findings match')} it when case and Unicode "
            f"compatibility forms are ignored ({_some(near)}): a subject glob is matched exactly, character for "
            "character; write it as the finding's subject is written")


def _unused_reason(waiver: Waiver, candidates: list[Finding]) -> str | None:
    glob = waiver.subject
    named = [f for f in candidates if glob is None or subject_matches(glob, f.subject)]
    reaches = reaches_other_namespaces(glob)
    unjudged = [f for f in named if f.status is not Status.FAIL and (reaches or not in_other_namespace(f))]
    if unjudged:
        statuses = " or ".join(sorted({f.status.value for f in unjudged}))
        return (f"{_count(unjudged, 'finding it names is', 'findings it names are')} {statuses} "
                f"({_some(unjudged)}), which no waiver covers: what it waived was not judged, not fixed")
    elsewhere = [] if reaches else [f for f in named if f.status is Status.FAIL and in_other_namespace(f)]
    if elsewhere:
        return (f"{_count(elsewhere, 'failing finding in another network namespace matches', 'failing findings in other network namespaces match')} "
                f"its subject ({_some(elsewhere)}), which a subject without '{NAMESPACE_WORDS}' does not cover: write "
                f"'... {NAMESPACE_WORDS} NAME' (or '... {NAMESPACE_WORDS} *') to waive it")
    renamed = [f for f in candidates if f.status is Status.FAIL and _UNPROVEN_START in f.subject and glob is not None
               and (reaches or not in_other_namespace(f)) and subject_matches(glob, _as_named(f.subject))]
    if renamed:
        return (f"{_count(renamed, 'failing finding matches', 'failing findings match')} it by a process name that "
                f"neither the executable nor argv[0] gives, which its subject shows as '{UNPROVEN_NAME.format('NAME')}' "
                f"({_some(renamed)}): a name a process can give itself proves nothing; if that is the program this "
                "waiver is for, write its subject as shown")
    return None


_UNPROVEN_START = UNPROVEN_NAME[:UNPROVEN_NAME.index("{")]


_BEFORE_NAME, _AFTER_NAME = UNPROVEN_NAME.split("{}")
_unproven_pattern = first_use(f"{re.escape(_BEFORE_NAME)}(.*?){re.escape(_AFTER_NAME)}", re.DOTALL)


def _as_named(subject: str) -> str:
    """``subject`` with each unproven name shown as the name alone, as subjects showed it before."""
    return _unproven_pattern().sub(lambda found: found.group(1), subject)


def _count(findings: Sequence[Finding], one: str, many: str) -> str:
    return f"1 {one}" if len(findings) == 1 else f"{len(findings)} {many}"


def _some(findings: Sequence[Finding], shown: int = 3) -> str:
    """The subjects of the first ``shown`` findings, and how many more."""
    text = ", ".join(f.subject for f in findings[:shown])
    return text + (f" and {len(findings) - shown} more" if len(findings) > shown else "")
