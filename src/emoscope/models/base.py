"""The EmotionModel protocol and the one registry of model backends.

A backend is a config dataclass and a model class registered under one name (the peft pattern)::

    @dataclass
    class MyConfig(ModelConfig):
        threshold: float = 0.5

    class MyModel:
        labels = CANONICAL_LABELS
        modalities = frozenset({"audio"})
        def __init__(self, config: MyConfig) -> None: ...
        def predict_proba(self, batch): ...

    register_model("my-model", MyConfig, MyModel)

Backends live in the modules listed in :data:`PLUGIN_MODULES`; they are imported on the first
look-up, so ``import emoscope`` stays light. A backend module must keep heavy imports (torch,
transformers) inside functions.

Examples:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class EchoConfig(ModelConfig):
    ...     label: str = "neutral"
    >>> EchoConfig.from_json(EchoConfig(label="sad").to_json()).label
    'sad'
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emoscope.errors import UnknownNameError, UsageError
from emoscope.registry import Registry
from emoscope.types import Utterance

MODALITIES = frozenset({"audio", "text"})

PLUGIN_MODULES: tuple[str, ...] = (
    "emoscope.models.default",
    "emoscope.models.baselines",
    "emoscope.models.lalm",
    "emoscope.models.endpoint",
    "emoscope.models.finetune",
)
"""Modules that register backends when imported. A module that does not exist is skipped."""


@runtime_checkable
class EmotionModel(Protocol):
    """What every backend offers: a closed label set and probabilities over it."""

    labels: tuple[str, ...]
    modalities: frozenset[str]

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return an ``(n, len(labels))`` array whose rows sum to 1."""
        ...


@dataclass
class ModelConfig:
    """Base of backend configs: JSON round trip (sorted keys), unknown keys warned about."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready data."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))

    def to_json(self) -> str:
        """Return the config as sorted JSON."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build a config from data, warning on (and dropping) unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            warnings.warn(
                f"{cls.__name__} ignores unknown keys {unknown}; known keys: {sorted(names)}.",
                stacklevel=2,
            )
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        """Build a config from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def save(self, path: Path) -> None:
        """Write the config as sorted JSON."""
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")


@dataclass(frozen=True)
class ModelEntry:
    """A registered backend."""

    name: str
    config_cls: type[ModelConfig]
    model_cls: Callable[..., EmotionModel]
    from_path: Callable[[Path], ModelConfig | None] | None = None


MODELS: Registry[ModelEntry] = Registry(
    "model",
    known="Known models",
    modules=PLUGIN_MODULES,
    hint="; or give the path of a model directory",
)
"""The registry of model backends (use :func:`register_model` to add one)."""


def register_model(
    name: str,
    config_cls: type[ModelConfig],
    model_cls: Callable[..., EmotionModel],
    *,
    from_path: Callable[[Path], ModelConfig | None] | None = None,
) -> None:
    """Register a backend under ``name``.

    Args:
        name: The name users give to ``--model``.
        config_cls: Its config dataclass (a :class:`ModelConfig`).
        model_cls: Called with a config instance, returns the model.
        from_path: Optional: given a directory, return a config if this backend can load it
            (e.g. a transformers checkpoint of its family), else ``None``.

    Raises:
        ValueError: If ``name`` is already registered.
    """
    MODELS.register(name, ModelEntry(name, config_cls, model_cls, from_path))


def available_models() -> list[str]:
    """Return the registered backend names, sorted."""
    return MODELS.names()


def get_entry(name: str) -> ModelEntry:
    """Return the registry entry of ``name``.

    Raises:
        UnknownNameError: Listing the known names.
    """
    return MODELS.get(name)


def load_model(spec: str, **overrides: Any) -> EmotionModel:
    """Build a model from a registered name or a model directory.

    Args:
        spec: A registered name (``emoscope models`` lists them) or a directory that a backend
            recognises (a transformers checkpoint, a saved emoscope model).
        **overrides: Config fields to change (e.g. ``device="cuda"``); ``None`` values are
            ignored.

    Raises:
        UnknownNameError: If the name is unknown and no backend recognises the path.
    """
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if spec in MODELS:
        entry = MODELS.get(spec)
        config = entry.config_cls.from_dict(overrides)
        return entry.model_cls(config)
    path = Path(spec).expanduser()
    if path.is_dir():
        for _, entry in MODELS.items():
            if entry.from_path is None:
                continue
            config = entry.from_path(path)
            if config is not None:
                if overrides:
                    config = dataclasses.replace(config, **overrides)
                return entry.model_cls(config)
        raise UsageError(
            f"{path}: no model backend recognises this directory. Expected a transformers "
            f"checkpoint of a supported family or a saved emoscope model. Known models: "
            f"{', '.join(MODELS.names())}."
        )
    raise UnknownNameError(
        f"No model named {spec!r} and no such directory. Known models: "
        f"{', '.join(MODELS.names()) or 'none'}; or give the path of a model directory."
    )


def check_proba(model: EmotionModel, proba: np.ndarray, n: int) -> np.ndarray:
    """Check a ``predict_proba`` result's shape and rows; return it as float64.

    Raises:
        ValueError: If the shape or a row is off (a bug in the backend).
    """
    proba = np.asarray(proba, dtype=np.float64)
    expected = (n, len(model.labels))
    if proba.shape != expected:
        raise ValueError(
            f"{type(model).__name__}.predict_proba returned {proba.shape}, not {expected}"
        )
    if n and not np.allclose(proba.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(f"{type(model).__name__}.predict_proba rows do not sum to 1")
    return proba
