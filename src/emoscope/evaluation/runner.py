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

from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.evaluation.labelmap import LabelMap
from emoscope.evaluation.metrics import BOOTSTRAP_RESAMPLES
from emoscope.evaluation.provenance import (
    json_safe,
    leakage_check,
    model_record,
    training_data_of,
)
from emoscope.evaluation.results import compute_metrics
from emoscope.evaluation.store import Row, RunStore
from emoscope.types import Utterance

STORE_FILE = "run.sqlite"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.jsonl"
REPORT_FILE = "report.html"
FITTED_DIR = "fitted"

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
        speaker_adapt: Before predicting, let the model learn each test speaker's feature
            statistics from that speaker's (unlabelled) test utterances (models with
            ``adapt_speakers``, e.g. ``default``): transductive, still speaker-independent.
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
    speaker_adapt: bool = False
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
        "speaker_adapt": config.speaker_adapt,
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
            train = list(Manifest.load(config.train_manifest))
        return [_Task("all", test, train)]
    folds = sorted({u.fold for u in test if u.fold is not None})
    if not folds or any(u.fold is None for u in test):
        raise UsageError(
            f"--cross-validate needs a fold on every utterance of {config.manifest}. "
            "Assign folds with the corpus recipe (folds by speaker) first."
        )
    source = full if config.train_manifest is None else Manifest.load(config.train_manifest)
    return [
        _Task(
            f"fold-{f}",
            [u for u in test if u.fold == f],
            [u for u in source if u.fold != f and u.canonical is not None],
        )
        for f in folds
    ]


def _build_model(
    config: EvaluateConfig, task: _Task, run_dir: Path, *, previous: Any = None
) -> Any:
    """Build the model of a task: loaded, or fitted on the task's training utterances.

    When cross-validating, the previous fold's model is fitted again (``fit`` starts afresh),
    so per-utterance feature caches a backend keeps are shared across folds.
    """
    from emoscope.models.base import load_model

    overrides = _overrides(config)
    fitted_dir = run_dir / FITTED_DIR / task.name
    if task.train is not None and fitted_dir.is_dir():
        model = load_model(str(fitted_dir))
    else:
        model = previous if previous is not None else load_model(config.model, **overrides)
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


def _check_model_record(store: RunStore, task: str, record: dict[str, Any]) -> str | None:
    """Remember the model's record; return a warning when it differs from the stored one.

    A registered model may change between two sessions of one run (new weights, another
    version); predictions of the two would then be mixed in one run.
    """
    key = f"model_record:{task}"
    text = json.dumps(record, sort_keys=True, default=str)
    stored = store.get_meta(key)
    if stored is None:
        store.set_meta(key, text)
        return None
    if stored == text:
        return None
    old = json.loads(stored)
    differ = sorted(k for k in set(old) | set(record) if old.get(k) != record.get(k))
    return (
        f"the model ({task}) differs from the one this run started with (in: "
        f"{', '.join(differ)}): its predictions are mixed with the earlier ones. Use --overwrite "
        "to redo the run with the current model."
    )


