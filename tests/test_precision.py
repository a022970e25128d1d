"""Precision and memory (lab.model.precision): the dtype a model loads in, the memory check before
loading, readings kept in float32, and the runtime recorded with every session."""
from __future__ import annotations

import argparse

import pytest
import torch

from lab.common.errors import LabError
from lab.model import precision
from lab.model.precision import DTYPES, ModelTooLarge, check_fits, choose_dtype, memory_needed, weight_count
from lab.model.precisions import DTYPE_CHOICES

PROMPT = [{"role": "user", "content": "sun smile laugh"}]
CPU = torch.device("cpu")


@pytest.mark.parametrize("native_bfloat16", [False, True])
def test_auto_is_float32_on_every_cpu_whatever_its_bfloat16_support(monkeypatch, native_bfloat16):
    monkeypatch.delenv(precision.PRECISION_ENV, raising=False)
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: native_bfloat16)
    assert choose_dtype("auto", CPU) == torch.float32
    assert choose_dtype("float32", CPU) == torch.float32 and choose_dtype("bfloat16", CPU) == torch.bfloat16


def test_the_environment_sets_what_auto_means_and_never_overrides_an_explicit_choice(monkeypatch):
    monkeypatch.setenv(precision.PRECISION_ENV, "bfloat16")
    assert choose_dtype("auto", CPU) == torch.bfloat16
    assert choose_dtype("float32", CPU) == torch.float32
    monkeypatch.setenv(precision.PRECISION_ENV, "float16")
    with pytest.raises(LabError, match="float16 is not supported on the CPU"):
        choose_dtype("auto", CPU)
    monkeypatch.setenv(precision.PRECISION_ENV, "double")
    with pytest.raises(LabError, match="EMOTION_LAB_DTYPE=double is not a precision"):
        choose_dtype("auto", CPU)
    with pytest.raises(LabError, match="float16 is not supported on the CPU"):
        choose_dtype("float16", CPU)
    with pytest.raises(LabError, match="Unknown precision 'double'"):
        choose_dtype("double", CPU)


def test_the_cli_offers_exactly_the_precisions_the_loader_knows():
    from lab.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    offered = {tuple(a.choices) for sub in commands.values() for a in sub._actions if "--dtype" in a.option_strings}
    assert offered == {DTYPE_CHOICES}
    assert set(DTYPES) == set(DTYPE_CHOICES) - {"auto"}


def test_weights_are_counted_from_the_file_headers(tiny_model_dir, tiny_lm):
    assert weight_count(tiny_model_dir) == sum(p.numel() for p in tiny_lm.model.parameters())  # shared weights once


def test_a_model_that_does_not_fit_is_refused_before_loading_with_the_sizes(tiny_model_dir, monkeypatch):
    from lab.model.loader import load_model

    needed = memory_needed(8_000_000_000, torch.bfloat16)
    with pytest.raises(ModelTooLarge, match=r"needs about 1[89]\.\d GB in bfloat16 \(8\.00 billion weights\) but only 4\.0 GB is free"):
        check_fits("big-model", 8_000_000_000, torch.bfloat16, CPU, free=4 * 2**30)
    assert check_fits("big-model", 8_000_000_000, torch.bfloat16, CPU, free=needed) == needed
    with pytest.raises(ModelTooLarge, match="Try --dtype bfloat16"):
        check_fits("big-model", 8_000_000_000, torch.float32, CPU, free=4 * 2**30)
    monkeypatch.setattr(precision, "memory_free", lambda device: 1000)
    with pytest.raises(LabError, match="is free on cpu"):
        load_model(str(tiny_model_dir))
    assert (tiny_model_dir / "config.json").is_file()  # nothing was deleted or half-loaded


