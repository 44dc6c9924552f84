"""The attestation's TrueType fonts, read for reportlab in a fraction of the time reportlab takes.

Private (leading underscore): not a reporter module.  reportlab parses a font's character map,
horizontal metrics and glyph locations two bytes per Python call (``read_ushort``): for the three
DejaVu faces of the theme, about 6,000 glyphs each, that was ~220 M instructions of every PDF
process (issue 16).  :func:`load_ttfont` reads the same tables with :mod:`array` and gives reportlab
a font whose face holds exactly what reportlab's own parse would (the same dictionaries and lists,
in the same order: tests/report/test_pdf_fonts.py compares them for every font of the theme), so
subsetting, widths and the PDF bytes are unchanged.  A font it does not read the same way (a cmap
other than format 4 or 12, a table out of bounds) is read by reportlab, as before.
"""

from __future__ import annotations

import struct
import sys
from array import array
from fnmatch import fnmatch
from weakref import WeakKeyDictionary

from reportlab import rl_config
from reportlab.pdfbase.ttfonts import TTEncoding, TTFont, TTFontFace
from reportlab.rl_config import unShapedFontGlob


def _words(data: bytes, offset: int, count: int, code: str = "H") -> array:
    """``count`` big-endian 16-bit (``H``, ``h``) or 32-bit (``I``) numbers at ``offset``."""
    values = array(code)
    end = offset + count * values.itemsize
    if offset < 0 or end > len(data):
        raise ValueError("table out of bounds")
    values.frombytes(data[offset:end])
    if sys.byteorder == "little":
        values.byteswap()
    return values


