"""Settings of the local web service, where its data lives, and its access token.

The token comes from ``EMOSCOPE_TOKEN`` when that is set; otherwise it is read from
``<data dir>/token`` (mode 0600), which is written with a new random token at first start.

Examples:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> first = resolve_token(root, env={})
    >>> first.generated, oct((root / "token").stat().st_mode & 0o777)
    (True, '0o600')
    >>> resolve_token(root, env={}).token == first.token
    True
    >>> resolve_token(root, env={"EMOSCOPE_TOKEN": "s3cret-token-long-enough"}).source
    'EMOSCOPE_TOKEN'
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from emoscope.errors import UsageError

TOKEN_ENV = "EMOSCOPE_TOKEN"
DATA_DIR_ENV = "EMOSCOPE_DATA_DIR"
TOKEN_FILE = "token"
MIN_TOKEN_LENGTH = 16


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$EMOSCOPE_DATA_DIR``, else ``$XDG_DATA_HOME/emoscope``, else ``~/.local/share``.

    Examples:
        >>> default_data_dir({"EMOSCOPE_DATA_DIR": "/srv/emo"})
        PosixPath('/srv/emo')
        >>> default_data_dir({"XDG_DATA_HOME": "/x"})
        PosixPath('/x/emoscope')
    """
    env = os.environ if env is None else env
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "emoscope"


@dataclass(frozen=True)
class ServerSettings:
    """How the service runs. Every field has a safe default except where data is kept.

    Attributes:
        data_dir: Where jobs, results and the token file live.
        host: Interface to bind; loopback by default.
        port: TCP port.
        token: The bearer token; ``None`` resolves it with :func:`resolve_token` at start.
        max_upload_mb: Largest accepted upload, in MiB.
        workers: Analyses that run at once (each in its own process); the rest wait in a queue.
        max_queued: Most jobs waiting at once; more are refused with 503 until some finish.
        job_timeout_s: An analysis running longer is stopped and its job marked failed.
        max_attempts: A job interrupted by this many restarts of the service is marked failed
            instead of being queued again.
        retention_days: Finished jobs older than this are deleted (checked at start and every
            hour); ``0`` keeps them until a client deletes them.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    max_upload_mb: float = 200.0
    workers: int = 1
    max_queued: int = 100
    job_timeout_s: float = 4 * 3600.0
    max_attempts: int = 2
    retention_days: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.workers < 1:
            raise UsageError(f"ServerSettings.workers must be at least 1. Got {self.workers}.")
        if self.max_upload_mb <= 0:
            raise UsageError(
                f"ServerSettings.max_upload_mb must be positive. Got {self.max_upload_mb}."
            )
        if self.max_queued < 1:
            raise UsageError(
                f"ServerSettings.max_queued must be at least 1. Got {self.max_queued}."
            )
        if self.retention_days < 0:
            raise UsageError(
                "ServerSettings.retention_days must be 0 (keep) or more. "
                f"Got {self.retention_days}."
            )
        if self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise UsageError(
                f"The access token must have at least {MIN_TOKEN_LENGTH} characters "
                f"(got {len(self.token)}). Use a long random string."
            )

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class TokenInfo:
    """A resolved token and where it came from (``EMOSCOPE_TOKEN``, ``file``, ``settings``)."""

    token: str
    source: str
    generated: bool = False
    path: Path | None = None


def resolve_token(
    data_dir: Path, *, given: str | None = None, env: Mapping[str, str] | None = None
) -> TokenInfo:
    """Return the access token: ``given``, else ``$EMOSCOPE_TOKEN``, else the token file.

    The token file is created with mode 0600 and a new random token when absent.

    Raises:
        UsageError: If the token is shorter than 16 characters or the file is not private.
    """
    env = os.environ if env is None else env
    data_dir = Path(data_dir)
    if given is not None:
        info = TokenInfo(given, "settings")
    elif env.get(TOKEN_ENV):
        info = TokenInfo(env[TOKEN_ENV].strip(), TOKEN_ENV)
    else:
        path = data_dir / TOKEN_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        if path.exists():
            if path.stat().st_mode & 0o077:
                raise UsageError(
                    f"{path}: the token file is readable by other users. "
                    f"Run `chmod 600 {path}` (or delete it to get a new token)."
                )
            info = TokenInfo(path.read_text(encoding="utf-8").strip(), "file", path=path)
        else:
            token = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(token + "\n")
            info = TokenInfo(token, "file", generated=True, path=path)
    if len(info.token) < MIN_TOKEN_LENGTH:
        raise UsageError(
            f"The access token from {info.source} must have at least {MIN_TOKEN_LENGTH} "
            f"characters (got {len(info.token)}). Use a long random string."
        )
    return info
