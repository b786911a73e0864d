"""The shipped weights: plain arrays and JSON, nothing executable, small, loadable."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.labels import CANONICAL_LABELS
from emoscope.models.base import available_models, load_model
from emoscope.models.default import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    DefaultModelConfig,
    load_weights,
    save_weights,
    shipped_weights_dir,
)


def test_weights_are_safetensors_and_json_without_pickle():
    folder = shipped_weights_dir()
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert names == sorted([WEIGHTS_FILE, CONFIG_FILE])
    raw = (folder / WEIGHTS_FILE).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert tensors and {v["dtype"] for v in tensors.values()} == {"F32"}
    # the data part is exactly the arrays: no room for anything else
    end = max(v["data_offsets"][1] for v in tensors.values())
    assert len(raw) == 8 + header_len + end
    for path in folder.rglob("*"):
        assert b"\x80\x04\x95" not in path.read_bytes()[:64]  # pickle protocol 4 opcode
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["labels"] == list(CANONICAL_LABELS)
    assert (folder / WEIGHTS_FILE).stat().st_size < 5 * 1024 * 1024


def test_registered_and_configurable():
    assert "default" in available_models()
    m = load_model("default", modality="audio")
    assert m.labels == CANONICAL_LABELS and m.modalities == frozenset({"audio"})
    assert load_model("default").modalities == frozenset({"audio", "text"})
    with pytest.raises(UsageError, match="modality"):
        DefaultModelConfig(modality="video")


def test_model_folder_round_trip(tmp_path):
    arrays, meta = load_weights(shipped_weights_dir())
    save_weights(tmp_path / "copy", arrays, meta)
    model = load_model(str(tmp_path / "copy"))  # found by folder, through from_path
    assert type(model).__name__ == "DefaultModel"
    again, _ = load_weights(tmp_path / "copy")
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
    (tmp_path / "copy" / WEIGHTS_FILE).write_bytes(b"not safetensors")
    with pytest.raises(UsageError, match="unreadable"):
        load_weights(tmp_path / "copy")
    with pytest.raises(UsageError, match="missing"):
        load_weights(tmp_path / "nowhere")
