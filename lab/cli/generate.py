"""`read` (the emotions of each line of a text file) and `generate` (a reply, optionally steered,
streaming readings); both record a session unless --no-record."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from lab.cli import numbers
from lab.cli.options import open_engine, open_lab_file, read_lines
from lab.common.errors import LabError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `read` and `generate` to the main parser's commands."""
    p = sub.add_parser("read", parents=[common], help="read the emotions of each line of a text file",
                       description="Read each line of FILE as one text: its label ('no clear emotion' when none stands out) and its strongest readings.")
    p.add_argument("file", metavar="FILE", help="a text file, one text per line")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.set_defaults(handler=cmd_read)

    p = sub.add_parser("generate", parents=[common], help="generate a reply, optionally steered, streaming readings",
                       description="Generate the model's reply to PROMPT, streaming each token with its emotion readings.")
    p.add_argument("prompt", metavar="PROMPT", help="the user's message")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH", help="steer towards an emotion (repeatable)")
    p.add_argument("--system", default="", help="a system prompt")
    p.add_argument("--max-new-tokens", type=numbers.tokens, default=64, metavar="N", help="reply length in tokens (default 64)")
    p.add_argument("--seed", type=numbers.seed, default=None, metavar="S", help="sampling seed")
    p.add_argument("--temperature", type=numbers.temperature, default=0.0, help="0 (default) picks the likeliest token")
    p.add_argument("--top-p", type=numbers.top_p, default=1.0, help="nucleus sampling (default 1)")
    p.add_argument("--json", action="store_true", help="one JSON object per token, then the reply")
    p.add_argument("--raw", action="store_true", help="readings with the steering push left in (default: push-free)")
    p.add_argument("--adapter", default=None, metavar="NAME", help="answer with a LoRA adapter trained by `suppress` (e.g. suppress-desperate)")
    p.set_defaults(handler=cmd_generate)


@contextlib.contextmanager
def _maybe_recording(args: argparse.Namespace, engine, title: str, sampling):
    """A session recorder, or None with --no-record."""
    if args.no_record:
        yield None
        return
    from lab.sessions.recording import start_recording

    with open_lab_file(args) as store, start_recording(store, engine, title, sampling) as recorder:
        yield recorder
        recorder.finish()
        print(f"Recorded as session {recorder.session_id} in {store.path}.", file=sys.stderr)


def cmd_read(args: argparse.Namespace) -> int:
    from lab.common.events import SamplingSettings, TokenEvent
    from lab.runtime.reading import readings_dict, text_reading

    texts = read_lines(args.file)
    engine = open_engine(args)
    with _maybe_recording(args, engine, f"read {Path(args.file).name}", SamplingSettings(max_new_tokens=0)) as recorder:
        for text in texts:
            result = text_reading(engine.lm, engine.directions, text)
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
    from lab.common.events import SamplingSettings
    from lab.runtime.steering import SteeringState, parse_steer
    from lab.sessions.recording import recorded

    engine = open_engine(args)
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
