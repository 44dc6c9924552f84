"""``evaluate(policy, snapshot) -> RunResult``: pure, deterministic, no I/O.

A check that raises becomes an ``error`` finding; a needed fact section that could not be collected
makes the rule ``not_reviewed`` with the collector's reason.  Neither ever counts as a pass.
"""

from __future__ import annotations

import time
from datetime import date

from pydantic_core import to_json

from auditor.engine import time_limit
from auditor.engine.registry import Registry
from auditor.engine.waivers import apply_waivers
from auditor.model.base import construct_complete, construct_valid, shared_fields_set, with_text_of_plugin
from auditor.model.check import (
    CheckSpec,
    NotAList,
    Outcome,
    OutcomesTooLarge,
    TooManyOutcomes,
    missing_fact,
    not_applicable,
    not_reviewed,
    outcome_list,
)
from auditor.model.facts import HostSnapshot
from auditor.model.policy import Policy, ResolvedRule, Waiver
from auditor.model.records import record
from auditor.model.result import ControlResult, Finding, RunResult, RunTally, Severity, Status, Summary, tally_run
from auditor.plugins import plugin_code, raised_text, stops_the_run
from auditor.text import cut_text, with_article


def _platform_outcome(spec: CheckSpec, rule: ResolvedRule, snapshot: HostSnapshot) -> Outcome | None:
    """not_applicable, with the reason, when the rule or its check is not about this host's OS."""
    platform = snapshot.provenance.platform
    if rule.platforms is not None and platform not in rule.platforms:
        return not_applicable(f"platform {platform}", f"the policy limits rule {rule.id} to "
                              f"{', '.join(rule.platforms)}; these facts are from a {platform} host")
    # The platforms a check judges are those it declares (the registry checked them), read by
    # CheckSpec's own method: a plugin's CheckSpec subclass overriding it ran its code here, outside
    # the check's handlers and time limit (a raise, or a reason that is not text, was exit 70, and
    # its text went into the evidence unescaped).
    reason = CheckSpec.unsupported_reason(spec, platform)
    return not_applicable(f"platform {platform}", reason) if reason else None


def _declared_view(spec: CheckSpec, snapshot: HostSnapshot) -> HostSnapshot:
    """``snapshot`` with only the fact sections ``spec`` declares (``needs`` and ``uses``); the others
    absent.  evaluate collects the sections the enabled rules declare, so a section a check read
    without declaring it was there or not by the other rules of the policy: audit.socket_logging,
    declaring audit alone, judged TCP Fast Open from sysctl and netns beside a rule that needed them
    and without them alone, one host two verdicts.  Now what a check reads undeclared is absent to
    it always (a shallow copy: the sections are shared, not copied)."""
    declared = {*spec.needs, *spec.uses}
    facts = snapshot.facts
    hidden = {name: None for name in type(facts).model_fields if name not in declared and getattr(facts, name) is not None}
    if not hidden:
        return snapshot
    return snapshot.model_copy(update={"facts": facts.model_copy(update=hidden)})


def _outcomes(spec: CheckSpec, rule: ResolvedRule, snapshot: HostSnapshot,
              budget: PluginBudget | None = None) -> list[Outcome]:
    snapshot = _declared_view(spec, snapshot)
    platform_outcome = _platform_outcome(spec, rule, snapshot)
    if platform_outcome is not None:
        return [platform_outcome]
    missing = [s for s in spec.needs if getattr(snapshot.facts, s) is None]
    if missing:
        return [missing_fact(snapshot, s, "", subject=f"facts: {s}", what=f"fact section {s!r}") for s in missing]
    if spec.origin.startswith("builtin"):
        return _judged(spec, rule, snapshot, thorough=False)
    # Where a plugin's text enters the run: every string of what it returned (or raised, or the
    # name of what it returned instead of an outcome) as the evidence may hold it.  A lone surrogate
    # ended the run at the evidence (exit 70); ESC, NUL, C1 and bidi controls went from the evidence
    # into every report that does not escape them itself (SARIF, JUnit, OSCAL, HDF).
    # (each outcome it returned as it was taken, _taken_of_plugin; here the engine's own findings of
    # it, which quote what it raised and the names of its types)
    return [with_text_of_plugin(o) for o in _judged(spec, rule, snapshot, thorough=True,
                                                    budget=budget or PluginBudget())]


