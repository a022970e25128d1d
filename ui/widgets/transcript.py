"""The transcript: messages as plain text, generated tokens tinted by one emotion's reading.

Every generated token keeps its TokenEvent; hovering a token shows all its readings.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QTextBrowser, QToolTip, QWidget

from lab.common.events import TokenEvent
from lab.common.palette import text_on_dark_tint, tint
from ui.widgets.palette import qcolor
from lab.common.tint_rule import tint_reading


@dataclass
class TokenSpan:
    start: int
    end: int
    event: TokenEvent
    number: int = 0  # the token's place on the plot's "generated token" axis (empty tokens count too)


def token_tooltip(event: TokenEvent, highlight: str | None = None, raw: bool = False, number: int | None = None) -> str:
    """All readings of one token, highest first, plus the steering in force; `number`: the token's place
    on the plot's 'generated token' axis."""
    readings = event.shown_readings(raw)
    rows = "".join(
        f"<tr><td>{'<b>' + escape(name) + '</b>' if name == highlight else escape(name)}</td>"
        f"<td align='right'>{value:+.2f}</td></tr>"
        for name, value in sorted(readings.items(), key=lambda item: -item[1])
    )
    steering = ", ".join(f"{escape(k)} {v:+.3f}" for k, v in event.strengths.items()) or "none"
    kind = "raw readings (steering push included)" if raw else "readings (steering push removed)"
    return (
        f"<p><b>{escape(repr(event.text))}</b> &nbsp;{token_name(event, number)}, {kind}</p>"
        f"<table>{rows}</table><p>Steering in force: {steering}</p>"
    )