class _Face(TTFontFace):
    """reportlab's TrueType face, its character information read in bulk (see the module text)."""

    def extractInfo(self, charInfo: int = 1) -> None:  # noqa: N802, N803 - reportlab's names
        super().extractInfo(0)  # name, head, OS/2, post, hhea, maxp: a few dozen reads
        if not charInfo:
            return
        try:
            read = self._read_char_info()
        except (ValueError, KeyError, IndexError, struct.error):
            read = False
        if not read:  # not a font read here the way reportlab reads it: reportlab reads it (or says why not)
            super().extractInfo(charInfo)

    def _read_char_info(self) -> bool:  # noqa: C901, PLR0912, PLR0915 - one table after the other, as reportlab
        """What ``TTFontFile.extractInfo`` sets from the cmap, hmtx and loca tables, computed as it
        computes it; False (nothing set) for what it would read otherwise."""
        data, table = self._ttf_data, self.table
        index_to_loc_format, glyph_data_format = struct.unpack_from(">HH", data, table["head"]["offset"] + 50)
        (number_of_hmetrics,) = struct.unpack_from(">H", data, table["hhea"]["offset"] + 34)
        num_glyphs = self.numGlyphs
        if glyph_data_format != 0 or number_of_hmetrics == 0 or index_to_loc_format not in (0, 1):
            return False

        # cmap: the subtable reportlab's loop settles on
        cmap_offset = table["cmap"]["offset"]
        cmap_version, table_count = struct.unpack_from(">HH", data, cmap_offset)
        if table_count == 0 and cmap_version != 0:
            table_count = cmap_version
        encoding_offset, kind = None, 0
        for index in range(table_count):
            platform, encoding, offset = struct.unpack_from(">HHL", data, cmap_offset + 4 + 8 * index)
            if platform == 3:
                kind, encoding_offset = 1, offset
            elif platform == 1 and encoding == 0 and kind != 1:
                kind, encoding_offset = 2, offset
            elif platform == 1 and encoding == 1:
                kind, encoding_offset = 1, offset
            elif platform == 0 and encoding != 5:
                kind, encoding_offset = 1, offset
        if encoding_offset is None:
            return False
        encoding_offset += cmap_offset
        (subtable_format,) = struct.unpack_from(">H", data, encoding_offset)
        char_to_glyph: dict[int, int] = {}
        glyph_to_char: dict[int, list[int]] = {}
        if subtable_format == 4:
            self._read_cmap_format_4(encoding_offset, char_to_glyph, glyph_to_char)
        elif subtable_format == 12:
            (groups,) = struct.unpack_from(">L", data, encoding_offset + 12)
            segments = _words(data, encoding_offset + 16, 3 * groups, "I" if array("I").itemsize == 4 else "L")
            for n in range(0, 3 * groups, 3):
                start, increment = segments[n], segments[n + 2] - segments[n]
                for unichar in range(start, segments[n + 1] + 1):
                    glyph = unichar + increment
                    char_to_glyph[unichar] = glyph
                    glyph_to_char.setdefault(glyph, []).append(unichar)
        else:
            return False

        # hmtx: advance widths scaled to 1/1000 em; past numberOfHMetrics, reportlab repeats the
        # last scaled advance (in hmetrics too, as it does)
        scale = self._pdfScale
        hmtx = self.table["hmtx"]["offset"]
        metrics = _words(data, hmtx, 2 * number_of_hmetrics)
        advances = [scale(advance) for advance in metrics[0::2]]
        hmetrics = list(zip(metrics[0::2], metrics[1::2]))
        if num_glyphs > number_of_hmetrics:
            last = advances[-1]
            hmetrics += [(last, lsb) for lsb in _words(data, hmtx + 4 * number_of_hmetrics,
                                                        num_glyphs - number_of_hmetrics)]
        char_widths: dict[int, float] = {}
        last_advance = advances[-1]
        for glyph in range(max(num_glyphs, number_of_hmetrics)):
            chars = glyph_to_char.get(glyph)
            if chars is not None:
                width = advances[glyph] if glyph < number_of_hmetrics else last_advance
                for char in chars:
                    char_widths[char] = width

        # loca: where each glyph's outline starts
        if "loca" not in self.table:
            return False
        loca = self.table["loca"]["offset"]
        if index_to_loc_format == 0:
            glyph_pos = [position << 1 for position in _words(data, loca, num_glyphs + 1)]
            end = loca + 2 * (num_glyphs + 1)
        else:
            glyph_pos = list(_words(data, loca, num_glyphs + 1, "I" if array("I").itemsize == 4 else "L"))
            end = loca + 4 * (num_glyphs + 1)

        if 0x20 in char_to_glyph:
            char_to_glyph[0xA0] = char_to_glyph[0x20]
            char_widths[0xA0] = char_widths[0x20]
        elif 0xA0 in char_to_glyph:
            char_to_glyph[0x20] = char_to_glyph[0xA0]
            char_widths[0x20] = char_widths[0xA0]
        self.charToGlyph, self.glyphToChar, self.charWidths = char_to_glyph, glyph_to_char, char_widths
        self.defaultWidth = advances[0]
        self.hmetrics, self.glyphPos = hmetrics, glyph_pos
        self._pos = end
        return True

    def _read_cmap_format_4(self, encoding_offset: int, char_to_glyph: dict[int, int],
                            glyph_to_char: dict[int, list[int]]) -> None:
        """A format 4 character map (segments of 16-bit codes), as reportlab reads it."""
        data = self._ttf_data
        (length,) = struct.unpack_from(">H", data, encoding_offset + 2)
        limit = encoding_offset + length
        seg_count = int(struct.unpack_from(">H", data, encoding_offset + 6)[0] / 2.0)
        ends = _words(data, encoding_offset + 14, seg_count)
        starts = _words(data, encoding_offset + 16 + 2 * seg_count, seg_count)
        deltas = _words(data, encoding_offset + 16 + 4 * seg_count, seg_count, "h")
        range_start = encoding_offset + 16 + 6 * seg_count
        range_offsets = _words(data, range_start, seg_count)
        unpack_ushort = struct.Struct(">H").unpack_from
        for n in range(seg_count):
            start, delta, range_offset = starts[n], deltas[n], range_offsets[n]
            if range_offset == 0:
                for unichar in range(start, ends[n] + 1):
                    glyph = (unichar + delta) & 0xFFFF
                    char_to_glyph[unichar] = glyph
                    glyph_to_char.setdefault(glyph, []).append(unichar)
                continue
            base = range_start + 2 * n + range_offset - 2 * start
            for unichar in range(start, ends[n] + 1):
                offset = base + 2 * unichar
                if offset >= limit:  # reportlab's workaround for broken fonts
                    glyph = 0
                else:
                    glyph = unpack_ushort(data, offset)[0]
                    if glyph != 0:
                        glyph = (glyph + delta) & 0xFFFF
                char_to_glyph[unichar] = glyph
                glyph_to_char.setdefault(glyph, []).append(unichar)


def load_ttfont(name: str, filename: str) -> TTFont:
    """``reportlab.pdfbase.ttfonts.TTFont(name, filename)``, its face read by :class:`_Face`."""
    font = TTFont.__new__(TTFont)
    # What TTFont.__init__ sets (reportlab 5), with the face made here: tests compare the two.
    font.fontName = name
    font.face = _Face(filename)
    font.encoding = TTEncoding()
    font.state = WeakKeyDictionary()
    font._asciiReadable = rl_config.ttfAsciiReadable
    font.shapable = not any(fnmatch(name, pattern) for pattern in unShapedFontGlob)
    return font
