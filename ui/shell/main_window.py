"""The main window: lays out panels, tabs, menus, status bar and settings and connects them.

The tabs are built here and given what they work with; the work behind the menus lives in small
controllers: models (ui.shell.model_loading), sessions (ui.shell.session_actions), presets (ui.shell.presets).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lab import __version__
from lab.common.errors import LabError
from lab.runtime.strength_range import StrengthRange
from ui.tabs.chat.chat import ChatTab
from ui.tabs.chat.compare import CompareTab
from ui.tabs.emotions.editor import EditorTab
from ui.widgets.emotion_panel import EmotionPanel
from ui.services.errors import ErrorFunnel
from ui.help.help import HelpPanel
from ui.shell.imported_emotions import ImportedEmotionsDialog
from ui.tabs.emotions.map_view import MapTab
from ui.shell.model_menu import ModelPicker
from ui.widgets.page_tabs import PageTabs
from ui.shell.model_loading import ModelLoader
from ui.shell.presets import PresetFiles
from ui.shell.session_actions import SessionActions
from ui.shell.suppression_menu import SuppressionActions
from ui.services.recorder import Recorder
from ui.widgets.sampling import SamplingPanel
from ui.tabs.sessions.sessions import SessionsTab
from ui.shell.startup import TimeLeft
from ui.services.state import LabState
from ui.widgets.theme import Theme, presentation_pixels
from ui.help.validation_page import ValidationPage
from ui.services.workers import ModelRunner
from ui.tabs.experiments.experiments import ExperimentsTab
from ui.tabs.scenarios.scenario_builder import ScenarioBuilderTab

DEFAULT_PLOTTED = ("happy", "sad", "afraid", "calm")
DEFAULT_TINT = "happy"
HELP_MIN_WIDTH = 260  # the help panel never wraps one word per line
SMALL_RESTORE = 0.8  # a saved normal window smaller than this share of the screen (a smaller screen's) opens maximised


def compact_style(pixels: int) -> str:
    """The emotion dock in presentation mode: the theme's type size, tight rows, so many sliders fit."""
    return f"QWidget {{ font-size: {pixels}px; }}" + COMPACT_ROWS


COMPACT_ROWS = """
QPushButton, QToolButton { padding: 1px 6px; }
QAbstractSpinBox { padding: 0px 2px; border-width: 1px; }
QCheckBox::indicator { width: 0.7em; height: 0.7em; }
QSlider::groove:horizontal { height: 6px; }
QSlider::handle:horizontal { width: 14px; margin: -4px 0; }
"""


def app_settings() -> QSettings:
    """The app's settings: in EMOTION_LAB_HOME when it is set (each classroom user or test keeps its own),
    else the desktop's usual place."""
    home = os.environ.get("EMOTION_LAB_HOME")
    if home:
        return QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("EmotionLab", "Emotion Lab")