class TranscriptView(QTextBrowser):
    """Read-only, streaming transcript with per-token tint and tooltips."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.spans: list[TokenSpan] = []
        self.tint_emotion: str | None = None
        self.raw = False  # tint and tooltips by the raw readings (steering push included)
        self.dark = False  # presentation mode's black background: brighter tints
        self._answer_start: int | None = None
        self._answer_spans = 0
        self._messages: list[tuple[int, int, int]] = []  # (document position, spans, tokens) where each message began
        self._generated = 0  # generated tokens shown so far, as the plot counts them
        self._answer_generated = 0
        self.following = True  # keep the newest text in view; False once the reader scrolls up on purpose
        self._scrolling = False
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._moved)
        bar.rangeChanged.connect(self._grown)
        self.setPlaceholderText("The conversation appears here. Hover a coloured word to see every emotion reading for it.")

    def clear_all(self) -> None:
        self.clear()
        self.spans, self._answer_start, self._messages = [], None, []
        self._generated = 0
        self.following = True

    def add_message(self, role: str, text: str) -> None:
        """A user or system message (plain text, not tinted); the view follows the conversation again."""
        self._messages.append((self._end(), len(self.spans), self._generated))
        self._block(role).insertText(text, QTextCharFormat())
        self.following = True
        self._scroll()

    def begin_answer(self, label: str = "Assistant") -> None:
        """Start a new answer block; tokens added next go into it."""
        self._answer_start = self._end()
        self._answer_spans = len(self.spans)
        self._answer_generated = self._generated
        self._block(label)
        self._scroll()

    def mark_stopped(self) -> None:
        """Say at the end of the current answer that it was stopped before it was finished."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        note = QTextCharFormat()
        note.setFontItalic(True)
        note.setForeground(QColor("#808080"))
        cursor.insertText(" [stopped]", note)
        self._scroll()

    def add_tokens(self, events: list[TokenEvent]) -> None:
        """Append generated tokens, tinted by the current emotion."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        for event in events:
            self._generated += 1
            if not event.text:
                continue
            start = cursor.position()
            cursor.insertText(event.text, self._format(event))
            self.spans.append(TokenSpan(start, cursor.position(), event, self._generated - 1))
        self._scroll()

    def drop_last_answer(self) -> None:
        """Remove the answer begun last (for Regenerate)."""
        if self._answer_start is None:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._answer_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        del self.spans[self._answer_spans:]
        self._generated = self._answer_generated
        self._answer_start = None

    def drop_last_exchange(self) -> bool:
        """Remove the last message and everything after it (its answer); False if there is none."""
        if not self._messages:
            return False
        start, spans, self._generated = self._messages.pop()
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        del self.spans[spans:]
        self._answer_start = None
        return True

    def set_dark(self, dark: bool) -> None:
        """Tints for a dark (presentation) or light background."""
        self.dark = dark
        self.set_tint(self.tint_emotion)

    def set_raw(self, raw: bool) -> None:
        """Tint and explain tokens by the raw readings (push included) or the push-free ones."""
        self.raw = raw
        self.set_tint(self.tint_emotion)

    def set_tint(self, emotion: str | None) -> None:
        """Re-tint every token by `emotion`'s reading."""
        self.tint_emotion = emotion
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for span in self.spans:
            cursor.setPosition(span.start)
            cursor.setPosition(span.end, QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(self._format(span.event))
        cursor.endEditBlock()

    def span_at(self, position: int) -> TokenSpan | None:
        """The token covering document `position`, if any."""
        index = bisect.bisect_right([span.start for span in self.spans], position) - 1
        if index >= 0 and self.spans[index].start <= position < self.spans[index].end:
            return self.spans[index]
        return None

    def select_event(self, event: TokenEvent) -> TokenSpan | None:
        """Select (highlight) the token of `event` and scroll to it; None if it is not shown here."""
        span = next((s for s in self.spans if s.event is event), None)
        if span is None:
            return None
        cursor = QTextCursor(self.document())
        cursor.setPosition(span.start)
        cursor.setPosition(span.end, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        return span

    def viewportEvent(self, event: QEvent) -> bool:
        """Hovering a token shows all its readings."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            span = self.span_at(self.document().documentLayout().hitTest(
                event.pos() + self._scroll_offset(), Qt.HitTestAccuracy.ExactHit))
            if span is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), token_tooltip(span.event, self.tint_emotion, self.raw, span.number), self.viewport())
            return True
        return super().viewportEvent(event)

    def _scroll_offset(self) -> QPoint:
        return QPoint(self.horizontalScrollBar().value(), self.verticalScrollBar().value())

    def _format(self, event: TokenEvent) -> QTextCharFormat:
        fmt = QTextCharFormat()
        value = tint_reading(event.shown_readings(self.raw), self.tint_emotion) if self.tint_emotion else None
        shade = tint(value, dark=self.dark) if value is not None else None  # 0.0 (the rule leaves it untinted): transparent
        fmt.setBackground(qcolor(shade) if shade is not None else QColor(0, 0, 0, 0))
        if self.dark and shade is not None:
            fmt.setForeground(QColor(text_on_dark_tint(shade)))  # white on a bright tint would be hard to read
        return fmt

    def _block(self, label: str) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        block = QTextBlockFormat()
        block.setTopMargin(10)
        if not self.document().isEmpty():
            cursor.insertBlock(block, QTextCharFormat())
        else:
            cursor.setBlockFormat(block)
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        cursor.insertText(f"{label}: ", bold)
        return cursor

    def _end(self) -> int:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor.position()

    def _moved(self, value: int) -> None:
        """The view moved without us (wheel, drag, keys, a clicked plot point): follow only at the bottom."""
        if not self._scrolling:
            self.following = value >= self.verticalScrollBar().maximum() - 4

    def _grown(self, _minimum: int, _maximum: int) -> None:
        """More text, or a smaller view (a resize, presentation mode): keep the newest line in view."""
        self._scroll()

    def _scroll(self) -> None:
        """Show the newest line, unless the reader scrolled up to read something earlier."""
        if not self.following:
            return
        bar = self.verticalScrollBar()
        self._scrolling = True
        try:
            bar.setValue(bar.maximum())
        finally:
            self._scrolling = False


def token_name(event: TokenEvent, number: int | None) -> str:
    """'generated token 9' (as the plot counts: from 0 over the conversation's answers), else its position."""
    return f"generated token {number}" if number is not None else f"token {event.position}"


def readings_summary(event: TokenEvent, first: list[str] | tuple[str, ...] = (), number: int | None = None) -> str:
    """One line for the status bar: the token and its readings (`first` emotions first, then highest first)."""
    rest = sorted((n for n in event.readings if n not in first), key=lambda n: -event.readings[n])
    names = [n for n in first if n in event.readings] + rest
    values = ", ".join(f"{n} {event.readings[n]:+.2f}" for n in names)
    name = token_name(event, number)
    return f"{name[0].upper()}{name[1:]} {event.text!r}: {values}"


LEGEND = (
    "Orange: this emotion clearly stands out; blue: clearly below neutral; no colour: neither (see Help). "
    "Hover a token for all readings."
)
