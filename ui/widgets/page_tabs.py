"""Tabs whose pages scroll when the window is smaller than a page's minimum size (a projector at
1280x720), instead of forcing the window larger than the screen. The pages are addressed as usual:
widget(), currentWidget(), setCurrentWidget() and indexOf() see the pages, not their scroll areas."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget


class _MinimumOnly(QVBoxLayout):
    """Holds one page. It reports no height-for-width, so the scroll area scrolls only below the page's
    minimum size: a page with wrapped text would otherwise ask for its preferred height and scroll
    (cutting the plot) at sizes where it fits."""

    def hasHeightForWidth(self) -> bool:
        return False


class PageTabs(QTabWidget):
    def addTab(self, page: QWidget, title: str) -> int:  # type: ignore[override]
        holder = QScrollArea()
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        frame = QWidget()
        layout = _MinimumOnly(frame)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(page)
        holder.setWidget(frame)
        return super().addTab(holder, title)

    def widget(self, index: int) -> QWidget | None:  # type: ignore[override]
        holder = super().widget(index)
        if not isinstance(holder, QScrollArea):
            return holder
        return holder.widget().layout().itemAt(0).widget()

    def currentWidget(self) -> QWidget | None:  # type: ignore[override]
        return self.widget(self.currentIndex())

    def indexOf(self, page: QWidget) -> int:  # type: ignore[override]
        return next((i for i in range(self.count()) if self.widget(i) is page), -1)

    def setCurrentWidget(self, page: QWidget) -> None:  # type: ignore[override]
        index = self.indexOf(page)
        if index >= 0:
            self.setCurrentIndex(index)
