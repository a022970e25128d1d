"""The headless command line: `python -m lab COMMAND ...`. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from lab.cli.catalogue import add_models_command
from lab.cli import numbers
from lab.cli.lessons import add_lessons_command
from lab.cli.scenarios import add_scenario_commands
from lab.cli.suppress import add_suppress_command
from lab.common.atomic import write_text
from lab.cli.funnel import report
from lab.common.errors import LabError, write_line
from lab.common.paths import user_data_dir
from lab.common.progress import TerminalProgress
from lab.common.safe_text import for_terminal, one_line

Handler = Callable[[argparse.Namespace], int]


def _engine(args: argparse.Namespace):
    from lab.cli.models import engine_options, open_cli_engine

    return open_cli_engine(args.model, args.method, args.dtype, **engine_options(args))


def cmd_emotions(args: argparse.Namespace) -> int:
    from lab.emotions.evaluation import accuracy_summary, overall_summary

    directions = _engine(args).directions
    layer = directions.reading_layer
    rows = [
        {"emotion": name, "kind": directions.kind(name), "layer": layer, "accuracy": accuracy_summary(directions, name),
         "evaluation": directions.evaluation().get("emotions", {}).get(name), "description": directions.descriptions.get(name, "")}
        for name in directions.emotions
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"Reading layer {layer} of {directions.depth}, chosen on held-out texts. Counts with 95% intervals:")
    for line in overall_summary(directions):
        print(f"  {line}")
    for row in rows:
        print(f"  {row['emotion']:<12} {row['kind']:<9} {row['accuracy']}")
    return 0


def _read_lines(path: str) -> list[str]:
    from lab.common.limits import TEXT_FILE_BYTES, read_text

    lines = [line.strip() for line in read_text(Path(path), TEXT_FILE_BYTES, "text file").splitlines() if line.strip()]
    if not lines:
        raise LabError(f"{path} holds no text. Put one text per line.")
    return lines


DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")
READ_ACTIONS = ("list", "show", "export", "report", "compare")  # sessions actions that never write


def _open_store(args: argparse.Namespace, read_only: bool = False):
    from lab.store.lab_file import open_store

    return open_store(args.db, wal=not args.no_wal, read_only=read_only or getattr(args, "read_only", False))


@contextlib.contextmanager
def _maybe_recording(args: argparse.Namespace, engine, title: str, sampling):
    """A session recorder, or None with --no-record."""
    if args.no_record:
        yield None
        return
    from lab.store.recording import start_recording

    with _open_store(args) as store, start_recording(store, engine, title, sampling) as recorder:
        yield recorder
        recorder.finish()
        print(f"Recorded as session {recorder.session_id} in {store.path}.", file=sys.stderr)


def cmd_read(args: argparse.Namespace) -> int:
    from lab.runtime.events import SamplingSettings, TokenEvent
    from lab.runtime.reading import read_text, readings_dict

    texts = _read_lines(args.file)
    engine = _engine(args)
    with _maybe_recording(args, engine, f"read {Path(args.file).name}", SamplingSettings(max_new_tokens=0)) as recorder:
        for text in texts:
            result = read_text(engine.lm, engine.directions, text)
            if recorder is not None:
                recorder.begin_turn("text", text)
                for position, (token_id, values) in enumerate(zip(result.token_ids, result.per_token), start=1):
                    piece = engine.lm.tokenizer.decode([token_id])
                    recorder.add_token(TokenEvent(0, position, token_id, piece, True, readings_dict(engine.directions, values)))
                recorder.end_turn()
            _print_reading(args, text, result)
    return 0


def _print_reading(args: argparse.Namespace, text: str, result) -> None:
    """The text's label ("no clear emotion" when none stands out) and its three strongest readings."""
    if args.json:
        print(json.dumps({"text": text, "readings": result.readings, "top": result.top}), flush=True)
    else:
        strongest = sorted(result.readings.items(), key=lambda kv: -kv[1])[:3]
        print(f"[{result.top}] {text}\n    " + "  ".join(f"{k} {v:+.2f}" for k, v in strongest), flush=True)


