"""The local web service: ``emoscope serve`` (API under ``/v1`` and a page at ``/``).

See ``docs/server.md``. Build the application with :func:`create_app`.
"""

from __future__ import annotations

from emoscope.server.app import create_app
from emoscope.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
