"""Reports and exports of a stored prediction document, through :mod:`emoscope.export`."""

from __future__ import annotations

from typing import Any

from emoscope.server.errors import ApiError


def export_formats() -> list[str]:
    """Return the export formats this installation offers."""
    from emoscope.export import available_formats

    return sorted(available_formats())


def check_format(fmt: str) -> None:
    """Raise unless ``fmt`` is an export format of this installation.

    Raises:
        ApiError: 404 for a format it does not offer.
    """
    formats = export_formats()
    if fmt not in formats:
        raise ApiError(
            404,
            "unknown_format",
            f"Unknown export format {fmt[:40]!r}. Known formats: {', '.join(formats)}.",
        )


def render_export(document: dict[str, Any], fmt: str, *, name: str) -> tuple[bytes, str, str]:
    """Return ``(content, media type, file name)`` of ``document`` exported as ``fmt``.

    Args:
        document: A stored ``emoscope.prediction/1`` document (JSON data).
        fmt: A name from :func:`export_formats`.
        name: The download's base name.

    Raises:
        ApiError: 404 for a format it does not offer.
    """
    check_format(fmt)
    from emoscope.export import export_bytes, get_exporter
    from emoscope.schema import validate_document

    exporter = get_exporter(fmt)
    doc = validate_document(document, source="the stored result")
    content = export_bytes(doc, fmt)
    media = exporter.media_type
    if media.startswith("text/") and "charset" not in media:
        media += "; charset=utf-8"
    return content, media, f"{name}{exporter.suffix}"
