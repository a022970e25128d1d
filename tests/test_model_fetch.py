"""The model catalogue and downloads, offline: a stand-in hub on 127.0.0.1 (tests/hub_standin.py) serves
the tiny test model's real files, with slow, dropped and corrupted responses and a gated repository.
The lab is pointed at it with HF_ENDPOINT, as a classroom would point it at a mirror."""
from __future__ import annotations

import json
import sys
from collections import namedtuple

import pytest

from lab.common.errors import LabError
from lab.common.progress import Cancelled
from hub_standin import GATED, REPO, TOKEN

WEIGHTS = "model.safetensors"


class Recorder:
    """A Progress that keeps every status and progress call, and can ask to stop after some calls."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.statuses: list[str] = []
        self.progress: list[tuple[int, int]] = []
        self.stop_after = stop_after
        self.asked = 0

    def set_status(self, text: str) -> None:
        self.statuses.append(text)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def cancelled(self) -> bool:
        self.asked += 1
        return self.stop_after is not None and self.asked > self.stop_after


@pytest.fixture
def hub(standin_hub):
    return standin_hub


def served_names(tiny_model_dir) -> set[str]:
    from lab.model.fetch import _wanted

    return {p.name for p in tiny_model_dir.iterdir() if _wanted(p.name)}


def test_get_downloads_with_byte_progress_then_loads_offline_as_the_same_model(hub, tiny_model_dir):
    from lab.model.fetch import downloaded_folder, fetch_model
    from lab.model.loader import load_model

    progress = Recorder()
    folder = fetch_model(REPO, progress)
    assert {p.name for p in folder.iterdir() if not p.name.endswith(".marker")} == served_names(tiny_model_dir)
    for name in served_names(tiny_model_dir):
        assert (folder / name).read_bytes() == (tiny_model_dir / name).read_bytes()
    assert downloaded_folder(REPO) == folder
    total = sum((tiny_model_dir / n).stat().st_size for n in served_names(tiny_model_dir))
    assert any(s.startswith(f"Downloading {REPO}: ") and " of " in s for s in progress.statuses)
    last = progress.statuses[-2]
    assert last.startswith(f"Downloading {REPO}: ") and f"{total / 1e3:.1f} KB of {total / 1e3:.1f} KB" in last and "left" not in last
    assert progress.progress[-1] == (0, 1)  # the bar counts whole MiB (Qt's values are 32-bit): 0 of (at least) 1
    assert progress.statuses[-1].startswith(f"Downloaded {REPO}: {total / 1e3:.1f} KB in ") and "every file checked" in progress.statuses[-1]
    requests = len(hub.log)
    lm = load_model(REPO, dtype="float32")  # from the completed folder: no request at all
    assert len(hub.log) == requests
    assert lm.identity == load_model(str(tiny_model_dir), dtype="float32").identity


def test_a_dropped_connection_is_resumed_with_a_range_request_in_the_same_call(hub, tiny_model_dir):
    from lab.model.fetch import fetch_model

    hub.drops[WEIGHTS] = 1
    folder = fetch_model(REPO)
    first, second = hub.downloads(WEIGHTS)
    size = (tiny_model_dir / WEIGHTS).stat().st_size
    assert first["range"] is None and second["range"] == f"bytes={size // 2}-"  # nothing received is lost
    assert (folder / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes()


def test_an_interrupted_download_keeps_its_part_and_the_next_try_resumes_it(hub, tiny_model_dir, monkeypatch):
    import lab.model.fetch as fetch

    monkeypatch.setattr(fetch, "RETRIES", 0)
    hub.drops[WEIGHTS] = 1
    with pytest.raises(LabError) as stopped:
        fetch.fetch_model(REPO)
    message = str(stopped.value)
    assert "interrupted" in message and "resumes" in message and "\n" not in message
    part = fetch.model_folder(REPO) / f"{WEIGHTS}.part"
    kept = part.stat().st_size
    assert kept == (tiny_model_dir / WEIGHTS).stat().st_size // 2
    assert fetch.downloaded_folder(REPO) is None
    folder = fetch.fetch_model(REPO)
    assert hub.downloads(WEIGHTS)[-1]["range"] == f"bytes={kept}-"
    assert (folder / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes() and not part.exists()


def test_a_corrupted_file_is_refused_and_removed(hub):
    from lab.model.fetch import downloaded_folder, fetch_model, model_folder

    hub.corrupt.add(WEIGHTS)
    with pytest.raises(LabError, match=f"{WEIGHTS} of {REPO} arrived damaged: its checksum does not match"):
        fetch_model(REPO)
    folder = model_folder(REPO)
    assert not (folder / WEIGHTS).exists() and not (folder / f"{WEIGHTS}.part").exists()
    assert downloaded_folder(REPO) is None
    hub.corrupt.clear()
    assert (fetch_model(REPO) / WEIGHTS).is_file()


def test_a_corrupted_small_file_is_refused_too(hub):
    from lab.model.fetch import fetch_model

    hub.corrupt.add("config.json")  # not LFS: checked against the git blob id
    with pytest.raises(LabError, match="config.json .* arrived damaged"):
        fetch_model(REPO)


def test_a_download_that_will_not_fit_on_the_disk_is_refused_before_the_first_byte(hub, monkeypatch):
    import lab.model.fetch as fetch

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda _path: Usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(LabError, match=r"Not enough disk space for .*needs .* more, but only 1.0 KB is free"):
        fetch.fetch_model(REPO)
    assert hub.downloads() == []


def test_a_gated_model_needs_a_token_entered_once(hub):
    import lab.model.fetch as fetch

    with pytest.raises(LabError) as refused:
        fetch.fetch_model(GATED)
    assert str(refused.value).startswith(f"'{GATED}' needs a hub token: accept its licence at {hub.url}/{GATED}")
    assert all(e["auth"] is None for e in hub.log) and hub.downloads() == []  # refused from the model info, before any file
    assert fetch.remember_hub_token(TOKEN) is False  # no keyring here: kept for this run
    before = len(hub.log)
    folder = fetch.fetch_model(GATED)
    assert (folder / WEIGHTS).is_file()
    assert all(e["auth"] == f"Bearer {TOKEN}" for e in hub.log[before:])


def test_a_file_refused_with_401_says_a_token_is_needed_too(hub):
    from lab.model.fetch import fetch_model

    hub.repos[GATED].says_gated = False
    with pytest.raises(LabError, match=f"^'{GATED}' needs a hub token"):
        fetch_model(GATED)
    assert [e["auth"] for e in hub.downloads()] == [None]  # the first file's answer


def test_hf_token_is_honoured_and_a_token_without_access_is_told_apart(hub, monkeypatch):
    from lab.model.fetch import fetch_model

    monkeypatch.setenv("HF_TOKEN", "hf_someone_else")
    with pytest.raises(LabError, match=f"Your hub token has no access to '{GATED}'"):
        fetch_model(GATED)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert (fetch_model(GATED) / WEIGHTS).is_file()


def test_cancel_stops_the_download_and_the_next_try_resumes(hub, tiny_model_dir):
    from lab.model.fetch import fetch_model, model_folder

    hub.delay_s = 0.002
    with pytest.raises(Cancelled):
        fetch_model(REPO, Recorder(stop_after=5))
    parts = list(model_folder(REPO).glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 0
    hub.delay_s = 0.0
    name = parts[0].name.removesuffix(".part")
    kept = parts[0].stat().st_size
    folder = fetch_model(REPO)
    assert hub.downloads(name)[-1]["range"] == f"bytes={kept}-"
    assert (folder / name).read_bytes() == (tiny_model_dir / name).read_bytes()


def test_unknown_repo_unreachable_hub_and_offline_mode_are_one_line(hub, monkeypatch):
    from lab.model.fetch import fetch_model

    with pytest.raises(LabError, match="was not found on the hub"):
        fetch_model("emotion-lab-tests/nothing-here")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(LabError, match=r"Cannot reach the hub at http://127.0.0.1:9"):
        fetch_model(REPO)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LabError, match="offline"):
        fetch_model(REPO)


def test_models_get_on_the_command_line(hub, capsys):
    from lab.cli.main import main

    assert main(["models", "get", REPO]) == 0
    out = capsys.readouterr()
    assert f"{REPO} is in " in out.out and f"--model {REPO}" in out.out
    assert main(["models", "get", GATED]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"error: '{GATED}' needs a hub token")


def test_models_list_shows_the_catalogue_with_memory_and_a_measured_speed_estimate(tiny_lm, lab_home, capsys):
    import torch

    from lab.cli.main import main
    from lab.model.catalogue import load_catalogue, measure_speed, save_probe
    from lab.model.precision import memory_needed

    probe = save_probe(measure_speed(tiny_lm, tokens=4))
    assert probe.tokens_per_s > 0 and probe.parameters == sum(p.numel() for p in tiny_lm.model.parameters())
    assert main(["models", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    catalogue = load_catalogue()
    assert [r["hub_id"] for r in rows] == [m.hub_id for m in catalogue] and len(rows) == 8
    for row, model in zip(rows, catalogue):
        assert row["memory_bytes"] == {"float32": memory_needed(model.parameters, torch.float32),
                                       "bfloat16": memory_needed(model.parameters, torch.bfloat16)}
        assert row["estimated_tokens_per_s"] == round(probe.tokens_per_s * probe.parameters / model.parameters, 2)
        assert row["needs_token"] == (model.hub_id.startswith(("meta-llama/", "google/")))
        assert row["lessons_measured"] == [] and row["sizes_approximate"] is True
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "SmolLM2-1.7B-Instruct" in text and "none measured yet" in text and "an estimate, not a measurement" in text


def test_speeds_are_written_with_two_significant_figures_at_most():
    from lab.model.catalogue import speed_text

    assert [speed_text(v) for v in (14.3, 1.63, 0.347, 0.04)] == ["~14 tokens/s", "~1.6 tokens/s", "~0.35 tokens/s", "~0.04 tokens/s"]


def test_catalogue_names_resolve_and_any_hub_id_still_works():
    from lab.model.catalogue import resolve

    assert resolve("qwen2.5-1.5b") == "Qwen/Qwen2.5-1.5B-Instruct"
    assert resolve("meta-llama/llama-3.2-1b-instruct") == "meta-llama/Llama-3.2-1B-Instruct"
    assert resolve("someone/their-model") == "someone/their-model"
    with pytest.raises(LabError, match="neither a catalogue model"):
        resolve("not a model")


def test_transfer_meter_shows_bytes_speed_and_time_left():
    from lab.common.progress import TransferMeter

    now = [0.0]
    meter = TransferMeter("Downloading x", total=3_000_000_000, clock=lambda: now[0])
    assert meter.text() == "Downloading x: 0 bytes of 3.0 GB"
    for _ in range(10):
        now[0] += 1.0
        meter.add(10_000_000)  # 10 MB/s
    assert meter.text() == "Downloading x: 100.0 MB of 3.0 GB, 10.0 MB/s, about 5 min left"
    progress = Recorder()
    meter.report(progress)
    assert progress.progress == [(100_000_000 >> 20, 3_000_000_000 >> 20)] and progress.statuses == [meter.text()]


def test_models_token_keeps_the_token_in_the_keyring_and_downloads_use_it(hub, monkeypatch, capsys):
    import io
    import types

    from lab.cli.main import main
    from lab.model.fetch import fetch_model

    stored: dict = {}
    fail = types.ModuleType("keyring.backends.fail")
    fail.Keyring = type("Keyring", (), {})
    keyring = types.SimpleNamespace(get_keyring=lambda: object(), get_password=lambda s, n: stored.get((s, n)),
                                    set_password=lambda s, n, v: stored.__setitem__((s, n), v))
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    assert main(["models", "token"]) == 0
    assert "Saved in the system keyring." in capsys.readouterr().out
    assert stored == {("emotion-lab", "hub-token"): TOKEN}
    before = len(hub.log)
    assert (fetch_model(GATED) / WEIGHTS).is_file()
    assert all(e["auth"] == f"Bearer {TOKEN}" for e in hub.log[before:])


def test_load_model_downloads_a_hub_id_it_does_not_have_then_loads_it(hub):
    from lab.model.loader import load_model

    progress = Recorder()
    lm = load_model(REPO, progress, dtype="float32")
    assert lm.spec == REPO and lm.depth == 4
    downloading = [i for i, s in enumerate(progress.statuses) if s.startswith(f"Downloading {REPO}")]
    loading = [i for i, s in enumerate(progress.statuses) if s.startswith("Loading model")]
    assert downloading and loading and max(downloading) < min(loading)


def test_get_again_fetches_only_the_files_that_changed_on_the_hub(hub, tiny_model_dir):
    from lab.model.fetch import fetch_model

    fetch_model(REPO)
    original = (tiny_model_dir / "config.json").read_bytes()
    changed = original.replace(b'"silu"', b'"gelu"')  # the same size: only the hash tells them apart
    assert changed != original and len(changed) == len(original)
    hub.repos[REPO].files["config.json"] = changed
    hub.repos[REPO].commit = "f" * 40
    before = len(hub.downloads())
    folder = fetch_model(REPO)
    assert [e["path"].rsplit("/", 1)[-1] for e in hub.downloads()[before:]] == ["config.json"]
    assert (folder / "config.json").read_bytes() == changed


def test_the_documented_catalogue_table_matches_the_catalogue():
    from pathlib import Path

    from lab.common.progress import size_text
    from lab.model.catalogue import load_catalogue

    doc = (Path(__file__).resolve().parent.parent / "docs" / "remote.md").read_text(encoding="utf-8")
    for model in load_catalogue():
        row = next(line for line in doc.splitlines() if line.startswith(f"| {model.name} | `{model.hub_id}` |"))
        memory = model.memory()
        assert f"| {size_text(memory['float32'])} / {size_text(memory['bfloat16'])} |" in row
        assert f"| {'yes' if model.gated else 'no'} |" in row and f"| {model.parameters / 1e9:.2f} B |" in row


def test_a_shape_fetch_takes_config_and_tokenizer_only_and_never_passes_for_a_download(hub, tiny_model_dir):
    """What a model run on NDIF needs (weights=False): its own folder, no weight file, the commit recorded."""
    from lab.model.fetch import downloaded_commit, downloaded_folder, fetch_model

    folder = fetch_model(REPO, weights=False)
    names = {p.name for p in folder.iterdir() if not p.name.endswith(".marker")}
    assert names == served_names(tiny_model_dir) - {WEIGHTS} and "config.json" in names
    assert not hub.downloads(WEIGHTS) and downloaded_commit(folder) == hub.repos[REPO].commit
    assert downloaded_folder(REPO, weights=False) == folder and downloaded_folder(REPO) is None
