"""Core unit tests on tiny random models built in-test (no downloads, no embedded model).

Fixtures (tiny_lm, tiny_directions, lab_home, ...) live in conftest.py.
"""
from __future__ import annotations

import dataclasses
import json
import os
import struct
import threading
import time

import pytest
import torch
import yaml
from conftest import build_tiny_tokenizer, save_tiny_model
from hypothesis import given
from hypothesis import strategies as st

from lab.emotions.control_vectors import export_control_vector, fill_layers, read_control_vector
from lab.emotions.extraction import METHODS, extract
from lab.emotions.direction_file import load_directions, save_directions
from lab.emotions.direction_set import DirectionSet
from lab.emotions.library import merge_imported
from lab.emotions.definitions import (
    MIN_EXAMPLES,
    load_emotion_file,
    load_emotions,
    parse_examples,
    save_user_emotion,
)
from lab.common.errors import LabError
from lab.common.events import SamplingSettings
from lab.runtime.generator import Decoder, generate
from lab.model.hooks import residual_hooks
from lab.model.families import SUPPORTED_FAMILIES
from lab.model.loader import load_model
from lab.runtime.reading import read_ids, text_reading
from lab.runtime.steering import Steerer, SteeringState, parse_steer

PROMPT = [{"role": "user", "content": "hello there"}]
pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(autouse=True)
def _isolated_home(lab_home):
    """Every unit test gets its own EMOTION_LAB_HOME (user data and cache)."""
    return lab_home


def run_generate(lm, directions, rows_strengths, n=12, layers=None, **sampling):
    """Generated token ids per row (prompt events skipped), plus all generated events."""
    state = SteeringState(directions, rows=len(rows_strengths), layers=layers)
    for row, strengths in enumerate(rows_strengths):
        state.set_all(strengths, row=row)
    tokens = [[] for _ in rows_strengths]
    events = []
    for event in generate(lm, directions, lm.chat_ids(PROMPT), state, SamplingSettings(max_new_tokens=n, **sampling)):
        if not event.is_prompt:
            tokens[event.row].append(event.token_id)
            events.append(event)
    return tokens, events


def hook_count(lm) -> int:
    return sum(len(layer._forward_hooks) for layer in lm.layers)


# ---- loading: layer adapter, families, refusals ---------------------------------------------------


def test_tiny_llama_loads_with_layer_adapter(tiny_lm):
    assert tiny_lm.family == "llama"
    assert tiny_lm.depth == 4
    assert tiny_lm.width == 32
    assert tiny_lm.layers is tiny_lm.model.model.layers
    vocab = tiny_lm.tokenizer.get_vocab()
    assert set(tiny_lm.stop_token_ids) == {vocab["<|im_end|>"], vocab["<|endoftext|>"]}
    ids = tiny_lm.chat_ids(PROMPT)
    assert tiny_lm.tokenizer.decode(ids) == "<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n"
    assert tiny_lm.text_ids("ab")[0] == vocab["<|endoftext|>"]  # the fixed sink token comes first


def test_same_folder_gives_same_identity_and_other_weights_another(tiny_model_dir, tmp_path):
    again = load_model(str(tiny_model_dir))
    other = load_model(str(save_tiny_model(tmp_path / "other", seed=1)))
    assert again.identity == load_model(str(tiny_model_dir)).identity
    assert other.identity != again.identity


def _family_configs(vocab: int) -> dict[str, object]:
    import transformers

    ids = dict(bos_token_id=0, eos_token_id=2, pad_token_id=0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab, **ids)
    return {
        "mistral": lambda: transformers.MistralConfig(**small),
        "qwen2": lambda: transformers.Qwen2Config(**small),
        "qwen3": lambda: transformers.Qwen3Config(head_dim=8, **small),
        "gemma2": lambda: transformers.Gemma2Config(head_dim=8, **small),
        "gemma3_text": lambda: transformers.Gemma3TextConfig(head_dim=8, **small),
        "phi3": lambda: transformers.Phi3Config(**small),
        "gpt2": lambda: transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=128, vocab_size=vocab, bos_token_id=0, eos_token_id=2),
    }


