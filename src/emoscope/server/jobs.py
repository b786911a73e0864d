"""Analysis jobs and their store on disk: ``<data dir>/jobs/<uuid>/{job.json,upload,result.json}``.

Job ids are UUIDs made by the server. Every path is built from an id that
:func:`parse_job_id` has re-validated, so nothing a request sends reaches the filesystem.

Examples:
    >>> parse_job_id("0f0e8a4c-3b9d-4c55-8d7e-1f2a3b4c5d6e")
    '0f0e8a4c-3b9d-4c55-8d7e-1f2a3b4c5d6e'
    >>> parse_job_id("../../etc/passwd") is None
    True
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emoscope.schema import write_json_atomic

JobState = Literal["queued", "running", "done", "failed"]

_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_SPEAKERS = re.compile(r"^(auto|[1-9]|1[0-9]|20)$")


def new_job_id() -> str:
    """Return a new random job id (UUID version 4, lower case)."""
    return str(uuid.uuid4())


def parse_job_id(text: str) -> str | None:
    """Return ``text`` when it is a canonical lower-case UUID4, else ``None``."""
    return text if isinstance(text, str) and _JOB_ID.fullmatch(text) else None


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    now = datetime.now(timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobOptions(BaseModel):
    """What the client asked for: the analysis options and what to keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="default", min_length=1, max_length=200)
    speakers: str | None = Field(
        default=None, description="'auto' or a number of speakers from 1 to 20; none: no split."
    )
    language: str | None = Field(default=None, max_length=20)
    redact: bool = False
    no_transcript: bool = False
    explain: bool = Field(default=False, description="Explain each estimate (slower).")
    speaker_adapt: bool = Field(
        default=True,
        description="Make the audio side relative to each speaker's own voice in the recording.",
    )
    keep_upload: bool = False

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:+-]*", value) or ".." in value:
            raise ValueError(
                "model must be the name of a registered model (letters, digits and . _ : + -), "
                "not a path"
            )
        return value

    @field_validator("speakers")
    @classmethod
    def _speakers(cls, value: str | None) -> str | None:
        if value in (None, "", "none"):
            return None
        if not _SPEAKERS.fullmatch(value):
            raise ValueError("speakers must be 'auto' or a whole number from 1 to 20")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.fullmatch(r"[a-z]{2,3}", value):
            raise ValueError("language must be a 2 or 3 letter code such as 'en'")
        return value


class JobError(BaseModel):
    """Why a job failed: a stable code and a message for people."""

    code: str
    message: str


class Job(BaseModel):
    """One uploaded recording and the state of its analysis."""

    model_config = ConfigDict(extra="forbid")

    id: str
    state: JobState = "queued"
    created: str = Field(default_factory=utc_now)
    started: str | None = None
    finished: str | None = None
    filename: str = Field(description="The client's file name, for display only.")
    format: str = Field(description="The container found by content sniffing.")
    size_bytes: int = Field(ge=0)
    options: JobOptions = Field(default_factory=JobOptions)
    attempts: int = Field(default=0, ge=0)
    upload_kept: bool = Field(default=True, description="Whether the upload is still stored.")
    error: JobError | None = None


def display_name(name: str | None) -> str:
    """Return a harmless display form of a client's file name (never used as a path).

    Examples:
        >>> display_name("../../x<script>.wav")
        'x_script_.wav'
        >>> display_name(None)
        'recording'
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:120]
    return clean or "recording"


class JobStore:
    """Jobs on disk under ``root``; thread-safe; atomic writes (a crash never leaves half a file).

    Args:
        root: The folder of the jobs (``<data dir>/jobs``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.incoming = self.root.parent / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()

    def _dir(self, job_id: str) -> Path:
        checked = parse_job_id(job_id)
        if checked is None:  # callers validate first; this is the last line of defence
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / checked

    def incoming_path(self) -> Path:
        """Return a fresh path under ``incoming/`` for an upload being received."""
        return self.incoming / f"{uuid.uuid4()}.part"

    def create(self, job: Job, upload: Path) -> Job:
        """Store a new job and move its received upload into the job's folder."""
        with self.lock:
            folder = self._dir(job.id)
            folder.mkdir(mode=0o700)
            Path(upload).replace(folder / "upload")
            self.save(job)
        return job

    def save(self, job: Job) -> None:
        """Write the job's record (only while its folder exists: a deleted job stays deleted)."""
        with self.lock:
            folder = self._dir(job.id)
            if folder.is_dir():
                write_json_atomic(job.model_dump(mode="json"), folder / "job.json")

    def get(self, job_id: str) -> Job | None:
        """Return the job, or ``None`` when there is none with this id."""
        with self.lock:
            path = self._dir(job_id) / "job.json"
            try:
                return Job.model_validate_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None

    def __iter__(self) -> Iterator[Job]:
        """Yield every stored job, oldest first."""
        with self.lock:
            jobs = []
            for folder in self.root.iterdir():
                if parse_job_id(folder.name) and (folder / "job.json").is_file():
                    job = self.get(folder.name)
                    if job is not None:
                        jobs.append(job)
        yield from sorted(jobs, key=lambda j: j.created)

    def upload_path(self, job_id: str) -> Path:
        """Return where the job's upload is (or was) stored."""
        return self._dir(job_id) / "upload"

    def result_path(self, job_id: str) -> Path:
        """Return where the job's prediction document is stored."""
        return self._dir(job_id) / "result.json"

    def write_result(self, job_id: str, document: dict[str, Any]) -> bool:
        """Store the prediction document; ``False`` when the job was deleted meanwhile."""
        with self.lock:
            if not self._dir(job_id).is_dir():
                return False
            write_json_atomic(document, self.result_path(job_id))
            return True

    def read_result(self, job_id: str) -> dict[str, Any] | None:
        """Return the stored prediction document as JSON data, or ``None``."""
        try:
            return json.loads(self.result_path(job_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def drop_upload(self, job_id: str) -> None:
        """Delete the job's upload (after processing, unless the client asked to keep it)."""
        with self.lock:
            self.upload_path(job_id).unlink(missing_ok=True)

    def delete(self, job_id: str) -> bool:
        """Remove everything of the job; ``False`` when there was no such job."""
        with self.lock:
            folder = self._dir(job_id)
            if not folder.is_dir():
                return False
            trash = self.root.parent / "incoming" / f"{uuid.uuid4()}.deleted"
            folder.replace(trash)  # atomic: the job disappears at once, then its files go
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def clean_incoming(self) -> int:
        """Remove leftovers of uploads or deletions cut short by a crash; return their number."""
        n = 0
        for path in self.incoming.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            n += 1
        return n
