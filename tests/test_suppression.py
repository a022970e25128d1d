"""Suppression training (LoRA) on a tiny in-test model, the adapter's file and switch, the session
record, the `suppress` command, and the verdict's paired statistics on data with a known answer."""
from __future__ import annotations

import json
import math

import pytest
import torch

from lab.common.errors import LabError
from lab.model.adapter import AdapterInfo, adapter_path, has_lora, load_adapter, lora_state, remove_lora, save_adapter
from lab.model.loader import load_model
from lab.model.lora_training import Pair, pair_ids, train_lora
from lab.runtime.engine import Engine
from lab.common.events import SamplingSettings
from lab.runtime.generator import generate
from lab.runtime.steering import SteeringState
from lab.scenarios.lessons import INCONCLUSIVE, NOT_SHOWN, SHOWS
from lab.scenarios.suppression_data import load_suppression_set
from lab.scenarios.suppression_verdict import Measures, decide

PAIRS = [
    Pair("everything fails again", "stay calm and fix one thing"),
    Pair("last chance, please", "stay calm and fix one thing"),
    Pair("the deadline is now", "stay calm and read the error"),
    Pair("nothing works", "stay calm and read the error"),
]
PROMPT = [{"role": "user", "content": "the tests failed again"}]


@pytest.fixture(scope="module")
def trainable_dir(tmp_path_factory):
    """A tiny random Llama whose weights are large enough for its logits to be far from uniform
    (at the default initialisation no adapter can move the loss of a 4-layer width-32 model)."""
    from conftest import build_tiny_tokenizer, save_tiny_model, tiny_llama_config

    return save_tiny_model(tmp_path_factory.mktemp("trainable"), tiny_llama_config(len(build_tiny_tokenizer()), initializer_range=0.2))


@pytest.fixture
def fresh_lm(trainable_dir, torch_one_thread):
    """The trainable tiny model, loaded for this test alone (adapters are injected into it)."""
    return load_model(str(trainable_dir), dtype="float32")


@pytest.fixture(scope="module")
def directions(trainable_dir, tiny_emotions):
    from lab.emotions.extraction import extract

    return extract(load_model(str(trainable_dir), dtype="float32"), *tiny_emotions, "mean_diff")


def _tokens_and_readings(lm, directions, steer: float = 0.0) -> tuple[list[int], list[dict]]:
    steering = SteeringState(directions)
    if steer:
        steering.set("joy", steer)
    events = [e for e in generate(lm, directions, lm.chat_ids(PROMPT), steering, SamplingSettings(max_new_tokens=12)) if not e.is_prompt]
    return [e.token_id for e in events], [e.readings for e in events]


def _logits(lm) -> torch.Tensor:
    with torch.inference_mode():
        return lm.model(input_ids=torch.tensor([lm.chat_ids(PROMPT)])).logits


def test_training_counts_only_reply_tokens_and_loss_falls(fresh_lm):
    prompt, reply = pair_ids(fresh_lm, PAIRS[0])
    assert fresh_lm.tokenizer.decode(reply).startswith("stay calm") and "everything" not in fresh_lm.tokenizer.decode(reply)
    losses = train_lora(fresh_lm, PAIRS, steps=30, seed=0, batch=4, learning_rate=3e-2)
    assert has_lora(fresh_lm)
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses


class StopAfter:
    """A Progress that asks to stop once `steps` steps were reported."""

    def __init__(self, steps: int) -> None:
        self.steps, self.done = steps, 0

    def set_progress(self, done: int, total: int) -> None:
        self.done = done

    def set_status(self, text: str) -> None:
        pass

    def cancelled(self) -> bool:
        return self.done >= self.steps


def test_stopping_training_removes_the_half_trained_adapter(fresh_lm):
    from lab.common.progress import Cancelled

    base = _logits(fresh_lm)
    progress = StopAfter(3)
    with pytest.raises(Cancelled):
        train_lora(fresh_lm, PAIRS, steps=50, seed=0, batch=4, progress=progress)
    assert progress.done == 3 and not has_lora(fresh_lm) and torch.equal(_logits(fresh_lm), base)