# The most a plugin's outcome may be, as the JSON the evidence holds it in (its text as written,
# escapes and all).  A 10 MB message went into the evidence and every report (the PDF took 27 s to
# lay it out; one of 10 MB in each field, six minutes and 1.3 GB); 1 MiB is rendered in about a
# second, and no judgement of one subject needs more.
MAX_PLUGIN_OUTCOME_BYTES = 1024 * 1024
# The most outcomes a plugin's check may return (the engine takes one more, to know, and no further).
# Their number was unbounded: a list of a million tiny outcomes took 16 s and 800 MiB to a 414 MB
# evidence that every report renders a row of, and a generator that yields forever was drained until
# the time limit.  A real check gives one outcome a subject (net.bind_addresses one a listener), and
# the project benchmarks 20,000 findings (benchmarks/bench_pdf.py); 100,000 tiny ones, allowed
# before, were a 43 MB evidence whose reports took 100 s and 3 GB (OSCAL 47 s, SARIF 26 s).  The
# built-in checks are not limited: their outcomes are bounded by the facts.
MAX_PLUGIN_OUTCOMES = 20_000
# The most a plugin check's outcomes may be together, as the JSON the evidence holds them in.  Each
# bounded alone, they were not bounded together: 100 outcomes of just under 1 MiB were a 100 MB
# evidence and 35 s and 1.2 GB of reports, 1,000 of them a 1 GB evidence.  16 MiB, about what
# 20,000 findings of a real check hold, is rendered by each report in a few seconds.
MAX_PLUGIN_OUTCOMES_BYTES = 16 * 1024 * 1024
# The most all of a run's plugin checks may return together, in number and as JSON: each check
# bounded alone, a policy of fifty rules naming one plugin check was fifty times either limit (a
# million outcomes, 800 MB of evidence).  Twice one check's: two checks at their limit are judged,
# and a rule past what is left is its check's error finding, never a pass.
MAX_RUN_PLUGIN_OUTCOMES = 2 * MAX_PLUGIN_OUTCOMES
MAX_RUN_PLUGIN_OUTCOMES_BYTES = 2 * MAX_PLUGIN_OUTCOMES_BYTES
# The most of what a check raised that its error finding quotes.
MAX_RAISED_CHARACTERS = 4000


class PluginBudget:
    """What a run's plugin checks may still return together (MAX_RUN_PLUGIN_OUTCOMES, _BYTES)."""

    def __init__(self) -> None:
        self.outcomes_left = MAX_RUN_PLUGIN_OUTCOMES
        self.bytes_left = MAX_RUN_PLUGIN_OUTCOMES_BYTES

    def spend(self, outcomes: int, size: int) -> None:
        self.outcomes_left -= outcomes
        self.bytes_left -= size

    def said(self) -> str:
        """Why a check's limit was lower than its own: what the run's plugin checks had left."""
        return (f" (the run's plugin checks may return at most {MAX_RUN_PLUGIN_OUTCOMES:,} outcomes and "
                f"{MAX_RUN_PLUGIN_OUTCOMES_BYTES:,} bytes together; the rules before it left "
                f"{max(self.outcomes_left, 0):,} outcomes and {max(self.bytes_left, 0):,} bytes)")


def _check_error(spec: CheckSpec, message: str, reason: str) -> Outcome:
    """The error finding of a check that did something other than judge (raised, ran too long,
    returned what is no list of valid outcomes): its subject names the check."""
    return Outcome(status=Status.ERROR, subject=f"check {spec.name}", message=message, reason=reason)


def _json_size(outcome: Outcome) -> int:
    """The bytes of ``outcome`` as the JSON the evidence holds it in."""
    values = outcome.__dict__
    return len(to_json({name: values[name] for name in Outcome.model_fields}))


