"""NIST SP 800-53 Rev. 5 control data, as shipped in controls/."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from auditor.model.base import StrictModel, empty_list

# One spelling per control, as SP 800-53 writes it: no leading zero.  With ``\d{1,2}``, ``SC-07`` and
# ``SC-7(05)`` were ids of their own in the evidence, and OSCAL (``sc-7``) made them one with
# ``SC-7``: a passing rule mapped to ``SC-07`` gave the failing SC-7's objective a "satisfied" finding.
CONTROL_ID = re.compile(r"^([A-Z]{2})-([1-9]\d?)(?:\(([1-9]\d?)\))?$")
Baseline = Literal["low", "moderate", "high"]
# A control id as evidence records it: every report computes on it (OSCAL ids, sorting).
ControlId = Annotated[str, Field(pattern=CONTROL_ID.pattern)]


def oscal_control_id(control_id: str) -> str:
    """``SC-7(5)`` -> ``sc-7.5`` (the id form of NIST's OSCAL catalogs)."""
    m = CONTROL_ID.match(control_id)
    if not m:
        raise ValueError(f"not a SP 800-53 control id: {control_id!r}")
    family, number, enhancement = m.groups()
    return f"{family.lower()}-{int(number)}" + (f".{int(enhancement)}" if enhancement else "")


class Control(StrictModel):
    id: str = Field(pattern=CONTROL_ID.pattern)
    title: str
    baselines: list[Baseline] = Field(default_factory=empty_list)
    family: str = ""  # filled from the id when the catalog is loaded
    family_title: str = ""


class ControlCatalog(StrictModel):
    name: str
    version: str
    controls: dict[str, Control]  # by display id ("SC-7(5)")

    def get(self, control_id: str) -> Control | None:
        return self.controls.get(control_id)

    def sort_key(self, control_id: str) -> tuple[str, int, int]:
        m = CONTROL_ID.match(control_id)
        if not m:
            return (control_id, 0, 0)
        family, number, enhancement = m.groups()
        return (family, int(number), int(enhancement or 0))
