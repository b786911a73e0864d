"""Evaluate a model on a manifest: resumable predictions, then ``metrics.json``.

:func:`evaluate` is what ``emoscope evaluate`` runs:

1. read the manifest; keep the chosen folds; leave out (and count) utterances whose label has no
   canonical counterpart;
2. build the model (``load_model``); optionally fit it first on a training manifest
   (cross-corpus runs) or per fold (speaker-independent cross-validation);
3. predict in batches, storing each batch in ``RUN_DIR/run.sqlite`` in one transaction; ids
   already stored are skipped, so a killed run resumes where it stopped; an utterance that fails
   (unreadable audio, ...) is stored as an error row and the run goes on;
4. compute the metrics from the store and write ``RUN_DIR/metrics.json`` and
   ``RUN_DIR/predictions.jsonl``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.evaluation.fairness import fairness_audit
from emoscope.evaluation.labelmap import LabelMap
from emoscope.evaluation.metrics import BOOTSTRAP_RESAMPLES, classification_report
from emoscope.evaluation.store import Row, RunStore
from emoscope.labels import CANONICAL_LABELS
from emoscope.types import Utterance

STORE_FILE = "run.sqlite"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"
FITTED_DIR = "fitted"
ADAPTER_TRAINING_MANIFEST = "training_manifest.jsonl"

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) after each stored batch."""


@dataclass(frozen=True)
class EvaluateConfig:
    """What defines a run (everything but ``batch_size`` goes into the run's hash).

    Attributes:
        manifest: The test manifest (JSONL).
        model: A registered model name or a model directory.
        adapter: An adapter directory, passed to models whose config has ``adapter``.
        modality: ``audio``, ``text`` or ``both``, passed to models whose config has
            ``modality``.
        folds: Keep only utterances of these folds (``None``: all).
        train_manifest: Fit the (trainable) model on this manifest first.
        cross_validate: Fit the (trainable) model once per fold on the other folds and predict
            that fold (speaker-independent when the folds are by speaker).
        batch_size: Utterances per ``predict_proba`` call and per stored transaction.
        n_resamples: Bootstrap resamples of the 95% intervals.
        seed: Bootstrap seed.
    """

    manifest: Path
    model: str
    adapter: Path | None = None
    modality: str | None = None
    folds: tuple[int, ...] | None = None
    train_manifest: Path | None = None
    cross_validate: bool = False
    batch_size: int = 16
    n_resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = 0


@dataclass
class EvaluationResult:
    """What a finished run produced."""

    run_dir: Path
    metrics: dict[str, Any]
    errors: int
    warnings: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_key(config: EvaluateConfig) -> dict[str, Any]:
    """Return the fields that identify a run (the store refuses to mix two of them)."""
    model = config.model
    if Path(model).expanduser().is_dir():
        model = str(Path(model).expanduser().resolve())
    return {
        "manifest_sha256": sha256_file(config.manifest),
        "model": model,
        "adapter": None if config.adapter is None else str(Path(config.adapter).resolve()),
        "modality": config.modality,
        "folds": None if config.folds is None else sorted(config.folds),
        "train_manifest_sha256": None
        if config.train_manifest is None
        else sha256_file(config.train_manifest),
        "cross_validate": config.cross_validate,
        "n_resamples": config.n_resamples,
        "seed": config.seed,
    }


def _config_fields(spec: str) -> set[str]:
    """Return the config field names of the backend that ``spec`` names or loads."""
    from emoscope.models.base import available_models, get_entry

    names = available_models()
    if spec in names:
        return {f.name for f in dataclasses.fields(get_entry(spec).config_cls)}
    path = Path(spec).expanduser()
    if path.is_dir():
        for entry in map(get_entry, names):
            if entry.from_path is not None and entry.from_path(path) is not None:
                return {f.name for f in dataclasses.fields(entry.config_cls)}
    return set()


