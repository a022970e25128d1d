"""Bad data refused with one line naming the field: session imports checked against the meaning of
the schema, control vectors that do nothing or are not vectors, direction files with too many or
repeated names (refused in linear time, before any tensor is read)."""
from __future__ import annotations

import copy
import json
import tracemalloc

import numpy as np
import pytest
import torch
from test_hardening import open_store_record

from lab.common.errors import LabError
from lab.emotions.imported import ModelShape, check_fits, save_imported
from lab.store.export import MAX_JSON_VALUES, from_json


@pytest.fixture(scope="module")
def exported() -> dict:
    with open_store_record() as text:
        return json.loads(text)


def _with(data: dict, change) -> str:
    data = copy.deepcopy(data)
    change(data)
    return json.dumps(data, ensure_ascii=False)


def _set(path, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


BAD = {
    "negative position": _set(("tokens", 0, "position"), -1),
    "negative row": _set(("tokens", 0, "row"), -3),
    "negative token id": _set(("tokens", 0, "token_id"), -5),
    "version 0": _set(("format_version",), 0),
    "negative version": _set(("format_version",), -2),
    "duplicate position": lambda d: d["tokens"].append(copy.deepcopy(d["tokens"][0])),
    "reading layer past the depth": _set(("directions", "reading_layer"), 999),
    "negative direction layer": _set(("directions", "layers"), [-1]),
    "steering layer past the depth": lambda d: d["steering"].append(
        {"turn": None, "row": 0, "position": 0, "strengths": {}, "layers": [10**6]}),
    "steering at a negative position": lambda d: d["steering"].append(
        {"turn": None, "row": 0, "position": -1, "strengths": {}, "layers": [0]}),
    "raw layer past the depth": _set(("tokens", 0, "raw"), {"9999": {"dtype": "float32", "shape": [1], "data": "AAAAAA=="}}),
    "raw layer in other digits": _set(("tokens", 0, "raw"), {"\u0663": {"dtype": "float32", "shape": [1], "data": "AAAAAA=="}}),
    "reading key that is not Unicode": _set(("tokens", 0, "readings"), {"\udc80bad": 1.0}),
    "strength key that is not Unicode": _set(("tokens", 0, "strengths"), {"\ud800": 1.0}),
    "scenario text that is not Unicode": _set(("scenario",), {"title": ["ok", {"k\udfff": "v"}]}),
    "calibration key that is not Unicode": _set(("directions", "calibration"), {"\ud801": 1}),
    "negative depth": _set(("model", "depth"), -4),
    "push that is not a number": _set(("tokens", 0, "push"), {"joy": "lots"}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_session_import_is_checked_field_by_field(exported, case):
    with pytest.raises(LabError, match="damaged|format_version") as raised:
        from_json(_with(exported, BAD[case]))
    assert "\n" not in str(raised.value)


def test_a_good_export_still_imports(exported):
    record = from_json(json.dumps(exported))
    assert record.tokens and record.model.depth == exported["model"]["depth"]


def test_a_session_import_is_bounded_before_parsing():
    text = "[" + "0," * MAX_JSON_VALUES + "0]"
    tracemalloc.start()
    try:
        with pytest.raises(LabError, match="values; the limit"):
            from_json(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(text)  # before: json.loads built a list of 4 million ints (~36x the file)


SHAPE = ModelShape("model-a", depth=4, width=8)


@pytest.mark.parametrize("vector, words", [
    (torch.full((8,), 1e30), None),  # huge but usable: normalised in float64
    (torch.full((8,), 3e38), None),
    (torch.full((8,), 1e-40), None),  # subnormal float32: still a direction
    (torch.full((8,), float("inf")), "not finite"),
    (torch.tensor([float("nan")] + [1.0] * 7), "not finite"),
    (torch.zeros(8), "zero"),
])
def test_control_vectors_are_checked_after_normalising(lab_home, vector, words):
    from lab.emotions.control_vectors import fill_layers

    if words is None:
        check_fits({0: vector}, SHAPE, "v.gguf")
        unit = fill_layers({0: vector}, SHAPE.depth, SHAPE.width)
        assert torch.isfinite(unit).all() and torch.allclose(unit.norm(dim=-1), torch.ones(SHAPE.depth))
    else:
        with pytest.raises(LabError, match=words):
            save_imported("bad", {0: vector}, "v.gguf", SHAPE)
        assert not list(lab_home.rglob("*.safetensors"))


def test_a_control_vector_that_is_a_matrix_is_refused(tmp_path):
    import gguf

    from lab.emotions.control_vectors import read_control_vector

    path = tmp_path / "square.gguf"
    writer = gguf.GGUFWriter(str(path), "controlvector")
    writer.add_tensor("direction.3", np.ones((24, 24), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(LabError, match="one vector per layer"):
        read_control_vector(path)


def _direction_file(path, names):
    from safetensors.torch import save_file

    meta = {"format": "emotion-lab-directions", "version": 2, "emotions": names}
    save_file({"vectors": torch.zeros(1, 1, 1)}, str(path), metadata={"emotion_lab": json.dumps(meta)})


def test_a_direction_file_with_too_many_or_repeated_names_is_refused_before_its_tensors(tmp_path):
    from lab.emotions.direction_file import MAX_EMOTIONS, load_directions

    _direction_file(tmp_path / "many.safetensors", [f"e{i}" for i in range(100_000)])
    with pytest.raises(LabError, match=f"100000 emotions; the limit is {MAX_EMOTIONS}"):
        load_directions(tmp_path / "many.safetensors")
    _direction_file(tmp_path / "twice.safetensors", ["joy", "calm", "joy"])
    with pytest.raises(LabError, match="names an emotion twice"):
        load_directions(tmp_path / "twice.safetensors")
