"""The headless command line: `python -m lab COMMAND ...`. Errors are one line on stderr, never a traceback."""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from lab.errors import LabError
from lab.paths import user_data_dir
from lab.progress import TerminalProgress

Handler = Callable[[argparse.Namespace], int]


def _engine(args: argparse.Namespace):
    from lab.engine import open_engine

    return open_engine(args.model, args.method, TerminalProgress())


def cmd_emotions(args: argparse.Namespace) -> int:
    directions = _engine(args).directions
    layer = directions.reading_layer
    imported = set(directions.extras.get("imported", []))
    builtin = set(directions.extras.get("builtin", []))
    rows = []
    for i, name in enumerate(directions.emotions):
        kind = "imported" if name in imported else "built-in" if name in builtin else "user"
        accuracy = None if name in imported else round(float(directions.accuracy[layer, i]), 3)
        rows.append({"emotion": name, "kind": kind, "held_out_accuracy": accuracy, "layer": layer, "description": directions.descriptions.get(name, "")})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    validated_columns = [i for i, name in enumerate(directions.emotions) if name not in imported]
    overall = float(directions.accuracy[layer, validated_columns].mean())
    validated = len(rows) - len(imported)
    print(f"Reading layer {layer} of {directions.depth}, chosen by held-out accuracy ({overall:.0%} over {validated} emotions; chance is {1 / max(1, validated):.0%}).")
    for row in rows:
        accuracy = "not validated" if row["held_out_accuracy"] is None else f"{row['held_out_accuracy']:.0%}"
        print(f"  {row['emotion']:<12} {row['kind']:<9} held-out accuracy {accuracy}")
    return 0


def _read_lines(path: str) -> list[str]:
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise LabError(f"Cannot read {path}: {error.strerror if isinstance(error, OSError) else 'not UTF-8 text'}. Give a UTF-8 text file with one text per line.") from error
    if not lines:
        raise LabError(f"{path} holds no text. Put one text per line.")
    return lines


def cmd_read(args: argparse.Namespace) -> int:
    from lab.reading import read_text

    texts = _read_lines(args.file)
    engine = _engine(args)
    for text in texts:
        result = read_text(engine.lm, engine.directions, text)
        if args.json:
            print(json.dumps({"text": text, "readings": result.readings, "top": result.top}), flush=True)
        else:
            strongest = sorted(result.readings.items(), key=lambda kv: -kv[1])[:3]
            print(f"[{result.top}] {text}\n    " + "  ".join(f"{k} {v:+.2f}" for k, v in strongest), flush=True)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from lab.events import SamplingSettings
    from lab.generate import generate
    from lab.steering import SteeringState, parse_steer

    engine = _engine(args)
    steering = SteeringState(engine.directions)
    steering.set_all(parse_steer(args.steer))
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [{"role": "user", "content": args.prompt}]
    settings = SamplingSettings(temperature=args.temperature, top_p=args.top_p, seed=args.seed, max_new_tokens=args.max_new_tokens)
    pieces: list[str] = []
    for event in generate(engine.lm, engine.directions, engine.chat_ids(messages), steering, settings):
        if event.is_prompt:
            continue
        pieces.append(event.text)
        if args.json:
            print(json.dumps({"text": event.text, "readings": event.readings}), flush=True)
        else:
            print(event.text, end="", flush=True)
    reply = "".join(pieces)
    if args.json:
        print(json.dumps({"reply": reply, "steering": steering.strengths(), "tokens": len(pieces)}))
    else:
        print()
    return 0


def cmd_add_emotion(args: argparse.Namespace) -> int:
    from lab.emotions import save_user_emotion

    emotion = save_user_emotion(args.name, _read_lines(args.examples), args.description or "")
    directions = _engine(args).directions
    i = directions.index(emotion.name)
    print(f"Added '{emotion.name}' ({len(emotion.examples)} examples). Held-out accuracy at layer {directions.reading_layer}: {float(directions.accuracy[directions.reading_layer, i]):.0%}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    engine = _engine(args)
    directions = engine.directions
    if out.suffix.lower() == ".gguf":
        from lab.control_vectors import export_control_vector

        if not args.emotion:
            raise LabError("A GGUF control vector holds one emotion: add --emotion NAME (and optionally --strength).")
        i = directions.index(args.emotion)
        vectors = {layer: directions.vectors[layer, i] * directions.layer_norms[layer] * args.strength for layer in directions.steering_layers}
        export_control_vector(out, vectors, engine.lm.family)
        print(f"Wrote {out}: '{args.emotion}' on layers {min(vectors)}-{max(vectors)}. In llama.cpp: --control-vector-scaled {out} 0.05")
    else:
        directions.save(out)
        print(f"Wrote {out}: {len(directions.emotions)} emotions, {directions.depth} layers, reading layer {directions.reading_layer}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lab.control_vectors import read_control_vector, save_imported
    from lab.directions import DirectionSet

    path = Path(args.file)
    if not path.is_file():
        raise LabError(f"No such file: {path}.")
    if path.suffix.lower() == ".gguf":
        name = (args.name or path.stem).lower()
        save_imported(name, read_control_vector(path), str(path))
        names = [name]
    else:
        source = DirectionSet.load(path)
        names = [n for n in ([args.name] if args.name else source.emotions)]
        for name in names:
            i = source.index(name)
            save_imported(name, {layer: source.vectors[layer, i] for layer in range(source.depth)}, str(path))
    directions = _engine(args).directions
    print(f"Imported {', '.join(names)}; the set now has {len(directions.emotions)} emotions.")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from lab.bench import run_benchmarks

    results = run_benchmarks(args.model, rounds=args.rounds)
    print(json.dumps(results) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in results.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description="Emotion Lab: read and steer emotions in a local language model.")
    parser.add_argument("--model", default="embedded", help="'embedded' (default), a model folder, a .gguf file or a hub id")
    parser.add_argument("--method", default="mean_diff", choices=["mean_diff", "pca_diff"], help="direction extraction method")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("emotions", help="list emotions with held-out accuracy and the reading layer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_emotions)

    p = sub.add_parser("read", help="read the emotions of each line of a text file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_read)

    p = sub.add_parser("generate", help="generate a reply, optionally steered, streaming readings")
    p.add_argument("prompt")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH")
    p.add_argument("--system", default="")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("add-emotion", help="add an emotion from example texts (one per line)")
    p.add_argument("name")
    p.add_argument("--examples", required=True)
    p.add_argument("--description", default="")
    p.set_defaults(handler=cmd_add_emotion)

    p = sub.add_parser("export", help="export directions (.safetensors native, or .gguf control vector)")
    p.add_argument("out")
    p.add_argument("--emotion")
    p.add_argument("--strength", type=float, default=1.0)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", help="import a native direction file or a GGUF control vector")
    p.add_argument("file")
    p.add_argument("--name")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("bench", help="measure speed (steered+read vs plain generation, load, extraction)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    p.set_defaults(handler=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as error:  # last resort: one line for the user, the traceback in a log file
        log = user_data_dir() / "error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"error: unexpected problem ({type(error).__name__}: {error}). Details were written to {log}.", file=sys.stderr)
        return 1
