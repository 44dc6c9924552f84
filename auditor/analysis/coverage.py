"""Control coverage: which controls of a NIST SP 800-53 Rev. 5 baseline (LOW, MODERATE, HIGH) a
policy produces evidence for, which it does not, and the share.

A policy evidences a control when one of its *enabled* rules maps to it: the check's own controls
plus the rule's extra ``controls``.  A rule that a blanket waiver of the policy (no subject, or one
of wildcards alone) waives wholesale on the day of the report cannot fail, and so evidences nothing:
it is named, with the waiver's expiry, and not counted.  The baseline comes from one of two places:

* lbaudit's shipped control data (``controls/nist-sp800-53-r5.yaml``).  It holds baseline
  membership only for the controls lbaudit maps, so the share is of that subset; the result says so.
* an official OSCAL resolved-profile catalog of the baseline (``--catalog``), such as NIST's
  ``NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json``: every control in it is in
  the baseline, which gives the full baseline and NIST's titles.

Pure apart from :func:`catalog_baseline`, which reads the catalog file and turns every problem
with it into an :class:`InputError` naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from auditor.catalog import load_catalog
from auditor.engine.registry import Registry
from auditor.errors import InputError
from auditor.model.controls import Baseline, ControlCatalog
from auditor.model.policy import Policy, Waiver
from auditor.model.waiving import is_blanket
from auditor.storage.jsonfile import parse_document, read_bounded
from auditor.text import one_line, shown_line

BASELINES: tuple[Baseline, ...] = ("low", "moderate", "high")
MAX_CATALOG_BYTES = 64 * 1024 * 1024
_OSCAL_ID = re.compile(r"^([a-z]{2})-(\d{1,2})(?:\.(\d{1,2}))?$")
# The baselines NIST publishes resolved-profile catalogs of.  PRIVACY is not an impact level, but a
# catalog that names it is the privacy baseline, which must not be counted as LOW, MODERATE or HIGH.
# The name followed by "baseline": "HIGH IMPACT BASELINE", "rev5_HIGH-baseline_profile.xml"; the full
# catalog's "Security and Privacy Controls" and a "FOLLOW" name none.
_BASELINE_NAME = re.compile(r"(?<![A-Z])(LOW|MODERATE|HIGH|PRIVACY)(?:[\s_-]+IMPACT)?[\s_-]+BASELINE(?![A-Z])")
# The SP 800-53 revision a catalog's metadata names: "800-53 Revision 5.1.1", "800-53 Rev. 4",
# "800-53_rev4_LOW-baseline".  lbaudit maps its checks to Rev. 5; NIST publishes Rev. 4 baselines in the
# same OSCAL form and id scheme.  Only after "800-53" (not 800-53A or B, the assessment and baseline
# documents): "Acme LOW baseline rev 3" is the catalog's own revision.
_REVISION_NAME = re.compile(r"800-53(?![0-9AB])[\s._-]*(?:R|REV|REVISION)\.?[\s._-]*(\d+)(?![\d])")
MAPPED_REVISION = "5"


def display_control_id(oscal_id: str) -> str | None:
    """``sc-7.5`` -> ``SC-7(5)``: the inverse of :func:`auditor.model.controls.oscal_control_id`."""
    m = _OSCAL_ID.match(oscal_id)
    if not m:
        return None
    family, number, enhancement = m.groups()
    return f"{family.upper()}-{int(number)}" + (f"({int(enhancement)})" if enhancement else "")


@dataclass(frozen=True)
class ControlRef:
    id: str  # display form, "SC-7(5)"
    title: str
    rules: tuple[str, ...] = ()  # enabled rules of the policy that map to it
    # enabled rules that map to it but are waived wholesale (blanket_waived_rules): not counted
    waived: tuple[str, ...] = ()

    def to_json(self, with_rules: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "title": self.title}
        if with_rules:
            data["rules"] = list(self.rules)
        if self.waived:  # a control not covered that a rule waived wholesale would cover
            data["waived_rules"] = list(self.waived)
        return data


@dataclass(frozen=True)
class BaselineSet:
    level: Baseline
    source: str  # "lbaudit controls data" or the catalog path
    catalog: str  # catalog title and version
    complete: bool  # False when only the controls lbaudit maps are known
    controls: tuple[ControlRef, ...]


@dataclass(frozen=True)
class Coverage:
    policy_id: str
    policy_version: str
    baseline: BaselineSet
    covered: tuple[ControlRef, ...]
    not_covered: tuple[ControlRef, ...]
    outside: tuple[ControlRef, ...]  # mapped by the policy, not in the baseline
    notes: tuple[str, ...] = field(default=())
    waived_rules: tuple[tuple[str, date], ...] = ()  # (rule, the blanket waiver's expiry), not counted

    @property
    def share(self) -> float:
        total = len(self.baseline.controls)
        return len(self.covered) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": {"id": self.policy_id, "version": self.policy_version},
            "baseline": {
                "level": self.baseline.level,
                "source": self.baseline.source,
                "catalog": self.baseline.catalog,
                "complete": self.baseline.complete,
                "controls": len(self.baseline.controls),
            },
            "summary": {
                "covered": len(self.covered),
                "not_covered": len(self.not_covered),
                "outside_baseline": len(self.outside),
                "share": round(self.share, 4),
            },
            "covered": [c.to_json() for c in self.covered],
            "not_covered": [c.to_json(with_rules=False) for c in self.not_covered],
            "outside_baseline": [c.to_json() for c in self.outside],
            "waived_rules": [{"rule": rule, "expires": expires.isoformat()} for rule, expires in self.waived_rules],
            "notes": list(self.notes),
        }

    def render_text(self) -> str:
        level = self.baseline.level.upper()
        total = len(self.baseline.controls)
        lines = [
            f"Policy {self.policy_id} {self.policy_version}: NIST SP 800-53 Rev. 5 {level} baseline coverage",
            f"Baseline: {self.baseline.catalog} ({self.baseline.source}), {total} controls",
            f"Covered: {len(self.covered)} of {total} ({self.share:.1%})",
        ]
        lines += [f"  {c.id:<9} {c.title}  [rules: {', '.join(c.rules)}]" for c in self.covered]
        lines.append(f"Not covered: {len(self.not_covered)}")
        lines += [f"  {c.id:<9} {c.title}" + (f"  [waived: {', '.join(c.waived)}]" if c.waived else "")
                  for c in self.not_covered]
        if self.outside:
            lines.append(f"Mapped by the policy but not in the {level} baseline: {len(self.outside)}")
            lines += [f"  {c.id:<9} {c.title}  [rules: {', '.join(c.rules)}]" for c in self.outside]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def blanket_waived_rules(waivers: Iterable[Waiver], today: date) -> dict[str, date]:
    """The rules every failing finding of which one of ``waivers`` honoured on ``today`` waives
    (:func:`auditor.model.waiving.is_blanket`), each with the latest expiry of those waivers."""
    waived: dict[str, date] = {}
    for waiver in waivers:
        if waiver.expires >= today and is_blanket(waiver.subject):
            waived[waiver.rule] = max(waiver.expires, waived.get(waiver.rule, waiver.expires))
    return waived


def policy_controls(policy: Policy, registry: Registry | None = None,
                    excluded: frozenset[str] | set[str] = frozenset(),
                    only: frozenset[str] | set[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Control id -> the enabled rules that evidence it (check controls and the rule's extras),
    leaving out the rules in ``excluded`` and, when ``only`` is given, every rule not in it."""
    by_control: dict[str, set[str]] = {}
    for rule in policy.rules:
        if not rule.enabled or rule.id in excluded or (only is not None and rule.id not in only):
            continue
        spec = registry.get(rule.check) if registry is not None else None
        for control in set(rule.controls) | set(spec.controls if spec else ()):
            by_control.setdefault(control, set()).add(rule.id)
    return {control: tuple(sorted(rules)) for control, rules in by_control.items()}


