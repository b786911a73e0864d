"""The endpoint backend against a real HTTP server on 127.0.0.1 that speaks the chat API.

The server plays a vLLM-served audio-language model: it checks every request's shape, decodes
the WAV it is sent, and answers with top log-probabilities chosen by simple rules (a keyword in
the transcript, the clip's length). It can fail, stall and count requests in flight.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from emoscope.models.base import load_model
from emoscope.models.endpoint import EndpointError, EndpointModel
from emoscope.models.lalm import calibrate
from emoscope.testing import tone
from emoscope.types import Utterance

SERVED = "tiny-served"
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")


@dataclass
class ServerState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    audio_seconds: list[float] = field(default_factory=list)
    fail_first: int = 0
    stall_first: int = 0
    stall_s: float = 0.0
    delay_s: float = 0.0
    retry_after: str = ""
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _decide(text: str, seconds: float | None) -> str | None:
    """The fake model: a label from the transcript's keyword or the clip's length."""
    if "furious" in text:
        return "angry"
    if "lovely" in text:
        return "happy"
    if seconds is not None and seconds > 0.0:
        return "sad" if seconds > 1.2 else "neutral"
    return None  # content-free input


def _answer(body: dict[str, Any], seconds: float | None) -> dict[str, Any]:
    user = body["messages"][1]["content"]
    text = user if isinstance(user, str) else user[-1]["text"]
    label = _decide(text, seconds)
    if not body.get("logprobs"):
        content = (
            f"The speaker sounds {'furious' if label == 'angry' else label}."
            if label
            else ("I cannot tell.")
        )
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    choice_mode = "\nA. neutral" in text
    if label is None:  # a skewed prior on content-free inputs
        probs = {"happy": 0.5, "neutral": 0.3, "sad": 0.2}
    else:
        probs = {label: 0.7, "fearful": 0.2, "neutral": 0.05}
        probs = {"neutral": 0.25, "fearful": 0.05, label: 0.7} if label == "neutral" else probs
    tops = []
    for lab, p in probs.items():
        token = "ABCDEFG"[LABELS.index(lab)] if choice_mode else " " + lab[:3].capitalize()
        tops.append({"token": token, "logprob": math.log(p)})
    tops.append({"token": " the", "logprob": math.log(0.01)})
    first = tops[0]
    return {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": first["token"]},
                "logprobs": {"content": [{**first, "top_logprobs": tops}]},
            }
        ]
    }


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _release(self) -> None:
            """End this request's "in flight" count once (before its answer is written)."""
            if not self.released:
                self.released = True
                with state.lock:
                    state.in_flight -= 1

        def _send(self, status: int, payload: dict[str, Any], retry_after: str = "") -> None:
            # released before writing: once the client has the answer its next request may
            # arrive before this handler returns, and must not count as a fourth one at once
            self._release()
            data = json.dumps(payload).encode()
            self.send_response(status)
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            self.released = False
            with state.lock:
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                n = len(state.requests)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.requests.append(body)
            try:
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if body.get("model") != SERVED:
                    return self._send(400, {"error": f"model {body.get('model')} not served"})
                if n < state.fail_first:
                    return self._send(503, {"error": "overloaded"}, state.retry_after)
                if n < state.stall_first:
                    time.sleep(state.stall_s)
                time.sleep(state.delay_s)
                seconds = None
                for part in body["messages"][1]["content"]:
                    if part["type"] == "input_audio":
                        assert part["input_audio"]["format"] == "wav"
                        wav, rate = sf.read(
                            io.BytesIO(base64.b64decode(part["input_audio"]["data"]))
                        )
                        assert rate == 16000
                        seconds = len(wav) / rate
                        if not np.abs(wav).max() > 0:
                            seconds = 0.0  # silence: content-free
                        state.audio_seconds.append(len(wav) / rate)
                return self._send(200, _answer(body, seconds))
            finally:
                self._release()

    return Handler


@pytest.fixture()
def server() -> Iterator[tuple[str, ServerState]]:
    state = ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _utts() -> list[Utterance]:
    return [
        Utterance(id="a", waveform=tone(0.5), transcript="You are furious today"),
        Utterance(id="b", waveform=tone(1.5), transcript="What a lovely day"),
        Utterance(id="c", waveform=tone(1.5, seed=1), transcript="Well."),
        Utterance(id="d", waveform=tone(0.5, seed=2), transcript="Hm."),
    ]