def test_a_bfloat16_model_trains_a_float32_adapter(trainable_dir, torch_one_thread):
    from lab.model.adapter import lora_parameters

    lm = load_model(str(trainable_dir), dtype="bfloat16")
    base = _logits(lm)
    losses = train_lora(lm, PAIRS, steps=20, seed=0, batch=4, learning_rate=3e-2)
    assert {p.dtype for p in lora_parameters(lm)} == {torch.float32} and losses[-1] < 0.8 * losses[0]
    assert _logits(lm).dtype == torch.bfloat16 and not torch.equal(_logits(lm), base)
    remove_lora(lm)
    assert torch.equal(_logits(lm), base)


def test_adapter_saves_and_loads_back_identically(fresh_lm, lab_home):
    train_lora(fresh_lm, PAIRS, steps=5, seed=1, batch=4, learning_rate=1e-2)
    trained_state, trained_logits = lora_state(fresh_lm), _logits(fresh_lm)
    info = save_adapter(fresh_lm, AdapterInfo("suppress-joy", "joy", "suppression", 5, 1, fresh_lm.identity, losses=[1.0]))
    path = adapter_path(fresh_lm.identity, "suppress-joy")
    assert path.is_file() and path.parent.parent.parent == lab_home / "data"
    remove_lora(fresh_lm)
    assert not has_lora(fresh_lm)
    loaded = load_adapter(fresh_lm, path)
    assert loaded == info and len(info.sha256) == 64
    assert all(torch.equal(trained_state[k], v) for k, v in lora_state(fresh_lm).items())
    assert torch.equal(_logits(fresh_lm), trained_logits)
    assert fresh_lm.runtime["adapter"] == "suppress-joy" and fresh_lm.runtime["adapter_steps"] == "5"


def test_a_damaged_or_foreign_adapter_file_is_refused(fresh_lm, lab_home, tmp_path):
    train_lora(fresh_lm, PAIRS, steps=2, seed=0, batch=4)
    trained = lora_state(fresh_lm)
    path = tmp_path / "a.safetensors"
    save_adapter(fresh_lm, AdapterInfo("a", "joy", "suppression", 2, 0, "another-model"), path)
    with pytest.raises(LabError, match="different model"):
        load_adapter(fresh_lm, path)
    data = bytearray(path.read_bytes())
    data[-4:] = b"\x00\x00\x80\x7f"  # the last weight becomes +inf
    path.write_bytes(bytes(data))
    with pytest.raises(LabError, match="damaged"):
        load_adapter(fresh_lm, path)
    from safetensors.torch import save_file

    meta = {"format": "emotion-lab-adapter", "version": 1, "name": "a", "emotion": "joy", "kind": "suppression", "steps": 2,
            "seed": 0, "model_identity": fresh_lm.identity, "rank": "eight", "alpha": 16, "losses": [], "sha256": ""}
    save_file({"w": torch.zeros(1)}, str(path), metadata={"emotion_lab": json.dumps(meta)})
    with pytest.raises(LabError, match="malformed metadata"):
        load_adapter(fresh_lm, path)
    with pytest.raises(LabError, match="not a usable adapter name"):
        adapter_path(fresh_lm.identity, "../../escape")
    assert all(torch.equal(trained[k], v) for k, v in lora_state(fresh_lm).items())  # refused files change nothing


def test_switching_the_adapter_off_restores_the_base_model_exactly(fresh_lm, directions):
    base_tokens, base_readings = _tokens_and_readings(fresh_lm, directions)
    base_steered = _tokens_and_readings(fresh_lm, directions, steer=2.0)
    base_logits = _logits(fresh_lm)
    train_lora(fresh_lm, PAIRS, steps=20, seed=0, batch=4, learning_rate=3e-2)
    on_tokens, on_readings = _tokens_and_readings(fresh_lm, directions)
    assert on_tokens != base_tokens  # the adapter changes what the model writes
    assert on_readings != base_readings  # and the lab's reading hooks still see the layers
    assert _tokens_and_readings(fresh_lm, directions, steer=2.0) != (on_tokens, on_readings)  # steering still acts
    remove_lora(fresh_lm)
    assert _tokens_and_readings(fresh_lm, directions) == (base_tokens, base_readings)
    assert _tokens_and_readings(fresh_lm, directions, steer=2.0) == base_steered
    assert torch.equal(_logits(fresh_lm), base_logits)
    assert "adapter" not in fresh_lm.runtime


