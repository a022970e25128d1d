"""Rebuild the embedded model's shipped directions: `make directions` (python -m lab.diagnostics.precompute).

The file lands in assets/directions/, named by the model's identity and the emotion data's hash, so
a change to any emotion text makes the lab extract afresh until this is run again (a test checks
that the shipped file exists for the current data and equals a fresh extraction).
"""
from __future__ import annotations

import sys

from lab.common.progress import TerminalProgress
from lab.emotions.definitions import load_emotions, load_neutral
from lab.emotions.direction_file import save_directions
from lab.emotions.extraction import extract
from lab.emotions.library import current_data_hash, precomputed_path
from lab.model.loader import load_model


def main() -> int:
    lm = load_model("embedded", TerminalProgress())
    directions = extract(lm, load_emotions(include_user=False), load_neutral(), progress=TerminalProgress())
    path = precomputed_path(lm.identity, current_data_hash(include_user=False), directions.method)
    for old in path.parent.glob("*.safetensors"):
        old.unlink()
    save_directions(directions, path)
    print(f"Wrote {path} (reading layer {directions.reading_layer}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