@pytest.mark.parametrize("family", ["mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "gpt2"])
def test_layer_adapter_finds_decoder_layers_of_each_family(family, tmp_path):
    config = _family_configs(len(build_tiny_tokenizer()))[family]()
    lm = load_model(str(save_tiny_model(tmp_path / family, config)))
    assert lm.family == family
    assert (lm.depth, lm.width) == (2, 32)
    seen: dict[int, tuple[int, ...]] = {}
    ids = lm.text_ids("hello")
    with residual_hooks(lm.layers, range(lm.depth), observe=lambda layer, hidden: seen.setdefault(layer, tuple(hidden.shape))):
        lm.model(input_ids=torch.tensor([ids]))
    assert seen == {0: (1, len(ids), 32), 1: (1, len(ids), 32)}  # the residual stream after each decoder layer


@pytest.mark.parametrize("model_type", ["bert", "mamba"])
def test_unsupported_architecture_names_supported_families(model_type, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    (tmp_path / "model.safetensors").write_bytes(b"")  # never read: the architecture is refused first
    with pytest.raises(LabError) as caught:
        load_model(str(tmp_path))
    assert model_type in str(caught.value)
    assert SUPPORTED_FAMILIES in str(caught.value)


def test_folder_without_safetensors_is_refused(tiny_model_dir, tmp_path):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    for item in tiny_model_dir.iterdir():
        if item.suffix != ".safetensors":
            (folder / item.name).write_bytes(item.read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"pickles are never loaded")
    with pytest.raises(LabError, match="safetensors"):
        load_model(str(folder))


def test_folder_without_config_is_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(LabError, match="config.json"):
        load_model(str(tmp_path))


@pytest.mark.parametrize("spec", ["", "   ", "no-such-model", "a/b/c", "./missing-folder", "/nonexistent/model.gguf", "org/.hidden"])
def test_bad_spec_is_refused(spec):
    with pytest.raises(LabError):
        load_model(spec)


def test_hub_id_while_offline_is_refused_quickly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(LabError, match="offline"):
        load_model("emotion-lab-tests/no-such-model-anywhere")
    assert time.monotonic() - start < 5


def test_gguf_of_random_bytes_is_refused(tmp_path):
    path = tmp_path / "random.gguf"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(LabError, match="GGUF"):
        load_model(str(path))


@pytest.mark.parametrize(
    "content",
    [
        b"GGUF",  # magic only
        b"GGUF" + struct.pack("<IQQ", 3, 5, 3),  # a v3 header that promises 5 tensors and 3 keys, then ends
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 40) + b"general.architecture",  # a key cut short
    ],
    ids=["magic-only", "header-only", "key-cut-short"],
)
def test_truncated_gguf_is_refused(content, tmp_path, lab_home):
    path = tmp_path / "truncated.gguf"
    path.write_bytes(content)
    with pytest.raises(LabError, match="truncated.gguf"):
        load_model(str(path))
    models = lab_home / "cache" / "models"
    assert not models.exists() or not any(models.iterdir())  # nothing half-converted is left in the cache


# ---- emotion files ----------------------------------------------------------------------------


def _write_yaml(path, data):
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("just a string\n", "empty"),
        ({"name": "x", "examples": [f"text {i}" for i in range(MIN_EXAMPLES - 1)]}, f"at least {MIN_EXAMPLES}"),
        ({"name": "x", "examples": ["   ", ""] * 10}, f"at least {MIN_EXAMPLES}"),
        ({"name": "x", "examples": "one long string"}, "list"),
        ("name: [unclosed\n", "Could not read"),
    ],
    ids=["empty", "not-a-mapping", "too-few", "blank-examples", "examples-not-list", "bad-yaml"],
)
def test_bad_emotion_file_is_refused(content, message, tmp_path):
    path = _write_yaml(tmp_path / "bad.yaml", content)
    with pytest.raises(LabError, match=message):
        load_emotion_file(path, builtin=False)


def test_emotion_file_with_enough_examples_loads(tmp_path):
    examples = [f"  example {i}  " for i in range(MIN_EXAMPLES)]
    emotion = load_emotion_file(_write_yaml(tmp_path / "Wistful.yaml", {"description": "d", "examples": examples}), builtin=False)
    assert emotion.name == "wistful"  # from the file name, lower-cased
    assert emotion.examples == tuple(e.strip() for e in examples)


