"""The FastAPI application: the analyses API under ``/v1`` and the page at ``/``.

Examples:
    >>> import tempfile
    >>> settings = ServerSettings(data_dir=Path(tempfile.mkdtemp()), token="t" * 32)
    >>> app = create_app(settings)
    >>> sorted(p for p in app.openapi()["paths"] if p.startswith("/v1/analyses"))[:2]
    ['/v1/analyses', '/v1/analyses/{job_id}']
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from emoscope import __version__
from emoscope.errors import AudioError
from emoscope.server.errors import ApiError, ErrorBody, install_error_handlers
from emoscope.server.exports import check_format, export_formats, render_export
from emoscope.server.jobs import Job, JobOptions, display_name, new_job_id, parse_job_id
from emoscope.server.security import REPORT_CSP, GuardMiddleware, report_link
from emoscope.server.service import Service
from emoscope.server.settings import ServerSettings
from emoscope.server.sniff import MIME_TYPES, SNIFF_BYTES, sniff_audio

STATIC_DIR = Path(__file__).parent / "static"
UPLOAD_PATH = "/v1/analyses"
_CHUNK = 1 << 20

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "Malformed analysis id.",
        401: "Missing or wrong bearer token.",
        404: "No such analysis or export format.",
        409: "The analysis is not done (still queued or running, or failed).",
        413: "Upload larger than the limit.",
        415: "The upload is not audio (judged by its content, not its name).",
        422: "Invalid options, or audio that cannot be decoded.",
        503: "The queue is full; retry later.",
    }.items()
}


class JobView(BaseModel):
    """An analysis job as the API shows it."""

    id: str
    state: str = Field(description="queued, running, done or failed")
    created: str
    started: str | None = None
    finished: str | None = None
    filename: str
    format: str
    size_bytes: int
    options: JobOptions
    attempts: int
    upload_kept: bool
    queue_position: int | None = Field(default=None, description="1 = next to run")
    progress: dict[str, Any] | None = Field(
        default=None,
        description="While running: the pipeline's stage and seconds of audio done / in all.",
    )
    error: dict[str, str] | None = None
    links: dict[str, Any] = Field(default_factory=dict)
    document: dict[str, Any] | None = Field(
        default=None, description="The emoscope.prediction/1 document, once done."
    )


class ReportLink(BaseModel):
    """A signed link that opens a report without the bearer header, for a few minutes."""

    url: str
    expires: int = Field(description="Unix time after which the link no longer works.")


class JobList(BaseModel):
    """All stored analyses, oldest first (without their documents)."""

    analyses: list[JobView]


class Health(BaseModel):
    """Whether the service runs, and what it offers."""

    status: str
    version: str
    workers: int
    running: int
    queued: int
    completed: int
    max_upload_bytes: int
    export_formats: list[str]
    models: list[str] = Field(description="Names accepted by the model option.")
    label_colours: dict[str, str] = Field(
        default_factory=dict, description="The report's colour of each label (CSS hex)."
    )
    privacy_options: bool


def _view(service: Service, job: Job, *, with_document: bool) -> JobView:
    base = f"/v1/analyses/{job.id}"
    links: dict[str, Any] = {"self": base}
    if job.state == "done":
        links["report"] = f"{base}/report"
        links["exports"] = {fmt: f"{base}/export/{fmt}" for fmt in export_formats()}
    document = service.store.read_result(job.id) if with_document and job.state == "done" else None
    return JobView(
        **job.model_dump(exclude={"error"}),
        error=job.error.model_dump() if job.error else None,
        queue_position=service.pool.position(job.id) if job.state == "queued" else None,
        progress=service.pool.progress(job.id) if job.state == "running" else None,
        links=links,
        document=document,
    )


def label_colours() -> dict[str, str]:
    """Return the HTML report's label colours, so the page and the report agree."""
    from emoscope.report.style import LABEL_COLOURS

    return dict(LABEL_COLOURS)


def model_names() -> list[str]:
    """Return the model names a client may ask for: the registered ones and ``default``."""
    from emoscope.models.base import available_models

    return sorted({"default", *available_models()})


