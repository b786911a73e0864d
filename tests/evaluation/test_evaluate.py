from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.evaluation.labelmap import LabelMap
from emoscope.evaluation.provenance import leakage_check, training_data_of
from emoscope.evaluation.results import compute_metrics
from emoscope.evaluation.runner import EvaluateConfig, evaluate
from emoscope.evaluation.store import Row, RunStore
from emoscope.models.base import load_model
from emoscope.types import Utterance


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_metrics_json_of_a_cross_corpus_run(test_manifest, fitted_model, tmp_path):
    run = tmp_path / "run"
    result = evaluate(
        EvaluateConfig(manifest=test_manifest, model=str(fitted_model), batch_size=5),
        run_dir=run,
        warn=lambda m: pytest.fail(f"unexpected warning {m}"),
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.metrics))
    manifest = Manifest.from_jsonl(test_manifest)
    assert metrics["n"] == 24 and metrics["skipped_unmapped"] == 2 and metrics["errors"] == 0
    assert metrics["labels"] == ["neutral", "happy", "sad", "angry"]
    assert metrics["manifest"]["sha256"] == hashlib.sha256(test_manifest.read_bytes()).hexdigest()
    assert metrics["emoscope_version"] and metrics["config"]["run_hash"]["model"]
    assert metrics["model"]["info"]["backend"] == "egemaps-logreg"
    assert metrics["leakage"] == [] and metrics["warnings"] == []
    # the figures are those of the stored predictions
    preds = read_jsonl(run / "predictions.jsonl")
    assert sorted(p["id"] for p in preds) == sorted(
        u.id for u in manifest if u.canonical is not None
    )
    correct = sum(p["true"] == p["pred"] for p in preds)
    assert metrics["wa"] == pytest.approx(correct / 24, abs=1e-4)
    matrix = np.array(metrics["confusion"]["matrix"])
    assert matrix.sum() == 24 and matrix.trace() == correct
    for p in preds:
        assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert p["pred"] == max(p["probabilities"], key=p["probabilities"].get)
    recalls = [metrics["per_class"][lab]["recall"] for lab in metrics["labels"]]
    assert metrics["ua"] == pytest.approx(np.mean(recalls), abs=1e-3)
    assert metrics["ci95"]["ua"][0] <= metrics["ua"] <= metrics["ci95"]["ua"][1]
    assert metrics["ci95_speaker"]["ua"][0] <= metrics["ua"] <= metrics["ci95_speaker"]["ua"][1]
    assert 0 <= metrics["ece"] <= 1
    fair = metrics["fairness"]
    assert set(fair["by_speaker"]) == {"heldout-spk0", "heldout-spk1"}
    assert set(fair["by_gender"]) == {"male", "female"}
    assert fair["by_corpus"]["heldout"]["ua"] == metrics["ua"]
    # the report module's evaluation report comes with the run (self-contained HTML)
    page = (run / "report.html").read_text()
    assert page.count('cm-cell"') == 16 and "<script" not in page


def test_batched_and_one_by_one_runs_agree(test_manifest, fitted_model, tmp_path):
    a = evaluate(
        EvaluateConfig(manifest=test_manifest, model=str(fitted_model), batch_size=1),
        run_dir=tmp_path / "a",
    )
    b = evaluate(
        EvaluateConfig(manifest=test_manifest, model=str(fitted_model), batch_size=32),
        run_dir=tmp_path / "b",
    )
    assert read_jsonl(tmp_path / "a" / "predictions.jsonl") == read_jsonl(
        tmp_path / "b" / "predictions.jsonl"
    )
    assert a.metrics["ci95"] == b.metrics["ci95"]


def test_leakage_is_warned_on_stderr_and_recorded(train_manifest, fitted_model, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["evaluate", str(train_manifest), "--model", str(fitted_model), "-o", str(run)])
    assert code == 0
    err = capsys.readouterr().err
    assert "LEAKAGE" in err and "4 speaker(s)" in err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["leakage"][0]["speakers"] == [f"train-spk{i}" for i in range(4)]
    assert metrics["leakage"][0]["corpora"] == ["train"]
    assert metrics["leakage"][0]["utterances"] == 48