def _switch_adapter_on(engine, name: str) -> None:
    """Answer with the loaded model's adapter `name` (trained by `suppress`); recorded in the session's runtime."""
    from lab.model.adapter import adapter_path, load_adapter

    if engine.backend != "local":
        raise LabError("Adapters run on the local engine. Leave out --engine nnsight.")
    path = adapter_path(engine.lm.identity, name)
    if not path.is_file():
        raise LabError(f"There is no adapter '{name}' for this model. Train one with `python -m lab suppress` (it saves suppress-EMOTION and control-EMOTION).")
    load_adapter(engine.lm, path)


def cmd_generate(args: argparse.Namespace) -> int:
    from lab.runtime.events import SamplingSettings
    from lab.store.recording import recorded
    from lab.runtime.steering import SteeringState, parse_steer

    engine = _engine(args)
    if args.adapter:
        _switch_adapter_on(engine, args.adapter)
    steering = SteeringState(engine.directions)
    steering.set_all(parse_steer(args.steer))
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [{"role": "user", "content": args.prompt}]
    settings = SamplingSettings(temperature=args.temperature, top_p=args.top_p, seed=args.seed, max_new_tokens=args.max_new_tokens)
    pieces: list[str] = []
    with _maybe_recording(args, engine, args.prompt[:60], settings) as recorder:
        events = engine.generate(engine.chat_ids(messages), steering, settings)
        if recorder is not None:
            for message in messages:
                recorder.begin_turn(message["role"], message["content"])
            recorder.begin_turn("assistant")
            events = recorded(recorder, events, steering.layers)
        for event in events:
            if event.is_prompt:
                continue
            pieces.append(event.text)
            if args.json:
                readings = event.shown_readings(raw=args.raw)
                print(json.dumps({"text": event.text, "readings": readings, "readings_kind": "raw" if args.raw else "push-free"}), flush=True)
            else:
                print(event.text, end="", flush=True)
        reply = "".join(pieces)
        if recorder is not None:
            recorder.end_turn(reply)
    if args.json:
        print(json.dumps({"reply": reply, "steering": steering.strengths(), "tokens": len(pieces)}))
    else:
        print()
    return 0


