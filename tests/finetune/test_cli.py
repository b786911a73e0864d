"""`emoscope finetune` and `merge-adapter` end to end; adapters in `emoscope evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.data.manifest import Manifest


def _finetune_args(manifest: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "finetune",
        str(manifest),
        "--model",
        str(model),
        "-o",
        str(out),
        "--folds",
        "2",
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--rank",
        "4",
        "--lr",
        "1e-3",
        "--no-gradient-checkpointing",
        "--no-baseline",
        *extra,
    ]


def test_finetune_cli_cross_validates_and_adapters_load_in_evaluate(
    tiny_model: Path, pitch_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ft"
    assert main(_finetune_args(pitch_task, tiny_model, out)) == 0
    assert "over 2 folds" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["n_folds"] == 2
    assert "| fold-00 |" in (out / "report.md").read_text()
    folds = report["folds_detail"]
    for fold in folds:  # speaker-independent: test, validation and training speakers disjoint
        train, valid, test = (
            set(fold[k]) for k in ("train_speakers", "valid_speakers", "test_speakers")
        )
        assert train and valid and test
        assert not (train & valid) and not (train & test) and not (valid & test)
        recorded = Manifest.from_jsonl(Path(fold["adapter"]) / "training_manifest.jsonl")
        assert set(recorded.speakers()) == train | valid
        assert 0.0 <= fold["test"]["ua"] <= 1.0 and fold["steps"] == 2
    assert sorted(s for f in folds for s in f["test_speakers"]) == [f"spk{i}" for i in range(6)]

    # running it again resumes: finished folds are not retrained, the report is the same
    stamp = (out / "fold-00" / "result.json").stat().st_mtime_ns
    assert main(_finetune_args(pitch_task, tiny_model, out)) == 0
    assert (out / "fold-00" / "result.json").stat().st_mtime_ns == stamp
    assert json.loads((out / "report.json").read_text())["folds_detail"] == folds

    # another setting in the same folder is refused rather than mixed in
    assert main(_finetune_args(pitch_task, tiny_model, out, "--seed", "3")) == 2
    assert "other settings" in capsys.readouterr().err

    # the adapter loads in evaluate, and the leakage guard reads its training manifest
    run = tmp_path / "run"
    adapter = Path(folds[0]["adapter"])
    code = main(
        [
            "evaluate",
            str(pitch_task),
            "--model",
            str(tiny_model),
            "--adapter",
            str(adapter),
            "-o",
            str(run),
            "--resamples",
            "10",
        ]
    )
    assert code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    leaked = set(metrics["leakage"][0]["speakers"])
    assert leaked == set(folds[0]["train_speakers"]) | set(folds[0]["valid_speakers"])
    assert metrics["model"]["info"]["adapter_id"] == "adapter"


def test_bad_options_fail_clearly(
    tiny_model: Path, pitch_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    args = _finetune_args(pitch_task, tiny_model, tmp_path / "x")
    if not torch.cuda.is_available():
        assert main([*args, "--mixed-precision", "fp16"]) == 2
        assert "fp16 needs a CUDA GPU" in capsys.readouterr().err
    assert main([*args, "--head", "svm"]) == 2
    assert main(["merge-adapter", str(tmp_path), "-o", str(tmp_path / "m")]) == 2
    assert "not a PEFT adapter folder" in capsys.readouterr().err


def test_qlora_with_bf16_from_the_command_line(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "q"
    args = _finetune_args(pitch_task, tiny_model, out, "--load-in-4bit", "--mixed-precision")
    args[args.index("--folds") + 1] = "none"
    assert main([*args, "bf16"]) == 0
    stored = json.loads((out / "config.json").read_text())["config"]
    assert stored["load_in_4bit"] is True and stored["mixed_precision"] == "bf16"
    meta = json.loads((out / "all" / "adapter" / "finetune.json").read_text())
    assert meta["config"]["load_in_4bit"] is True
    steps = [json.loads(x)["step"] for x in (out / "all" / "train_log.jsonl").open()]
    assert steps == [1, 2]


def test_classifier_head_trains_and_is_saved_with_the_adapter(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    from emoscope.errors import UsageError
    from emoscope.models.base import load_model
    from emoscope.models.finetune.config import FinetuneConfig
    from emoscope.models.finetune.crossval import finetune
    from emoscope.models.finetune.merge import merge_adapter

    config = FinetuneConfig(
        model=str(tiny_model),
        labels=("sad", "happy"),
        head="classifier",
        rank=4,
        lr=1e-2,
        warmup_ratio=0.0,
        dropout=0.0,
        max_steps=12,
        batch_size=6,
        eval_every=6,
        patience=0,
        val_fraction=0.2,
        gradient_checkpointing=False,
    )
    report = finetune(pitch_task, config, tmp_path / "head", folds="none")
    fold = report["folds_detail"][0]
    assert fold["fold"] == "all" and "test" not in fold and fold["steps"] == 12
    log = [json.loads(x) for x in (tmp_path / "head" / "all" / "train_log.jsonl").open()]
    losses = [e["loss"] for e in log]
    assert sum(losses[-3:]) < 0.5 * sum(losses[:3])
    assert fold["best_val_ua"] == 1.0  # validation speakers' pitch is told apart
    adapter = tmp_path / "head" / "all" / "adapter"
    assert (adapter / "classifier_head.safetensors").is_file()
    # reloaded as a model, the head tells the validation speakers' pitch apart as in training
    valid = Manifest.load(pitch_task).filter(lambda u: u.speaker in fold["valid_speakers"])
    model = load_model(str(adapter))
    assert model.labels == ("sad", "happy")
    proba = model.predict_proba(list(valid))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert [model.labels[i] for i in proba.argmax(1)] == [u.canonical for u in valid]
    with pytest.raises(UsageError, match="classifier head"):
        merge_adapter(adapter, tmp_path / "merged")
