"""An HTML page as a browser would parse it, for tests of what a report shows."""
from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The page as a browser would see it: its tags, its text and its image sources."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.images: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)