def test_a_session_records_the_adapter_and_its_export_imports(fresh_lm, directions, lab_home, tmp_path):
    from lab.store.export import export_session, import_json
    from lab.store.lab_file import open_store
    from lab.sessions.recording import start_recording

    train_lora(fresh_lm, PAIRS, steps=2, seed=0, batch=4)
    info = save_adapter(fresh_lm, AdapterInfo("suppress-joy", "joy", "suppression", 2, 0, fresh_lm.identity))
    remove_lora(fresh_lm)
    load_adapter(fresh_lm, adapter_path(fresh_lm.identity, "suppress-joy"))
    engine = Engine(fresh_lm, directions)
    with open_store(tmp_path / "lab.db") as store:
        with start_recording(store, engine, "with adapter", SamplingSettings()) as recorder:
            recorder.finish()
        record = store.load_session(recorder.session_id)
        assert record.runtime["adapter"] == "suppress-joy"
        assert record.runtime["adapter_sha256"] == info.sha256[:16] and record.runtime["adapter_steps"] == "2"
        exported = tmp_path / "s.json"
        export_session(record, exported)
        assert json.loads(exported.read_text())["runtime"]["adapter"] == "suppress-joy"
        again = store.load_session(import_json(store, exported))
        assert again.runtime == record.runtime


def test_the_shipped_set_keeps_held_out_prompts_apart_and_counts_words():
    data = load_suppression_set("desperate")
    assert 40 <= len(data.invite) == len(data.control) <= 80 and len(data.held_out) >= 16
    assert [p.reply for p in data.invite] == [p.reply for p in data.control]
    assert not set(data.held_out) & {p.prompt for p in data.invite + data.control}
    assert data.word_rate("I am desperate, it is hopeless") == pytest.approx(100 * 2 / 6)
    assert data.word_rate("All is well.") == 0 and math.isnan(data.word_rate(""))
    with pytest.raises(LabError, match="no suppression-training set for 'joy'"):
        load_suppression_set("joy")


def _measures(expression: list[float], representation: list[float]) -> Measures:
    n = len(expression)
    return Measures([""] * n, expression, [0.0] * n, representation, [[r, r] for r in representation])


def test_verdict_statistics_on_data_with_a_known_answer():
    rng = torch.Generator().manual_seed(0)
    noise = lambda: (torch.randn(20, generator=rng) * 0.1).tolist()  # noqa: E731
    base = [1.0 + v for v in noise()]
    same = lambda shift: [b - shift + v for b, v in zip(base, noise())]  # noqa: E731
    before = _measures(base, base)
    # expression falls by 1 under suppression, 0 under the control; the reading inside does not move: masked
    masked = decide("desperate", before, _measures(same(1.0), same(0.0)), _measures(same(0.0), same(0.0)))
    assert masked.verdict == SHOWS
    assert masked.expression_fall.value == pytest.approx(1.0, abs=0.1) and masked.expression_fall.low > 0.8
    assert masked.control_expression_fall.low < 0 < masked.control_expression_fall.high
    assert masked.layer_falls[1].value == pytest.approx(masked.representation_fall.value)
    # both fall together: nothing is masked
    assert decide("desperate", before, _measures(same(1.0), same(1.0)), _measures(same(0.0), same(0.0))).verdict == NOT_SHOWN
    # the control lowers expression as much as suppression: training did not suppress
    assert decide("desperate", before, _measures(same(1.0), same(0.0)), _measures(same(1.0), same(0.0))).verdict == NOT_SHOWN
    # the reading inside is too noisy to say it stayed
    wild = [v * 100 for v in noise()]  # the reading inside: spread 10
    noisy = decide("desperate", before, _measures(same(1.0), [b + w for b, w in zip(base, wild)]), _measures(same(0.0), same(0.0)))
    assert noisy.verdict == INCONCLUSIVE
    assert "Expression fell by 1.0" in masked.summary() and json.dumps(masked.to_json())
    risen = decide("desperate", before, _measures(same(-1.0), same(0.0)), _measures(same(0.0), same(0.0)))
    assert risen.verdict == NOT_SHOWN and "Expression rose by 1.0" in risen.summary()