def shipped_baseline(level: Baseline, catalog: ControlCatalog | None = None) -> BaselineSet:
    catalog = catalog or load_catalog()
    members = [c for c in catalog.controls.values() if level in c.baselines]
    members.sort(key=lambda c: catalog.sort_key(c.id))
    return BaselineSet(
        level=level,
        source="lbaudit controls data",
        catalog=f"{catalog.name} {catalog.version}",
        complete=False,
        controls=tuple(ControlRef(c.id, c.title) for c in members),
    )


def _dicts(node: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects in the list ``node[key]``: a catalog is someone else's JSON, in which a list may be
    missing, null, or something else (``"props": 7`` was a TypeError, exit 70)."""
    value = node.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _walk_controls(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for group in _dicts(node, "groups"):
        yield from _walk_controls(group)
    for control in _dicts(node, "controls"):
        yield control
        yield from _walk_controls(control)


def _withdrawn(control: dict[str, Any]) -> bool:
    return any(p.get("name") == "status" and p.get("value") == "withdrawn" for p in _dicts(control, "props"))


def _named_baselines(metadata: dict[str, Any]) -> dict[str, list[str]]:
    """Baseline name -> where the catalog's metadata names it.  NIST's resolved-profile catalogs name
    theirs twice: in the title ("... 5.1.1 HIGH IMPACT BASELINE") and in the ``source-profile`` link
    to the profile they were resolved from ("NIST_SP-800-53_rev5_HIGH-baseline_profile.xml")."""
    named: dict[str, list[str]] = {}
    title = metadata.get("title")
    if isinstance(title, str):
        for name in dict.fromkeys(_BASELINE_NAME.findall(title.upper())):
            named.setdefault(name.lower(), []).append(f"title {one_line(title)!r}")
    for link in _dicts(metadata, "links"):
        href = link.get("href")
        if link.get("rel") == "source-profile" and isinstance(href, str):
            for name in dict.fromkeys(_BASELINE_NAME.findall(href.upper())):
                named.setdefault(name.lower(), []).append(f"source-profile {one_line(href)!r}")
    return named


def _named_revisions(metadata: dict[str, Any]) -> dict[str, list[str]]:
    """SP 800-53 revision -> where the catalog's metadata names it: its title and the links to the
    profile it was resolved from (``source-profile``; ``resolution-source`` in the Rev. 4 catalogs)."""
    named: dict[str, list[str]] = {}
    places = [("title", metadata.get("title"))] + [
        (str(link.get("rel")), link.get("href")) for link in _dicts(metadata, "links")
        if link.get("rel") in ("source-profile", "resolution-source")]
    for place, text in places:
        if isinstance(text, str):
            for revision in dict.fromkeys(_REVISION_NAME.findall(text.upper())):
                named.setdefault(str(int(revision)), []).append(f"{one_line(place)} {one_line(text)!r}")
    return named


def _check_names_revision(path: Path, metadata: dict[str, Any], level: Baseline) -> None:
    """Refuse a catalog whose metadata names another SP 800-53 revision than the one lbaudit maps to:
    a Rev. 4 baseline (other controls, other titles, controls Rev. 5 withdrew) was counted as the
    Rev. 5 one.  A catalog that names no revision is read, as one naming Rev. 5 is."""
    others = {revision: places for revision, places in _named_revisions(metadata).items()
              if revision != MAPPED_REVISION}
    if others:
        revisions = " and ".join(f"Revision {revision}" for revision in sorted(others, key=int))
        where = "; ".join(place for places in others.values() for place in places)
        raise InputError(f"{path}: the catalog is of SP 800-53 {revisions} ({where}), not Revision "
                         f"{MAPPED_REVISION}, which lbaudit's checks map to; expected the resolved-profile catalog "
                         f"of the {level.upper()} baseline (NIST's NIST_SP-800-53_rev5_{level.upper()}-baseline-"
                         "resolved-profile_catalog.json)")


def _check_names_level(path: Path, metadata: dict[str, Any], level: Baseline) -> None:
    """Refuse a catalog that is not, by its own metadata, the ``level`` baseline: counting the HIGH, the
    PRIVACY or the full catalog as the LOW baseline would report a share of the wrong control set."""
    named = _named_baselines(metadata)
    expected = (f"expected the resolved-profile catalog of the {level.upper()} baseline (NIST's "
                f"NIST_SP-800-53_rev5_{level.upper()}-baseline-resolved-profile_catalog.json)")
    if not named:
        title = metadata.get("title")
        shown = repr(one_line(title)) if isinstance(title, str) else "missing"
        raise InputError(f"{path}: the catalog does not say which baseline it is (neither its metadata title {shown} "
                         "nor a source-profile link names a LOW, MODERATE or HIGH baseline); " + expected)
    if len(named) > 1:
        where = "; ".join(f"{name.upper()} in {', '.join(places)}" for name, places in sorted(named.items()))
        raise InputError(f"{path}: the catalog names more than one baseline ({where}); " + expected)
    (name, places), = named.items()
    if name != level:
        raise InputError(f"{path}: this is the {name.upper()} baseline catalog ({places[0]}), not {level.upper()}; "
                         + expected)


def _control_ref(path: Path, control: dict[str, Any]) -> ControlRef | None:
    """The control as a baseline member; None for one that is not an SP 800-53 control or is withdrawn."""
    oscal_id = control.get("id")
    if not isinstance(oscal_id, str):
        raise InputError(f"{path}: a control's \"id\" is {_shown(oscal_id)}; expected a string such as \"ac-2\"")
    display = display_control_id(oscal_id)
    if display is None or _withdrawn(control):
        return None
    title = control.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"{path}: control {one_line(oscal_id)}: \"title\" is {_shown(title)}; expected a non-empty "
                         "string (OSCAL requires every control's title)")
    return ControlRef(display, _catalog_text(title))


# The root of each OSCAL document model (OSCAL 1.1): the top-level key that says what a document is.
OSCAL_MODELS = ("catalog", "profile", "mapping-collection", "component-definition", "system-security-plan",
                "assessment-plan", "assessment-results", "plan-of-action-and-milestones")


def _catalog_text(text: str) -> str:
    """A text of the catalog as coverage prints it (the catalog's name, a control's title): on one
    line, and cut as a line of a message is: a catalog is someone else's file of up to 64 MiB, and a
    title of megabytes was printed whole, in the text output and in --json."""
    return shown_line(text, kept="in the catalog")


def _shown(value: Any) -> str:
    if value is None:
        return "missing"
    text = one_line(json.dumps(value, ensure_ascii=False)) if not isinstance(value, str) else repr(one_line(value))
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def catalog_baseline(path: Path, level: Baseline) -> BaselineSet:
    """Every (not withdrawn) control of an OSCAL resolved-profile catalog of the ``level`` baseline."""
    path = Path(path)
    what = "an OSCAL catalog"
    data = parse_document(read_bounded(path, MAX_CATALOG_BYTES, what), str(path), what)
    catalog = data.get("catalog") if isinstance(data, dict) else None
    if not isinstance(catalog, dict):
        # Another OSCAL document (a profile given for its resolved catalog) is named; any other file's
        # keys are not quoted: --catalog may name any file the run can read.
        model = next((key for key in data if key in OSCAL_MODELS), None) if isinstance(data, dict) else None
        if model is not None:
            found = f"top-level {model!r}"
        elif isinstance(data, dict):
            found = f"an object of {len(data)} top-level keys, none an OSCAL model; what it holds is not quoted"
        else:
            found = f"top-level {type(data).__name__}"
        raise InputError(f"{path}: not an OSCAL catalog ({found}; expected \"catalog\", e.g. a "
                         "resolved-profile catalog of a baseline)")
    found = catalog.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    _check_names_revision(path, metadata, level)
    _check_names_level(path, metadata, level)
    title = metadata["title"] if isinstance(metadata.get("title"), str) else "OSCAL catalog"

    controls: dict[str, ControlRef] = {}
    for control in _walk_controls(catalog):
        ref = _control_ref(path, control)
        if ref is not None:
            controls[ref.id] = ref
    if not controls:
        raise InputError(f"{path}: the catalog holds no SP 800-53 controls")
    order = load_catalog()
    raw_version = metadata.get("version")
    version = (str(raw_version) if isinstance(raw_version, (str, int, float)) and not isinstance(raw_version, bool)
               else None)
    return BaselineSet(
        level=level,
        source=str(path),
        catalog=_catalog_text(f"{title} {version}" if version else title),
        complete=True,
        controls=tuple(sorted(controls.values(), key=lambda c: order.sort_key(c.id))),
    )


def compute_coverage(policy: Policy, baseline: BaselineSet, registry: Registry | None = None,
                     today: date | None = None, extra_waivers: Iterable[Waiver] = ()) -> Coverage:
    """``today``: the UTC day the waivers are judged on (by default the current one), as evaluate
    judges them on the UTC day of its run; ``extra_waivers``: those of a separate waivers file."""
    enabled = {rule.id for rule in policy.rules if rule.enabled}
    day = today or datetime.now(timezone.utc).date()
    # a disabled rule's waiver waives nothing: it counts for nothing either way
    waived = {rule: expires for rule, expires in blanket_waived_rules([*policy.waivers, *extra_waivers], day).items()
              if rule in enabled}
    # A rule waived wholesale cannot fail: it is not counted as evidence of any control (it was,
    # and the share claimed controls no finding could ever fail for).
    mapped = policy_controls(policy, registry, excluded=set(waived))
    waived_mapped = policy_controls(policy, registry, only=set(waived))
    shipped = registry.catalog if registry is not None else load_catalog()
    in_baseline = {c.id for c in baseline.controls}

    def title(control_id: str) -> str:
        known = shipped.get(control_id)
        return known.title if known else ""

    covered = tuple(ControlRef(c.id, c.title, mapped[c.id]) for c in baseline.controls if c.id in mapped)
    not_covered = tuple(ControlRef(c.id, c.title, waived=waived_mapped.get(c.id, ()))
                        for c in baseline.controls if c.id not in mapped)
    outside = tuple(
        ControlRef(cid, title(cid), mapped[cid])
        for cid in sorted(set(mapped) - in_baseline, key=shipped.sort_key)
    )
    notes: list[str] = [
        f"rule {one_line(rule)} is not counted: a waiver without a subject of its own waives every failing finding of "
        f"it until {expires.isoformat()}, so it cannot fail"
        for rule, expires in sorted(waived.items())]
    if not baseline.complete:
        notes.append(
            f"lbaudit's control data lists only the {len(baseline.controls)} {baseline.level.upper()} controls its "
            "checks map to or policy authors commonly add, so the share is of those; pass --catalog with NIST's "
            f"resolved {baseline.level.upper()} baseline catalog for the full baseline."
        )
    return Coverage(
        policy_id=policy.id,
        policy_version=policy.version,
        baseline=baseline,
        covered=covered,
        not_covered=not_covered,
        outside=outside,
        notes=tuple(notes),
        waived_rules=tuple(sorted(waived.items())),
    )
