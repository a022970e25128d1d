"""The embedded model's safetensors cache: reused when whole, rebuilt when damaged."""
import shutil
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration


def test_damaged_model_cache_is_detected_and_rebuilt(engine, lab_home, monkeypatch):
    from lab.model import sources
    from lab.model.loader import load_model
    from lab.common.paths import cache_dir

    monkeypatch.setattr(sources, "prepared_models_dir", lambda: lab_home / "no-prepared-models")

    real_folder = Path(engine.lm.model.name_or_path)
    copy = cache_dir() / "models" / real_folder.name
    shutil.copytree(real_folder, copy)
    weights = copy / "model.safetensors"
    with weights.open("r+b") as handle:  # same size, garbage header
        handle.write(b"\xff" * 64)

    lm = load_model("embedded")

    assert lm.identity == engine.lm.identity
    assert Path(lm.model.name_or_path) == copy
    with weights.open("rb") as handle:
        assert handle.read(64) != b"\xff" * 64
    ids = lm.chat_ids([{"role": "user", "content": "Hi"}])
    assert lm.model(input_ids=torch.tensor([ids])).logits.isfinite().all()


def test_a_conversion_prepared_at_set_up_is_used_without_converting(engine, lab_home, monkeypatch):
    from lab.common.paths import cache_dir
    from lab.model import loader, sources

    prepared = lab_home / "prepared"
    folder = prepared / Path(engine.lm.model.name_or_path).name
    folder.mkdir(parents=True)
    for item in Path(engine.lm.model.name_or_path).iterdir():
        (folder / item.name).symlink_to(item)
    monkeypatch.setattr(sources, "prepared_models_dir", lambda: prepared)
    monkeypatch.setattr(sources, "convert_gguf", lambda *args: pytest.fail("converted again"))

    lm = loader.load_model("embedded")

    assert Path(lm.model.name_or_path) == folder
    assert lm.identity == engine.lm.identity
    assert not (cache_dir() / "models" / folder.name).exists()


def test_a_conversion_never_writes_through_a_planted_link(engine, lab_home, monkeypatch, tmp_path):
    """Links planted at the old fixed temporary name and at the target are never followed."""
    from lab.common.paths import cache_dir
    from lab.model import loader, sources

    monkeypatch.setattr(sources, "prepared_models_dir", lambda: lab_home / "no-prepared-models")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("precious")
    name = Path(engine.lm.model.name_or_path).name
    root = cache_dir() / "models"
    root.mkdir(parents=True)
    (root / f"{name}.partial").symlink_to(victim, target_is_directory=True)
    (root / name).symlink_to(victim, target_is_directory=True)

    lm = loader.load_model("embedded")

    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"] and (victim / "precious.txt").read_text() == "precious"
    assert Path(lm.model.name_or_path) == root / name and not (root / name).is_symlink()
    assert not list(root.glob(f".{name}.partial-*"))