def cmd_add_emotion(args: argparse.Namespace) -> int:
    from lab.emotions.definitions import user_emotion_added

    with user_emotion_added(args.name, _read_lines(args.examples), args.description or "") as emotion:
        from lab.emotions.evaluation import accuracy_summary

        directions = _engine(args).directions
    print(f"Added '{emotion.name}' ({len(emotion.examples)} examples), recognised at layer {directions.reading_layer}: {accuracy_summary(directions, emotion.name)}.")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Everything the instrument can be checked on for the loaded model, as HTML and/or JSON."""
    from lab.diagnostics.validation_report import build_report, precision_text, render_html

    engine = _engine(args)
    report = build_report(engine, seeds=args.seeds, lessons=not args.no_lessons, efficacy=not args.no_steering, progress=TerminalProgress())
    if args.out:
        write_text(Path(args.out), render_html(report))
        print(f"Wrote {args.out}.", file=sys.stderr)
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "map_png"}))
    else:
        print(precision_text(report["precision"]))
        for line in report["summary"]:
            print(line)
        for axis in report["map"]["axes"]:
            print(f"map axis: {axis['label']}")
        for row in report.get("steering_efficacy", []):
            print(f"steering {row['emotion']}: raised on {row['rate']}")
        for lesson in report.get("lessons", []):
            print(lesson["summary"])
    return 0


def cmd_token_readings(args: argparse.Namespace) -> int:
    """Per-token readings of emotion words against human ratings, and what the token tint shows."""
    from lab.diagnostics.token_readings import measure, report_lines

    engine = _engine(args)
    result = measure(engine.lm, engine.directions)
    print(json.dumps(result) if args.json else "\n".join(report_lines(result)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    engine = _engine(args)
    directions = engine.directions
    if out.suffix.lower() == ".gguf":
        from lab.emotions.control_vectors import export_control_vector

        if not args.emotion:
            raise LabError("A GGUF control vector holds one emotion: add --emotion NAME (and optionally --strength).")
        i = directions.index(args.emotion)
        vectors = {layer: directions.vectors[layer, i] * directions.layer_norms[layer] * args.strength for layer in directions.steering_layers}
        export_control_vector(out, vectors, engine.lm.family)
        print(f"Wrote {out}: '{args.emotion}' on layers {min(vectors)}-{max(vectors)}. In llama.cpp: --control-vector-scaled {out} 0.05")
    else:
        from lab.emotions.direction_file import save_directions

        save_directions(directions, out)
        print(f"Wrote {out}: {len(directions.emotions)} emotions, {directions.depth} layers, reading layer {directions.reading_layer}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import emotions for the loaded model, list them, or remove one; nothing is written unless it fits."""
    from lab.emotions.library import load_or_extract
    from lab.cli.models import load_cli_model
    from lab.emotions.imported import ModelShape, list_imported, remove_imported

    if not (args.file or args.list or args.remove):
        raise LabError("Give a file to import, or --list, or --remove NAME.")
    lm = load_cli_model(args.model, args.dtype)
    shape = ModelShape(lm.identity, lm.depth, lm.width)
    if args.list:
        entries = list_imported(lm.identity)
        for entry in entries:
            print(f"{one_line(entry.name):<20} {'set aside (does not read; remove it)' if entry.quarantined else 'imported'}")
        if not entries:
            print(f"No imported emotions for {lm.spec}.")
        return 0
    if args.remove:
        path = remove_imported(args.remove, lm.identity)
        print(f"Removed the imported emotion '{path.stem}'.")
        return 0
    names = _import_files(Path(args.file), args.name, shape)
    directions = load_or_extract(lm, args.method, TerminalProgress())
    print(f"Imported {', '.join(names)}; the set now has {len(directions.emotions)} emotions.")
    return 0


def _import_files(path: Path, name: str | None, shape) -> list[str]:
    """Read, name-check and fit-check every emotion in `path`, then store them all."""
    from lab.common.names import check_name
    from lab.emotions.control_vectors import read_control_vector
    from lab.emotions.definitions import load_emotions
    from lab.emotions.imported import check_fits, read_direction_file, save_imported

    if not path.is_file():
        raise LabError(f"No such file: {path}.")
    if path.suffix.lower() == ".gguf":
        found = {check_name(name or path.stem): read_control_vector(path)}
    else:
        found = {check_name(n): v for n, v in read_direction_file(path, [name] if name else None).items()}
    taken = {e.name for e in load_emotions()}
    for emotion, vectors in found.items():
        if emotion in taken:
            raise LabError(f"'{emotion}' is already an emotion of the lab. Import it under another name with --name.")
        check_fits(vectors, shape, path.name)
    for emotion, vectors in found.items():
        save_imported(emotion, vectors, str(path), shape)
    return list(found)