def test_score_mode_reads_label_probabilities_from_top_logprobs(server: Any) -> None:
    url, state = server
    model = load_model("endpoint", base_url=url, model=SERVED, condition="both")
    assert isinstance(model, EndpointModel)
    proba = model.predict_proba(_utts())
    assert [LABELS[i] for i in proba.argmax(axis=1)] == ["angry", "happy", "sad", "neutral"]
    # angry 0.7, fearful 0.2, neutral 0.05; four labels absent get 0.005 each (" the" ignored)
    expected = np.array([0.05, 0.005, 0.005, 0.7, 0.2, 0.005, 0.005])
    np.testing.assert_allclose(proba[0], expected / expected.sum(), atol=1e-9)
    body = state.requests[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert body["messages"][0] == {"role": "system", "content": model.prompt.system}
    assert sorted(round(s, 2) for s in state.audio_seconds) == [0.5, 0.5, 1.5, 1.5]
    assert model.info["prompt_hash"] == model.prompt_hash and model.info["backend"] == "endpoint"


def test_choice_mode_scores_letters_and_text_condition_sends_no_audio(server: Any) -> None:
    url, state = server
    model = load_model("endpoint", base_url=url, model=SERVED, condition="text", mode="choice")
    proba = model.predict_proba(_utts()[:2])
    assert [LABELS[i] for i in proba.argmax(axis=1)] == ["angry", "happy"]
    assert state.audio_seconds == []
    assert all(p["type"] == "text" for p in state.requests[0]["messages"][1]["content"])


def test_requests_run_concurrently_up_to_the_limit(server: Any) -> None:
    url, state = server
    state.delay_s = 0.2
    model = load_model("endpoint", base_url=url, model=SERVED, concurrency=3)
    model.predict_proba(_utts() * 3)
    assert len(state.requests) == 12
    assert 2 <= state.max_in_flight <= 3


def test_overload_answers_are_retried_with_backoff(server: Any) -> None:
    url, state = server
    state.fail_first = 2
    model = load_model("endpoint", base_url=url, model=SERVED, concurrency=1, backoff_s=0.05)
    t0 = time.perf_counter()
    proba = model.predict_proba(_utts()[:1])
    assert model.n_retries_ == 2 and len(state.requests) == 3
    assert time.perf_counter() - t0 >= 0.05 + 0.1  # 0.05 s, then doubled
    assert LABELS[int(proba[0].argmax())] == "neutral"


def test_giving_up_after_the_last_retry_names_the_server(server: Any) -> None:
    url, state = server
    state.fail_first = 10
    model = load_model(
        "endpoint", base_url=url, model=SERVED, max_retries=1, backoff_s=0.0, concurrency=1
    )
    with pytest.raises(EndpointError, match=r"failed after 2 attempts \(last: HTTP 503"):
        model.predict_proba(_utts()[:1])


def test_a_stalled_request_times_out_and_is_retried(server: Any) -> None:
    url, state = server
    state.stall_first, state.stall_s = 1, 1.5
    model = load_model(
        "endpoint", base_url=url, model=SERVED, timeout_s=0.4, backoff_s=0.0, concurrency=1
    )
    proba = model.predict_proba(_utts()[:1])
    assert model.n_retries_ == 1 and LABELS[int(proba[0].argmax())] == "neutral"


def test_a_refused_request_is_not_retried(server: Any) -> None:
    url, state = server
    model = load_model("endpoint", base_url=url, model="other-model", concurrency=1)
    with pytest.raises(EndpointError, match="HTTP 400.*other-model"):
        model.predict_proba(_utts()[:1])
    assert len(state.requests) == 1


def test_generate_mode_parses_answers_and_reports_the_rest(server: Any) -> None:
    url, _ = server
    model = load_model("endpoint", base_url=url, model=SERVED, mode="generate", condition="text")
    proba = model.predict_proba(_utts())
    assert LABELS[int(proba[0].argmax())] == "angry" and proba[0].max() == 1.0  # "furious"
    assert LABELS[int(proba[1].argmax())] == "happy"
    np.testing.assert_allclose(proba[2:], 1 / 7)  # "I cannot tell." twice
    assert model.last_unparsed_ == ["c", "d"] and model.n_unparsed_ == 2


def test_calibration_uses_content_free_requests(server: Any) -> None:
    url, state = server
    raw = load_model("endpoint", base_url=url, model=SERVED, condition="text")
    cal = load_model("endpoint", base_url=url, model=SERVED, condition="text", calibrate=True)
    utts = _utts()[:2]
    p_raw, p_cal = raw.predict_proba(utts), cal.predict_proba(utts)
    assert cal.prior_ is not None and LABELS[int(cal.prior_.argmax())] == "happy"
    np.testing.assert_allclose(p_cal, calibrate(p_raw, cal.prior_), atol=1e-12)
    assert p_cal[1, 1] < p_raw[1, 1]  # the happy bias is divided out
    assert len(state.requests) == 2 + 2 + 2  # 2 content-free requests, made once


def test_both_sends_only_what_an_utterance_has(server: Any) -> None:
    url, state = server
    model = load_model("endpoint", base_url=url, model=SERVED, condition="both", concurrency=1)
    u = _utts()[0]
    model.predict_proba([u.with_(waveform=None), u.with_(transcript=None)])
    kinds = [[p["type"] for p in r["messages"][1]["content"]] for r in state.requests]
    assert kinds == [["text"], ["input_audio", "text"]]
    assert "furious" in state.requests[0]["messages"][1]["content"][0]["text"]
    assert "furious" not in state.requests[1]["messages"][1]["content"][1]["text"]


def test_retry_after_from_the_server_is_honoured(server: Any) -> None:
    url, state = server
    state.fail_first, state.retry_after = 1, "1"
    model = load_model("endpoint", base_url=url, model=SERVED, concurrency=1, backoff_s=0.01)
    t0 = time.perf_counter()
    model.predict_proba(_utts()[:1])
    assert time.perf_counter() - t0 >= 1.0 and model.n_retries_ == 1
