"""``emoscope serve``: the local web service and its page for clinicians."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import typer

from emoscope.cli.app import app


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only.

    Examples:
        >>> _is_loopback("127.0.0.1"), _is_loopback("localhost"), _is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve_command(
    data_dir: Path = typer.Option(
        None,
        "--data-dir",
        help="Where jobs, results and the token live [default: $EMOSCOPE_DATA_DIR or "
        "~/.local/share/emoscope].",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8765, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Analyses run at once."),
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", help="Largest upload (MiB)."),
    max_queued: int = typer.Option(100, "--max-queued", min=1, help="Most jobs waiting."),
    job_timeout: float = typer.Option(
        4 * 3600.0, "--job-timeout", help="Seconds one analysis may run before it is stopped."
    ),
    retention_days: float = typer.Option(
        0.0,
        "--retention-days",
        min=0.0,
        help="Delete finished analyses older than this many days (0: keep until deleted).",
    ),
    show_token: bool = typer.Option(
        False, "--show-token", help="Print the page's address with the token again."
    ),
) -> None:
    """Start the local web service: a page to upload or record a session, and the /v1 API.

    Every request needs the access token (printed at first start, kept in DATA_DIR/token with
    mode 0600, or set by EMOSCOPE_TOKEN). Stop with Ctrl+C; results stay in the data folder.
    """
    import uvicorn

    from emoscope.server import ServerSettings, create_app
    from emoscope.server.service import check_data_dir_free
    from emoscope.server.settings import default_data_dir

    settings = ServerSettings(
        data_dir=data_dir or default_data_dir(),
        host=host,
        port=port,
        workers=workers,
        max_upload_mb=max_upload_mb,
        max_queued=max_queued,
        job_timeout_s=job_timeout,
        retention_days=retention_days,
    )
    check_data_dir_free(settings.data_dir)
    application = create_app(settings)
    token = application.state.service.token
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"

    def out(line: str) -> None:  # plain lines: the address must never be wrapped
        sys.stderr.write(f"emoscope: {line}\n")
        sys.stderr.flush()

    if token.generated or show_token:
        out(f"open {url}#token={token.token}")
        if token.generated:
            out(
                f"a new access token was made and saved in {token.path} (mode 0600); "
                "it is printed only this once.",
            )
    else:
        where = "EMOSCOPE_TOKEN" if token.source == "EMOSCOPE_TOKEN" else str(token.path)
        out(
            f"open {url} (token: {where}; --show-token prints the full address)",
        )
    if not _is_loopback(host):
        out(
            f"warning: listening on {host}, reachable from other machines over plain "
            "HTTP. Put it behind a TLS proxy or keep the default 127.0.0.1.",
        )
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