def test_builtin_emotions_are_valid():
    from lab.emotions.definitions import load_neutral, load_norms

    emotions = load_emotions(include_user=False)
    names = {e.name for e in emotions}
    assert len(emotions) == len(names) == 20
    assert {"happy", "sad", "afraid", "angry", "calm", "desperate"} <= names
    assert all(e.builtin and e.description and len(e.examples) >= 150 and len(e.validation) >= 30 for e in emotions)
    for e in emotions:  # validation texts are never training texts, and no text names its own emotion
        assert not set(e.validation) & set(e.examples), e.name
        assert not any(f" {e.name} " in f" {text.lower()} " for text in e.examples + e.validation), e.name
    neutral = load_neutral()
    assert len(neutral.texts) >= 250 and len(neutral.validation) >= 80
    assert set(load_norms()) == names  # every built-in emotion has published valence/arousal ratings


def test_bad_user_emotion_file_is_set_aside_when_loading_the_set(lab_home, caplog):
    folder = lab_home / "data" / "emotions"
    folder.mkdir(parents=True)
    _write_yaml(folder / "broken.yaml", "")
    assert "broken" not in [e.name for e in load_emotions()]  # one bad file never stops the lab
    assert "broken.yaml" in caplog.text and (folder / "quarantine" / "broken.yaml").exists()


def test_save_user_emotion_validates_and_joins_the_set():
    with pytest.raises(LabError, match=f"at least {MIN_EXAMPLES}"):
        save_user_emotion("wistful", ["one", "two", " "])
    with pytest.raises(LabError, match="built-in"):
        save_user_emotion("happy", [f"text {i}" for i in range(10)])
    with pytest.raises(LabError, match="not a usable emotion name"):
        save_user_emotion("9 lives", [f"text {i}" for i in range(10)])
    save_user_emotion("Wistful", [f"text {i}" for i in range(10)])
    emotions = load_emotions()
    assert emotions[-1].name == "wistful" and not emotions[-1].builtin
    assert len(emotions) == len(load_emotions(include_user=False)) + 1


@given(st.lists(st.text(alphabet=st.sampled_from("ab \t\n\r"), max_size=12), max_size=8))
def test_parse_examples_keeps_each_non_blank_line_stripped(lines):
    text = "\n".join(lines)
    parsed = parse_examples(text)
    assert parsed == [line.strip() for line in text.splitlines() if line.strip()]
    assert all(item and item == item.strip() and "\n" not in item for item in parsed)
    assert parse_examples("\n".join(parsed)) == parsed


# ---- parse_steer -------------------------------------------------------------------------------


@pytest.mark.parametrize("item", ["happy", "happy=", "happy=abc", "=0.1", "  =0.1", "happy=nan", "happy=inf", "happy=-inf", "happy=0.1=2"])
def test_parse_steer_rejects_malformed_items(item):
    with pytest.raises(LabError, match="EMOTION=STRENGTH"):
        parse_steer([item])


NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
VALUES = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(NAMES, VALUES, st.booleans()), max_size=6))
def test_parse_steer_reads_back_what_was_written(pairs):
    items = [f" {name.upper() if shout else name} ={value!r}" for name, value, shout in pairs]
    expected: dict[str, float] = {}
    for name, value, _ in pairs:
        expected[name] = value  # a repeated name: the last one wins
    assert parse_steer(items) == expected


# ---- hooks ---------------------------------------------------------------------------------------


def test_hooks_are_removed_after_an_exception(tiny_lm):
    ids = torch.tensor([tiny_lm.text_ids("some text")])
    with torch.inference_mode():
        before = tiny_lm.model(input_ids=ids).logits
    original = hook_count(tiny_lm)
    with pytest.raises(RuntimeError, match="boom"):
        with residual_hooks(tiny_lm.layers, range(tiny_lm.depth), edit=lambda layer, hidden: hidden + 100.0):
            assert hook_count(tiny_lm) == original + tiny_lm.depth
            with torch.inference_mode():
                edited = tiny_lm.model(input_ids=ids).logits
            assert not torch.equal(edited, before)  # the hooks were really in force
            raise RuntimeError("boom")
    assert hook_count(tiny_lm) == original
    with torch.inference_mode():
        assert torch.equal(tiny_lm.model(input_ids=ids).logits, before)