def _checked_id(job_id: str) -> str:
    checked = parse_job_id(job_id)
    if checked is None:
        raise ApiError(
            400,
            "invalid_id",
            f"{job_id[:60]!r} is not an analysis id. Ids are the lower-case UUIDs returned by "
            "POST /v1/analyses.",
        )
    return checked


def _job(service: Service, job_id: str) -> Job:
    job = service.store.get(_checked_id(job_id))
    if job is None:
        raise ApiError(404, "not_found", f"No analysis with id {job_id}: never made or deleted.")
    return job


def _done_document(service: Service, job_id: str) -> tuple[Job, dict[str, Any]]:
    job = _job(service, job_id)
    if job.state != "done":
        detail = f" ({job.error.message})" if job.error else ""
        raise ApiError(409, "not_ready", f"Analysis {job.id} is {job.state}{detail}.")
    document = service.store.read_result(job.id)
    if document is None:
        raise ApiError(404, "not_found", f"The result of analysis {job.id} is missing.")
    return job, document


def _receive_upload(service: Service, file: UploadFile) -> tuple[Path, int, str]:
    """Copy the upload into the data folder, check size and content; return path, size, kind."""
    limit = service.settings.max_upload_bytes
    target = service.store.incoming_path()
    size = 0
    try:
        with open(target, "wb") as out:
            while block := file.file.read(_CHUNK):
                size += len(block)
                if size > limit:
                    raise ApiError(
                        413,
                        "too_large",
                        f"The upload is larger than the limit of {limit / 1024 / 1024:g} MiB. "
                        "Send a shorter or compressed recording, or start the service with a "
                        "larger --max-upload-mb.",
                    )
                out.write(block)
        if size == 0:
            raise ApiError(422, "empty_upload", "The uploaded file is empty (0 bytes).")
        with open(target, "rb") as fh:
            kind = sniff_audio(fh.read(SNIFF_BYTES))
        if kind is None:
            raise ApiError(
                415,
                "not_audio",
                f"The upload {display_name(file.filename)!r} is not audio: its first bytes match "
                f"none of the known audio formats ({', '.join(MIME_TYPES)}). The file name is "
                "not used to decide.",
            )
        from emoscope.audio import audio_info

        try:
            info = audio_info(target)
        except AudioError as exc:
            message = str(exc).replace(str(target), "the upload")
            raise ApiError(422, "unreadable_audio", message) from None
        if info.sample_rate <= 0 or info.channels <= 0:
            raise ApiError(422, "unreadable_audio", "The upload has no usable audio stream.")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, size, kind


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the service's application.

    The token is resolved now (``settings.token``, ``EMOSCOPE_TOKEN`` or the token file);
    workers start, and interrupted jobs are queued again, when the application starts.

    Args:
        settings: How the service runs.
    """
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(
        title="emoscope",
        version=__version__,
        summary="Emotion recognition in recorded speech, as a local service.",
        description=(
            "Upload a recording to `POST /v1/analyses`, poll `GET /v1/analyses/{id}` until "
            "`state` is `done`, then read the `emoscope.prediction/1` document, the HTML report "
            "or an export. Every request needs `Authorization: Bearer <token>`."
        ),
        docs_url=None,  # Swagger UI would load scripts from the internet; the spec is served
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(
        GuardMiddleware,
        token=service.token.token,
        max_upload_bytes=settings.max_upload_bytes,
        upload_path=UPLOAD_PATH,
    )
    bearer = HTTPBearer(auto_error=False, description="The service's access token.")
    api = APIRouter(prefix="/v1", dependencies=[Depends(bearer)], responses=_ERRORS)

    @api.get("/health", response_model=Health, summary="Service status")
    def health() -> Health:
        return Health(
            status="ok",
            version=__version__,
            workers=settings.workers,
            running=service.pool.running,
            queued=service.pool.queued,
            completed=service.pool.completed,
            max_upload_bytes=settings.max_upload_bytes,
            export_formats=export_formats(),
            models=model_names(),
            label_colours=label_colours(),
            privacy_options=True,
        )

    @api.post("/analyses", status_code=202, response_model=JobView, summary="Upload a recording")
    def create_analysis(
        request: Request,
        file: Annotated[UploadFile, File(description="The recording (any common audio format).")],
        model: Annotated[str, Form()] = "default",
        speakers: Annotated[str | None, Form(description="'auto' or 1-20")] = None,
        language: Annotated[str | None, Form()] = None,
        redact: Annotated[bool, Form()] = False,
        no_transcript: Annotated[bool, Form()] = False,
        explain: Annotated[bool, Form(description="Explain each estimate (slower)")] = False,
        speaker_adapt: Annotated[
            bool, Form(description="Audio relative to each speaker's own voice (default on)")
        ] = True,
        keep_upload: Annotated[bool, Form(description="Keep the audio after analysis")] = False,
    ) -> JSONResponse:
        try:
            options = JobOptions(
                model=model,
                speakers=speakers,
                language=language,
                redact=redact,
                no_transcript=no_transcript,
                explain=explain,
                speaker_adapt=speaker_adapt,
                keep_upload=keep_upload,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            msg = str(first["msg"]).removeprefix("Value error, ")
            raise ApiError(422, "invalid_request", f"Invalid option {field}: {msg}.") from None
        known = model_names()
        if options.model not in known:
            raise ApiError(
                422,
                "unknown_model",
                f"No model named {options.model!r}. Known models: {', '.join(known)}. (Model "
                "folders can be used from the command line, not through the service.)",
            )
        if service.pool.queued >= settings.max_queued:
            raise ApiError(
                503,
                "queue_full",
                f"{service.pool.queued} analyses are waiting, the most this service queues. "
                "Retry when some are done.",
                headers={"Retry-After": "30"},
            )
        upload, size, kind = _receive_upload(service, file)
        job = Job(
            id=new_job_id(),
            filename=display_name(file.filename),
            format=kind,
            size_bytes=size,
            options=options,
        )
        service.store.create(job, upload)
        service.pool.submit(job.id)
        view = _view(service, job, with_document=False)
        return JSONResponse(
            view.model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"/v1/analyses/{job.id}"},
        )

    @api.get("/analyses", response_model=JobList, summary="List analyses")
    def list_analyses() -> JobList:
        return JobList(analyses=[_view(service, j, with_document=False) for j in service.store])

    @api.get("/analyses/{job_id}", response_model=JobView, summary="Status and result")
    def get_analysis(job_id: str) -> JobView:
        return _view(service, _job(service, job_id), with_document=True)

    @api.get(
        "/analyses/{job_id}/report",
        summary="HTML report",
        response_class=Response,
        responses={200: {"content": {"text/html": {}}}},
    )
    def get_report(job_id: str) -> Response:
        check_format("html")
        job, document = _done_document(service, job_id)
        content, media, _ = render_export(document, "html", name=_stem(job))
        return Response(content, media_type=media, headers={"Content-Security-Policy": REPORT_CSP})

    @api.post(
        "/analyses/{job_id}/report-link",
        response_model=ReportLink,
        summary="A short-lived link to open the report in a browser tab",
    )
    def create_report_link(job_id: str) -> ReportLink:
        check_format("html")
        job, _ = _done_document(service, job_id)
        url, expires = report_link(service.token.token, job.id)
        return ReportLink(url=url, expires=expires)

    @api.get(
        "/analyses/{job_id}/export/{fmt}",
        summary="Export (EmotionML, FHIR, CSV, ...)",
        response_class=Response,
    )
    def get_export(job_id: str, fmt: str) -> Response:
        _checked_id(job_id)
        check_format(fmt)
        job, document = _done_document(service, job_id)
        content, media, filename = render_export(document, fmt, name=_stem(job))
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if fmt == "html":
            headers["Content-Security-Policy"] = REPORT_CSP
        return Response(content, media_type=media, headers=headers)

    @api.delete("/analyses/{job_id}", status_code=204, summary="Delete everything of a job")
    def delete_analysis(job_id: str) -> Response:
        job = _job(service, job_id)
        service.pool.cancel(job.id)
        if not service.store.delete(job.id):
            raise ApiError(404, "not_found", f"No analysis with id {job_id}.")
        return Response(status_code=204)

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _stem(job: Job) -> str:
    """Return the base name of a job's downloads (from its sanitised display name)."""
    return display_name(Path(job.filename).stem).replace(" ", "_") or "recording"
