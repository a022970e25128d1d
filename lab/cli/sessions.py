"""`sessions`: the recorded sessions of a lab file: list, show, export, report, import, compare, rerun, delete."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.cli.options import lab_file_options, open_engine, open_lab_file
from lab.common.safe_text import one_line


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `sessions ACTION ...` to the main parser's commands."""
    group = sub.add_parser("sessions", help="list, show, export, report, import, compare, rerun or delete recorded sessions",
                           description="The sessions recorded in the lab file (--db, default sessions/lab.db). "
                                       "Session ids are the numbers `sessions list` shows.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    lab_file = lab_file_options()
    read_only = argparse.ArgumentParser(add_help=False, parents=[lab_file])
    read_only.add_argument("--read-only", action="store_true", help="open the lab file without changing it (these commands never do)")

    def action(name: str, handler, help: str) -> argparse.ArgumentParser:
        """One action's parser; only `rerun` loads a model, so only it takes the model options."""
        parent = common if handler is cmd_rerun else read_only if handler in _READ_ONLY else lab_file
        p = actions.add_parser(name, parents=[parent], help=help, description=help[0].upper() + help[1:] + ".")
        p.set_defaults(handler=handler)
        return p

    p = action("list", cmd_list, "list the sessions: id, date, status, title")
    p.add_argument("--search", metavar="TEXT", help="only sessions whose title or notes hold TEXT")
    p = action("show", cmd_show, "print a session as Markdown")
    p.add_argument("session", type=session_id, metavar="ID", help="the session's id")
    for name, what in (("export", "write a session to a file (.json .csv .md .html)"), ("report", "write a session's HTML report")):
        p = action(name, cmd_export if name == "export" else cmd_report, what)
        p.add_argument("session", type=session_id, metavar="ID", help="the session's id")
        p.add_argument("out", metavar="OUT", help="the file to write" + ("; its suffix picks the format" if name == "export" else " (.html is added if missing)"))
        p.add_argument("--emotion", metavar="NAME", help="tint the tokens by this emotion")
    p = action("import", cmd_import, "add the session in a JSON export to the lab file")
    p.add_argument("file", metavar="FILE", help="a JSON export (from `sessions export ID OUT.json`)")
    p = action("compare", cmd_compare, "two sessions token by token")
    p.add_argument("first", type=session_id, metavar="FIRST", help="the first session's id")
    p.add_argument("second", type=session_id, metavar="SECOND", help="the second session's id")
    p.add_argument("--emotion", metavar="NAME", help="also print each token pair's difference in this emotion")
    p = action("rerun", cmd_rerun, "generate a session's first reply again (same seed), recorded as a new session")
    p.add_argument("session", type=session_id, metavar="ID", help="the session's id")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH", help="steer this way instead of as recorded")
    p = action("delete", cmd_delete, "delete a session")
    p.add_argument("session", type=session_id, metavar="ID", help="the session's id")


def session_id(text: str) -> int:
    """A session id from the command line (argparse type)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a session id; ids are the numbers `sessions list` shows") from None


def cmd_list(args: argparse.Namespace) -> int:
    with open_lab_file(args, read_only=True) as store:
        for summary in store.list_sessions(args.search):
            print(f"{summary.id:>5}  {one_line(summary.created[:19])}  {one_line(summary.status):<11}  {one_line(summary.title)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from lab.store.export import to_markdown

    with open_lab_file(args, read_only=True) as store:
        print(to_markdown(store.load_session(args.session)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    return _write(args, Path(args.out))


def cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out)
    return _write(args, out if out.suffix.lower() in (".html", ".htm") else out.with_suffix(".html"))


def _write(args: argparse.Namespace, out: Path) -> int:
    from lab.store.export import export_session

    with open_lab_file(args, read_only=True) as store:
        export_session(store.load_session(args.session, raw=True), out, emotion=args.emotion)
    print(f"Wrote {out}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lab.store.export import import_json

    with open_lab_file(args) as store:
        new_id = import_json(store, Path(args.file))
    print(f"Imported as session {new_id}.")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from lab.store.records import compare_sessions

    emotion = args.emotion
    with open_lab_file(args, read_only=True) as store:
        pairs = compare_sessions(store.load_session(args.first), store.load_session(args.second))
    for pair in pairs:
        a = pair.a.text if pair.a else ""
        b = pair.b.text if pair.b else ""
        diff = pair.difference(emotion) if emotion else None
        print(f"{pair.turn:>3} {pair.index:>4}  {a!r:<18} {b!r:<18}" + (f" {emotion} diff {diff:+.2f}" if diff is not None else ""))
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """Generate a recorded session's first reply again (same seed; recorded or --steer steering)."""
    from lab.runtime.steering import parse_steer
    from lab.sessions.recording import recorded, start_recording
    from lab.sessions.replay import replay_plan, rerun

    with open_lab_file(args) as store:
        plan = replay_plan(store.load_session(args.session))
        engine = open_engine(args)
        steer = parse_steer(args.steer) if args.steer else None
        with start_recording(store, engine, f"Re-run of session {args.session}", plan.sampling) as recorder:
            recorder.begin_turn("assistant")
            events = recorded(recorder, rerun(engine, plan, steer), engine.directions.steering_layers)
            reply = [e for e in events if not e.is_prompt]
            text = "".join(e.text for e in reply)
            recorder.end_turn(text)
            recorder.finish()
    same = [e.token_id for e in reply] == plan.recorded_ids
    print(text)
    print(f"Recorded as session {recorder.session_id}; tokens {'identical to' if same else 'different from'} session {args.session}.", file=sys.stderr)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with open_lab_file(args) as store:
        store.delete_session(args.session)
    print(f"Deleted session {args.session}.")
    return 0


_READ_ONLY = (cmd_list, cmd_show, cmd_export, cmd_report, cmd_compare)  # actions that never write: they take --read-only