def test_hooks_are_removed_when_generation_is_abandoned(tiny_lm, tiny_directions):
    original = hook_count(tiny_lm)
    stream = generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), SteeringState(tiny_directions), SamplingSettings(max_new_tokens=20))
    next(stream)
    assert hook_count(tiny_lm) > original
    stream.close()
    assert hook_count(tiny_lm) == original


# ---- steering and generation -----------------------------------------------------------------


def test_zero_strengths_leave_logits_bit_identical(tiny_lm, tiny_directions):
    ids = torch.tensor([tiny_lm.chat_ids(PROMPT)])
    every_layer = tuple(range(tiny_lm.depth))
    with torch.inference_mode():
        plain = tiny_lm.model(input_ids=ids).logits

        def logits_with(strengths):
            state = SteeringState(tiny_directions, layers=every_layer)
            state.set_all(strengths)
            steerer = Steerer(state)
            steerer.begin_step()
            with residual_hooks(tiny_lm.layers, every_layer, edit=steerer):
                return tiny_lm.model(input_ids=ids).logits

        assert torch.equal(logits_with({}), plain)
        assert torch.equal(logits_with({"joy": 0.0, "fear": -0.0}), plain)
        assert not torch.equal(logits_with({"joy": 0.05}), plain)


def test_zero_strength_generation_matches_plain_greedy_generate(tiny_lm, tiny_directions):
    ids = tiny_lm.chat_ids(PROMPT)
    (tokens,), _ = run_generate(tiny_lm, tiny_directions, [{}], n=16)
    with torch.inference_mode():
        output = tiny_lm.model.generate(
            torch.tensor([ids]), do_sample=False, max_new_tokens=16,
            eos_token_id=list(tiny_lm.stop_token_ids), pad_token_id=tiny_lm.tokenizer.pad_token_id,
        )
    assert len(tokens) == 16
    assert tokens == output[0, len(ids):].tolist()


def test_rows_in_one_batch_equal_the_same_rows_run_alone(tiny_lm, tiny_directions):
    rows = [{}, {"joy": 0.5}, {"fear": -0.5, "rage": 0.5}]
    batched, events = run_generate(tiny_lm, tiny_directions, rows)
    alone = [run_generate(tiny_lm, tiny_directions, [strengths])[0][0] for strengths in rows]
    assert batched == alone
    assert len({tuple(tokens) for tokens in batched}) == 3  # the strengths really steer
    for event in events:
        assert event.strengths == rows[event.row]


def test_seeded_sampling_is_reproducible_and_independent_of_the_batch(tiny_lm, tiny_directions):
    sampling = dict(temperature=0.9, top_p=0.95)
    first, _ = run_generate(tiny_lm, tiny_directions, [{}], n=16, seed=123, **sampling)
    again, _ = run_generate(tiny_lm, tiny_directions, [{}], n=16, seed=123, **sampling)
    other, _ = run_generate(tiny_lm, tiny_directions, [{}], n=16, seed=124, **sampling)
    greedy, _ = run_generate(tiny_lm, tiny_directions, [{}], n=16)
    batched, _ = run_generate(tiny_lm, tiny_directions, [{"joy": 0.5}, {}], n=16, seed=123, **sampling)
    assert first == again
    assert other != first
    assert greedy != first
    assert batched[1] == first[0]