def _overrides(config: EvaluateConfig) -> dict[str, Any]:
    fields = _config_fields(config.model)
    out: dict[str, Any] = {}
    if config.modality is not None and "modality" in fields:
        out["modality"] = config.modality
    if config.adapter is not None:
        if "adapter" not in fields:
            raise UsageError(
                f"--adapter: model {config.model!r} takes no adapter (its config has no "
                "'adapter' field). Use a model that does, e.g. a LALM."
            )
        out["adapter"] = str(config.adapter)
    return out


def _check_modality(model: Any, config: EvaluateConfig, overridden: bool) -> None:
    if config.modality is None or overridden:
        return
    wanted = {"audio", "text"} if config.modality == "both" else {config.modality}
    if set(model.modalities) != wanted:
        raise UsageError(
            f"--modality {config.modality}: model {config.model!r} has no modality option and "
            f"uses {', '.join(sorted(model.modalities))}. Leave --modality out for this model."
        )


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def model_record(model: Any, spec: str) -> dict[str, Any]:
    """Return what a run records about its model: name, labels, info, card, prompt hash."""
    record: dict[str, Any] = {
        "spec": spec,
        "class": type(model).__name__,
        "labels": list(model.labels),
        "modalities": sorted(model.modalities),
    }
    for name in ("info", "card"):
        value = getattr(model, name, None)
        if callable(value):
            value = value()
        if value is not None:
            record[name] = _json_safe(value)
    prompt_hash = getattr(model, "prompt_hash", None)
    if prompt_hash is None:
        for source in (record.get("info"), record.get("card")):
            if isinstance(source, dict) and source.get("prompt_hash"):
                prompt_hash = source["prompt_hash"]
                break
    record["prompt_hash"] = prompt_hash
    return record


def training_data_of(model: Any, adapter: Path | None) -> dict[str, set[str]]:
    """Return the speakers and corpora a model (and its adapter) is known to be trained on."""
    speakers: set[str] = set()
    corpora: set[str] = set()
    sources: list[Any] = [getattr(model, "training_data", None)]
    card = getattr(model, "card", None)
    if isinstance(card, dict):
        sources.append(card.get("training_data"))
    for source in sources:
        if isinstance(source, dict):
            speakers.update(str(s) for s in source.get("speakers") or ())
            corpora.update(str(c) for c in source.get("corpora") or ())
    if adapter is not None and (Path(adapter) / ADAPTER_TRAINING_MANIFEST).is_file():
        train = Manifest.from_jsonl(Path(adapter) / ADAPTER_TRAINING_MANIFEST)
        speakers.update(u.speaker for u in train if u.speaker is not None)
        corpora.update(u.corpus for u in train if u.corpus is not None)
    return {"speakers": speakers, "corpora": corpora}


def leakage_check(
    test: Sequence[Utterance],
    training: dict[str, set[str]],
    *,
    where: str = "",
    corpus_expected: bool = False,
) -> dict[str, Any] | None:
    """Return the test set's overlap with the training speakers and corpora (``None``: none).

    Speaker overlap is leakage (the figures are not speaker-independent). Corpus overlap makes
    the run in-corpus rather than cross-corpus; it is reported too, unless ``corpus_expected``
    (cross-validation within a corpus).

    Examples:
        >>> test = [Utterance(id="a", speaker="s1", corpus="c"), Utterance(id="b", speaker="s9")]
        >>> found = leakage_check(test, {"speakers": {"s1", "s2"}, "corpora": {"d"}})
        >>> found["speakers"], found["utterances"]
        (['s1'], 1)
    """
    speakers = sorted({u.speaker for u in test if u.speaker in training["speakers"]})
    corpora = (
        []
        if corpus_expected
        else sorted({u.corpus for u in test if u.corpus in training["corpora"]})
    )
    if not speakers and not corpora:
        return None
    affected = sum(1 for u in test if u.speaker in speakers or u.corpus in corpora)
    scope = f" ({where})" if where else ""
    parts = []
    if speakers:
        shown = ", ".join(speakers[:8]) + (
            f" and {len(speakers) - 8} more" if len(speakers) > 8 else ""
        )
        parts.append(
            f"LEAKAGE: test utterances{scope} come from {len(speakers)} speaker(s) the model was "
            f"trained on ({shown}); its figures are not speaker-independent"
        )
    if corpora:
        parts.append(
            f"the test corpus{scope} ({', '.join(corpora)}) was in the model's training data, so "
            "this is an in-corpus result, not a cross-corpus one"
        )
    return {
        "where": where or "all",
        "speakers": speakers,
        "corpora": corpora,
        "utterances": affected,
        "message": "; ".join(parts) + f" ({affected} of {len(test)} utterances affected).",
    }


