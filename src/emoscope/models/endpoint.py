"""``endpoint``: an OpenAI-compatible chat-completions server as an EmotionModel (scale-out).

Point it at ``vllm serve Qwen/Qwen2-Audio-7B-Instruct`` (or any server with the same API) and
it sends one ``/v1/chat/completions`` request per utterance: the prompt of
:mod:`emoscope.prompts`, the audio as ``input_audio`` (base64 WAV), ``logprobs`` with
``top_logprobs``. Requests run in a thread pool (``concurrency``), each with a timeout and
retries with exponential backoff on timeouts, connection errors, 429 and 5xx answers (waiting
longer when the server's ``Retry-After`` asks for it).

Modes:

- ``score``: one generated token; the probability mass of the top tokens that begin exactly one
  label's answer word (``" ang"`` -> angry) is summed per label. A chat API returns log-probs of
  generated tokens only, so this is the *first-token* approximation of the transformers
  backend's full-answer scoring; labels absent from the top list get half the smallest listed
  probability. No label among the top tokens: the answer text is parsed instead.
- ``choice``: lettered options; the letters' probabilities are read the same way.
- ``generate``: free text parsed by :func:`~emoscope.models.lalm.parsing.parse_label`;
  unparseable answers give uniform rows and are counted (``n_unparsed_``, ``last_unparsed_``).

Examples:
    >>> EndpointConfig(base_url="http://127.0.0.1:8000/v1").chat_url
    'http://127.0.0.1:8000/v1/chat/completions'
"""

from __future__ import annotations

import base64
import io
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoscope.errors import EmoscopeError, UsageError
from emoscope.labels import CANONICAL_LABELS, LabelScheme
from emoscope.models.base import ModelConfig, register_model
from emoscope.prompts import check_condition, check_mode, load_prompt, prompt_fingerprint
from emoscope.types import ModelInfo, Utterance

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth retrying (overload, gateway trouble)."""


MAX_RETRY_AFTER_S = 60.0
"""The longest ``Retry-After`` wait honoured; longer requests count as this long."""


def retry_after(value: str | None) -> float:
    """Return the seconds a ``Retry-After`` header asks for (0 if absent or a date).

    Examples:
        >>> retry_after("2"), retry_after(None), retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
        (2.0, 0.0, 0.0)
    """
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S) if value else 0.0
    except ValueError:
        return 0.0


class EndpointError(EmoscopeError):
    """The server could not be reached, or answered with an error, after all retries."""


@dataclass
class EndpointConfig(ModelConfig):
    """Options of the ``endpoint`` backend.

    Attributes:
        base_url: The server's OpenAI-compatible base URL (ending in ``/v1``).
        model: The served model's name (what ``vllm serve`` was given).
        api_key_env: Name of the environment variable holding the API key (sent as a bearer
            token when set; vLLM needs none by default).
        mode: ``score``, ``choice`` or ``generate``.
        prompt: A shipped prompt id or a JSON template path.
        condition: ``audio``, ``text`` or ``both``.
        modality: Same values as ``condition``; when set it wins (``evaluate --modality``).
        labels: The closed label set, in column order.
        calibrate: Divide out the prior on content-free inputs (score and choice modes).
        top_logprobs: How many top tokens to ask log-probabilities for (vLLM allows 20 by
            default).
        max_tokens: Tokens generated per answer in ``generate`` mode.
        concurrency: Requests in flight at once.
        timeout_s: Seconds allowed per request attempt.
        max_retries: Extra attempts after a retryable failure.
        backoff_s: First retry delay; it doubles on every further retry.
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "Qwen/Qwen2-Audio-7B-Instruct"
    api_key_env: str = "EMOSCOPE_ENDPOINT_API_KEY"
    mode: str = "score"
    prompt: str = "emotion-v1"
    condition: str = "audio"
    modality: str | None = None
    labels: tuple[str, ...] = CANONICAL_LABELS
    calibrate: bool = False
    top_logprobs: int = 20
    max_tokens: int = 16
    concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5

    def __post_init__(self) -> None:
        check_mode(self.mode)
        if self.modality is not None:
            check_condition(self.modality)
            self.condition = self.modality
        check_condition(self.condition)
        self.labels = tuple(self.labels)
        LabelScheme("labels", self.labels)
        if not self.base_url.startswith(("http://", "https://")):
            raise UsageError(
                f"base_url must start with http:// or https://. Got {self.base_url!r}."
            )
        if self.calibrate and self.mode == "generate":
            raise UsageError(
                "calibrate works with the score and choice modes; mode 'generate' gives hard "
                "labels. Use mode 'score' or drop calibrate."
            )
        for name in ("top_logprobs", "max_tokens", "concurrency"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1. Got {getattr(self, name)!r}.")
        if self.timeout_s <= 0 or self.max_retries < 0 or self.backoff_s < 0:
            raise UsageError(
                "timeout_s must be positive, max_retries and backoff_s non-negative. Got "
                f"{self.timeout_s}, {self.max_retries}, {self.backoff_s}."
            )

    @property
    def chat_url(self) -> str:
        """The chat-completions URL."""
        return self.base_url.rstrip("/") + "/chat/completions"


def wav_base64(samples: np.ndarray, *, rate: int = 16000) -> str:
    """Return ``samples`` as a base64 16-bit PCM WAV file.

    Examples:
        >>> base64.b64decode(wav_base64(np.zeros(160, dtype=np.float32)))[:4]
        b'RIFF'
    """
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, dtype=np.float32), rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def label_mass(
    top_logprobs: Sequence[Mapping[str, Any]], answers: Sequence[str]
) -> np.ndarray | None:
    """Sum the probabilities of the top tokens per answer; ``None`` if no token matched.

    A token counts for an answer when, stripped and lower-cased, it is a non-empty prefix of
    exactly one answer (or equals it). Answers with no mass get half the smallest listed
    probability (they were less likely than everything in the list).

    Examples:
        >>> tops = [{"token": " ang", "logprob": math.log(0.6)},
        ...         {"token": "S", "logprob": math.log(0.3)},  # sad or surprised: ignored
        ...         {"token": "happy", "logprob": math.log(0.1)}]
        >>> np.round(label_mass(tops, ["happy", "sad", "angry", "surprised"]), 3).tolist()
        [0.125, 0.063, 0.75, 0.063]
        >>> label_mass(tops, ["A", "B"]) is None
        True
    """
    lowered = [a.lower() for a in answers]
    mass = np.zeros(len(answers))
    smallest = 1.0
    matched = False
    for entry in top_logprobs:
        p = math.exp(float(entry["logprob"]))
        smallest = min(smallest, p)
        token = str(entry["token"]).strip().lower()
        if not token:
            continue
        hits = [i for i, a in enumerate(lowered) if a.startswith(token)]
        if len(hits) == 1:
            mass[hits[0]] += p
            matched = True
    if not matched:
        return None
    mass[mass == 0] = smallest / 2
    return mass / mass.sum()


