"""Load the shipped NIST control data (controls/nist-sp800-53-r5.yaml)."""

from __future__ import annotations

from functools import lru_cache

import yaml

from auditor.model.controls import Control, ControlCatalog
from auditor.resources import data_dir

CONTROLS_FILE = "nist-sp800-53-r5.yaml"
# The shipped data file is ours, not a user's: libyaml's parser (ten times faster) with the same
# safe constructor.  Policies, which users write, keep the located, depth-limited Python composer
# of auditor.policy.yamlsafe.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def load_catalog() -> ControlCatalog:
    raw = yaml.load((data_dir("controls") / CONTROLS_FILE).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    families: dict[str, str] = raw["families"]
    controls: dict[str, Control] = {}
    for entry in raw["controls"]:
        family = entry["id"].split("-", 1)[0]
        control = Control(**entry, family=family, family_title=families[family])
        if control.id in controls:
            raise ValueError(f"{CONTROLS_FILE}: control {control.id} listed twice")
        controls[control.id] = control
    return ControlCatalog(name=raw["catalog"]["name"], version=str(raw["catalog"]["version"]), controls=controls)