def cmd_bench(args: argparse.Namespace) -> int:
    from lab.diagnostics.bench import run_benchmarks

    results = run_benchmarks(args.model, rounds=args.rounds)
    print(json.dumps(results) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in results.items()))
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from lab.store.export import export_session, import_json

    with _open_store(args, read_only=args.action in READ_ACTIONS) as store:
        if args.action == "list":
            for summary in store.list_sessions(args.search):
                print(f"{summary.id:>5}  {one_line(summary.created[:19])}  {one_line(summary.status):<11}  {one_line(summary.title)}")
        elif args.action == "show":
            from lab.store.export import to_markdown

            print(to_markdown(store.load_session(_session_id(args))))
        elif args.action in ("export", "report"):
            out = Path(_require(args.out, "an output file (OUT)"))
            if args.action == "report" and out.suffix.lower() not in (".html", ".htm"):
                out = out.with_suffix(".html")
            export_session(store.load_session(_session_id(args), raw=True), out, emotion=args.emotion)
            print(f"Wrote {out}.")
        elif args.action == "import":
            new_id = import_json(store, Path(_require(args.target, "a JSON export to import")))
            print(f"Imported as session {new_id}.")
        elif args.action == "rerun":
            _rerun(args, store, _session_id(args))
        elif args.action == "delete":
            store.delete_session(_session_id(args))
            print(f"Deleted session {args.target}.")
        elif args.action == "compare":
            from lab.store.records import compare_sessions

            emotion = args.emotion
            pairs = compare_sessions(store.load_session(_session_id(args)), store.load_session(_session_id(args, args.out)))
            for pair in pairs:
                a = pair.a.text if pair.a else ""
                b = pair.b.text if pair.b else ""
                diff = pair.difference(emotion) if emotion else None
                print(f"{pair.turn:>3} {pair.index:>4}  {a!r:<18} {b!r:<18}" + (f" {emotion} diff {diff:+.2f}" if diff is not None else ""))
    return 0


def _rerun(args: argparse.Namespace, store, session_id: int) -> None:
    """Generate a recorded session's first reply again (same seed; recorded or --steer steering)."""
    from lab.store.recording import recorded, start_recording
    from lab.store.replay import replay_plan, rerun
    from lab.runtime.steering import parse_steer

    plan = replay_plan(store.load_session(session_id))
    engine = _engine(args)
    steer = parse_steer(args.steer) if args.steer else None
    with start_recording(store, engine, f"Re-run of session {session_id}", plan.sampling) as recorder:
        recorder.begin_turn("assistant")
        events = recorded(recorder, rerun(engine, plan, steer), engine.directions.steering_layers)
        reply = [e for e in events if not e.is_prompt]
        text = "".join(e.text for e in reply)
        recorder.end_turn(text)
        recorder.finish()
    same = [e.token_id for e in reply] == plan.recorded_ids
    print(text)
    print(f"Recorded as session {recorder.session_id}; tokens {'identical to' if same else 'different from'} session {session_id}.", file=sys.stderr)


def _require(value: str | None, what: str) -> str:
    if not value:
        raise LabError(f"This command needs {what}.")
    return value


def _session_id(args: argparse.Namespace, value: str | None = None) -> int:
    text = _require(value if value is not None else args.target, "a session id (see `sessions list`)")
    try:
        return int(text)
    except ValueError:
        raise LabError(f"'{text}' is not a session id; ids are numbers shown by `python -m lab sessions list`.") from None