def test_bfloat16_model_reads_in_float32_close_to_the_float32_model(tiny_model_dir, tiny_lm_float32, tiny_directions, tmp_path):
    from lab.model.loader import load_model
    from lab.common.events import SamplingSettings
    from lab.runtime.generator import generate
    from lab.runtime.steering import SteeringState

    tiny_lm = tiny_lm_float32
    half = load_model(str(tiny_model_dir), dtype="bfloat16")
    assert half.dtype == torch.bfloat16 and next(half.model.parameters()).dtype == torch.bfloat16
    assert half.runtime == {"device": "cpu", "dtype": "bfloat16"} and tiny_lm.runtime["dtype"] == "float32"
    ids = tiny_lm.chat_ids(PROMPT)
    settings = SamplingSettings(max_new_tokens=1)

    def prompt_readings(lm) -> torch.Tensor:
        steering = SteeringState(tiny_directions)
        steering.set_all({"joy": 0.5})
        events = [e for e in generate(lm, tiny_directions, ids, steering, settings) if e.is_prompt]
        return torch.tensor([[e.readings[n] for n in tiny_directions.emotions] for e in events[1:]])

    full, reduced = prompt_readings(tiny_lm), prompt_readings(half)
    assert reduced.dtype == torch.float32
    assert torch.allclose(reduced, full, atol=0.1 * float(full.abs().max()) + 0.05)


def test_every_session_records_where_and_how_the_model_ran(tmp_path, tiny_lm, tiny_directions):
    from lab.runtime.engine import Engine
    from lab.common.events import SamplingSettings
    from lab.store.export import from_json, to_json, to_markdown
    from lab.store.lab_file import open_store
    from lab.sessions.recording import start_recording

    with open_store(tmp_path / "lab.db") as store:
        with start_recording(store, Engine(tiny_lm, tiny_directions), "runtime", SamplingSettings()) as recorder:
            recorder.begin_turn("user", "hello")
            recorder.finish()
        record = store.load_session(recorder.session_id)
        assert record.runtime == {"device": "cpu", "dtype": tiny_lm.runtime["dtype"]} and tiny_lm.runtime["dtype"] in DTYPE_CHOICES
        again = from_json(to_json(record))
        assert again.runtime == record.runtime
        assert store.load_session(store.import_session(again)).runtime == record.runtime
        assert "cpu" in to_markdown(record) and tiny_lm.runtime["dtype"] in to_markdown(record)
    with pytest.raises(LabError, match="runtime > dtype"):
        from_json(to_json(record).replace(f'"dtype": "{tiny_lm.runtime["dtype"]}"', '"dtype": 32'))


def test_a_model_run_in_another_precision_than_its_directions_were_validated_in_is_named_and_compared(tiny_model_dir, tiny_lm_float32, tiny_directions):
    import dataclasses

    from lab.diagnostics.precision_check import compare_precisions
    from lab.diagnostics.validation_report import build_report, precision_text
    from lab.model.loader import load_model
    from lab.runtime.engine import Engine

    assert tiny_directions.extras["precision"] in DTYPE_CHOICES  # recorded at extraction
    measured = dataclasses.replace(tiny_directions, extras={**tiny_directions.extras, "precision": "float32"})
    assert Engine(tiny_lm_float32, measured).precision_warning() is None
    half = load_model(str(tiny_model_dir), dtype="bfloat16")
    warning = Engine(half, measured).precision_warning()
    assert warning and "measured in float32" in warning and "runs in bfloat16" in warning
    assert compare_precisions(tiny_lm_float32, measured) is None  # same precision: nothing to compare
    report = build_report(Engine(half, measured), lessons=False, efficacy=False)
    comparison = report["precision"]["comparison"]
    assert (comparison["reference"], comparison["running"]) == ("float32", "bfloat16")
    assert comparison["texts"] > 0 and 0 <= comparison["same_label"] <= comparison["texts"]
    assert 0 < comparison["largest_difference"] < 1.0  # bfloat16 moves readings a little, never wildly
    assert "ran in bfloat16" in precision_text(report["precision"]) and "in float32" in precision_text(report["precision"])
