"""Set-up step: convert the embedded GGUF model to safetensors once, next to the program, so that no
user's first start has to dequantize it (lab.model.sources.prepared_models_dir).

    .venv/bin/python scripts/prepare_model.py [TARGET]     (TARGET defaults to models/converted)

Fast (a hash) when the conversion is already there.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    from lab.common.errors import LabError
    from lab.common.progress import SilentProgress
    from lab.model.sources import convert_gguf, embedded_gguf_path, file_sha256, prepared_models_dir

    target = Path(argv[0]) if argv else prepared_models_dir()
    started = time.perf_counter()
    try:
        source = embedded_gguf_path()
        folder = convert_gguf(source, file_sha256(source), target, SilentProgress())
    except LabError as error:
        print(f"prepare_model: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    if seconds > 2:
        print(f"Converted the embedded model into {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder} "
              f"({seconds:.0f} s, once)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
