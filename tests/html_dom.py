"""Reading an HTML page (as written, or as Chromium's --dump-dom gives it) for the HTML report tests:
its elements, the text of elements by id or class, and every attribute that would make a browser
load something."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Attributes through which an element loads (or submits to, or pings) another resource.
LOADING_ATTRIBUTES = frozenset({"src", "srcset", "href", "xlink:href", "action", "formaction", "data", "poster",
                                "background", "ping", "manifest", "codebase", "cite", "longdesc", "lowsrc"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # any scheme, or protocol-relative


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    hidden: bool = False  # this element or an ancestor has the hidden attribute

    @property
    def content(self) -> str:
        return "".join(self.text)

    @property
    def words(self) -> str:
        """The text with one space between the texts of its elements (cells do not run together)."""
        return " ".join(" ".join(self.text).split())


class Page(HTMLParser):
    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        element = Element(tag, values, hidden="hidden" in values or any(e.hidden for e in self._open))
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text.append(data)

    # ------------------------------------------------------------ questions

    def by_id(self, element_id: str) -> Element:
        [element] = [e for e in self.elements if e.attrs.get("id") == element_id]
        return element

    def tags(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def loads(self) -> list[str]:
        """Every attribute that would load or send to anything but this page (``#fragment`` links
        and data: images stay inside it), and every element that loads whatever its attributes say."""
        found = []
        for element in self.elements:
            for name, value in element.attrs.items():
                if name.lower() not in LOADING_ATTRIBUTES:
                    continue
                if name == "href" and element.tag == "a" and value.startswith("#"):
                    continue
                found.append(f"<{element.tag} {name}={value!r}>")
            if element.tag in ("link", "iframe", "frame", "object", "embed", "base", "img", "audio", "video",
                               "source", "track", "portal", "applet") or (element.tag == "meta" and
                                                                       element.attrs.get("http-equiv", "").lower() == "refresh"):
                found.append(f"<{element.tag}>")
            if element.tag == "script" and "src" in element.attrs:
                found.append("<script src>")
            style = element.attrs.get("style", "")
            if "url(" in style or "@import" in style:
                found.append(f"<{element.tag} style={style!r}>")
        for element in self.tags("style"):
            if "url(" in element.content or "@import" in element.content:
                found.append("<style> with url() or @import")
        return found