def test_bad_utterance_is_an_error_row_and_the_run_exits_1(
    test_manifest, fitted_model, tmp_path, capsys
):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    utts = list(Manifest.from_jsonl(test_manifest))
    utts.insert(3, Utterance(id="broken", audio=str(bad), canonical="sad", speaker="x"))
    utts.insert(5, Utterance(id="missing", audio=str(tmp_path / "nope.wav"), canonical="sad"))
    manifest = Manifest(utts).to_jsonl(tmp_path / "m.jsonl")
    run = tmp_path / "run"
    argv = ["evaluate", str(manifest), "--model", str(fitted_model), "-o", str(run)]
    assert main([*argv, "--batch-size", "4"]) == 1
    assert "2 utterance(s) failed" in capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["errors"] == 2 and metrics["n"] == 24
    assert {e["id"] for e in metrics["error_examples"]} == {"broken", "missing"}
    assert all("AudioError" in e["error"] for e in metrics["error_examples"])
    preds = {p["id"]: p for p in read_jsonl(run / "predictions.jsonl")}
    assert preds["broken"]["pred"] is None and "broken.wav" in preds["broken"]["error"]
    # the same command again: nothing to do, same figures, still exit 1 (errors are kept)
    assert main([*argv, "--batch-size", "4"]) == 1
    assert json.loads((run / "metrics.json").read_text())["ua"] == metrics["ua"]
    with RunStore(run / "run.sqlite") as store:
        assert store.count() == 26


def test_a_run_where_every_utterance_fails_writes_valid_json(tmp_path, fitted_model, capsys):
    utts = [
        Utterance(id=f"u{i}", audio=str(tmp_path / f"missing{i}.wav"), canonical="sad")
        for i in range(3)
    ]
    manifest = Manifest(utts).to_jsonl(tmp_path / "m.jsonl")
    run = tmp_path / "run"
    assert main(["evaluate", str(manifest), "--model", str(fitted_model), "-o", str(run)]) == 1
    assert "3 utterance(s) failed" in capsys.readouterr().err
    text = (run / "metrics.json").read_text()
    metrics = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert metrics["n"] == 0 and metrics["errors"] == 3
    assert metrics["ua"] is None and metrics["ci95"]["ua"] == [None, None]