@dataclass
class _Task:
    """One model and the utterances it predicts (one task per fold when cross-validating)."""

    name: str
    utterances: list[Utterance]
    train: list[Utterance] | None = None


def _tasks(config: EvaluateConfig, test: list[Utterance], full: Manifest) -> list[_Task]:
    if not config.cross_validate:
        train = None
        if config.train_manifest is not None:
            train = list(Manifest.from_jsonl(config.train_manifest))
        return [_Task("all", test, train)]
    folds = sorted({u.fold for u in test if u.fold is not None})
    if not folds or any(u.fold is None for u in test):
        raise UsageError(
            f"--cross-validate needs a fold on every utterance of {config.manifest}. "
            "Assign folds with the corpus recipe (folds by speaker) first."
        )
    source = full if config.train_manifest is None else Manifest.from_jsonl(config.train_manifest)
    return [
        _Task(
            f"fold-{f}",
            [u for u in test if u.fold == f],
            [u for u in source if u.fold != f and u.canonical is not None],
        )
        for f in folds
    ]


def _build_model(config: EvaluateConfig, task: _Task, run_dir: Path) -> Any:
    from emoscope.models.base import load_model

    overrides = _overrides(config)
    fitted_dir = run_dir / FITTED_DIR / task.name
    if task.train is not None and fitted_dir.is_dir():
        model = load_model(str(fitted_dir))
    else:
        model = load_model(config.model, **overrides)
        if task.train is not None:
            if not callable(getattr(model, "fit", None)):
                raise UsageError(
                    f"Model {config.model!r} is not trainable (no fit method); "
                    "--train-manifest and --cross-validate need a trainable model such as "
                    "egemaps-logreg."
                )
            model = model.fit(Manifest(task.train))
            if callable(getattr(model, "save", None)):
                model.save(fitted_dir)
    _check_modality(model, config, "modality" in overrides)
    return model


def _predict_batch(model: Any, batch: Sequence[Utterance]) -> list[Row]:
    """Predict a batch; when it fails, predict one by one and keep each failure as an error."""
    from emoscope.models.base import check_proba

    start = time.perf_counter()
    try:
        proba = check_proba(model, model.predict_proba(batch), len(batch))
    except UsageError:  # the model cannot run at all (not fitted, wrong modality): stop
        raise
    except Exception:  # noqa: BLE001  (find the failing utterance(s) one by one below)
        rows = []
        for u in batch:
            t0 = time.perf_counter()
            try:
                p = check_proba(model, model.predict_proba([u]), 1)[0]
                rows.append(
                    Row(u.id, tuple(model.labels), tuple(p), seconds=time.perf_counter() - t0)
                )
            except UsageError:
                raise
            except Exception as exc:  # noqa: BLE001  (a bad utterance must not stop the run)
                rows.append(Row(u.id, error=f"{type(exc).__name__}: {exc}"))
        return rows
    per = (time.perf_counter() - start) / max(len(batch), 1)
    return [
        Row(u.id, tuple(model.labels), tuple(p), seconds=per)
        for u, p in zip(batch, proba, strict=True)
    ]


