"""Shared fixtures.

Core fixtures (tests/test_core_*.py, tests/test_cli.py):
  torch_one_thread  (module scope) torch.set_num_threads(1) while the module runs
  lab_home          EMOTION_LAB_HOME -> a fresh temporary folder (isolated user data and cache)
  tiny_model_dir    a random 4-layer Llama (width 32) with a tiny byte-level ChatML tokenizer, saved as a model folder
  tiny_lm           that folder loaded with lab.model.loader.load_model (default precision: EMOTION_LAB_DTYPE or float32)
  tiny_lm_float32   the same in float32 always (tests of exact equality pin their precision)
  tiny_emotions     three synthetic emotions (+ neutral texts) made of disjoint word lists
  tiny_directions   lab.emotions.extraction.extract on tiny_lm with tiny_emotions
  real_model_home   an EMOTION_LAB_HOME whose cache is the real user cache (the converted embedded model and its
                    directions are reused) while user data (user-made and imported emotions) starts empty
  engine            lab.runtime.engine.open_engine() on the embedded SmolLM2 model, loaded once per session
  engine_float32    the same in float32 always (the same object unless EMOTION_LAB_DTYPE says otherwise)
  standin_hub       a stand-in Hugging Face hub on 127.0.0.1 serving the tiny model (tests/hub_standin.py)
  standin_ndif      a stand-in NDIF server on 127.0.0.1 running received traces on the tiny model (tests/ndif_standin.py)
  tiny_window       the real MainWindow, shown, using tiny_lm and tiny_directions (Qt, offscreen; shown_window)

Heavy imports (torch, transformers) happen inside the fixtures, so tests that do not use them stay fast.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hub_standin import standin_hub  # noqa: F401 - the stand-in hub fixture (tests/hub_standin.py)
from ndif_standin import standin_ndif  # noqa: F401 - the stand-in NDIF fixture (tests/ndif_standin.py)

TINY_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # ids 0, 1, 2 (as in SmolLM2)
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TINY_WORDS = {
    "joy": "sun smile laugh bright dance party gift cake",
    "fear": "dark shadow scream run hide creak storm night",
    "rage": "smash yell fist slam burn fight glare stomp",
}
TINY_NEUTRAL_WORDS = "the table is made of wood and paper with a chair near the window".split()


def pytest_addoption(parser):
    parser.addoption("--reverse", action="store_true", help="run the collected tests in reverse order (finds order dependence)")


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: uses the embedded SmolLM2 model (converted and extracted on first use)")
    config.addinivalue_line("markers", "float32_only: pins float32 and takes minutes; `make test-bfloat16` leaves it to `make test`")
    config.addinivalue_line("markers", "shipped_data: re-derives the shipped directions and slider range from scratch (minutes); "
                            "`make test` leaves it to `make test-shipped`")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if config.getoption("--reverse"):
        items.reverse()


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer without merges (one token per byte) plus ChatML special tokens: 259 tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(list(TINY_SPECIALS) + sorted(pre_tokenizers.ByteLevel.alphabet()))}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def tiny_llama_config(vocab_size: int, **overrides):
    from transformers import LlamaConfig

    settings = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=vocab_size, bos_token_id=0, eos_token_id=2, pad_token_id=0,
    )
    settings.update(overrides)
    return LlamaConfig(**settings)


def save_tiny_model(folder: Path, config=None, seed: int = 0) -> Path:
    """Save a randomly initialised causal LM (seeded) and the tiny tokenizer into `folder`."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = build_tiny_tokenizer()
    config = config if config is not None else tiny_llama_config(len(tokenizer))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run torch on one thread for a module. On a shared, busy CPU, idle-spinning worker threads make
    small models 5-50x slower; a single thread is never much slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def lab_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "lab-home"
    home.mkdir()
    monkeypatch.setenv("EMOTION_LAB_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    from lab.model.loader import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="session")
def tiny_lm_float32(tiny_model_dir, tiny_lm):
    """tiny_lm in float32 whatever the default precision (EMOTION_LAB_DTYPE): for tests of exact equality."""
    from lab.model.loader import load_model

    return tiny_lm if tiny_lm.runtime["dtype"] == "float32" else load_model(str(tiny_model_dir), dtype="float32")


@pytest.fixture(scope="session")
def tiny_emotions():
    """(emotions, neutral texts): 10 texts per emotion drawn from disjoint word lists, 24 neutral texts."""
    from lab.emotions.definitions import Emotion

    rng = random.Random(0)
    emotions = [
        Emotion(name, f"synthetic {name}", tuple(" ".join(rng.choice(words.split()) for _ in range(8)) for _ in range(10)))
        for name, words in TINY_WORDS.items()
    ]
    neutral = tuple(" ".join(rng.choice(TINY_NEUTRAL_WORDS) for _ in range(10)) for _ in range(24))
    return emotions, neutral


@pytest.fixture(scope="session")
def tiny_directions(tiny_lm, tiny_emotions):
    from lab.emotions.extraction import extract

    emotions, neutral = tiny_emotions
    return extract(tiny_lm, emotions, neutral, "mean_diff")


@pytest.fixture(scope="session")
def real_model_home(tmp_path_factory) -> Path:
    """A lab home that shares the real user cache (fast after the first run) but has empty user data."""
    from lab.common.paths import cache_dir

    real_cache = cache_dir()  # honours an EMOTION_LAB_HOME already set by whoever runs the tests
    home = tmp_path_factory.mktemp("real-model-home")
    os.symlink(real_cache, home / "cache", target_is_directory=True)
    return home


@pytest.fixture(scope="session")
def engine(real_model_home):
    from lab.runtime.engine import open_engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTION_LAB_HOME", str(real_model_home))
        return open_engine()


@pytest.fixture(scope="session")
def engine_float32(engine, real_model_home):
    """The embedded engine in float32 whatever the default precision: for tests of exact equality and of
    the shipped (float32) directions."""
    from lab.runtime.engine import open_engine

    if engine.lm.runtime["dtype"] == "float32":
        return engine
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTION_LAB_HOME", str(real_model_home))
        return open_engine(dtype="float32")


def shown_window(qapp, folder: Path, lm, directions):
    """The real main window, shown, using `lm` and `directions` (nothing loads in the background),
    with its settings and lab file in `folder`."""
    from PySide6.QtCore import QSettings

    from lab.runtime.engine import Engine
    from ui.shell.main_window import MainWindow

    win = MainWindow("embedded", settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat),
                     db_path=folder / "lab.db")
    win.show()
    win.models.use_engine(Engine(lm, directions))
    qapp.processEvents()
    return win


@pytest.fixture
def tiny_window(qapp, tmp_path, lab_home, tiny_lm, tiny_directions):
    """The real main window on the tiny model (shown_window)."""
    win = shown_window(qapp, tmp_path, tiny_lm, tiny_directions)
    yield win
    if win.isVisible():
        win.close()
