"""The work of one job, run inside a worker process: analyse, apply privacy, validate.

It returns plain data (never raises for a user's input), so nothing unusual has to cross the
process boundary.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def offline_guard_in_worker() -> bool:
    """Install the offline guard in a worker process, as the CLI does in the service's own.

    Downloads stay blocked unless the service was started with ``--allow-download`` (the
    setting reaches the worker through the environment). Returns whether a guard was installed.
    """
    from emoscope import privacy

    privacy.install_offline_guard(allow_download=privacy.downloads_allowed())
    return True


def build_config(options: dict[str, Any]) -> Any:
    """Return the :class:`~emoscope.pipeline.AnalyzeConfig` for a job's options.

    Every job option but ``keep_upload`` (the service's own) is a field of ``AnalyzeConfig``.
    """
    from emoscope.pipeline import AnalyzeConfig

    return AnalyzeConfig(
        **{k: v for k, v in options.items() if k != "keep_upload" and v is not None}
    )


def run_analysis(
    upload: str,
    options: dict[str, Any],
    *,
    progress: Callable[[str, float, float], None] | None = None,
) -> dict[str, Any]:
    """Analyse one stored upload and return ``{"document": ...}`` or ``{"error": {...}}``.

    Args:
        upload: Path of the stored upload.
        options: The job's :class:`~emoscope.server.jobs.JobOptions` as a dict.
        progress: Called with ``(stage, seconds done, seconds in all)`` when the pipeline
            reports progress.
    """
    from emoscope.errors import EmoscopeError
    from emoscope.pipeline import analyze
    from emoscope.schema import validate_document

    try:
        doc = analyze(Path(upload), build_config(options), progress=progress)
        data = doc.to_json_dict()
        validate_document(data, source="the analysis result")
        return {"document": data}
    except EmoscopeError as exc:
        message = str(exc).replace(str(upload), "the upload")
        return {"error": {"code": "analysis_failed", "message": message}}
    except Exception as exc:  # a bug: keep the service up, report it, log the traceback
        log.error("analysis crashed:\n%s", traceback.format_exc())
        return {
            "error": {
                "code": "internal_error",
                "message": f"The analysis failed with an internal error ({type(exc).__name__}: "
                f"{exc}). Please report it with the server log.",
            }
        }