def test_steering_changed_mid_generation_acts_from_the_next_token(tiny_lm, tiny_directions):
    every_layer = tuple(range(tiny_lm.depth))
    (reference,), reference_events = run_generate(tiny_lm, tiny_directions, [{}], n=10, layers=every_layer)
    state = SteeringState(tiny_directions, layers=every_layer)
    changed_after = 3
    events = []
    for event in generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), state, SamplingSettings(max_new_tokens=10)):
        if event.is_prompt:
            continue
        events.append(event)
        if len(events) == changed_after:
            state.set("joy", 0.75)  # exactly representable: strengths are kept as float32
    assert [e.strengths for e in events] == [{}] * changed_after + [{"joy": 0.75}] * (len(events) - changed_after)
    tokens = [e.token_id for e in events]
    # the change cannot touch tokens chosen before it ...
    assert tokens[: changed_after + 1] == reference[: changed_after + 1]
    assert [e.readings for e in events[:changed_after]] == [e.readings for e in reference_events[:changed_after]]
    # ... but the very next forward pass (its readings, then the token after) runs steered
    assert events[changed_after].push["joy"] > 0 and not events[changed_after - 1].push
    assert events[changed_after].raw_readings()["joy"] > reference_events[changed_after].readings["joy"]
    assert tokens != reference


def test_one_row_can_be_changed_while_the_others_keep_their_strengths(tiny_lm, tiny_directions):
    state = SteeringState(tiny_directions, rows=2)
    events = []
    for event in generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), state, SamplingSettings(max_new_tokens=6)):
        if not event.is_prompt:
            events.append(event)
            if len(events) == 2:
                state.set("rage", -0.375, row=1)
    assert all(e.strengths == {} for e in events if e.row == 0)
    assert [e.strengths for e in events if e.row == 1] == [{}] + [{"rage": -0.375}] * 5


@pytest.mark.parametrize("rows", [1, 2])
def test_stop_event_stops_within_one_token(tiny_lm, tiny_directions, rows):
    stop = threading.Event()
    state = SteeringState(tiny_directions, rows=rows)
    positions = []
    for event in generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), state, SamplingSettings(max_new_tokens=50), stop=stop):
        if event.is_prompt:
            continue
        positions.append(event.position)
        if len(positions) == 3 * rows:
            stop.set()
            stopped_at = event.position
    assert len(positions) >= 3 * rows
    assert max(positions) <= stopped_at + 1
    assert len(positions) <= 4 * rows


def test_stop_event_set_from_another_thread(tiny_lm, tiny_directions):
    stop, reached = threading.Event(), threading.Event()
    count = 0

    def consume():
        nonlocal count
        for event in generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), SteeringState(tiny_directions), SamplingSettings(max_new_tokens=10_000), stop=stop):
            if not event.is_prompt:
                count += 1
                if count == 5:
                    reached.set()
                    stop.wait(5)  # the main thread sets stop while this token is being handled

    worker = threading.Thread(target=consume)
    worker.start()
    assert reached.wait(30)
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    assert 5 <= count <= 6


def test_a_row_stops_at_its_end_of_turn_token_while_others_go_on(tiny_lm, tiny_directions):
    rows = [{}, {"fear": 0.6}]
    alone = [run_generate(tiny_lm, tiny_directions, [r], n=12)[0][0] for r in rows]
    # pretend the first token of row 0 that is new and never produced by row 1 ends the turn
    k, stop_token = next((k, t) for k, t in enumerate(alone[0]) if k > 0 and t not in alone[0][:k] and t not in alone[1])
    lm = dataclasses.replace(tiny_lm, stop_token_ids=(stop_token,))
    tokens, events = run_generate(lm, tiny_directions, rows, n=12)
    assert tokens[0] == alone[0][:k]
    assert tokens[1] == alone[1]
    assert stop_token not in [e.token_id for e in events]


def test_generation_stops_early_when_every_row_ends(tiny_lm, tiny_directions):
    (tokens,), _ = run_generate(tiny_lm, tiny_directions, [{}], n=12)
    lm = dataclasses.replace(tiny_lm, stop_token_ids=(tokens[0],))
    assert run_generate(lm, tiny_directions, [{}], n=12)[0] == [[]]


def test_generation_refuses_empty_prompt_and_foreign_directions(tiny_lm, tiny_directions):
    with pytest.raises(LabError, match="empty"):
        list(generate(tiny_lm, tiny_directions, [], SteeringState(tiny_directions)))
    foreign = dataclasses.replace(tiny_directions, model_identity="another-model")
    with pytest.raises(LabError, match="different model"):
        list(generate(tiny_lm, foreign, tiny_lm.chat_ids(PROMPT), SteeringState(foreign)))


