"""The emotion set's commands: `emotions` (list with accuracy), `add-emotion`, `export` (native file or
GGUF control vector) and `import` (a direction file or control vector; --list, --remove NAME)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.cli import numbers
from lab.cli.options import open_engine, read_lines
from lab.common.errors import LabError
from lab.common.progress import TerminalProgress
from lab.common.safe_text import one_line


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `emotions`, `add-emotion`, `export` and `import` to the main parser's commands."""
    p = sub.add_parser("emotions", parents=[common], help="list emotions with held-out accuracy and the reading layer")
    p.add_argument("--json", action="store_true", help="one JSON object per emotion")
    p.set_defaults(handler=cmd_emotions)

    p = sub.add_parser("add-emotion", parents=[common], help="add an emotion from example texts (one per line)")
    p.add_argument("name", metavar="NAME", help="the new emotion's name")
    p.add_argument("--examples", required=True, metavar="FILE", help="a text file of examples, one per line")
    p.add_argument("--description", default="", help="what the emotion means, in a few words")
    p.set_defaults(handler=cmd_add_emotion)

    p = sub.add_parser("export", parents=[common], help="export directions (.safetensors native, or .gguf control vector)")
    p.add_argument("out", metavar="OUT", help="a .safetensors file (every emotion) or a .gguf control vector (one emotion)")
    p.add_argument("--emotion", metavar="NAME", help="the emotion of a .gguf control vector")
    p.add_argument("--strength", type=numbers.strength, default=1.0, help="scale of a .gguf control vector (default 1)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", parents=[common], help="import a native direction file or a GGUF control vector for the model; --list, --remove NAME")
    p.add_argument("file", nargs="?", metavar="FILE", help="a native .safetensors direction file or a .gguf control vector")
    p.add_argument("--name", help="the emotion's name (a GGUF file), or the one emotion to take from a direction file")
    p.add_argument("--list", action="store_true", help="list the model's imported emotions")
    p.add_argument("--remove", metavar="NAME", help="remove one of the model's imported emotions")
    p.set_defaults(handler=cmd_import)


def cmd_emotions(args: argparse.Namespace) -> int:
    from lab.emotions.evaluation import accuracy_summary, overall_summary

    directions = open_engine(args).directions
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


def cmd_add_emotion(args: argparse.Namespace) -> int:
    from lab.emotions.definitions import user_emotion_added
    from lab.emotions.evaluation import accuracy_summary

    with user_emotion_added(args.name, read_lines(args.examples), args.description or "") as emotion:
        directions = open_engine(args).directions
    print(f"Added '{emotion.name}' ({len(emotion.examples)} examples), recognised at layer {directions.reading_layer}: {accuracy_summary(directions, emotion.name)}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    engine = open_engine(args)
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
    from lab.cli.models import load_cli_model
    from lab.emotions.imported import ModelShape, list_imported, remove_imported
    from lab.emotions.library import load_or_extract

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
