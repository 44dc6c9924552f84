"""The theme's fonts read by lbaudit's TrueType reader hold exactly what reportlab's own reading holds.

``auditor.report._pdf_fonts`` reads the character map, metrics and glyph locations in bulk (issue
16); reportlab subsets and measures text from what it read, so it must be the same, value for value
and in the same order.  The PDF bytes (test_pdf_golden.py) depend on it too.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from reportlab.pdfbase.ttfonts import TTFont

from auditor.report._pdf_fonts import _Face, load_ttfont
from auditor.report._pdf_theme import FONT_NAMES, load_theme

FONTS = Path(__file__).resolve().parents[2] / "reports" / "fonts"


def _face_state(font: TTFont) -> dict:
    state = dict(vars(font.face))
    scale = state.pop("_pdfScale")  # a lambda per reading: compared by what it computes
    state["_pdfScale(2048)"] = scale(2048)
    # dictionaries compared with their order: reportlab walks them when it subsets
    for key in ("charToGlyph", "glyphToChar", "charWidths"):
        state[key] = list(state[key].items())
    return state


@pytest.mark.parametrize("path", sorted(FONTS.glob("*.ttf")), ids=lambda p: p.name)
def test_each_bundled_font_is_read_as_reportlab_reads_it(path):
    ours, theirs = load_ttfont("lbaudit-test", str(path)), TTFont("lbaudit-test", str(path))
    assert type(ours) is TTFont and type(ours.face) is _Face
    assert _face_state(ours) == _face_state(theirs)
    assert len(ours.face.charToGlyph) > 3000  # the whole map was read, not a fallback's empty one
    rest = {k: v for k, v in vars(ours).items() if k not in ("face", "state", "encoding")}
    assert rest == {k: v for k, v in vars(theirs).items() if k not in ("face", "state", "encoding")}
    assert type(ours.encoding) is type(theirs.encoding) and ours.encoding.name == theirs.encoding.name
    assert type(ours.state) is type(theirs.state) and len(ours.state) == 0
    text = "Zoë Ångström — Служба безопасности ü ﬁ 日本"  # last two: not in DejaVu (default width)
    assert ours.stringWidth(text, 8) == theirs.stringWidth(text, 8)


def test_the_theme_registers_fonts_read_this_way():
    theme = load_theme()
    assert set(theme.fonts) == set(FONT_NAMES)
    assert all(type(font.face) is _Face for font in theme.fonts.values())


def test_a_character_map_it_does_not_read_is_read_by_reportlab(tmp_path):
    """DejaVu Sans Mono's Unicode map turned into format 13 (many-to-one), which only reportlab reads:
    the font is read by reportlab's parser, whole, not half-read."""
    data = bytearray((FONTS / "DejaVuSansMono.ttf").read_bytes())
    face = _Face(str(FONTS / "DejaVuSansMono.ttf"))
    cmap = face.table["cmap"]["offset"]
    version, count = struct.unpack_from(">HH", data, cmap)
    patched = 0
    for index in range(count):
        _, _, offset = struct.unpack_from(">HHL", data, cmap + 4 + 8 * index)
        if struct.unpack_from(">H", data, cmap + offset)[0] == 12:
            struct.pack_into(">H", data, cmap + offset, 13)
            patched += 1
    assert patched, "the font has no format 12 map to patch"
    path = tmp_path / "mono13.ttf"
    path.write_bytes(bytes(data))
    ours, theirs = load_ttfont("lbaudit-test", str(path)), TTFont("lbaudit-test", str(path))
    assert _face_state(ours) == _face_state(theirs)