def _bounded(spec: CheckSpec, outcome: Outcome, size: int) -> Outcome:
    """``outcome``, or, when its JSON (``size`` bytes) is longer than MAX_PLUGIN_OUTCOME_BYTES, the
    error finding that says so: never a pass, and nothing of it cut silently."""
    if size <= MAX_PLUGIN_OUTCOME_BYTES:
        return outcome
    values = outcome.__dict__
    subject = cut_text(values["subject"], 80)
    return _check_error(spec, "the check returned an outcome too large",
                        f"check {spec.name} ({spec.origin}) returned an outcome (status {values['status'].value}, "
                        f"subject {subject!r}) of {size:,} bytes as JSON; a plugin's outcome may be at most "
                        f"{MAX_PLUGIN_OUTCOME_BYTES:,}")


def _undeclared_evidence(spec: CheckSpec, outcome: Outcome) -> Outcome | None:
    """The error finding of a plugin's outcome whose evidence points at something its check was not
    shown, or None.  A check sees only the fact sections it declares (_declared_view), and a
    finding's evidence pointers are what the evidence file says it rests on: a plugin declaring
    sysctl alone passed citing /facts/sockets/listeners (or /result/verdict, no fact at all), and
    the evidence recorded its pass as resting on them.  Its pointers may name the sections it
    declares, anywhere in them, and the collection's gaps."""
    declared = [f"/facts/{section}" for section in (*spec.needs, *spec.uses)] + ["/gaps"]
    for pointer in outcome.__dict__["evidence"]:
        if not any(pointer == root or pointer.startswith(root + "/") for root in declared):
            return _check_error(spec, "the check cited evidence it does not declare",
                                f"check {spec.name} ({spec.origin}) returned an outcome (status "
                                f"{outcome.__dict__['status'].value}, subject {cut_text(outcome.__dict__['subject'], 80)!r}) "
                                f"whose evidence {cut_text(pointer, 200)!r} is not in what it declares: a plugin's "
                                f"evidence may point into {', '.join(declared)}")
    return None


@record
class _Refused:
    """A value a plugin's check returned that is not a valid outcome, as the engine took it."""

    value: object


def _taken_of_plugin(spec: CheckSpec, value: object) -> tuple[Outcome | _Refused, int]:
    """A value a plugin's check returned, as the evidence will hold it (validated, each string plain
    text, at most MAX_PLUGIN_OUTCOME_BYTES), with its size as that JSON; taken one by one as the
    check's list or generator gives them, so that their size together is known as they come
    (outcome_list, MAX_PLUGIN_OUTCOMES_BYTES) and none past the limit is held."""
    outcome = _plugin_outcome(value)
    if outcome is None:
        return _Refused(value), 0
    outcome = with_text_of_plugin(outcome)
    undeclared = _undeclared_evidence(spec, outcome)
    if undeclared is not None:
        outcome = undeclared
    size = _json_size(outcome)
    if size > MAX_PLUGIN_OUTCOME_BYTES:
        outcome = _bounded(spec, outcome, size)
        size = _json_size(outcome)
    return outcome, size


def _judged(spec: CheckSpec, rule: ResolvedRule, snapshot: HostSnapshot, thorough: bool,
            budget: PluginBudget | None = None) -> list[Outcome]:
    """What the check says of the rule, or the error finding for what it did instead; ``thorough``
    for a plugin's check (a copy of the facts, a time limit, every outcome validated whole).

    A plugin's check is judged whole under its time limit: not only its function and what it
    returned, but everything else of its code the engine runs, its params' validators, the
    ``__str__`` of what it raised and the ``repr`` of what it returned instead of an outcome, which
    ran after the limit and held the run forever when they did not return."""
    if not thorough:
        return _judgement(spec, rule, snapshot, thorough=False)
    seconds = time_limit.PLUGIN_CHECK_SECONDS
    try:
        # the process as lbaudit has it around the plugin's code (plugins.plugin_code: its working
        # directory, umask, stdout, signals), the limit inside it: the limit is lifted before the
        # process is put back, which no stop then interrupts
        with plugin_code(), time_limit.time_limit(seconds) as limit:
            judged = _judgement(spec, rule, snapshot, thorough=True, budget=budget or PluginBudget())
    except time_limit.CheckTimedOut as exc:  # past the limit in what the engine made of what it did
        return [_check_error(spec, "the check did not finish", str(exc))]
    if limit.reached and any(outcome.status is not Status.ERROR for outcome in judged):
        # The check swallowed the stop (a bare except, a return in a finally) and returned: what it
        # said after its time ran out is not a judgement (a "pass" of a lookup that never answered
        # made the run compliant).  Error findings alone are kept: the engine's own, of plugin text
        # it could not make within the limit, say more than this.
        return [_check_error(spec, "the check did not finish", str(time_limit.CheckTimedOut(seconds)))]
    return judged