def test_generated_readings_equal_a_fresh_read_of_the_same_tokens(tiny_lm_float32, tiny_directions):
    tiny_lm = tiny_lm_float32  # exact equality: float32 whatever the default precision
    ids = tiny_lm.chat_ids(PROMPT)
    events = list(generate(tiny_lm, tiny_directions, ids, SteeringState(tiny_directions), SamplingSettings(max_new_tokens=8)))
    assert [e.position for e in events] == list(range(len(ids) + 8))
    assert [e.token_id for e in events if e.is_prompt] == ids
    fresh = read_ids(tiny_lm, tiny_directions, [e.token_id for e in events])
    for event in events[1:]:  # position 0 is the sink: its readings are zero by design
        expected = torch.tensor([fresh[event.position, i] for i in range(len(tiny_directions.emotions))])
        got = torch.tensor([event.readings[name] for name in tiny_directions.emotions])
        assert torch.allclose(got, expected, atol=2e-3), event.position


def test_decoder_never_splits_a_multibyte_character():
    tokenizer = build_tiny_tokenizer()
    text = "né ☃ ok"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > len(text)  # multi-byte characters take several tokens
    decoder = Decoder(tokenizer)
    pieces = [decoder.push(i) for i in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


def test_steering_state_refuses_unknown_emotions(tiny_directions):
    state = SteeringState(tiny_directions)
    with pytest.raises(LabError, match="joy"):
        state.set("nosuch", 0.1)
    with pytest.raises(LabError, match="nosuch"):
        state.set_all({"nosuch": 0.1})


# ---- extraction, reading and files -----------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_extraction_gives_calibrated_unit_directions(tiny_lm, tiny_emotions, method):
    emotions, neutral = tiny_emotions
    directions = extract(tiny_lm, emotions, neutral, method)
    depth, n = tiny_lm.depth, len(emotions)
    assert directions.emotions == ["joy", "fear", "rage"]
    assert directions.vectors.shape == (depth, n, tiny_lm.width)
    assert torch.allclose(directions.vectors.norm(dim=-1), torch.ones(depth, n), atol=1e-5)
    assert 0 <= directions.reading_layer < depth
    assert directions.steering_layers and all(0 <= layer < depth for layer in directions.steering_layers)
    assert directions.accuracy.shape == (depth, n)
    assert float(directions.accuracy[directions.reading_layer].mean()) > 0.6  # chance is 1/3
    assert bool((directions.layer_norms > 0).all()) and bool((directions.calib_std > 0).all())
    assert directions.model_identity == tiny_lm.identity


def test_neutral_text_reads_near_zero_and_emotional_text_reads_its_emotion(tiny_lm, tiny_directions, tiny_emotions):
    emotions, neutral = tiny_emotions
    tokens = torch.cat([text_reading(tiny_lm, tiny_directions, text).per_token for text in neutral])
    assert tokens.mean(0).abs().max() < 0.25  # readings are z-scores against neutral tokens
    assert ((tokens.std(0) > 0.75) & (tokens.std(0) < 1.33)).all()
    tops = [text_reading(tiny_lm, tiny_directions, text).top == emotion.name for emotion in emotions for text in emotion.examples]
    assert sum(tops) / len(tops) > 0.8


def test_extraction_refuses_unknown_method_and_single_emotion(tiny_lm, tiny_emotions):
    emotions, neutral = tiny_emotions
    with pytest.raises(LabError, match="mean_diff"):
        extract(tiny_lm, emotions, neutral, "magic")
    with pytest.raises(LabError, match="two built-in emotions"):
        extract(tiny_lm, emotions[:1], neutral)


def test_native_direction_file_round_trip(tiny_directions, tmp_path):
    path = tmp_path / "dirs" / "set.safetensors"
    save_directions(tiny_directions, path)
    loaded = load_directions(path)
    for item in dataclasses.fields(DirectionSet):
        original, reloaded = getattr(tiny_directions, item.name), getattr(loaded, item.name)
        if isinstance(original, torch.Tensor):
            assert torch.equal(original, reloaded), item.name
        elif item.name == "picture":  # the built-in picture user-made emotions are placed against
            assert original is not None and reloaded is not None
            stored, read = original.tensors(), reloaded.tensors()
            assert stored.keys() == read.keys() and all(torch.equal(stored[k], read[k]) for k in stored), item.name
        else:
            assert original == reloaded, item.name


def test_damaged_or_foreign_direction_files_are_refused(tiny_directions, tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(os.urandom(256))
    with pytest.raises(LabError):
        load_directions(garbage)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"vectors": torch.zeros(2, 2)}, str(foreign))
    with pytest.raises(LabError, match="not an Emotion Lab direction file"):
        load_directions(foreign)