def _adapt_speakers(
    model: Any,
    config: EvaluateConfig,
    utterances: Sequence[Utterance],
    status: Callable[[str], None] | None,
) -> dict[str, int]:
    """Adapt ``model`` to the speakers of ``utterances`` (all of a task, done or not).

    All of the task's utterances, also those a resumed run already predicted, so that a
    resumed run uses the same statistics as an uninterrupted one.

    Raises:
        UsageError: If the model cannot adapt to speakers.
    """
    adapt = getattr(model, "adapt_speakers", None)
    if not callable(adapt):
        raise UsageError(
            f"--speaker-adapt: the model {config.model!r} cannot adapt to speakers (it has no "
            "adapt_speakers method; the default model has). Drop --speaker-adapt."
        )
    if status is not None:
        n = len({u.speaker for u in utterances if u.speaker})
        status(f"adapting to {n} speakers")
    return {str(k): int(v) for k, v in adapt(list(utterances)).items()}


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
    status: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Run (or resume) an evaluation and write ``metrics.json`` and ``predictions.jsonl``.

    Args:
        config: What to evaluate.
        run_dir: The run folder (created; holds ``run.sqlite``).
        overwrite: Discard a stored run in ``run_dir`` instead of resuming it.
        progress: Called with (done, total) as batches are stored.
        warn: Called with each warning (default: print to stderr).
        status: Called with a short note of what the run is doing (fitting, predicting).

    Raises:
        UsageError: If the arguments cannot work or ``run_dir`` holds another run.
        ManifestError: If the manifest cannot be read.
    """
    warn = warn or (lambda msg: print(f"emoscope: warning: {msg}", file=sys.stderr))
    if config.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer. Got {config.batch_size}.")
    if config.modality not in (None, "audio", "text", "both"):
        raise UsageError(f"--modality must be audio, text or both. Got {config.modality!r}.")
    full = Manifest.load(config.manifest)
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
        adaptation: dict[str, dict[str, int]] = {}
        model: Any = None
        for task in tasks:
            if status is not None:
                fitting = task.train is not None and not (run_dir / FITTED_DIR / task.name).is_dir()
                scope = "" if task.name == "all" else f" {task.name}"
                status(
                    f"fitting{scope} on {len(task.train or ())} utterances"
                    if fitting
                    else f"predicting{scope}"
                )
            model = _build_model(config, task, run_dir, previous=model)
            store.bind_config(key)  # only once a model could be built
            records.append({"task": task.name, **model_record(model, config.model)})
            changed = _check_model_record(store, task.name, records[-1])
            if changed:
                warnings_.append(changed)
                warn(changed)
            label_maps[task.name] = LabelMap.build(model.labels)
            model_dir = Path(config.model).expanduser()
            training = training_data_of(
                model, config.adapter, model_dir=model_dir if model_dir.is_dir() else None
            )
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
            if config.speaker_adapt:
                adaptation[task.name] = _adapt_speakers(model, config, task.utterances, status)
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
            "config": {**json_safe(dataclasses.asdict(config)), "run_hash": key},
            "manifest": {"path": str(config.manifest), "sha256": key["manifest_sha256"]},
            "leakage": leakage,
            "speaker_adaptation": adaptation if config.speaker_adapt else None,
            "warnings": warnings_,
            "timing_last_session": session,
            "emoscope_version": _version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    _write_json(run_dir / METRICS_FILE, metrics)
    _write_jsonl(run_dir / PREDICTIONS_FILE, predictions)
    _write_report(run_dir, metrics, predictions)
    return EvaluationResult(run_dir, metrics, metrics["errors"], warnings_)


def _version() -> str:
    from emoscope import __version__

    return __version__


def _clear_run(run_dir: Path) -> None:
    import shutil

    for name in (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", METRICS_FILE):
        (run_dir / name).unlink(missing_ok=True)
    (run_dir / PREDICTIONS_FILE).unlink(missing_ok=True)
    (run_dir / REPORT_FILE).unlink(missing_ok=True)
    if (run_dir / FITTED_DIR).is_dir():
        shutil.rmtree(run_dir / FITTED_DIR)


def _write_report(
    run_dir: Path, metrics: dict[str, Any], predictions: Sequence[dict[str, Any]]
) -> None:
    """Write ``RUN_DIR/report.html`` with the report module's evaluation report."""
    from emoscope.report.evaluation import render_evaluation_report

    model = metrics.get("model") or {}
    details = {
        "model": model.get("spec") or (model.get("folds") or [{}])[0].get("spec"),
        "manifest": metrics["manifest"]["path"],
        "utterances": f"{metrics['n']} scored, {metrics['errors']} errors, "
        f"{metrics['skipped_unmapped']} without a canonical label",
        "emoscope": metrics["emoscope_version"],
    }
    page = render_evaluation_report(
        metrics, predictions=predictions, title=f"Evaluation: {run_dir.name}", run=details
    )
    tmp = run_dir / f".{REPORT_FILE}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(run_dir / REPORT_FILE)


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
    "evaluate",
    "run_key",
]