def _judgement(spec: CheckSpec, rule: ResolvedRule, snapshot: HostSnapshot, thorough: bool,
               budget: PluginBudget | None = None) -> list[Outcome]:
    """:func:`_judged`, within the plugin's time limit when ``thorough``; what a plugin's outcomes
    take is spent from ``budget`` when they are kept."""
    budget = budget or PluginBudget()
    at_most = min(MAX_PLUGIN_OUTCOMES, max(budget.outcomes_left, 0))
    at_most_bytes = min(MAX_PLUGIN_OUTCOMES_BYTES, max(budget.bytes_left, 0))
    by_run = at_most < MAX_PLUGIN_OUTCOMES or at_most_bytes < MAX_PLUGIN_OUTCOMES_BYTES
    sizes: list[int] = []

    def take_one(value: object) -> tuple[Outcome | _Refused, int]:
        outcome, size = _taken_of_plugin(spec, value)
        sizes.append(size)
        return outcome, size

    try:
        params = spec.params.model_validate(rule.params)
        # A plugin's check gets a copy of the facts: the models are frozen but their lists are not,
        # and a plugin that filtered snapshot.facts.sockets.listeners in place emptied the list every
        # later rule judged (and the evidence recorded): "no listeners were found", exit 0.  And of
        # its params: a value of a field typed Any is the policy's own object, and a plugin that
        # changed it changed the policy the evidence records (and its digest), not the one written.
        if thorough:
            # What the plugin's run returned is made a list here, under the time limit (_judged) and
            # the handlers below: a generator of its own that raised or blocked midway was iterated
            # outside both (exit 70, or a run held forever).  Taken as returned, not through
            # spec.run, which would drain a generator whole before the limit on their number.
            params = params.model_copy(deep=True)  # its class's own copy may be the plugin's code
            outcomes = outcome_list(spec.returned(snapshot.model_copy(deep=True), params),
                                    at_most=at_most, take=take_one, at_most_bytes=at_most_bytes)
            budget.spend(len(outcomes), sum(sizes))
        else:
            outcomes = spec.run(snapshot, params)
    except time_limit.CheckTimedOut as exc:  # a plugin's check that would have held the run forever
        return [_check_error(spec, "the check did not finish", str(exc))]
    except TooManyOutcomes as exc:
        return [_check_error(spec, "the check returned too many outcomes",
                             f"check {spec.name} ({spec.origin}) returned {exc.count} outcomes; a plugin check may "
                             f"return at most {exc.at_most:,}" + (budget.said() if by_run else ""))]
    except OutcomesTooLarge as exc:
        # the check's judgement is not cut to fit (a subject left out would read as judged): it is
        # that check's error, and the other rules are judged as before
        return [_check_error(spec, "the check returned outcomes too large together",
                             f"check {spec.name} ({spec.origin}) returned outcomes of more than {exc.at_most:,} bytes "
                             f"as JSON together (its first {exc.count:,}: {exc.size:,} bytes); a plugin check's "
                             f"outcomes may be at most {exc.at_most:,} bytes together" + (budget.said() if by_run else ""))]
    except NotAList as exc:
        return [_check_error(spec, "the check returned no list",
                             f"check {spec.name} ({spec.origin}) returned {with_article(exc.kind)}, not a list of outcomes")]
    # SystemExit too: a plugin's sys.exit(0) ended `lbaudit evaluate` with status 0, no finding and no
    # evidence (a release gate read it as compliant); GeneratorExit or a bare BaseException, with a
    # traceback and exit 1.  Ctrl-C and SIGTERM are the user's, and pass (plugins.stops_the_run).
    except BaseException as exc:  # any failure of a check is reported as its own finding
        if stops_the_run(exc):
            raise
        # multi-line, as raised: every character the evidence may not hold is escaped below
        return [_check_error(spec, f"the check raised {type(exc).__name__}",
                             f"{type(exc).__name__}: {raised_text(exc, lambda text: cut_text(text, MAX_RAISED_CHARACTERS))}")]
    if not outcomes:
        # A check that says nothing has not shown compliance: fail closed.
        return [not_reviewed(f"check {spec.name}", "the check returned no outcome")]
    # A plugin's outcomes were validated whole as they were taken (_taken_of_plugin: a value that is
    # not JSON would end the run at the evidence, exit 70); the built-in checks' are made by the
    # outcome helpers, which validate them.
    if thorough:
        taken = [None if type(o) is _Refused else o for o in outcomes]
        invalid = [o.value for o in outcomes if type(o) is _Refused]
    else:
        taken = [_taken_outcome(o) for o in outcomes]
        invalid = [o for o, ok in zip(outcomes, taken) if ok is None]
    judged = [o for o in taken if o is not None]
    if not invalid:
        return judged
    # What is not a valid outcome is one error finding, where the first of it was: a list of a
    # million values was a million findings "check X returned a int, not an Outcome".
    first = next(at for at, ok in enumerate(taken) if ok is None)
    judged.insert(first, _invalid_outcome(spec, invalid[0], len(invalid)))
    return judged


