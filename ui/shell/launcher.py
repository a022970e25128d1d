"""The frozen app's entry point (build.spec); from source: `python -m ui.shell.launcher [options]`.

  --self-test        check the whole app headless: the core self-test (lab.diagnostics.selftest), then open the
                     main window offscreen with the loaded model and close it again; prints one JSON
                     line and exits 0, or exits 1 with the reasons in "errors"
  --time-to-window   open the main window, print one JSON line with the seconds until it was
                     visible, close it and exit (used by `make bench`)
  anything else      the normal app (ui.__main__.main)
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()  # as early as possible: --time-to-window counts from here

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

WINDOW_TIMEOUT_S = 30.0

if getattr(sys, "frozen", False):
    # PyInstaller's matplotlib run-time hook points MPLCONFIGDIR at a new temporary folder on every
    # start, so matplotlib would rebuild its font cache each time (about a second). Keep that cache
    # in the user's cache folder instead (never inside the bundle).
    from lab.common.paths import cache_dir

    os.environ["MPLCONFIGDIR"] = str(cache_dir() / "matplotlib")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" not in argv and "--time-to-window" not in argv:
        from ui.__main__ import main as app_main

        return app_main(argv)
    parser = argparse.ArgumentParser(prog="EmotionLab", description="Emotion Lab: checks for installers")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--self-test", action="store_true", help="check model, directions, recording, plots and window headless")
    mode.add_argument("--time-to-window", action="store_true", help="print the seconds until the main window is visible")
    parser.add_argument("--model", default="embedded", help="with --self-test: the model to test")
    parser.add_argument("--tokens", type=int, default=4, help="with --self-test: steered tokens to generate")
    parser.add_argument("--quiet", action="store_true", help="with --self-test: no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test(args.model, args.tokens, args.quiet)
    return time_to_window()


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Emotion Lab")
    app.setOrganizationName("EmotionLab")
    return app


def _wait_until_visible(app, window) -> bool:
    deadline = time.perf_counter() + WINDOW_TIMEOUT_S
    while time.perf_counter() < deadline:
        app.processEvents()
        handle = window.windowHandle()
        if window.isVisible() and handle is not None and handle.isExposed():
            return True
        time.sleep(0.005)
    return False


def _close(app, window) -> None:
    window.close()
    window.deleteLater()
    for _ in range(5):
        app.processEvents()


def self_test(spec: str = "embedded", tokens: int = 4, quiet: bool = False) -> int:
    """Core checks, then the main window offscreen; one JSON line on stdout; 0 only if all passed."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless: no display needed (set before QApplication)
    from lab.common.paths import is_frozen

    summary: dict[str, object] = {"self_test": "emotion-lab", "frozen": is_frozen()}
    errors: list[str] = []
    engine = None
    try:
        from lab.diagnostics.selftest import run_selftest

        report = run_selftest(spec, tokens, quiet)
        summary.update(report.summary)
        engine = report.engine
    except Exception as error:  # report every failure, then still try the window
        errors.append(_reason(error))
        if not quiet:
            traceback.print_exc()
    started = time.perf_counter()
    try:
        summary.update(_window_check(engine))
        summary["window_s"] = round(time.perf_counter() - started, 2)
    except Exception as error:
        errors.append(f"window failed: {_reason(error)}")
        if not quiet:
            traceback.print_exc()
    summary["total_s"] = round(time.perf_counter() - STARTED, 2)
    summary["ok"] = not errors
    if errors:
        summary["errors"] = errors
    print(json.dumps(summary), flush=True)
    return 0 if not errors else 1


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if type(error).__name__ == "SelfTestError" else f"{type(error).__name__}: {text}"


def _window_check(engine) -> dict[str, object]:
    """Open the main window offscreen (with the loaded engine, if any), let it settle, close it."""
    from PySide6.QtCore import QSettings

    from ui.shell.main_window import MainWindow

    app = _application()
    with tempfile.TemporaryDirectory(prefix="emotion-lab-selftest-ui-") as folder:
        settings = QSettings(str(Path(folder) / "selftest.ini"), QSettings.Format.IniFormat)
        window = MainWindow("embedded", settings=settings, db_path=Path(folder) / "window.db")
        window.show()
        if not _wait_until_visible(app, window):
            raise RuntimeError(f"the main window did not become visible within {WINDOW_TIMEOUT_S:.0f} s")
        if engine is not None:
            window.models.use_engine(engine)
        for _ in range(20):
            app.processEvents()
        messages = list(window.errors.messages)
        _close(app, window)
    if messages:
        raise RuntimeError("the window reported: " + " | ".join(messages))
    return {"window": "opened and closed", "qt_platform": app.platformName()}


def time_to_window() -> int:
    """Show the main window as `python -m ui` does; print the seconds from start until it is visible."""
    from PySide6.QtCore import QSettings

    from ui.shell.main_window import MainWindow

    app = _application()
    with tempfile.TemporaryDirectory(prefix="emotion-lab-ttw-") as folder:
        settings = QSettings(str(Path(folder) / "ttw.ini"), QSettings.Format.IniFormat)
        window = MainWindow("embedded", settings=settings, db_path=Path(folder) / "ttw.db")
        window.show()
        visible = _wait_until_visible(app, window)
        seconds = time.perf_counter() - STARTED
        print(json.dumps({"window_visible": visible, "time_to_window_s": round(seconds, 3),
                          "qt_platform": app.platformName()}), flush=True)
        _close(app, window)
    return 0 if visible else 1


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()
    sys.exit(main())
