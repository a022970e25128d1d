"""Test helper: record synthetic tokens until killed, printing "<tokens queued> <unix time>" after each.

Usage: python tests/record_until_killed.py LAB_FILE
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.common.events import SamplingSettings, TokenEvent  # noqa: E402
from lab.store.lab_file import open_store  # noqa: E402

store = open_store(sys.argv[1])
model = store.register_model("synthetic", "synthetic-identity", "llama", 30, 576)
recorder = store.start_session("killed mid-answer", model, None, SamplingSettings(seed=1), app_version="test")
recorder.begin_turn("assistant")
queued = 0
while True:
    recorder.add_token(TokenEvent(0, queued, 1000 + queued, f" t{queued}", False, {"joy": queued / 10}))
    queued += 1
    print(queued, time.time(), flush=True)
    time.sleep(0.005)