_STATUSES_WITH_REASON = frozenset({Status.NOT_REVIEWED, Status.NOT_APPLICABLE, Status.ERROR})


def _taken_outcome(outcome: object, thorough: bool = False) -> Outcome | None:
    """The outcome a check returned as the engine takes it, or None when it does not hold Outcome's
    invariants.  A check (a plugin) can build one with ``model_construct``, which validates nothing:
    a status outside the enum, or ``waived`` (a waiver the policy never granted, which turned a
    plugin's run green, exit 0), or a not_reviewed without its reason.  Checked for every check in a
    few attribute reads; with ``thorough`` (a plugin's check) every field is validated as Outcome
    validates it, and the validated copy is taken: plain str, list and dict throughout (a str
    subclass in the plugin's own went past the text walk with what it held, ESC and all)."""
    if not issubclass(type(outcome), Outcome):  # type(): an object's own __class__ can say anything
        return None
    values = outcome.__dict__
    status = values.get("status")
    if type(status) is not Status or status is Status.WAIVED:
        return None
    if type(values.get("subject")) is not str or type(values.get("message")) is not str:
        return None
    reason = values.get("reason")
    if status in _STATUSES_WITH_REASON and not (type(reason) is str and reason):
        return None
    if thorough or type(outcome) is not Outcome:  # a subclass: the engine builds its finding as an Outcome's
        try:
            taken = Outcome.model_validate({name: values.get(name) for name in Outcome.model_fields})
        except ValueError:
            return None
        if thorough and not all(_finite(taken.__dict__[name]) for name in _JSON_VALUES):
            return None
        return taken
    return outcome


# The fields of an outcome that hold any JSON value (a number among them).
_JSON_VALUES = ("subject_detail", "observed", "expected")


def _finite(value: object) -> bool:
    """Whether ``value`` (a JSON value as Outcome validated it) holds no NaN or infinity.  JsonValue
    takes them and the evidence was written with them (``NaN``, not JSON): a plugin's
    ``observed=float("nan")`` passed (exit 0) with evidence that lbaudit itself refuses to read
    ("Infinity is not a JSON number"), and SARIF or OSCAL of it was exit 70."""
    if type(value) is float:
        return value - value == 0.0  # false for NaN and both infinities
    if type(value) is list:
        return all(_finite(item) for item in value)
    if type(value) is dict:
        return all(_finite(item) for item in value.values())
    return True


def _plugin_outcome(outcome: object) -> Outcome | None:
    """:func:`_taken_outcome` of a value a plugin's check returned, or None when reading it raised:
    an object whose ``__class__`` or ``__dict__`` raises (isinstance reads ``__class__``) ended the
    run with exit 70 after the check's handlers."""
    try:
        return _taken_outcome(outcome, thorough=True)
    except BaseException as exc:  # the plugin's object failed to be read: it is not a valid outcome
        if stops_the_run(exc):
            raise
        return None