class EndpointModel:
    """Emotion recognition through an OpenAI-compatible chat-completions server.

    Attributes:
        labels: Column order of :meth:`predict_proba`.
        modalities: What the server's model is given (from ``config.condition``).
        priors_: Calibration priors per condition (estimated on first use).
        n_unparsed_: Answers from which no label could be read.
        last_unparsed_: Ids of the unparseable utterances of the last call.
        n_retries_: Retries made so far.
    """

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.labels: tuple[str, ...] = tuple(config.labels)
        self.modalities: frozenset[str] = frozenset(
            {"audio": {"audio"}, "text": {"text"}, "both": {"audio", "text"}}[config.condition]
        )
        self.prompt = load_prompt(config.prompt)
        self.prompt_id = self.prompt.id
        self.prompt_hash = prompt_fingerprint(
            self.prompt, labels=self.labels, mode=config.mode, condition=config.condition
        )
        self.priors_: dict[str, np.ndarray] = {}
        self.n_unparsed_ = 0
        self.last_unparsed_: list[str] = []
        self.n_retries_ = 0
        self._lock = threading.Lock()

    @property
    def info(self) -> dict[str, Any]:
        """What the prediction document's ``model`` block records about this model."""
        return {
            "name": self.config.model,
            "version": "endpoint",
            "backend": "endpoint",
            "labels": list(self.labels),
            "modalities": sorted(self.modalities),
            "prompt_id": self.prompt_id,
            "prompt_hash": self.prompt_hash,
            "adapter_id": None,
            "card": {
                "mode": self.config.mode,
                "condition": self.config.condition,
                "calibrated": self.config.calibrate,
                "scoring": "first-token top_logprobs" if self.config.mode != "generate" else None,
            },
        }

    def model_info(self) -> ModelInfo:
        """Return :attr:`info` as the prediction document's :class:`~emoscope.types.ModelInfo`."""
        return ModelInfo(**self.info)

    # -- requests ----------------------------------------------------------------------------

    def request_body(self, utterance: Utterance) -> dict[str, Any]:
        """Return the chat-completions request for one utterance."""
        from emoscope.models.lalm.prompting import effective_condition

        cfg = self.config
        condition = effective_condition(utterance, cfg.condition)
        text = self.prompt.render_user(
            condition=condition,
            mode=cfg.mode,
            labels=self.labels,
            transcript=utterance.transcript if condition != "audio" else None,
        )
        content: list[dict[str, Any]] = []
        if condition in ("audio", "both"):
            data = wav_base64(utterance.load_audio(sample_rate=16000))
            content.append({"type": "input_audio", "input_audio": {"data": data, "format": "wav"}})
        content.append({"type": "text", "text": text})
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": [
                {"role": "system", "content": self.prompt.system},
                {"role": "user", "content": content},
            ],
            "temperature": 0.0,
        }
        if cfg.mode == "generate":
            body["max_tokens"] = cfg.max_tokens
        else:
            body.update(max_tokens=1, logprobs=True, top_logprobs=cfg.top_logprobs)
        return body

    def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        cfg = self.config
        last = ""
        wait = 0.0  # what the server asked for (Retry-After), if more than the backoff
        for attempt in range(cfg.max_retries + 1):
            if attempt:
                with self._lock:
                    self.n_retries_ += 1
                time.sleep(max(cfg.backoff_s * 2 ** (attempt - 1), wait))
            try:
                response = client.post(cfg.chat_url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                wait = 0.0
                continue
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                wait = retry_after(response.headers.get("retry-after"))
                continue
            if response.status_code != 200:
                raise EndpointError(
                    f"{cfg.chat_url} refused the request (HTTP {response.status_code}): "
                    f"{response.text[:300]}. Check the model name {cfg.model!r} and the server."
                )
            try:
                return response.json()
            except ValueError:
                raise EndpointError(f"{cfg.chat_url} answered with something not JSON.") from None
        raise EndpointError(
            f"{cfg.chat_url} failed after {cfg.max_retries + 1} attempts (last: {last}). "
            "Check that the server runs, or raise timeout_s / max_retries."
        )

    def _row(self, utterance: Utterance, answer: Mapping[str, Any]) -> np.ndarray | None:
        from emoscope.models.lalm.parsing import parse_choice, parse_label

        try:
            choice = answer["choices"][0]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(
                f"{self.config.chat_url} answered without choices for {utterance.id!r}."
            ) from None
        k = len(self.labels)
        if self.config.mode != "generate":
            keys = (
                self.prompt.letters(self.labels)
                if self.config.mode == "choice"
                else self.prompt.answers(self.labels)
            )
            content = (choice.get("logprobs") or {}).get("content") or []
            if content:
                mass = label_mass(content[0].get("top_logprobs") or [], keys)
                if mass is not None:
                    return mass
        text = str((choice.get("message") or {}).get("content") or "")
        answers = dict(zip(self.labels, self.prompt.answers(self.labels), strict=True))
        label = parse_label(text, self.labels, answers=answers)
        if label is None and self.config.mode == "choice":
            label = parse_choice(text, self.labels, answers=answers)
        if label is None:
            return None
        row = np.zeros(k)
        row[self.labels.index(label)] = 1.0
        return row

    def _raw_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        import httpx

        headers = {}
        key = os.environ.get(self.config.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        bodies = [self.request_body(u) for u in batch]
        limits = httpx.Limits(max_connections=self.config.concurrency)
        with (
            httpx.Client(timeout=self.config.timeout_s, headers=headers, limits=limits) as client,
            ThreadPoolExecutor(max_workers=self.config.concurrency) as pool,
        ):
            answers = list(pool.map(lambda b: self._post(client, b), bodies))
        k = len(self.labels)
        proba = np.full((len(batch), k), 1.0 / k)
        for i, (u, answer) in enumerate(zip(batch, answers, strict=True)):
            row = self._row(u, answer)
            if row is None:
                self.n_unparsed_ += 1
                self.last_unparsed_.append(u.id)
                log.warning("utterance %s: no label in the endpoint's answer", u.id)
            else:
                proba[i] = row
        return proba

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return ``(len(batch), len(labels))`` probabilities; rows sum to 1.

        Raises:
            EndpointError: If a request still fails after all retries.
        """
        from emoscope.models.lalm.backend import calibrate
        from emoscope.models.lalm.prompting import content_free_utterances, group_by_condition

        batch = list(batch)
        self.last_unparsed_ = []
        proba = self._raw_proba(batch) if batch else np.zeros((0, len(self.labels)))
        if self.config.calibrate and len(batch):
            for condition, idx in group_by_condition(batch, self.config.condition).items():
                if condition not in self.priors_:
                    unparsed = (self.n_unparsed_, self.last_unparsed_)
                    free = content_free_utterances(condition)
                    self.priors_[condition] = self._raw_proba(free).mean(axis=0)
                    self.n_unparsed_, self.last_unparsed_ = unparsed  # count real inputs only
                proba[idx] = calibrate(proba[idx], self.priors_[condition])
        return proba

    @property
    def prior_(self) -> np.ndarray | None:
        """The calibration prior of the configured condition (``None`` until estimated)."""
        return self.priors_.get(self.config.condition)


register_model("endpoint", EndpointConfig, EndpointModel)
