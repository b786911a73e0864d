"""The ``emoscope`` command: one program, sub-commands in the modules of this package.

Each module here (other than :mod:`emoscope.cli.app`) adds its sub-commands to
:data:`emoscope.cli.app.app` when imported; :func:`main` imports them all, runs the app, and turns
an :class:`~emoscope.errors.EmoscopeError` into one line on stderr with exit code 1 (2 for usage
errors). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from emoscope.cli.app import app
from emoscope.errors import EmoscopeError


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "app" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 done, 1 some input failed, 2 usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # Offline by default: every command runs under the guard unless --allow-download is given
    # (anywhere on the line); see emoscope.privacy and docs/privacy.md.
    allow_download = "--allow-download" in args
    args = [a for a in args if a != "--allow-download"]
    _load_commands()
    from emoscope.privacy import ALLOW_DOWNLOAD_ENV, install_offline_guard

    previous = os.environ.pop(ALLOW_DOWNLOAD_ENV, None)
    if allow_download:
        os.environ[ALLOW_DOWNLOAD_ENV] = "1"
    uninstall = install_offline_guard(allow_download=allow_download)
    try:
        app(args=args, prog_name="emoscope", standalone_mode=True)
    except SystemExit as exc:  # click exits 0, 1 or 2 (usage) itself; commands raise typer.Exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except EmoscopeError as exc:
        if debug:
            raise
        sys.stderr.write(f"emoscope: error: {exc}\n")
        return exc.exit_code
    finally:
        uninstall()
        os.environ.pop(ALLOW_DOWNLOAD_ENV, None)
        if previous is not None:
            os.environ[ALLOW_DOWNLOAD_ENV] = previous
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