def _invalid_outcome(spec: CheckSpec, outcome: object, count: int = 1) -> Outcome:
    """The error finding for what a check returned that is not a valid outcome (``outcome``, the
    first of ``count``): never a pass, a waiver or a crash of the run (exit 70); the run is at least
    incomplete."""
    if issubclass(type(outcome), Outcome):
        try:
            status = outcome.__dict__.get("status")
        except BaseException as exc:  # an Outcome subclass's own __dict__
            if stops_the_run(exc):
                raise
            status = None
        what = f"an outcome with status {_shown(status.value if type(status) is Status else status)}"
        if status is Status.WAIVED:
            what += " (checks do not waive; waivers are applied by the engine)"
        elif type(status) is Status:
            what += " that Outcome's validation refuses (its subject, message, reason or a value that is not JSON)"
    else:
        what = f"{with_article(type(outcome).__name__)}, not an Outcome"
    returned = f"returned {what}" if count == 1 else f"returned {count:,} values that are not valid outcomes; the first: {what}"
    return _check_error(spec, "the check returned an invalid outcome", f"check {spec.name} ({spec.origin}) {returned}")


def _shown(value: object) -> str:
    """``repr(value)`` of a plugin's value, cut, or what it is when its repr raises."""
    try:
        return cut_text(repr(value), 200)
    except BaseException as exc:  # a plugin's object is not trusted to have a repr
        if stops_the_run(exc):
            raise
        return f"{with_article(type(value).__name__)} whose repr raised"


def _findings(rule: ResolvedRule, spec: CheckSpec, outcomes: list[Outcome],
              texts: dict[str, str] | None = None) -> list[Finding]:
    """``texts``: the subjects and evidence pointers of the findings made so far, which an equal
    text of these takes instead of its own copy: two rules about one listener name it alike (the
    same subject, the same /facts/sockets/listeners/N), 0.15 KiB a listener twice (issue 16).

    OUTCOMES is consumed (left empty): each outcome is dropped once its finding is made, so that the
    memory of one rule's outcomes is reused by its findings instead of held beside them until the
    last is made (5,000 listeners' outcomes were 2.4 MiB, the peak of judging them)."""
    findings: list[Finding] = []
    if texts is None:
        texts = {}
    same_text = texts.setdefault
    seen: dict[str, int] = {}  # findings made so far of each id (a dict: Counter's __missing__ is Python)
    # Every id given so far: a subject may itself read like a repeated one ("nginx#2" beside "nginx"
    # twice), and each report keys findings by id (SARIF fingerprints, OSCAL uuids), so a passing
    # finding sharing a failing one's id stood for it.
    issued: set[str] = set()
    issue = issued.add
    # Findings are frozen: the rule's controls, one list shared by its findings.
    controls = list(rule.controls)
    rule_id, name, severity = rule.id, spec.name, rule.severity
    outcomes.reverse()
    take = outcomes.pop
    while outcomes:
        outcome = take()
        identity = outcome.key or outcome.subject
        fid = Finding.make_id(rule_id, identity)
        count = seen[fid] = seen.get(fid, 0) + 1
        if count > 1:  # two outcomes about one subject still get distinct, stable ids
            fid = Finding.make_id(rule_id, f"{identity}#{count}")
        while fid in issued:  # rare: taken by a subject that reads like a repeated one
            count += 1
            fid = Finding.make_id(rule_id, f"{identity}#{count}")
        issue(fid)
        # Every value was validated already, as the same types (the Outcome, the resolved rule):
        # built without validating them again, which was a fifth of judging 5,000 listeners.
        values = outcome.__dict__
        if type(outcome) is Outcome and _FINDING_LAYOUT_KNOWN:
            evidence = values["evidence"]
            if type(evidence) is list:
                for at, pointer in enumerate(evidence):  # an equal text: the list holds the same value
                    if type(pointer) is str:
                        evidence[at] = same_text(pointer, pointer)
            # Every field given, in Finding's order, as construct_valid would give them (its fields
            # set is the same for every finding): a dict display instead of a walk of the fields.
            findings.append(construct_complete(Finding, {
                "id": fid, "rule_id": rule_id, "check": name, "status": values["status"], "severity": severity,
                "controls": controls, "subject": same_text(values["subject"], values["subject"]),
                "subject_detail": values["subject_detail"],
                "observed": values["observed"], "expected": values["expected"], "message": values["message"],
                "reason": values["reason"], "evidence": evidence, "waiver": None,
            }, _FINDING_FIELDS_SET, held=True))
            continue
        findings.append(construct_valid(Finding, {
            "id": fid, "rule_id": rule_id, "check": name, "severity": severity, "controls": controls,
            **{field: values[field] for field in _FROM_OUTCOME},
        }))
    return findings


