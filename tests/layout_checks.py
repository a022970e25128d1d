"""What a class must see, checked on widget geometry (not on pixels): a widget is fully visible when no
ancestor clips it, a text is whole when its widget is as wide as the text, a chart's labels lie inside
its figure. Each check returns the problems it found, in words, so one failing run lists them all."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTabBar,
    QTextEdit,
    QToolButton,
    QWidget,
)

MIN_CHART = (360, 150)  # a chart smaller than this (px) is too squeezed to read from the back row


def window_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def shown_rect(widget: QWidget) -> QRect:
    """The part of `widget` its ancestors (scroll areas, splitters, the window) do not clip."""
    rect = window_rect(widget)
    parent = widget.parentWidget()
    while parent is not None:
        rect &= window_rect(parent)
        parent = parent.parentWidget()
    return rect


def fully_visible(widget: QWidget) -> bool:
    return widget.isVisible() and shown_rect(widget) == window_rect(widget)


def _text_width(widget: QWidget, text: str) -> int:
    return widget.fontMetrics().horizontalAdvance(text.replace("&", ""))


def cut_texts(root: QWidget, where: str) -> list[str]:
    """Labels, buttons, check boxes and group titles under `root` that are narrower than their text, or
    (outside scrolled lists) not fully visible."""
    problems = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0:
            continue
        if isinstance(widget, QLabel) and not widget.wordWrap() and widget.text() and not widget.pixmap():
            text, room = widget.text(), widget.contentsRect().width()
            if "<" in text:  # rich text: its own layout decides
                room, text = widget.width(), ""
        elif isinstance(widget, (QPushButton, QToolButton, QCheckBox)) and widget.text():
            text = widget.text()
            indicator = 24 if isinstance(widget, QCheckBox) else 8
            room = widget.width() - indicator
        elif isinstance(widget, QGroupBox) and widget.title():
            text, room = widget.title(), widget.width()
        else:
            continue
        if text and _text_width(widget, text) > room + 1:
            problems.append(f"{where}: '{text[:40]}' is cut ({room} px for {_text_width(widget, text)} px)")
        elif not in_scroll_list(widget) and not fully_visible(widget):
            problems.append(f"{where}: '{(text or type(widget).__name__)[:40]}' is partly hidden")
    return problems


def cut_list_items(root: QWidget, where: str) -> list[str]:
    """Items of vertical lists under `root` that are wider than the list and do not wrap."""
    problems = []
    for view in root.findChildren(QListWidget):
        if not view.isVisible() or view.wordWrap() or view.flow() != QListView.Flow.TopToBottom:
            continue
        room = view.viewport().width()
        for row in range(view.count()):
            text = view.item(row).text()
            if view.fontMetrics().horizontalAdvance(text) + 8 > room:
                problems.append(f"{where}: list item '{text[:40]}' is cut ({room} px)")
    return problems


def in_scroll_list(widget: QWidget) -> bool:
    """Inside a scroll area that scrolls on purpose (a list), i.e. any scroll area but a tab page's holder."""
    from ui.widgets.page_tabs import PageTabs

    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea) and not isinstance(parent.parentWidget() and parent.parentWidget().parentWidget(), PageTabs):
            return True
        if isinstance(parent, QTextEdit):
            return True
        parent = parent.parentWidget()
    return False


def tab_bar_problems(bar: QTabBar, where: str) -> list[str]:
    problems = []
    if bar.sizeHint().width() > bar.width() + 1:
        problems.append(f"{where}: tabs need {bar.sizeHint().width()} px, have {bar.width()} (hidden behind arrows)")
    if not fully_visible(bar):
        problems.append(f"{where}: the tab bar is partly hidden")
    for index in range(bar.count()):
        if bar.tabRect(index).width() < _text_width(bar, bar.tabText(index)):
            problems.append(f"{where}: tab '{bar.tabText(index)}' is cut")
    return problems


def transcript_problems(view: QTextEdit, where: str) -> list[str]:
    """The newest line of the transcript lies inside its visible viewport."""
    if not fully_visible(view):
        return [f"{where}: the transcript is partly hidden"]
    document = view.document()
    last = document.lastBlock()
    bottom = document.documentLayout().blockBoundingRect(last).bottom() - view.verticalScrollBar().value()
    if bottom > view.viewport().height() + 1:
        return [f"{where}: the transcript's last line is {bottom - view.viewport().height():.0f} px below its view"]
    return []


def visible_rows(rows: list[QWidget]) -> int:
    return sum(fully_visible(row) for row in rows)


def chart_problems(chart, where: str) -> list[str]:
    """Titles, axis labels, legend texts and annotations (the map's names) lie inside the figure."""
    if not chart.isVisible():
        return []
    problems = [] if fully_visible(chart) else [f"{where}: a chart is partly hidden"]
    if chart.width() < MIN_CHART[0] or chart.height() < MIN_CHART[1]:
        problems.append(f"{where}: a chart is squeezed to {chart.width()}x{chart.height()} px")
    figure = chart.figure
    chart.canvas.draw()
    renderer = chart.canvas.get_renderer()
    box = figure.bbox
    for ax in figure.axes:
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            texts += list(legend.get_texts())
        for text in texts:
            if not text.get_visible() or not text.get_text().strip():
                continue
            extent = text.get_window_extent(renderer)
            if extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1 or extent.y0 < box.y0 - 1 or extent.y1 > box.y1 + 1:
                problems.append(f"{where}: chart text '{text.get_text()[:40]}' is cut at the figure's edge")
    return problems
