"""The API through a real server on loopback: results, every error path, downloads, DELETE."""

from __future__ import annotations

import hashlib
import json
import socket
import stat
import time
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate as validate_openapi

from emoscope.schema import validate_document
from emoscope.server.exports import export_formats
from emoscope.server.security import sign_report_link

from .conftest import TOKEN, LiveServer, tone_file, wait_done

UUID_UNKNOWN = "0f0e8a4c-3b9d-4c55-8d7e-1f2a3b4c5d6e"


def upload(client: httpx.Client, path: Path, **options: str) -> httpx.Response:
    with open(path, "rb") as fh:
        return client.post("/v1/analyses", files={"file": (path.name, fh)}, data=options)


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert len(body["error"]["message"]) > 20, body
    return response.status_code, body["error"]["code"]


@pytest.fixture(scope="module")
def done_job(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    clip = tone_file(tmp_path_factory.mktemp("clips"), "session one.wav", freq=200.0)
    with server.client() as c:
        r = upload(c, clip)
        assert r.status_code == 202, r.text
        job = wait_done(c, r.json()["id"])
    assert job["state"] == "done", job
    job["_sha256"] = hashlib.sha256(clip.read_bytes()).hexdigest()
    return job


# -- the token ---------------------------------------------------------------------------------
def test_every_api_request_needs_the_token(server: LiveServer) -> None:
    for path in ("/v1/health", "/openapi.json", f"/v1/analyses/{UUID_UNKNOWN}", "/v1/nothing"):
        with server.client(token=None) as c:
            r = c.get(path)
            assert error_of(r) == (401, "missing_token"), path
            assert r.headers["www-authenticate"] == "Bearer"
        with server.client(token="wrong-token-0123456789") as c:
            assert error_of(c.get(path)) == (401, "bad_token"), path
    with server.client(token=None) as c:  # no token: the upload is refused before it is read
        r = c.post("/v1/analyses", files={"file": ("x.wav", b"RIFF....WAVE")})
        assert error_of(r) == (401, "missing_token")
        r = c.get("/v1/health", headers={"Authorization": f"Basic {TOKEN}"})
        assert error_of(r) == (401, "bad_token")


def test_page_is_public_but_holds_no_data(server: LiveServer) -> None:
    with server.client(token=None) as c:
        page = c.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/static/app.js").status_code == 200
        assert TOKEN not in page.text
    # the public static folder gives nothing else, whatever the path says
    for path in ("/static/../../token", "/static/..%2f..%2ftoken", "/static/%2e%2e/app.py"):
        assert raw_status(server.port, path) in (401, 404), path


def raw_status(port: int, path: str) -> int:
    """GET a path exactly as written (no client-side normalisation of '..')."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(64).decode()
    return int(head.split()[1])


def test_health(client: httpx.Client) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["workers"] == 2
    assert health["max_upload_bytes"] == 1024 * 1024
    assert health["export_formats"] == export_formats()


def test_openapi_spec_is_valid_and_complete(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    validate_openapi(spec)
    paths = spec["paths"]
    assert set(paths["/v1/analyses"]) == {"get", "post"}
    assert set(paths["/v1/analyses/{job_id}"]) == {"get", "delete"}
    assert "/v1/analyses/{job_id}/report" in paths
    assert set(paths["/v1/analyses/{job_id}/report-link"]) == {"post"}
    assert "/v1/analyses/{job_id}/export/{fmt}" in paths
    assert "/v1/health" in paths
    post = paths["/v1/analyses"]["post"]
    body = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = spec["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"]
    options = {"file", "model", "speakers", "redact", "no_transcript", "explain", "keep_upload"}
    assert options | {"speaker_adapt"} <= set(fields)
    assert {"202", "401", "413", "415", "422"} <= set(post["responses"])
    assert post["security"] == [{"HTTPBearer": []}]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# -- a job from upload to result ---------------------------------------------------------------
def test_upload_runs_and_returns_a_valid_document(server: LiveServer, done_job: dict) -> None:
    doc = validate_document(done_job["document"], source="API result")
    assert doc.recording.sha256 == done_job["_sha256"]
    assert 1.4 < doc.recording.duration_s < 1.6
    assert done_job["filename"] == "session one.wav" and done_job["format"] == "wav"
    assert done_job["attempts"] == 1 and done_job["error"] is None
    # the upload was deleted after processing; the result stays on disk
    folder = server.data_dir / "jobs" / done_job["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["job.json", "result.json"]
    assert done_job["upload_kept"] is False
    assert json.loads((folder / "result.json").read_text()) == done_job["document"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700


def test_keep_upload_keeps_the_audio(server: LiveServer, client: httpx.Client, tmp_path) -> None:
    clip = tone_file(tmp_path, "keep.flac", freq=330.0)
    r = upload(client, clip, keep_upload="true")
    assert r.status_code == 202 and r.headers["location"] == f"/v1/analyses/{r.json()['id']}"
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done" and job["upload_kept"] is True and job["format"] == "flac"
    kept = server.data_dir / "jobs" / job["id"] / "upload"
    assert kept.read_bytes() == clip.read_bytes()


def test_listing_shows_jobs_without_documents(client: httpx.Client, done_job: dict) -> None:
    listed = {j["id"]: j for j in client.get("/v1/analyses").json()["analyses"]}
    assert listed[done_job["id"]]["state"] == "done"
    assert listed[done_job["id"]]["document"] is None


def test_report_and_exports(client: httpx.Client, done_job: dict) -> None:
    formats = export_formats()
    report = client.get(done_job["links"]["report"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"].startswith("sandbox")
    assert "<html" in report.text.lower()
    assert set(done_job["links"]["exports"]) == set(formats)
    for fmt, link in done_job["links"]["exports"].items():
        r = client.get(link)
        assert r.status_code == 200, (fmt, r.text[:300])
        assert "attachment; filename=" in r.headers["content-disposition"]
        assert len(r.content) > 50, fmt
    if "fhir" in formats:
        fhir = client.get(done_job["links"]["exports"]["fhir"]).json()
        assert fhir["resourceType"] == "Bundle"
    if "emotionml" in formats:
        xml = client.get(done_job["links"]["exports"]["emotionml"]).text
        assert "http://www.w3.org/2009/10/emotionml" in xml


def test_privacy_options_are_applied(client: httpx.Client, tmp_path) -> None:
    r = upload(client, tone_file(tmp_path, "p.wav", freq=410.0), no_transcript="true")
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done", job
    assert job["options"]["no_transcript"] is True
    assert job["document"]["provenance"]["config"]["privacy"]["no_transcript"] is True
    assert all(s.get("transcript") is None for s in job["document"]["segments"])


def test_speaker_adaptation_can_be_turned_off(client: httpx.Client, tmp_path) -> None:
    r = upload(client, tone_file(tmp_path, "a.wav", freq=330.0), speaker_adapt="false")
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done", job
    assert job["options"]["speaker_adapt"] is False
    assert job["document"]["provenance"]["config"]["speaker_adapt"] is False
    notes = job["document"]["summary"]["notes"]
    assert not any(n.startswith("Speaker adaptation") for n in notes), notes


# -- error paths ---------------------------------------------------------------------------------
def test_not_audio_is_judged_by_content_not_name(client: httpx.Client, tmp_path) -> None:
    fake = tmp_path / "session.wav"
    fake.write_text("This is a text file with an audio name.\n" * 20)
    assert error_of(upload(client, fake)) == (415, "not_audio")
    real = tone_file(tmp_path, "a.wav", freq=250.0)
    renamed = tmp_path / "notes.txt"
    renamed.write_bytes(real.read_bytes())
    r = upload(client, renamed)
    assert r.status_code == 202 and r.json()["format"] == "wav"
    assert wait_done(client, r.json()["id"])["state"] == "done"


def test_empty_and_undecodable_uploads(client: httpx.Client, tmp_path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert error_of(upload(client, empty)) == (422, "empty_upload")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x24\x00\x00\x00WAVE" + b"\x00garbage" * 100)
    code, name = error_of(upload(client, broken))
    assert (code, name) == (422, "unreadable_audio")
    assert str(tmp_path) not in upload(client, broken).text  # no server path leaks


def test_upload_over_the_limit_is_refused(server: LiveServer, client: httpx.Client) -> None:
    big = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * (1024 * 1024 + 10)
    r = client.post("/v1/analyses", files={"file": ("big.wav", big)})
    assert error_of(r) == (413, "too_large")
    # a body sent without a length is counted as it arrives
    parts = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()

    def chunks():
        yield head
        yield from parts
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/v1/analyses",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert error_of(r) == (413, "too_large")
    # an announced length over the limit is answered before the body is sent
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /v1/analyses HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Length: {50 * 1024 * 1024}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
            ).encode()
        )
        reply = b""
        while chunk := sock.recv(4096):  # the server answers and closes without the body
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413") and '"too_large"' in reply
    assert list((server.data_dir / "incoming").iterdir()) == []


def test_bad_options(client: httpx.Client, tmp_path) -> None:
    clip = tone_file(tmp_path, "o.wav")
    assert error_of(upload(client, clip, speakers="many")) == (422, "invalid_request")
    assert error_of(upload(client, clip, model="../../etc")) == (422, "invalid_request")
    assert error_of(upload(client, clip, redact="perhaps")) == (422, "invalid_request")
    r = client.post("/v1/analyses", data={"model": "default"})
    assert error_of(r) == (422, "invalid_request") and "file" in r.json()["error"]["message"]


def test_unknown_and_malformed_ids(client: httpx.Client) -> None:
    assert error_of(client.get(f"/v1/analyses/{UUID_UNKNOWN}")) == (404, "not_found")
    assert error_of(client.delete(f"/v1/analyses/{UUID_UNKNOWN}")) == (404, "not_found")
    assert error_of(client.get(f"/v1/analyses/{UUID_UNKNOWN}/report"))[0] == 404
    for bad in ("123", UUID_UNKNOWN.upper(), "..%5c..%5cjob", "0f0e8a4c3b9d4c558d7e1f2a3b4c5d6e"):
        assert error_of(client.get(f"/v1/analyses/{bad}")) == (400, "invalid_id"), bad
        assert error_of(client.delete(f"/v1/analyses/{bad}")) == (400, "invalid_id"), bad
    assert error_of(client.get("/v1/analyses/../../etc/passwd"))[0] == 404
    assert error_of(client.get("/v1/analyses/..%2f..%2fjob"))[0] == 404
    assert error_of(client.get("/v1/no-such-thing")) == (404, "not_found")
    assert error_of(client.put("/v1/health")) == (405, "method_not_allowed")


def test_unknown_export_format(client: httpx.Client, done_job: dict) -> None:
    if not export_formats():
        pytest.skip("this version has no export module")
    r = client.get(f"/v1/analyses/{done_job['id']}/export/docx")
    assert error_of(r) == (404, "unknown_format")
    assert "csv" in r.json()["error"]["message"]


def test_delete_removes_everything(server: LiveServer, client: httpx.Client, tmp_path) -> None:
    r = upload(client, tone_file(tmp_path, "d.wav", freq=500.0), keep_upload="true")
    job = wait_done(client, r.json()["id"])
    folder = server.data_dir / "jobs" / job["id"]
    assert (folder / "upload").exists() and (folder / "result.json").exists()
    assert client.delete(f"/v1/analyses/{job['id']}").status_code == 204
    assert not folder.exists()
    assert error_of(client.get(f"/v1/analyses/{job['id']}")) == (404, "not_found")
    assert error_of(client.delete(f"/v1/analyses/{job['id']}")) == (404, "not_found")
    assert job["id"] not in {j["id"] for j in client.get("/v1/analyses").json()["analyses"]}


def test_running_job_reports_progress(client: httpx.Client, demo_sample: Path) -> None:
    import inspect

    from emoscope.pipeline import analyze

    if "progress" not in inspect.signature(analyze).parameters:
        pytest.skip("this pipeline reports no progress")
    job_id = upload(client, demo_sample).json()["id"]
    seen = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = client.get(f"/v1/analyses/{job_id}").json()
        if job["state"] == "running" and job["progress"]:
            seen.append(job["progress"])
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert job["progress"] is None
    assert seen, "no progress was reported while the demo ran"
    duration = job["document"]["recording"]["duration_s"]
    assert all(0 <= p["done_s"] <= p["total_s"] + 0.1 for p in seen)
    assert abs(seen[-1]["total_s"] - duration) < 0.5


def test_unknown_model_is_refused_with_the_known_names(client: httpx.Client, tmp_path) -> None:
    clip = tone_file(tmp_path, "m.wav", freq=450.0)
    r = upload(client, clip, model="no-such-model")
    assert error_of(r) == (422, "unknown_model")
    known = client.get("/v1/health").json()["models"]
    assert "default" in known and all(name in r.json()["error"]["message"] for name in known)
    # a model folder (a path) cannot be given through the service
    for path in ("/home/user/model", "~/model", "../model"):
        assert error_of(upload(client, clip, model=path)) == (422, "invalid_request"), path


def test_audio_that_breaks_mid_file_fails_the_job_clearly(
    server: LiveServer, client: httpx.Client, tmp_path
) -> None:
    good = tone_file(tmp_path, "t.flac", seconds=3.0).read_bytes()
    corrupt = tmp_path / "corrupt.flac"  # a valid header, then garbage frames
    corrupt.write_bytes(good[:200] + bytes((b * 7 + 13) % 256 for b in good[200:]))
    r = upload(client, corrupt, model="chance")  # a light registered model; any would do
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "failed" and job["error"]["code"] == "analysis_failed"
    assert "decoding failed" in job["error"]["message"]
    assert str(server.data_dir) not in job["error"]["message"]
    assert job["upload_kept"] is False and job["document"] is None
    assert not (server.data_dir / "jobs" / job["id"] / "upload").exists()


def test_explain_option_fills_explanations(client: httpx.Client, tmp_path) -> None:
    from emoscope.testing import has_espeak, speak, write_audio

    if not has_espeak():
        pytest.skip("needs espeak-ng to synthesise speech")
    clip = write_audio(tmp_path / "speech.wav", speak("I am really very happy about this today."))
    r = upload(client, clip, model="chance", explain="true")
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done", job
    assert job["options"]["explain"] is True
    segments = job["document"]["segments"]
    assert segments and all(s["explanation"] for s in segments if s["emotion"])
    assert any(s["emotion"] for s in segments)


def test_signed_report_link(server: LiveServer, client: httpx.Client, done_job: dict) -> None:
    if "html" not in export_formats():
        pytest.skip("this version has no HTML report")
    link = client.post(f"/v1/analyses/{done_job['id']}/report-link").json()
    assert 0 < link["expires"] - time.time() <= 300
    with server.client(token=None) as anonymous:
        report = anonymous.get(link["url"])
        assert report.status_code == 200 and "<html" in report.text.lower()
        assert report.headers["content-security-policy"].startswith("sandbox")
        # the signature is bound to the job, the expiry and the service's token
        other = link["url"].replace(done_job["id"], UUID_UNKNOWN)
        assert error_of(anonymous.get(other)) == (401, "missing_token")
        later = link["url"].replace(f"expires={link['expires']}", f"expires={link['expires'] + 1}")
        assert error_of(anonymous.get(later)) == (401, "missing_token")
        past = int(time.time()) - 1
        expired = f"/v1/analyses/{done_job['id']}/report?expires={past}&sig="
        expired += sign_report_link(TOKEN, done_job["id"], past)
        assert error_of(anonymous.get(expired)) == (401, "missing_token")
        export = link["url"].replace("/report?", "/export/csv?")
        assert error_of(anonymous.get(export)) == (401, "missing_token")
    with server.client(token=None) as anonymous:
        r = anonymous.post(f"/v1/analyses/{done_job['id']}/report-link")
        assert error_of(r) == (401, "missing_token")