# What a finding takes from its outcome as it is: every field of both but the outcome's key.
_FROM_OUTCOME = tuple(name for name in Outcome.model_fields if name != "key" and name in Finding.model_fields)
# The fields _findings writes out by name, and the set construct_valid records for them (the
# waiver is left to its default); a field added to Finding or Outcome takes construct_valid's path
# until it is added there (tests/test_evaluate.py compares the two).
_FINDING_LAYOUT_KNOWN = (
    tuple(Finding.model_fields) == ("id", "rule_id", "check", "status", "severity", "controls", "subject",
                                    "subject_detail", "observed", "expected", "message", "reason", "evidence",
                                    "waiver")
    and tuple(Outcome.model_fields) == ("status", "subject", "message", "subject_detail", "observed", "expected",
                                        "reason", "evidence", "key"))
_FINDING_FIELDS_SET = shared_fields_set({"id", "rule_id", "check", "severity", "controls", *_FROM_OUTCOME})


def _controls(tally: RunTally, registry: Registry) -> list[ControlResult]:
    """The controls as the run's tally judged them, in catalog order, with the titles and families
    recorded so that no report needs the catalog: every report renders these and none re-derives them."""
    results = []
    for control_id in sorted(tally.controls, key=registry.catalog.sort_key):
        judged = tally.controls[control_id]
        control = registry.catalog.get(control_id)
        results.append(
            ControlResult(
                id=control_id,
                title=control.title if control else "",
                family=control.family if control else control_id.split("-")[0],
                family_title=control.family_title if control else "",
                status=judged.status,
                rules=judged.rules,
                counts=judged.counts,
            )
        )
    return results


def evaluate(
    policy: Policy,
    snapshot: HostSnapshot,
    registry: Registry,
    *,
    fail_on: Severity = Severity.INFO,
    today: date,
    timings_ms: dict[str, int] | None = None,
    extra_waivers: list[Waiver] | None = None,
) -> RunResult:
    """``timings_ms``, when given, receives each rule's run time under its rule id.  Times are kept
    out of the RunResult so that it stays deterministic; the evidence records them as time fields."""
    findings: list[Finding] = []
    texts: dict[str, str] = {}  # shared by the rules' findings (_findings)
    rules = [r for r in policy.rules if r.enabled]
    budget = PluginBudget()  # what the run's plugin checks may still return together
    for rule in rules:
        started = time.perf_counter()
        spec = registry.get(rule.check)
        if spec is None:  # the loader rejects this; kept so evaluate() is safe on its own
            outcomes = [
                Outcome(status=Status.ERROR, subject=f"check {rule.check}", message="unknown check", reason="check not loaded")
            ]
            findings += [
                Finding(id=Finding.make_id(rule.id, o.subject), rule_id=rule.id, check=rule.check,
                        severity=rule.severity, controls=rule.controls, **o.model_dump())
                for o in outcomes
            ]
            continue
        findings += _findings(rule, spec, _outcomes(spec, rule, snapshot, budget), texts)
        if timings_ms is not None:
            timings_ms[rule.id] = round((time.perf_counter() - started) * 1000)

    # The policy's own waivers, then those of a separate waivers file (--waivers).
    findings, waiver_states = apply_waivers(findings, [*policy.waivers, *(extra_waivers or [])], today)

    # The verdict, the counts and the control judgements, from the findings by the one function
    # that readers of the evidence check the record against (auditor/model/result.py tally_run).
    tally = tally_run(findings, rules, fail_on)
    return RunResult(
        findings=findings,
        controls=_controls(tally, registry),
        waivers=waiver_states,
        summary=Summary(
            by_status=tally.by_status,
            failing_by_severity=tally.failing_by_severity,
            rules=tally.rules,
            findings=tally.findings,
        ),
        fail_on=fail_on,
        verdict=tally.verdict,
        exit_code=tally.exit_code,
        complete=tally.complete,
        incomplete_reasons=tally.incomplete_reasons,
    )