def evaluate(
    config: EvaluateConfig,
    *,
    run_dir: Path,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    warn: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Run (or resume) an evaluation and write ``metrics.json`` and ``predictions.jsonl``.

    Args:
        config: What to evaluate.
        run_dir: The run folder (created; holds ``run.sqlite``).
        overwrite: Discard a stored run in ``run_dir`` instead of resuming it.
        progress: Called with (done, total) as batches are stored.
        warn: Called with each warning (default: print to stderr).

    Raises:
        UsageError: If the arguments cannot work or ``run_dir`` holds another run.
        ManifestError: If the manifest cannot be read.
    """
    warn = warn or (lambda msg: print(f"emoscope: warning: {msg}", file=sys.stderr))
    if config.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer. Got {config.batch_size}.")
    if config.modality not in (None, "audio", "text", "both"):
        raise UsageError(f"--modality must be audio, text or both. Got {config.modality!r}.")
    full = Manifest.from_jsonl(config.manifest)
    selected = list(full)
    if config.folds is not None:
        selected = [u for u in selected if u.fold in set(config.folds)]
        if not selected:
            present = sorted({u.fold for u in full if u.fold is not None})
            raise UsageError(
                f"--folds {','.join(map(str, config.folds))}: no utterance of {config.manifest} "
                f"is in these folds. Folds present: {present or 'none'}."
            )
    test = [u for u in selected if u.canonical is not None]
    skipped = len(selected) - len(test)
    if not test:
        raise UsageError(
            f"{config.manifest}: no utterance has a canonical label, so there is nothing to "
            "evaluate. Check the corpus recipe's label mapping."
        )
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"-o {run_dir} exists and is not a folder. Give a folder path.")
    if overwrite:
        _clear_run(run_dir)
    key = run_key(config)
    warnings_: list[str] = []
    leakage: list[dict[str, Any]] = []
    tasks = _tasks(config, test, full)
    started = time.perf_counter()
    predict_s = 0.0
    store_s = 0.0
    with RunStore(run_dir / STORE_FILE) as store:
        store.check_config(key)  # refuse another run's folder before loading any model
        done = store.done_ids()
        total = len(test)
        if progress:
            progress(len(done & {u.id for u in test}), total)
        records: list[dict[str, Any]] = []
        label_maps: dict[str, LabelMap] = {}
        for task in tasks:
            model = _build_model(config, task, run_dir)
            store.bind_config(key)  # only once a model could be built
            records.append({"task": task.name, **model_record(model, config.model)})
            label_maps[task.name] = LabelMap.build(model.labels)
            training = training_data_of(model, config.adapter)
            if task.train is not None:
                training["speakers"] |= {u.speaker for u in task.train if u.speaker}
                training["corpora"] |= {u.corpus for u in task.train if u.corpus}
            found = leakage_check(
                task.utterances,
                training,
                where="" if task.name == "all" else task.name,
                corpus_expected=config.cross_validate,
            )
            if found is not None:
                leakage.append(found)
                warnings_.append(found["message"])
                warn(found["message"])
            todo = [u for u in task.utterances if u.id not in done]
            for i in range(0, len(todo), config.batch_size):
                batch = todo[i : i + config.batch_size]
                t0 = time.perf_counter()
                rows = _predict_batch(model, batch)
                t1 = time.perf_counter()
                store.add_batch(rows)
                predict_s += t1 - t0
                store_s += time.perf_counter() - t1
                done.update(r.id for r in rows)
                if progress:
                    progress(len(done & {u.id for u in test}), total)
        stored = list(store.rows())
    session = {
        "wall_s": round(time.perf_counter() - started, 3),
        "predict_s": round(predict_s, 3),
        "store_s": round(store_s, 3),
    }
    metrics, predictions = compute_metrics(
        test,
        stored,
        label_maps=label_maps,
        tasks={u.id: t.name for t in tasks for u in t.utterances},
        n_resamples=config.n_resamples,
        seed=config.seed,
    )
    metrics.update(
        {
            "skipped_unmapped": skipped,
            "model": records[0] if len(records) == 1 else {"folds": records},
            "prompt_hash": records[0].get("prompt_hash"),
            "config": {**_json_safe(dataclasses.asdict(config)), "run_hash": key},
            "manifest": {"path": str(config.manifest), "sha256": key["manifest_sha256"]},
            "leakage": leakage,
            "warnings": warnings_,
            "timing_last_session": session,
            "emoscope_version": _version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    _write_json(run_dir / METRICS_FILE, metrics)
    _write_jsonl(run_dir / PREDICTIONS_FILE, predictions)
    return EvaluationResult(run_dir, metrics, metrics["errors"], warnings_)


def compute_metrics(
    test: Sequence[Utterance],
    rows: Sequence[Row],
    *,
    label_maps: dict[str, LabelMap],
    tasks: dict[str, str],
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the metrics document and the prediction records of a run.

    The evaluation labels are the canonical labels present in the test set or output by the
    model, in canonical order; the model's probabilities are projected onto them
    (:class:`~emoscope.evaluation.labelmap.LabelMap`).
    """
    by_id = {u.id: u for u in test}
    stored = [r for r in rows if r.id in by_id]
    ok = [r for r in stored if r.ok]
    errors = [r for r in stored if not r.ok]
    true_set = {u.canonical for u in test}
    outputs = set().union(*(m.outputs for m in label_maps.values()))
    labels = tuple(lab for lab in CANONICAL_LABELS if lab in true_set | outputs)
    index = {lab: i for i, lab in enumerate(labels)}
    proba = np.array(
        [label_maps[tasks[r.id]].project(r.probabilities or (), labels) for r in ok],
        dtype=np.float64,
    ).reshape(len(ok), len(labels))
    y_true = np.array([index[by_id[r.id].canonical] for r in ok], dtype=np.int64)  # type: ignore[index]
    y_pred = proba.argmax(axis=1) if len(ok) else np.zeros(0, dtype=np.int64)
    report = classification_report(
        y_true, y_pred, labels=labels, proba=proba, n_resamples=n_resamples, seed=seed
    )
    fairness_rows = [
        {
            "true": int(t),
            "pred": int(p),
            "gender": by_id[r.id].gender,
            "speaker": by_id[r.id].speaker,
            "corpus": by_id[r.id].corpus,
        }
        for r, t, p in zip(ok, y_true, y_pred, strict=True)
    ]
    first = next(iter(label_maps.values()))
    metrics: dict[str, Any] = {
        "ua": report["ua"],
        "wa": report["wa"],
        "macro_f1": report["macro_f1"],
        "weighted_f1": report["weighted_f1"],
        "n": len(ok),
        "n_test": len(test),
        "pending": len(test) - len(stored),
        "errors": len(errors),
        "error_examples": [{"id": r.id, "error": r.error} for r in errors[:20]],
        "labels": list(labels),
        "labels_model_cannot_output": sorted(true_set - outputs, key=CANONICAL_LABELS.index),
        "model_labels_dropped": first.dropped,
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "ci95": report["ci95"],
        "bootstrap": {"resamples": n_resamples, "seed": seed, "method": "percentile"},
        "ece": report["ece"],
        "fairness": fairness_audit(fairness_rows, n_labels=len(labels)),
    }
    predictions: list[dict[str, Any]] = []
    for r, t, p, row in zip(ok, y_true, y_pred, proba, strict=True):
        predictions.append(
            {
                "id": r.id,
                "true": labels[t],
                "pred": labels[p],
                "probabilities": {
                    lab: round(float(v), 6) for lab, v in zip(labels, row, strict=True)
                },
            }
        )
    for r in errors:
        predictions.append(
            {"id": r.id, "true": by_id[r.id].canonical, "pred": None, "error": r.error}
        )
    return metrics, predictions


def _version() -> str:
    from emoscope import __version__

    return __version__


def _clear_run(run_dir: Path) -> None:
    import shutil

    for name in (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", METRICS_FILE):
        (run_dir / name).unlink(missing_ok=True)
    (run_dir / PREDICTIONS_FILE).unlink(missing_ok=True)
    if (run_dir / FITTED_DIR).is_dir():
        shutil.rmtree(run_dir / FITTED_DIR)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(path)


__all__ = [
    "EvaluateConfig",
    "EvaluationResult",
    "compute_metrics",
    "evaluate",
    "leakage_check",
    "model_record",
    "run_key",
    "training_data_of",
]