def build_parser() -> argparse.ArgumentParser:
    parser = numbers.OneLineParser(prog="python -m lab", description="Emotion Lab: read and steer emotions in a local language model.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default="embedded", help="'embedded' (default), a model folder, a .gguf file or a hub id")
    common.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES,  # lab.model.precision's, without importing torch
                        help="model precision: auto (float32 on CPUs, bfloat16 on GPUs; EMOTION_LAB_DTYPE changes it), float32, bfloat16, float16")
    common.add_argument("--engine", default="local", choices=["local", "nnsight"],
                        help="local (default: streamed, live steering) or nnsight (one nnsight trace per reply, same results)")
    common.add_argument("--remote", action="store_true", help="run the model (a hub id) on NDIF through nnsight; needs NDIF_API_KEY")
    common.add_argument("--ndif-host", default=None, help="a self-hosted NDIF server (default: NDIF_HOST, else https://api.ndif.us)")
    common.add_argument("--method", default="mean_diff", choices=["mean_diff", "pca_diff"], help="direction extraction method")
    common.add_argument("--db", default=None, help="the lab file (SQLite) for recordings; default sessions/lab.db")
    common.add_argument("--no-record", action="store_true", help="do not record generate/read as a session")
    common.add_argument("--no-wal", action="store_true", help="use a rollback journal instead of WAL (network folders)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("emotions", parents=[common], help="list emotions with held-out accuracy and the reading layer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_emotions)

    p = sub.add_parser("read", parents=[common], help="read the emotions of each line of a text file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_read)

    p = sub.add_parser("generate", parents=[common], help="generate a reply, optionally steered, streaming readings")
    p.add_argument("prompt")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH")
    p.add_argument("--system", default="")
    p.add_argument("--max-new-tokens", type=numbers.tokens, default=64)
    p.add_argument("--seed", type=numbers.seed, default=None)
    p.add_argument("--temperature", type=numbers.temperature, default=0.0)
    p.add_argument("--top-p", type=numbers.top_p, default=1.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--raw", action="store_true", help="readings with the steering push left in (default: push-free)")
    p.add_argument("--adapter", default=None, metavar="NAME", help="answer with a LoRA adapter trained by `suppress` (e.g. suppress-desperate)")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("validate", parents=[common], help="check the instrument on the loaded model (accuracy, neutral, map, steering, lessons)")
    p.add_argument("--out", default="", help="write a self-contained HTML report here")
    p.add_argument("--json", action="store_true")
    p.add_argument("--seeds", type=numbers.count, default=None, help="seeds per lesson (default: each scenario's own)")
    p.add_argument("--no-lessons", action="store_true", help="skip the lessons (minutes)")
    p.add_argument("--no-steering", action="store_true", help="skip steering efficacy (minutes)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("token-readings", parents=[common], help="per-token readings of emotion words against human ratings; what the tint shows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_token_readings)

    p = sub.add_parser("add-emotion", parents=[common], help="add an emotion from example texts (one per line)")
    p.add_argument("name")
    p.add_argument("--examples", required=True)
    p.add_argument("--description", default="")
    p.set_defaults(handler=cmd_add_emotion)

    p = sub.add_parser("export", parents=[common], help="export directions (.safetensors native, or .gguf control vector)")
    p.add_argument("out")
    p.add_argument("--emotion")
    p.add_argument("--strength", type=numbers.strength, default=1.0)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", parents=[common], help="import a native direction file or a GGUF control vector for the model; --list, --remove NAME")
    p.add_argument("file", nargs="?")
    p.add_argument("--name", help="the emotion's name (a GGUF file), or the one emotion to take from a direction file")
    p.add_argument("--list", action="store_true", help="list the model's imported emotions")
    p.add_argument("--remove", metavar="NAME", help="remove one of the model's imported emotions")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("sessions", parents=[common], help="list, show, export, import, report, compare, rerun or delete recorded sessions")
    p.add_argument("action", choices=["list", "show", "export", "import", "report", "compare", "rerun", "delete"])
    p.add_argument("target", nargs="?", help="session id (or JSON file for import)")
    p.add_argument("out", nargs="?", help="output file (.json .csv .md .html) or, for compare, the second session id")
    p.add_argument("--search")
    p.add_argument("--emotion", help="emotion used to tint reports and compare")
    p.add_argument("--read-only", action="store_true", help="open the lab file without changing it")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH", help="rerun: steer this way instead")
    p.set_defaults(handler=cmd_sessions)

    add_scenario_commands(sub, common)
    add_lessons_command(sub, common)
    add_models_command(sub)
    add_suppress_command(sub, common)

    p = sub.add_parser("bench", parents=[common], help="measure speed (steered+read vs plain generation, load, extraction)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rounds", type=numbers.count, default=5)
    p.set_defaults(handler=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(_TerminalSafe(sys.stdout)):
        try:
            return args.handler(args)
        except KeyboardInterrupt:
            write_line("error: interrupted.")
            return 130
        except Exception as error:  # the funnel: one line for the user, a bug's traceback in a log file
            return report(error, _error_log())


def _error_log() -> Path | None:
    try:
        return user_data_dir() / "error.log"
    except OSError:
        return None


class _TerminalSafe:
    """stdout without terminal control characters, and with unencodable characters escaped."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        encoding = getattr(self._stream, "encoding", None) or "utf-8"
        safe = for_terminal(text).encode(encoding, errors="backslashreplace").decode(encoding)
        return self._stream.write(safe)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
