"""The registry of export formats and the atomic writer.

A format is a function ``render(doc, **options) -> bytes`` with a file suffix and a media type,
registered under a name. The built-in formats live in the modules of :data:`BUILTIN_MODULES`,
imported on the first look-up so that ``import emoscope.export`` stays light.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoscope.registry import Registry
from emoscope.types import PredictionDocument

BUILTIN_MODULES: tuple[str, ...] = (
    "emoscope.export.jsonfmt",
    "emoscope.export.csvfmt",
    "emoscope.export.emotionml",
    "emoscope.export.fhir",
    "emoscope.export.html",
    "emoscope.export.pdf",
)
"""Modules that register the built-in formats when imported (a missing one is skipped)."""


@dataclass(frozen=True)
class Exporter:
    """A registered export format."""

    name: str
    suffix: str
    media_type: str
    render: Callable[..., bytes]
    description: str = ""


EXPORTERS: Registry[Exporter] = Registry(
    "export format", known="Known formats", modules=BUILTIN_MODULES
)
"""The registry of export formats (use :func:`register_exporter` to add one)."""


def register_exporter(
    name: str,
    render: Callable[..., bytes],
    *,
    suffix: str,
    media_type: str,
    description: str = "",
) -> None:
    """Register an export format.

    Args:
        name: What users give to ``--to`` / ``--export``.
        render: ``render(doc, **options) -> bytes``.
        suffix: The file suffix, with its dot (``".xml"``).
        media_type: The MIME type (for the web service's downloads).
        description: One line for listings.

    Raises:
        ValueError: If ``name`` is taken.
    """
    EXPORTERS.register(name, Exporter(name, suffix, media_type, render, description))


def available_formats() -> list[str]:
    """Return the registered format names, sorted."""
    return EXPORTERS.names()


def get_exporter(fmt: str) -> Exporter:
    """Return the exporter of ``fmt``.

    Raises:
        UnknownNameError: Listing the known formats.
    """
    return EXPORTERS.get(fmt)


def export_bytes(doc: PredictionDocument, fmt: str, **options: Any) -> bytes:
    """Render ``doc`` in format ``fmt`` and return the bytes (nothing is written)."""
    return get_exporter(fmt).render(doc, **options)


def write_export(doc: PredictionDocument, fmt: str, path: Path, **options: Any) -> Path:
    """Write ``doc`` in format ``fmt`` to ``path`` atomically and return the path written.

    Args:
        doc: The prediction document (apply :func:`emoscope.privacy.apply_privacy` first).
        fmt: A name from :func:`available_formats`.
        path: The output file; an existing folder gets ``<recording id><suffix>`` inside it.
        **options: Format options (e.g. ``media_uri`` for EmotionML and FHIR).

    Raises:
        UnknownNameError: If ``fmt`` is unknown (the message lists the known ones).
    """
    exporter = get_exporter(fmt)
    path = Path(path)
    if path.is_dir():
        path = path / f"{doc.recording.id}{exporter.suffix}"
    data = exporter.render(doc, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