def test_other_arguments_on_a_run_dir_are_refused(test_manifest, fitted_model, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["evaluate", str(test_manifest), "--model", str(fitted_model), "-o", str(run)]
    assert main(base) == 0
    assert main([*base, "--folds", "1"]) == 2
    assert "differs in: folds" in capsys.readouterr().err
    assert main([*base, "--folds", "1", "--overwrite"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 12 and metrics["config"]["folds"] == [1]
    assert set(metrics["fairness"]["by_speaker"]) == {"heldout-spk0"}


def test_a_model_changed_between_sessions_is_warned_about(
    train_manifest, test_manifest, fitted_model, tmp_path
):
    import shutil

    model_dir = shutil.copytree(fitted_model, tmp_path / "model")
    run = tmp_path / "run"
    config = EvaluateConfig(manifest=test_manifest, model=str(model_dir))
    evaluate(config, run_dir=run, warn=lambda m: pytest.fail(m))
    evaluate(config, run_dir=run, warn=lambda m: pytest.fail(m))  # same model: silent
    train = Manifest.from_jsonl(train_manifest).filter(lambda u: u.fold == 1)
    load_model("egemaps-logreg", c=0.01).fit(train).save(model_dir)  # new weights, same folder
    warned: list[str] = []
    result = evaluate(config, run_dir=run, warn=warned.append)
    assert len(warned) == 1 and "differs from the one this run started with" in warned[0]
    assert "info" in warned[0] and result.warnings == warned


def test_usage_errors(test_manifest, fitted_model, tmp_path, capsys):
    out = ["-o", str(tmp_path / "r")]
    assert main(["evaluate", str(test_manifest), "--model", "no-such", *out]) == 1
    assert "No model named 'no-such'" in capsys.readouterr().err
    args = ["evaluate", str(test_manifest), "--model", str(fitted_model)]
    assert main([*args, "--modality", "text", *out]) == 2
    assert "has no modality option" in capsys.readouterr().err
    assert main([*args, "--adapter", str(tmp_path), *out]) == 2
    assert "takes no adapter" in capsys.readouterr().err
    assert main([*args, "--folds", "7", *out]) == 2
    assert "Folds present: [1, 2]" in capsys.readouterr().err
    # an unfitted trainable model stops at once instead of failing every utterance
    assert main(["evaluate", str(test_manifest), "--model", "egemaps-logreg", *out]) == 2
    assert "not fitted" in capsys.readouterr().err


def test_train_manifest_and_cross_validation(train_manifest, test_manifest, tmp_path):
    cross = evaluate(
        EvaluateConfig(
            manifest=test_manifest, model="egemaps-logreg", train_manifest=train_manifest
        ),
        run_dir=tmp_path / "cross",
    )
    weights = tmp_path / "cross" / "fitted" / "all" / "weights.npz"
    assert weights.is_file() and cross.metrics["leakage"] == []
    # the same run again: the fitted model is loaded, not fitted again, and nothing changes
    stamp = weights.stat().st_mtime_ns
    again = evaluate(
        EvaluateConfig(
            manifest=test_manifest, model="egemaps-logreg", train_manifest=train_manifest
        ),
        run_dir=tmp_path / "cross",
    )
    assert weights.stat().st_mtime_ns == stamp
    assert again.metrics["timing_last_session"]["predict_s"] == 0
    assert again.metrics["ua"] == cross.metrics["ua"]
    notes: list[str] = []
    cv = evaluate(
        EvaluateConfig(manifest=train_manifest, model="egemaps-logreg", cross_validate=True),
        run_dir=tmp_path / "cv",
        warn=lambda m: pytest.fail(f"speaker-independent folds must not warn: {m}"),
        status=notes.append,
    )
    assert notes == [f"fitting fold-{f} on 36 utterances" for f in (1, 2, 3, 4)]
    assert cv.metrics["n"] == 48 and len(cv.metrics["model"]["folds"]) == 4
    fitted = load_model(str(tmp_path / "cv" / "fitted" / "fold-2"))
    assert "train-spk1" not in fitted.training_data["speakers"]  # fold 2 is speaker 1
    assert fitted.training_data["speakers"] == ["train-spk0", "train-spk2", "train-spk3"]
    with pytest.raises(UsageError, match="not trainable"):
        evaluate(
            EvaluateConfig(manifest=test_manifest, model="chance", train_manifest=train_manifest),
            run_dir=tmp_path / "chance",
        )


def test_labels_are_mapped_by_name_and_gaps_reported():
    test = [
        Utterance(id="a", canonical="happy"),
        Utterance(id="b", canonical="angry"),
        Utterance(id="c", canonical="fearful"),
    ]
    model_labels = ("joy", "anger", "calm")
    rows = [
        Row("a", model_labels, (0.6, 0.1, 0.3)),
        Row("b", model_labels, (0.1, 0.2, 0.7)),  # calm dropped -> anger 2/3
        Row("c", model_labels, (0.5, 0.4, 0.1)),
    ]
    metrics, preds = compute_metrics(
        test,
        rows,
        label_maps={"all": LabelMap.build(model_labels)},
        tasks=dict.fromkeys("abc", "all"),
    )
    assert metrics["labels"] == ["happy", "angry", "fearful"]
    assert metrics["labels_model_cannot_output"] == ["fearful"]
    assert metrics["model_labels_dropped"] == ["calm"]
    assert [p["pred"] for p in preds] == ["happy", "angry", "happy"]
    assert preds[1]["probabilities"]["angry"] == pytest.approx(2 / 3, abs=1e-5)
    assert metrics["ua"] == pytest.approx(round(2 / 3, 4))
    assert metrics["per_class"]["fearful"]["recall"] == 0.0


def test_adapter_training_manifest_feeds_the_leakage_guard(tmp_path):
    adapter = tmp_path / "adapter"
    Manifest(
        [
            Utterance(id="t1", speaker="spk-a", corpus="iemocap"),
            Utterance(id="t2", speaker="spk-b", corpus="iemocap"),
        ]
    ).to_jsonl(adapter / "training_manifest.jsonl")
    model = load_model("chance")
    training = training_data_of(model, adapter)
    assert training == {"speakers": {"spk-a", "spk-b"}, "corpora": {"iemocap"}}
    test = [
        Utterance(id="x", speaker="spk-b", corpus="iemocap"),
        Utterance(id="y", speaker="spk-z", corpus="iemocap"),
        Utterance(id="z", speaker="spk-q", corpus="meld"),
    ]
    found = leakage_check(test, training)
    assert found["speakers"] == ["spk-b"] and found["corpora"] == ["iemocap"]
    assert found["utterances"] == 2 and "LEAKAGE" in found["message"]
    assert leakage_check(test[2:], training) is None
    assert leakage_check(test[1:2], training, corpus_expected=True) is None
    # a merged fine-tuned model folder carries the file too
    assert training_data_of(model, None, model_dir=adapter) == training
    assert training_data_of(model, None) == {"speakers": set(), "corpora": set()}


def test_a_csv_manifest_evaluates_like_its_jsonl(test_manifest, tmp_path):
    csv_path = Manifest.from_jsonl(test_manifest).save(tmp_path / "test.csv")
    a = evaluate(EvaluateConfig(manifest=test_manifest, model="chance"), run_dir=tmp_path / "a")
    b = evaluate(EvaluateConfig(manifest=csv_path, model="chance"), run_dir=tmp_path / "b")
    assert a.metrics["n"] == b.metrics["n"] == 24
    assert a.metrics["skipped_unmapped"] == b.metrics["skipped_unmapped"] == 2
    assert a.metrics["fairness"]["by_speaker"] == b.metrics["fairness"]["by_speaker"]