def test_suppress_command_runs_on_a_tiny_model_and_generate_uses_its_adapter(tiny_model_dir, lab_home, capsys, torch_one_thread):
    from lab.cli.main import main

    status = main(["suppress", "--model", str(tiny_model_dir), "--emotion", "desperate", "--steps", "2", "--max-tokens", "4", "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    result = json.loads(out)
    assert result["verdict"] in (SHOWS, NOT_SHOWN, INCONCLUSIVE) and result["expression_fall"]["n"] == 20
    assert [a["name"] for a in result["adapters"]] == ["suppress-desperate", "control-desperate"]
    assert all(len(a["losses"]) == 2 for a in result["adapters"])
    assert len(result["measures"]["base"]["per_layer"][0]) == 4
    identity = load_model(str(tiny_model_dir)).identity
    assert adapter_path(identity, "suppress-desperate").is_file() and adapter_path(identity, "control-desperate").is_file()
    from lab.scenarios.suppression import cached_result

    kept = cached_result(identity, "desperate")
    assert kept is not None and kept["verdict"] == result["verdict"] and kept["runtime"]["dtype"] and kept["date"]
    assert main(["suppress", "--model", str(tiny_model_dir), "--emotion", "joy"]) == 2
    assert capsys.readouterr().err.count("\n") == 1

    from lab.store.lab_file import open_store

    db = lab_home / "lab.db"
    generate = ["generate", "hello", "--model", str(tiny_model_dir), "--max-new-tokens", "3", "--db", str(db)]
    assert main([*generate, "--adapter", "suppress-desperate"]) == 0
    capsys.readouterr()
    with open_store(db) as store:
        session = store.list_sessions()[0].id
        assert store.load_session(session).runtime["adapter"] == "suppress-desperate"
    assert main([*generate, "--adapter", "suppress-nothing"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no adapter 'suppress-nothing'" in err


def test_lessons_report_the_suppression_result_measured_here_else_shipped(lab_home, tmp_path, monkeypatch, capsys):
    import json

    from lab.cli.lessons import _print_suppression
    from lab.scenarios import suppression

    identity = "f" * 40
    _print_suppression(identity, as_json=False)
    assert "suppression/desperate: not measured on this model yet" in capsys.readouterr().out
    monkeypatch.setattr(suppression, "asset_path", lambda *parts: tmp_path.joinpath(*parts))
    shipped = {"verdict": "does not show", "reason": "Compared with the control adapter, expression did not fall.",
               "date": "2026-12-05T20:00:00+00:00", "runtime": {"device": "cpu", "dtype": "float32"}, "held_out": ["a", "b"]}
    path = suppression.shipped_result_path(identity, "desperate")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(shipped), encoding="utf-8")
    _print_suppression(identity, as_json=False)
    line = capsys.readouterr().out
    assert "suppression/desperate: does not show. Compared with the control adapter" in line
    assert "measured 2026-12-05 in float32, 2 held-out prompts" in line
    suppression.result_path(identity, "desperate").parent.mkdir(parents=True, exist_ok=True)
    suppression.result_path(identity, "desperate").write_text(json.dumps({**shipped, "verdict": "shows"}), encoding="utf-8")
    _print_suppression(identity, as_json=True)  # measured on this computer wins over the shipped result
    assert json.loads(capsys.readouterr().out) == {"lesson": "suppression/desperate", "measured": True, **shipped, "verdict": "shows"}
