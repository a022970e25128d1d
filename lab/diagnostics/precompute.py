"""Rebuild the embedded model's shipped directions and slider range: `make directions`
(python -m lab.diagnostics.precompute).

The directions land in assets/directions/, named by the model's identity and the emotion data's
hash, so a change to any emotion text makes the lab extract afresh until this is run again; the
coherence cliff measured with them lands in assets/strength_range/. Tests check that both exist
and equal a fresh extraction and calibration (tests/test_shipped_directions.py).
"""
from __future__ import annotations

import sys

from lab.common.progress import TerminalProgress
from lab.emotions.definitions import load_emotions, load_neutral
from lab.emotions.direction_file import save_directions
from lab.emotions.extraction import extract
from lab.emotions.library import current_data_hash, precomputed_path
from lab.model.loader import load_model
from lab.runtime.engine import Engine
from lab.runtime.strength_range import calibrate, save_range, shipped_path


def main() -> int:
    lm = load_model("embedded", TerminalProgress())
    directions = extract(lm, load_emotions(include_user=False), load_neutral(), progress=TerminalProgress())
    path = precomputed_path(lm.identity, current_data_hash(include_user=False), directions.method)
    for old in path.parent.glob("*.safetensors"):
        old.unlink()
    save_directions(directions, path)
    print(f"Wrote {path} (reading layer {directions.reading_layer}).")
    strength_range = calibrate(Engine(lm, directions), TerminalProgress())
    range_path = shipped_path(lm.identity)
    for old in range_path.parent.glob("*.json"):
        old.unlink()
    save_range(strength_range, range_path)
    print(f"Wrote {range_path} (coherence cliff ±{strength_range.cliff}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
