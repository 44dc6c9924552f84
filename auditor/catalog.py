"""Load the shipped NIST control data (controls/nist-sp800-53-r5.yaml, and the statements and
SP 800-53A assessment text scripts/build-controls writes from NIST's catalogs)."""

from __future__ import annotations

import json
from functools import lru_cache

from auditor.model.controls import Control, ControlCatalog
from auditor.model.records import record
from auditor.resources import data_dir

CONTROLS_FILE = "nist-sp800-53-r5.yaml"


@lru_cache(maxsize=1)
def load_catalog() -> ControlCatalog:
    # Imported here: the PDF attestation reads only load_control_text's JSON, and PyYAML's import is
    # about 2% of a 5,000-finding PDF (issue 16).
    from auditor.yamlimport import yaml

    # The shipped data file is ours, not a user's: libyaml's parser (ten times faster) with the same
    # safe constructor.  Policies, which users write, keep the located, depth-limited Python composer
    # of auditor.policy.yamlsafe.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load((data_dir("controls") / CONTROLS_FILE).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    families: dict[str, str] = raw["families"]
    controls: dict[str, Control] = {}
    for entry in raw["controls"]:
        family = entry["id"].split("-", 1)[0]
        control = Control(**entry, family=family, family_title=families[family])
        if control.id in controls:
            raise ValueError(f"{CONTROLS_FILE}: control {control.id} listed twice")
        controls[control.id] = control
    return ControlCatalog(name=raw["catalog"]["name"], version=str(raw["catalog"]["version"]), controls=controls)


ASSESSMENT_FILE = "nist-sp800-53-r5-assessment.json"  # written by scripts/build-controls from NIST's OSCAL


@record
class ControlText:
    """What NIST says a control requires and how SP 800-53A assesses it (scripts/build-controls)."""

    id: str
    title: str
    statement: tuple[str, ...]  # SP 800-53 Rev. 5 control statement, one labelled item a line
    objective: tuple[str, ...]  # SP 800-53A determination statements, labelled (empty: not published)
    methods: dict[str, tuple[str, ...]]  # "examine" / "interview" / "test" -> assessment objects
    source: str  # the NIST catalog it was taken from
    note: str | None  # why objective/methods are missing, when they are


@lru_cache(maxsize=1)
def load_control_text() -> dict[str, ControlText]:
    raw = json.loads((data_dir("controls") / ASSESSMENT_FILE).read_text(encoding="utf-8"))
    return {cid: ControlText(id=cid, title=c["title"], statement=tuple(c["statement"]),
                             objective=tuple(c["objective"]),
                             methods={m: tuple(objects) for m, objects in c["methods"].items()},
                             source=c["source"], note=c.get("note"))
            for cid, c in raw["controls"].items()}
