"""Start the Emotion Lab app: `python -m ui` (or `python -m ui --bench --json`)."""
from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui", description="Emotion Lab desktop app")
    parser.add_argument("--model", default="embedded", help="'embedded', a model folder, a .gguf file or a hub id")
    parser.add_argument("--bench", action="store_true", help="measure UI responsiveness offscreen and exit")
    parser.add_argument("--json", action="store_true", help="with --bench: print one JSON object")
    parser.add_argument("--tokens", type=int, default=40, help="with --bench: tokens to generate")
    args = parser.parse_args(argv)
    if args.bench:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.shell.qt_check import window_problem

    problem = window_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    app.setApplicationName("Emotion Lab")
    app.setOrganizationName("EmotionLab")
    if args.bench:
        from ui.shell.bench import run_bench

        return run_bench(args.model, args.tokens, args.json)

    from ui.shell.main_window import MainWindow

    window = MainWindow(args.model, calibrate_range=True)
    window.errors.install_excepthook()
    window.show()
    window.models.start_loading()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