def test_gguf_control_vector_round_trip(tiny_directions, tmp_path):
    i = tiny_directions.index("fear")
    vectors = {layer: tiny_directions.vectors[layer, i] * tiny_directions.layer_norms[layer] * 0.5 for layer in tiny_directions.steering_layers}
    path = tmp_path / "fear.gguf"
    export_control_vector(path, vectors, "llama")
    read = read_control_vector(path)
    assert sorted(read) == sorted(vectors)
    for layer, vector in vectors.items():
        assert read[layer].dtype == torch.float32
        assert torch.equal(read[layer], vector.float())


@pytest.mark.parametrize("content", [b"not gguf at all", b"GGUF", b"GGUF" + struct.pack("<IQQ", 3, 2, 0)], ids=["random", "magic-only", "header-only"])
def test_unreadable_control_vector_is_refused(content, tmp_path):
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(LabError, match="broken.gguf"):
        read_control_vector(path)


def test_imported_vectors_fill_layers_and_join_the_set(tiny_lm, tiny_directions):
    width = tiny_lm.width
    vectors = {1: torch.ones(width) * 3.0, 3: torch.arange(width, dtype=torch.float32)}
    filled = fill_layers(vectors, depth=4, width=width)
    assert torch.allclose(filled.norm(dim=-1), torch.ones(4))
    assert torch.equal(filled[0], filled[1]) and torch.equal(filled[2], filled[1])  # nearest layer (ties: lower)
    assert torch.allclose(filled[3], vectors[3] / vectors[3].norm())
    with pytest.raises(LabError, match="width"):
        fill_layers({0: torch.ones(width + 1)}, depth=4, width=width)
    merged = merge_imported(tiny_directions, tiny_lm, {"wistful": vectors, "joy": vectors})
    assert merged.emotions == ["joy", "fear", "rage", "wistful"]  # a name already present is not replaced
    assert torch.equal(merged.vectors[:, 3], filled)
    assert torch.equal(merged.vectors[:, :3], tiny_directions.vectors)
    assert bool((merged.calib_std[:, 3] > 0).all())
    assert merged.extras["imported"] == ["wistful"]


def test_emotion_map_coordinates_are_the_top_two_components(tiny_directions):
    """Five emotions with known principal axes (spreads 3, 2 and 0.1 along three orthogonal
    directions, turned at random in the model's width): the map shows the first two, and only them."""
    import dataclasses

    import numpy as np

    from lab.emotions.emotion_map import emotion_map

    known = np.array([[3.0, 0, 0.1], [-3, 0, 0.1], [0, 2, -0.1], [0, -2, -0.1], [0, 0, 0]])  # centred, uncorrelated columns
    depth, _, width = tiny_directions.vectors.shape
    turn, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(width, width)))
    vectors = torch.zeros(depth, 5, width, dtype=torch.float64)
    vectors[tiny_directions.reading_layer] = torch.from_numpy(known @ turn[:3] + 0.5)  # moved off the origin
    names = ["a", "b", "c", "d", "e"]
    directions = dataclasses.replace(tiny_directions, emotions=names, vectors=vectors.float(), extras={"builtin": names})
    picture = emotion_map(directions, norms={})
    assert np.allclose(np.abs(picture.coordinates), np.abs(known[:, :2]), atol=1e-5)
    total = (known**2).sum()
    assert [a.variance_share for a in picture.axes] == pytest.approx([18 / total, 8 / total], abs=1e-6)
    assert "principal component" in picture.axes[0].label  # no ratings: no axis is named
