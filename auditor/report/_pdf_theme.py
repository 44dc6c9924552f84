"""The look of the PDF attestation: read from ``reports/attestation.yaml``, fonts, paragraph styles.

Private (leading underscore): not a reporter module (those are named in
:data:`auditor.report.BUILTIN_REPORTERS`).  Every font is a TrueType file registered with reportlab, so it is embedded
(subset) in the PDF; none of the 14 standard PDF fonts is used.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from auditor.model.records import record
from auditor.report._pdf_fonts import load_ttfont
from auditor.resources import data_dir

THEME_FILE = "attestation.yaml"
# The shipped theme, parsed: read instead of the YAML while the YAML is byte for byte the one it was
# parsed from (its SHA-256 is recorded), so a PDF does not import PyYAML (89 M instructions, about
# 2% of a 5,000-finding PDF).  An edited theme file no longer matches and is parsed as YAML, as
# before.  Regenerate after changing the shipped theme: python -m auditor.report._pdf_theme
PARSED_THEME_FILE = "attestation.parsed.json"
FONT_NAMES = {"regular": "lbaudit-Sans", "bold": "lbaudit-Sans-Bold", "mono": "lbaudit-Mono"}
PAGE_SIZES = {"a4": A4, "letter": letter}


@record
class Theme:
    folder: Path
    title: str
    subtitle: str
    organisation: str
    page_size: tuple[float, float]
    logo: Path | None
    colours: dict[str, colors.Color]
    status_colours: dict[str, colors.Color]
    verdict_colours: dict[str, colors.Color]
    statement: str
    signatories: list[str]
    fonts: dict[str, TTFont]

    def colour(self, name: str) -> colors.Color:
        return self.colours[name]

    def status_colour(self, status: str) -> colors.Color:
        return self.status_colours.get(status, self.colours["muted"])


def _colour_map(raw: dict[str, Any], where: str) -> dict[str, colors.Color]:
    try:
        return {str(k): colors.HexColor(str(v)) for k, v in (raw or {}).items()}
    except ValueError as exc:
        raise ValueError(f"{where}: bad colour: {exc}") from exc


def _register_fonts(folder: Path, spec: dict[str, str]) -> dict[str, TTFont]:
    fonts: dict[str, TTFont] = {}
    registered = set(pdfmetrics.getRegisteredFontNames())
    for role, name in FONT_NAMES.items():
        # Asked for a font it does not know, getFont first searches the disk for an AFM file of that
        # name, parsing dozens of Type 1 metrics files (most of a small PDF's time): look first.
        if name in registered:
            font = pdfmetrics.getFont(name)
        else:
            font = load_ttfont(name, str(folder / spec[role]))  # reportlab's TTFont, read faster
            pdfmetrics.registerFont(font)
        fonts[role] = font
    # <b> in paragraph markup maps to the bold face.
    pdfmetrics.registerFontFamily(FONT_NAMES["regular"], normal=FONT_NAMES["regular"], bold=FONT_NAMES["bold"],
                                  italic=FONT_NAMES["regular"], boldItalic=FONT_NAMES["bold"])
    return fonts


def _parse_yaml(text: str) -> Any:
    from auditor.yamlimport import yaml  # only for a theme file that is not the shipped one (see PARSED_THEME_FILE)

    # The theme file is the installation's own, as the control catalog is (auditor/catalog.py): libyaml's
    # parser with the same safe constructor, 1 ms where the Python parser took 7-13 ms of every PDF's start.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def theme_values(path: Path) -> dict[str, Any]:
    """The theme file ``path`` parsed: the values recorded beside it in PARSED_THEME_FILE when they
    were parsed from these very bytes, else the YAML parsed now."""
    data = path.read_bytes()
    try:
        parsed = json.loads((path.parent / PARSED_THEME_FILE).read_bytes())
    except (OSError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("yaml_sha256") == hashlib.sha256(data).hexdigest():
        return dict(parsed["theme"])
    return _parse_yaml(data.decode("utf-8")) or {}


def parsed_theme_json(path: Path) -> str:
    """The PARSED_THEME_FILE text for the theme file ``path`` (what ``python -m auditor.report._pdf_theme`` writes)."""
    data = path.read_bytes()
    return json.dumps({"yaml_sha256": hashlib.sha256(data).hexdigest(), "theme": _parse_yaml(data.decode("utf-8"))},
                      indent=1, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def load_theme() -> Theme:
    folder = data_dir("reports")
    path = folder / THEME_FILE
    raw = theme_values(path)
    logo = folder / raw["logo"] if raw.get("logo") else None
    return Theme(
        folder=folder,
        title=str(raw.get("title", "Compliance attestation")),
        subtitle=str(raw.get("subtitle", "")),
        organisation=str(raw.get("organisation") or ""),
        page_size=PAGE_SIZES[str(raw.get("page_size", "A4")).lower()],
        logo=logo if logo and logo.is_file() else None,
        colours=_colour_map(raw.get("colours"), f"{path}: colours"),
        status_colours=_colour_map(raw.get("status_colours"), f"{path}: status_colours"),
        verdict_colours=_colour_map(raw.get("verdict_colours"), f"{path}: verdict_colours"),
        statement=str(raw.get("statement", "")).strip(),
        signatories=[str(s) for s in raw.get("signatories", ["Assessor"])],
        fonts=_register_fonts(folder, raw["fonts"]),
    )


@record
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    cell_mono: ParagraphStyle
    header_cell: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    h3: ParagraphStyle
    title: ParagraphStyle
    subtitle: ParagraphStyle
    verdict: ParagraphStyle
    mono: ParagraphStyle


def make_styles(theme: Theme) -> Styles:
    sans, bold, mono = FONT_NAMES["regular"], FONT_NAMES["bold"], FONT_NAMES["mono"]
    text, muted, primary = theme.colour("text"), theme.colour("muted"), theme.colour("primary")
    body = ParagraphStyle("body", fontName=sans, fontSize=9.5, leading=13, textColor=text, alignment=TA_LEFT,
                          spaceAfter=5)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10, spaceAfter=0)
    return Styles(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10.5),
        muted=ParagraphStyle("muted", parent=body, fontSize=8, leading=10.5, textColor=muted),
        cell=cell,
        cell_bold=ParagraphStyle("cell_bold", parent=cell, fontName=bold),
        cell_mono=ParagraphStyle("cell_mono", parent=cell, fontName=mono, fontSize=7.5, leading=9.5),
        header_cell=ParagraphStyle("header_cell", parent=cell, fontName=bold, textColor=colors.white),
        h1=ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20, textColor=primary,
                          spaceBefore=14, spaceAfter=8),
        h2=ParagraphStyle("h2", parent=body, fontName=bold, fontSize=11.5, leading=15, textColor=primary,
                          spaceBefore=10, spaceAfter=4),
        h3=ParagraphStyle("h3", parent=body, fontName=bold, fontSize=9.5, leading=12.5, textColor=text,
                          spaceBefore=6, spaceAfter=2),
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=22, leading=27, textColor=primary,
                             spaceAfter=4),
        subtitle=ParagraphStyle("subtitle", parent=body, fontSize=10.5, leading=14, textColor=muted, spaceAfter=10),
        verdict=ParagraphStyle("verdict", parent=body, fontName=bold, fontSize=20, leading=24,
                               textColor=colors.white, spaceAfter=2),
        mono=ParagraphStyle("mono", parent=body, fontName=mono, fontSize=8, leading=10.5),
    )


if __name__ == "__main__":  # regenerate the shipped PARSED_THEME_FILE (a file of the source tree, not of a user's)
    _folder = data_dir("reports")
    (_folder / PARSED_THEME_FILE).write_text(parsed_theme_json(_folder / THEME_FILE), encoding="utf-8")