class MainWindow(QMainWindow):
    """Emotion Lab. Shows at once; call models.start_loading() to load the model in the background."""

    def __init__(self, spec: str = "embedded", settings: QSettings | None = None, db_path: Path | None = None,
                 calibrate_range: bool = False) -> None:
        """calibrate_range: measure a model's useful steering range after loading it, unless cached."""
        super().__init__()
        self.setWindowTitle("Emotion Lab")
        self.estimate: TimeLeft | None = None
        self.settings = settings if settings is not None else app_settings()
        self.theme = Theme(QApplication.instance())
        self.errors = ErrorFunnel(self)
        self.state = LabState(self)
        self.runner = ModelRunner(self.errors, self)
        self.recorder = self._open_recorder(db_path)

        self.emotions = EmotionPanel(self.state.steering)
        self.sampling = SamplingPanel()
        self._build_tabs()
        self.session_actions = SessionActions(self.state, self.runner, self.recorder, self.errors, self.chat,
                                              self.compare, self.tabs)
        self.presets = PresetFiles(self.state, self.errors, self)
        self._lessons_dialog = None  # Help → Lessons, made when first opened
        self.setCentralWidget(self.tabs)
        self.help = HelpPanel()
        self._build_docks()
        self._build_status_bar()
        self._build_actions(spec)
        self.models = ModelLoader(self.state, self.runner, self.model_picker, spec, calibrate_range, self)
        # Model menu: train the feeling away, the adapter switch
        self.suppression = SuppressionActions(self.state, self.runner, self.errors, self.model_picker, self)
        self._connect()
        self._restore_settings()

    # --- construction ------------------------------------------------------------------------

    def _open_recorder(self, db_path: Path | None) -> Recorder:
        try:
            return Recorder.open(db_path)
        except LabError as error:
            message = f"Sessions will not be recorded: {error}"
            QTimer.singleShot(0, lambda: self.errors.report(message))
            return Recorder(None)

    def _build_tabs(self) -> None:
        """Every tab, given what it works with; each speaks to the window only through its signals."""
        state, runner, recorder, errors = self.state, self.runner, self.recorder, self.errors
        self.chat = ChatTab(state, runner, recorder, self.sampling, errors)
        self.compare = CompareTab(state, runner, recorder, self.sampling, errors)
        self.editor = EditorTab(state, runner, errors)
        self.map = MapTab()
        self.sessions = SessionsTab(recorder, errors)
        self.scenarios = ScenarioBuilderTab(state, runner, recorder, errors, plotted=self.emotions.plotted)
        self.experiments = ExperimentsTab(state, runner, recorder, errors)
        self.tabs = PageTabs()
        self.tabs.setElideMode(Qt.TextElideMode.ElideNone)  # never "Sessic": names are whole or scroll
        self.tabs.setUsesScrollButtons(True)
        for widget, title in ((self.chat, "Chat"), (self.compare, "Compare"), (self.editor, "Emotion editor"),
                              (self.map, "Emotion map"), (self.sessions, "Sessions"), (self.scenarios, "Scenarios"),
                              (self.experiments, "Experiments")):
            self.tabs.addTab(widget, title)

    def _build_docks(self) -> None:
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.emotions, 1)  # the slider list takes the free height
        layout.addWidget(self.sampling)
        self.emotion_dock = QDockWidget("Emotions and steering")
        self.emotion_dock.setObjectName("emotions")
        self.emotion_dock.setWidget(left)
        features = QDockWidget.DockWidgetFeature
        self.emotion_dock.setFeatures(features.DockWidgetMovable | features.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.emotion_dock)
        self.help_dock = QDockWidget("What am I seeing?")
        self.help_dock.setObjectName("help")
        self.help_dock.setWidget(self.help)
        self.help.setMinimumWidth(HELP_MIN_WIDTH)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.help_dock)
        self.resizeDocks([self.emotion_dock, self.help_dock], [340, HELP_MIN_WIDTH], Qt.Orientation.Horizontal)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("Starting…")
        self.progress = QProgressBar(maximumWidth=240)
        self.progress.hide()
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop what the model is doing (Esc)")
        self.cancel_button.clicked.connect(self.runner.stop)
        self.cancel_button.hide()
        for widget in (self.progress, self.cancel_button):  # showing them must not resize the window's contents
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        bar = self.statusBar()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)

    def _action(self, text: str, slot=None, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        """slot None: connected in _connect (its controller is made after the menus)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self, spec: str) -> None:
        self.new_action = self._action("&New conversation", self.session_actions.new_session, "Ctrl+N",
                                       "Start a new conversation (and a new recorded session)")
        self.raw_action = self._action("Show &raw readings (push included)", self.set_raw_readings, None,
                                       "Show readings with the steering push left in (default: push removed)")
        self.raw_action.setCheckable(True)
        self.load_preset_action = self._action("&Load preset…", self.presets.load_dialog, "Ctrl+O")
        self.save_preset_action = self._action("&Save preset…", self.presets.save_dialog, "Ctrl+S")
        self.reload_action = self._action("&Reload model", None, None, "Load the model again")
        self.imported_action = self._action("&Imported emotions…", self.show_imported_emotions, None,
                                            "List or remove the emotions imported for the loaded model")
        quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.send_action = self._action("&Send", self.send, "Ctrl+Return",
                                        "Send the message (Chat) or run the comparison (Compare)")
        self.stop_action = self._action("S&top", self.runner.stop, "Esc", "Stop the model")
        self.regenerate_action = self._action("&Regenerate", self.chat.regenerate, "Ctrl+R")
        self.edit_last_action = self._action("&Edit last message", self._edit_last, "Ctrl+E",
                                             "Take back the last message and its answer to change and resend it")
        self.presentation_action = self._action("&Presentation mode", self.set_presentation, "Ctrl+Shift+P",
                                                "Large fonts and high contrast for projectors")
        self.presentation_action.setCheckable(True)
        help_action = self.help_dock.toggleViewAction()
        help_action.setText("&What am I seeing?")
        help_action.setShortcut(QKeySequence("F1"))
        self.validation_action = self._action("&Does this lab work on this model?", self.show_validation, None,
                                              "How well the loaded model's readings and steering were validated")
        about_action = self._action("&About Emotion Lab", self._about)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in (self.new_action, self.load_preset_action, self.save_preset_action, self.reload_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.model_picker = ModelPicker(self.settings, self.state, self.runner,
                                        [self.imported_action, self.reload_action], spec, self)
        menus.addMenu(self.model_picker.menu)
        generate_menu = menus.addMenu("&Generate")
        for action in (self.send_action, self.stop_action, self.regenerate_action, self.edit_last_action):
            generate_menu.addAction(action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.presentation_action)
        view_menu.addAction(self.raw_action)
        view_menu.addAction(self.emotion_dock.toggleViewAction())
        view_menu.addAction(help_action)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(help_action)
        help_menu.addAction(self.validation_action)
        help_menu.addAction(self._action("&Lessons: what shows on this model?", lambda: self.lessons_dialog.show_page(), None,
                                         "Every lesson's claim and its verdict on the loaded model, in plain words"))
        help_menu.addAction(about_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(self.model_picker.button)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Colour tokens by: "))
        self.tint = QComboBox(minimumContentsLength=12)
        self.tint.setToolTip("Which emotion's reading tints the tokens in the transcripts")
        toolbar.addWidget(self.tint)
        toolbar.addSeparator()
        toolbar.addAction(self.presentation_action)
        toolbar.addAction(help_action)
        self.addToolBar(toolbar)

    def _connect(self) -> None:
        self.runner.busy_changed.connect(self._busy_changed)
        self.runner.status.connect(self._status)
        self.runner.progress.connect(self._progress)
        self.chat.new_button.clicked.connect(self.session_actions.new_session)
        self.session_actions.status.connect(self.status_label.setText)
        self.reload_action.triggered.connect(self.models.start_loading)
        self.model_picker.open_requested.connect(self.models.open_model)
        self.model_picker.precision_changed.connect(self.models.reopen)
        for controller in (self.models, self.suppression):
            controller.status.connect(self.status_label.setText)
            controller.long_job_started.connect(self._start_estimate)
        self.models.model_replaced.connect(self._model_replaced)
        self.models.strength_range_changed.connect(self._strength_range_changed)
        self.suppression.model_changed.connect(self.session_actions.new_session)
        self.sampling.message.connect(self.notice)
        self.emotions.message.connect(self.notice)
        self._estimate_timer = QTimer(self, interval=1000)
        self._estimate_timer.timeout.connect(self._show_estimate)
        self.errors.reported.connect(lambda message: self.status_label.setText(message.splitlines()[0]))
        self.chat.status_message.connect(self.status_label.setText)
        self.compare.status_message.connect(self.status_label.setText)
        self.sessions.continue_requested.connect(self.session_actions.continue_session)
        self.sessions.rerun_requested.connect(self.session_actions.rerun_session)
        self.experiments.session_requested.connect(self._open_session)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.state.engine_changed.connect(self._engine_changed)
        self.emotions.plotted_changed.connect(self._plotted_changed)
        self.emotions.save_button.clicked.connect(self.presets.save_dialog)
        self.emotions.load_button.clicked.connect(self.presets.load_dialog)
        self.tint.currentTextChanged.connect(self._tint_changed)

    # --- model -------------------------------------------------------------------------------

    def _model_replaced(self) -> None:
        """Another model answers from now on: the conversation and its recording belonged to the previous one."""
        self.chat.new_conversation()
        self.recorder.new_chat()

    def _strength_range_changed(self, strength_range: StrengthRange) -> None:
        """The loaded model's coherence cliff: the sliders end there, sweeps are warned beyond it."""
        self.emotions.set_strength_range(strength_range)
        self.experiments.setup.set_cliff(strength_range.cliff)

    def _start_estimate(self) -> None:
        self.estimate = TimeLeft()
        self._estimate_timer.start()

    def _status(self, text: str) -> None:
        if self.estimate is not None:
            self.estimate.set_status(text)
        self.status_label.setText(text)

    def _show_estimate(self) -> None:
        if self.estimate is None or not self.runner.busy:
            self._estimate_timer.stop()
            self.estimate = None
            return
        self.status_label.setText(self.estimate.text())

    def _engine_changed(self) -> None:
        engine = self.state.engine
        assert engine is not None
        emotions = engine.directions.emotions
        if self.emotions.rows:  # directions re-extracted: keep the current choice
            wanted = self.emotions.plotted()
        else:
            wanted = self.settings.value("plotted", list(DEFAULT_PLOTTED), type=list)
        plotted = [e for e in wanted if e in emotions] or emotions[:4]
        self.emotions.set_directions(engine.directions, plotted)
        self._plotted_changed(self.emotions.plotted())
        tint = self.tint.currentText() or str(self.settings.value("tint", DEFAULT_TINT))
        self.tint.blockSignals(True)
        self.tint.clear()
        self.tint.addItems(emotions)
        self.tint.blockSignals(False)
        self.tint.setCurrentText(tint if tint in emotions else emotions[0])
        self._tint_changed(self.tint.currentText())
        self.map.chart.show_directions(engine.directions)

    # --- actions -----------------------------------------------------------------------------

    def send(self) -> None:
        """Ctrl+Enter: send in Chat, run in Compare."""
        if self.tabs.currentWidget() is self.compare:
            self.compare.run()
        else:
            self.tabs.setCurrentWidget(self.chat)
            self.chat.send()

    def show_imported_emotions(self) -> ImportedEmotionsDialog | None:
        """The loaded model's imported emotions; removing one re-reads the directions without it."""
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; look at its imported emotions when it is ready.")
            return None
        dialog = ImportedEmotionsDialog(engine.lm.identity, engine.lm.spec, self.errors, self)
        dialog.removed.connect(lambda _name: self.editor.extract())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @property
    def lessons_dialog(self):
        """Help → Lessons: every lesson and the loaded model's verdicts (ui.help.lessons_page)."""
        if self._lessons_dialog is None:
            from ui.help.lessons_page import LessonsDialog

            self._lessons_dialog = LessonsDialog(self.state, self.runner, self.errors, self.suppression.train, self)
        return self._lessons_dialog

    @property
    def lessons_page(self):
        return self.lessons_dialog.page

    def show_validation(self) -> ValidationPage | None:
        """The validation report of the loaded model (quick part at once; the long part on request)."""
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; open this page when it is ready.")
            return None
        page = ValidationPage(engine, self.runner, self.errors, self)
        page.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        page.show()
        return page

    def _edit_last(self) -> None:
        self.tabs.setCurrentWidget(self.chat)
        self.chat.edit_last()

    def set_presentation(self, on: bool) -> None:
        """Full screen, type that scales with the screen (ui.widgets.theme.presentation_pixels), high contrast;
        compact rows so many sliders fit (the sampling settings and the help panel step aside; F1 still
        opens the help)."""
        was_on = self.theme.presentation
        self.presentation_action.setChecked(on)
        self.sampling.setVisible(not on)
        if on and not was_on:
            self._help_was_visible = self.help_dock.isVisible()
            self.help_dock.hide()
        elif was_on and not on:
            self.help_dock.setVisible(getattr(self, "_help_was_visible", True))
        screen = self.screen() or QApplication.primaryScreen()
        self._apply_type(on, screen.geometry().height() if on else self.height())
        for splitter in (*self.chat.findChildren(QSplitter), *self.compare.findChildren(QSplitter)):
            if splitter.orientation() == Qt.Orientation.Vertical and splitter.count() == 2:
                splitter.setSizes([500, 500] if on else [600, 400])  # presentation: words and plot alike
        full = Qt.WindowState.WindowFullScreen
        if on and not was_on:
            self._normal_geometry = self.saveGeometry()
            self._was_maximised = bool(self.windowState() & Qt.WindowState.WindowMaximized)
            self.setGeometry(screen.geometry())  # also where no window manager handles full screen
            self.setWindowState(self.windowState() | full)
        elif was_on and not on:
            self.setWindowState(self.windowState() & ~full)
            if getattr(self, "_was_maximised", True):
                self.maximise()
            else:
                self.restoreGeometry(getattr(self, "_normal_geometry", self.saveGeometry()))
            self.resizeDocks([self.emotion_dock], [self.emotion_dock.widget().minimumSizeHint().width()],
                             Qt.Orientation.Horizontal)  # back to its normal width

    def _apply_type(self, on: bool, height: int) -> None:
        """Type sizes for a (full-screen) window `height` pixels tall, everywhere: widgets, sliders, charts."""
        self.theme.set_presentation(on, height)
        self.emotion_dock.setStyleSheet(compact_style(self.theme.pixels) if on else "")
        for dock in (self.emotion_dock, self.help_dock):  # the style draws dock titles small: a label instead
            dock.setTitleBarWidget(QLabel(f" {dock.windowTitle()}", objectName="dock-title") if on else None)
        self.emotions.set_compact(on)
        for chart in (self.chat.plot, self.compare.plot, self.sessions.plot, self.editor.chart, self.map.chart,
                      self.scenarios.chart, self.experiments.chart):
            chart.set_presentation(on, self.theme.pixels)
        for view in (self.chat.transcript, *self.compare.views, self.sessions.transcript):
            view.set_dark(on)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Presentation type follows the full-screen window's height (a projector's resolution)."""
        super().resizeEvent(event)
        if self.theme.presentation and presentation_pixels(self.height()) != presentation_pixels(event.oldSize().height()):
            self._apply_type(True, self.height())

    def _about(self) -> None:
        QMessageBox.about(self, "About Emotion Lab", f"<b>Emotion Lab {__version__}</b><p>Watch and steer the emotion "
                          "readings of a small language model running on this computer.</p>")

    # --- reactions ---------------------------------------------------------------------------

    def _busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy and self.runner.cancellable)

    def _progress(self, done: int, total: int) -> None:
        """total 0: amount unknown (a moving 'busy' bar)."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if self.estimate is not None:
            self.estimate.set_progress(done, total)

    def notice(self, message: str) -> None:
        """A value was corrected or refused: say so in the status bar, visibly, for a while."""
        self.status_label.setText(message)
        self.status_label.setStyleSheet("QLabel { font-weight: bold; }")
        QTimer.singleShot(6000, lambda: self.status_label.setStyleSheet(""))

    def set_raw_readings(self, raw: bool) -> None:
        """Show readings with the steering push included (raw) or removed (the default) everywhere."""
        self.raw_action.setChecked(raw)
        for view in (self.chat.transcript, *self.compare.views, self.sessions.transcript):
            view.set_raw(raw)
        for plot in (self.chat.plot, self.compare.plot):
            plot.set_raw(raw)

    def _plotted_changed(self, emotions: list[str]) -> None:
        all_emotions = self.state.emotions
        for plot in (self.chat.plot, self.compare.plot):
            plot.set_emotions(all_emotions, emotions)
        self.sessions.set_plotted(emotions)

    def _tint_changed(self, emotion: str) -> None:
        if not emotion:
            return
        for view in (self.chat.transcript, *self.compare.views, self.sessions.transcript):
            view.set_tint(emotion)

    def _open_session(self, session_id: int) -> None:
        """Experiments → a run's recorded session, opened in the Sessions tab."""
        self.tabs.setCurrentWidget(self.sessions)  # refreshes the list first
        self.sessions.open_session(session_id)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.sessions:
            self.sessions.refresh()

    # --- settings and closing ----------------------------------------------------------------

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry) or self._small_for_screen():
            self.maximise()
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.sampling.restore(s)
        self.experiments.setup.restore(s)
        self.sessions.restore_columns(s)
        self.state.set_system_prompt(str(s.value("system_prompt", "")))
        self.set_raw_readings(s.value("raw_readings", False, type=bool))
        if s.value("presentation", False, type=bool):
            self.set_presentation(True)

    def _small_for_screen(self) -> bool:
        """A saved normal window much smaller than this screen (saved on a smaller one), or not on it."""
        if self.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            return False
        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        frame = self.geometry()
        return (frame.width() < SMALL_RESTORE * screen.width() or frame.height() < SMALL_RESTORE * screen.height()
                or not screen.contains(frame.center()))

    def maximise(self) -> None:
        """Fill the screen's free area (also where no window manager maximises windows)."""
        self.setGeometry((self.screen() or QApplication.primaryScreen()).availableGeometry())
        self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def save_settings(self) -> None:
        s = self.settings
        normal = getattr(self, "_normal_geometry", None) if self.theme.presentation else None
        s.setValue("window/geometry", normal if normal is not None else self.saveGeometry())  # not the full screen
        s.setValue("window/state", self.saveState())
        self.sampling.save(s)
        self.experiments.setup.save(s)
        self.sessions.save_columns(s)
        s.setValue("system_prompt", self.state.system_prompt)
        s.setValue("presentation", self.theme.presentation)
        s.setValue("raw_readings", self.raw_action.isChecked())
        if self.tint.currentText():
            s.setValue("tint", self.tint.currentText())
        if self.emotions.rows:
            s.setValue("plotted", self.emotions.plotted())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save settings, stop the model cleanly, finish the recorded session (interrupted if cut off mid-answer)."""
        self.save_settings()
        if self.theme.presentation:
            self.theme.set_presentation(False)
        self.hide()
        answering = self.chat.generating
        self.runner.shutdown()
        self.recorder.close(interrupted=answering)
        event.accept()
