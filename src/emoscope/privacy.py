"""Privacy by default: the offline guard, transcript redaction and pseudonymous ids.

- :func:`offline_guard` (a context manager) and :func:`install_offline_guard` block every socket
  connection to an address outside the loopback range and every name look-up of a remote host,
  and set ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``; a blocked attempt raises
  :class:`~emoscope.errors.OfflineError` naming the host and ``--allow-download``. Servers of
  the user's own (a vLLM endpoint on another machine) are opted in by name with
  ``EMOSCOPE_ALLOW_HOSTS``.
- :func:`redact` replaces e-mail addresses, URLs, phone numbers, dates, numbers and names in a text
  with ``[EMAIL]``, ``[URL]``, ``[PHONE]``, ``[DATE]``, ``[NUMBER]`` and ``[NAME]``. Names are
  found by rules, not a statistical model: a capitalised word inside a sentence (a proper noun in
  ASR output), a title (``Dr``, ``Mrs``...) followed by a word, and any word of a shipped list of
  common first names (``emoscope/vocabularies/first-names.txt``) at a sentence start or in a
  text written all in lower case.
- :func:`pseudonymous_id` is a keyed hash (HMAC-SHA256); the key stays with the user
  (``EMOSCOPE_KEY`` or ``~/.config/emoscope/key``, made on first use).
- :func:`apply_privacy` applies ``--redact`` and ``--no-transcript`` to a finished document.

Examples:
    >>> redact("Call Anna on 555-123-4567 or anna@example.org before 3 March 2025.")
    'Call [NAME] on [PHONE] or [EMAIL] before [DATE].'
    >>> pseudonymous_id("speaker A", key=b"secret", prefix="spk")
    'spk-818cd51a5244'
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from emoscope.errors import OfflineError, UsageError
from emoscope.types import PredictionDocument, Segment, Word

# --------------------------------------------------------------------------- offline guard

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}
"""Environment variables the guard sets so that hub libraries do not even try the network."""

ALLOW_DOWNLOAD_ENV = "EMOSCOPE_ALLOW_DOWNLOAD"
"""Set to ``1`` by the CLI while a command runs with ``--allow-download``."""


def downloads_allowed() -> bool:
    """Whether the running command was given ``--allow-download`` (backends pass it on).

    Examples:
        >>> downloads_allowed()
        False
    """
    return os.environ.get(ALLOW_DOWNLOAD_ENV) == "1"


_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_local_host(host: object) -> bool:
    """Whether ``host`` is a loopback address or name (or a local socket path).

    Examples:
        >>> is_local_host("127.0.0.1"), is_local_host("::1"), is_local_host("localhost")
        (True, True, True)
        >>> is_local_host("10.255.255.1"), is_local_host("huggingface.co")
        (False, False)
    """
    if host is None:
        return True  # getaddrinfo(None, port): the local host
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOCAL_NAMES or name == "":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(mapped is not None and mapped.is_loopback)


ALLOW_HOSTS_ENV = "EMOSCOPE_ALLOW_HOSTS"
"""Comma-separated host names or addresses the guard lets through (the user's own servers)."""


def allowed_hosts() -> frozenset[str]:
    """Return the hosts named in ``EMOSCOPE_ALLOW_HOSTS`` (lower case, ports dropped).

    Examples:
        >>> import os
        >>> os.environ["EMOSCOPE_ALLOW_HOSTS"] = "gpu-box:8000, 10.1.2.3"
        >>> sorted(allowed_hosts())
        ['10.1.2.3', 'gpu-box']
        >>> del os.environ["EMOSCOPE_ALLOW_HOSTS"]
    """
    hosts = set()
    for item in os.environ.get(ALLOW_HOSTS_ENV, "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item.startswith("["):  # [v6]:port
            item = item[1:].split("]", 1)[0]
        elif item.count(":") == 1:  # name:port or v4:port
            item = item.split(":", 1)[0]
        hosts.add(item)
    return frozenset(hosts)


def _blocked(host: object, port: object) -> OfflineError:
    where = f"{host}:{port}" if port not in (None, "") else f"{host}"
    return OfflineError(
        f"emoscope runs offline and blocked a network connection to {where}. Models and data "
        "must already be on this machine; to let emoscope download them, run again with "
        f"--allow-download (for a server of your own, set {ALLOW_HOSTS_ENV}={host})."
    )


def _host_key(host: object) -> str:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return str(host).strip("[]").split("%", 1)[0].lower()


def _install(allow: frozenset[str] = frozenset()) -> Callable[[], None]:
    """Patch the socket module; return a function that undoes exactly this installation."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo
    allowed = set(allow)  # grows with the addresses that allowed names resolve to

    def check(family: int, address: object) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix-domain and other local sockets
        if isinstance(address, tuple) and address:
            host, port = address[0], address[1] if len(address) > 1 else None
        else:
            host, port = address, None
        if not is_local_host(host) and _host_key(host) not in allowed:
            raise _blocked(host, port)

    def connect(self: socket.socket, address: Any) -> None:
        check(self.family, address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self.family, address)
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if is_local_host(host):
            return original_getaddrinfo(host, port, *args, **kwargs)
        key = _host_key(host)
        if key in allowed:
            result = original_getaddrinfo(host, port, *args, **kwargs)
            allowed.update(_host_key(info[4][0]) for info in result)
            return result
        try:  # a literal address needs no look-up; connect() decides about it
            ipaddress.ip_address(key)
        except ValueError:
            raise _blocked(host, port) from None
        return original_getaddrinfo(host, port, *args, **kwargs)

    saved_env = {k: os.environ.get(k) for k in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    hub = sys.modules.get("huggingface_hub.constants")
    saved_hub = getattr(hub, "HF_HUB_OFFLINE", None) if hub is not None else None
    if hub is not None:
        hub.HF_HUB_OFFLINE = True  # read at import time; patch the live value too
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]

    def uninstall() -> None:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = original_getaddrinfo  # type: ignore[assignment]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if hub is not None:
            hub.HF_HUB_OFFLINE = saved_hub

    return uninstall


def install_offline_guard(
    *, allow_download: bool = False, allow_hosts: frozenset[str] | None = None
) -> Callable[[], None]:
    """Block non-loopback network access for the rest of the process (the CLI's default).

    Args:
        allow_download: When true, install nothing (the user gave ``--allow-download``).
        allow_hosts: Host names or addresses still reachable (e.g. the user's own vLLM
            server); default: :func:`allowed_hosts` (``EMOSCOPE_ALLOW_HOSTS``).

    Returns:
        A function that removes the guard again.
    """
    if allow_download:
        return lambda: None
    hosts = allowed_hosts() if allow_hosts is None else allow_hosts
    return _install(frozenset(_host_key(h) for h in hosts))


@contextlib.contextmanager
def offline_guard(
    *, allow_download: bool = False, allow_hosts: frozenset[str] | None = None
) -> Iterator[None]:
    """Block non-loopback network access inside a ``with`` block.

    Args:
        allow_download: When true, the block runs unguarded.
        allow_hosts: Hosts still reachable (see :func:`install_offline_guard`).

    Raises:
        OfflineError: Inside the block, on any connection to a non-loopback address or look-up
            of a remote host name.

    Examples:
        >>> import socket
        >>> with offline_guard():
        ...     socket.create_connection(("10.255.255.1", 80), timeout=1)
        Traceback (most recent call last):
        ...
        emoscope.errors.OfflineError: emoscope runs offline and blocked a network connection ...
    """
    uninstall = install_offline_guard(allow_download=allow_download, allow_hosts=allow_hosts)
    try:
        yield
    finally:
        uninstall()


# --------------------------------------------------------------------------- pseudonymous ids

KEY_ENV = "EMOSCOPE_KEY"
"""Environment variable holding the pseudonymisation key (any string; hex is fine)."""


def key_path() -> Path:
    """Return where the user's key file lives (``$XDG_CONFIG_HOME/emoscope/key``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "emoscope" / "key"


def load_key(*, create: bool = True) -> bytes:
    """Return the user's pseudonymisation key: ``EMOSCOPE_KEY``, else the key file.

    The key file is made on first use with 32 random bytes (hex), readable by its owner only.
    Keep it: the same key gives the same pseudonyms across runs; losing it unlinks them.

    Raises:
        UsageError: If there is no key and ``create`` is false.
    """
    value = os.environ.get(KEY_ENV)
    if value:
        return value.encode("utf-8")
    path = key_path()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    if not create:
        raise UsageError(
            f"No pseudonymisation key: set {KEY_ENV} or create {path} (any secret string)."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def pseudonymous_id(
    value: str, key: bytes | str | None = None, *, prefix: str = "", length: int = 12
) -> str:
    """Return a stable pseudonym of ``value``: HMAC-SHA256 under the user's key, hex-truncated.

    Without the key the pseudonym cannot be linked back to ``value`` (unlike a plain hash of
    a name, which anyone can recompute).

    Args:
        value: What to hide (a file name, a speaker name).
        key: The secret; ``None`` uses :func:`load_key`.
        prefix: Put before the hash with a dash (``"rec"`` -> ``rec-1a2b...``).
        length: Hex digits kept (4 to 64).

    Examples:
        >>> pseudonymous_id("a", key="k") == pseudonymous_id("a", key="k")
        True
        >>> pseudonymous_id("a", key="k") != pseudonymous_id("a", key="other")
        True
    """
    if not 4 <= length <= 64:
        raise UsageError(f"pseudonymous_id length must be in [4, 64]. Got {length}.")
    secret = load_key() if key is None else key
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    digest = hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
    return f"{prefix}-{digest}" if prefix else digest


# --------------------------------------------------------------------------- redaction

_MONTHS = (
    r"(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|March|Mar|April|Apr|May|June|Jun|July|Jul|"
    r"[Aa]ug(?:ust)?|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)"
)
_WEEKDAYS = r"(?:[Mm]onday|[Tt]uesday|[Ww]ednesday|[Tt]hursday|[Ff]riday|[Ss]aturday|[Ss]unday)"
_ORDINAL_WORDS = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"thirtieth|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    r"thirty[- ]first)"
)
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|(?:the\s+)?{_ORDINAL_WORDS})"
_NUMBER_WORDS = (
    "zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    "ninety|hundred|thousand|million|billion"
)
_BIG_NUMBER_WORDS = (
    "eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
    "forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion"
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("EMAIL", re.compile(r"\b[\w.+-]+\s+at\s+[\w-]+\s+dot\s+(?:com|org|net|edu|co|uk|de)\b", re.I)),
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]", re.I)),
    (
        "DATE",
        re.compile(
            r"\b(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
            r"|\d{1,2}-\d{1,2}-\d{4})\b"
        ),
    ),
    (
        "DATE",
        re.compile(
            rf"\b(?:{_WEEKDAYS},?\s+)?(?:"
            rf"{_DAY}\s+(?:of\s+)?{_MONTHS}\.?(?:,?\s+\d{{4}})?"  # 3 March (2025)
            rf"|{_MONTHS}\.?\s+(?:the\s+)?{_DAY}(?:,?\s+\d{{4}})?"  # March 3rd (, 2025)
            rf"|{_MONTHS}\.?,?\s+\d{{4}}"  # March 2025
            rf"|(?!May\b){_MONTHS}"  # a bare month ("May" alone is too often the verb)
            rf"|{_WEEKDAYS})\b"
        ),
    ),
    ("DATE", re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?:[ap]m\b|[ap]\.m\.))?", re.I)),
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}\b"
        ),
    ),
    (
        "NUMBER",
        re.compile(rf"\b(?:{_NUMBER_WORDS})(?:[\s-]+(?:and\s+)?(?:{_NUMBER_WORDS}))+\b", re.I),
    ),
    ("NUMBER", re.compile(rf"\b(?:{_BIG_NUMBER_WORDS})\b", re.I)),
    ("NUMBER", re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th|%)?\b")),
)

_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor|Sir|Madam|Aunt|Uncle|Nurse)"
_TITLE_NAME = re.compile(rf"\b{_TITLES}\.?\s+[A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_CAPITALISED = re.compile(r"\b[A-Z][a-z'’-]*[a-z](?:\s+[A-Z][a-z'’-]*[a-z])*\b")
_LOWER_WORD = re.compile(r"\b[a-z][a-z'-]*\b")
_NOT_NAMES = frozenset(
    "i i'm i've i'll i'd ok okay god english christmas easter".split()
    + "yes no hello hi hey oh well so and but or the a an it this that what why how when".split()
    + "where who yeah thanks thank please sorry mum mom dad".split()
)
_SENTENCE_START = re.compile(r"(?:^|[.!?…]\s+|[\"“(]\s*|\n\s*)$")

PLACEHOLDERS = ("[EMAIL]", "[URL]", "[PHONE]", "[DATE]", "[NUMBER]", "[NAME]")
"""What :func:`redact` puts in place of an identifier."""


@cache
def first_names() -> frozenset[str]:
    """Return the shipped list of common first names (lower case).

    Examples:
        >>> "sarah" in first_names(), "table" in first_names()
        (True, False)
    """
    text = files("emoscope").joinpath("vocabularies", "first-names.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def find_identifiers(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, kind)`` character spans of identifiers in ``text``, sorted.

    Kinds are ``EMAIL``, ``URL``, ``DATE``, ``PHONE``, ``NUMBER`` and ``NAME``; spans do not
    overlap (an earlier kind in that order wins).

    Examples:
        >>> find_identifiers("Mail bob@x.org")
        [(5, 14, 'EMAIL')]
    """
    taken = [False] * len(text)
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, kind: str) -> None:
        if start < end and not any(taken[start:end]):
            spans.append((start, end, kind))
            taken[start:end] = [True] * (end - start)

    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            add(m.start(), m.end(), kind)
    names = first_names()
    for m in _TITLE_NAME.finditer(text):
        add(m.start(), m.end(), "NAME")
    all_lower = not any(c.isupper() for c in text)
    for m in _CAPITALISED.finditer(text):
        words = m.group(0).split()
        start = m.start()
        if _SENTENCE_START.search(text[: m.start()]):
            # A capital at a sentence start says nothing: a name only if listed.
            first = words[0]
            if first.lower() not in names or first.lower() in _NOT_NAMES:
                if len(words) == 1:
                    continue
                start = m.start() + text[m.start() :].index(words[1])
        elif len(words) == 1 and words[0].lower() in _NOT_NAMES:
            continue
        add(start, m.end(), "NAME")
    if all_lower:
        for m in _LOWER_WORD.finditer(text):
            if m.group(0) in names:
                add(m.start(), m.end(), "NAME")
    return sorted(spans)


def redact(text: str) -> str:
    """Replace e-mails, URLs, phone numbers, dates, numbers and names with placeholders.

    Args:
        text: A transcript.

    Returns:
        The text with each identifier replaced by ``[EMAIL]``, ``[URL]``, ``[PHONE]``,
        ``[DATE]``, ``[NUMBER]`` or ``[NAME]``.

    Examples:
        >>> redact("I met Dr. Jones on Friday, we paid 120 dollars.")
        'I met [NAME] on [DATE], we paid [NUMBER] dollars.'
        >>> redact("sarah said she is fine")
        '[NAME] said she is fine'
    """
    out = []
    last = 0
    for start, end, kind in find_identifiers(text):
        out.append(text[last:start])
        out.append(f"[{kind}]")
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_tokens(tokens: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Redact a sequence of words read as one text; identifiers spanning words merge.

    Args:
        tokens: Words in order (as ASR gives them, with or without leading spaces).

    Returns:
        ``(new_word, original_indexes)`` pairs: one per kept word, one per identifier.

    Examples:
        >>> redact_tokens(["Call", "Anna,", "please"])
        [('Call', [0]), ('[NAME],', [1]), ('please', [2])]
    """
    pieces = [t.strip() for t in tokens]
    offsets = []
    text = ""
    for piece in pieces:
        if text:
            text += " "
        offsets.append((len(text), len(text) + len(piece)))
        text += piece
    spans = find_identifiers(text)
    result: list[tuple[str, list[int]]] = []
    i = 0
    while i < len(pieces):
        w_start, w_end = offsets[i]
        hit = next((s for s in spans if s[0] < w_end and s[1] > w_start), None)
        if hit is None:
            result.append((pieces[i], [i]))
            i += 1
            continue
        s_start, s_end, kind = hit
        j = i
        while j + 1 < len(pieces) and offsets[j + 1][0] < s_end:
            j += 1
        head = text[w_start : max(w_start, s_start)]
        tail = text[min(offsets[j][1], s_end) : offsets[j][1]]
        # later identifiers inside the same word(s) are dropped along with it
        result.append((f"{head}[{kind}]{tail}", list(range(i, j + 1))))
        i = j + 1
    return result


# --------------------------------------------------------------------------- documents


def _redact_words(words: Sequence[Word]) -> list[Word]:
    out = []
    for text, indexes in redact_tokens([w.word for w in words]):
        first, last = words[indexes[0]], words[indexes[-1]]
        probs = [words[k].probability for k in indexes if words[k].probability is not None]
        out.append(
            Word(
                word=(" " + text) if first.word.startswith(" ") else text,
                start=first.start,
                end=last.end,
                probability=min(probs) if probs else None,
            )
        )
    return out


def _private_explanation(
    explanation: dict[str, Any] | None, *, redact_text: bool, no_transcript: bool
) -> dict[str, Any] | None:
    if explanation is None:
        return None
    explanation = dict(explanation)
    items = explanation.get("words")
    if items and no_transcript:
        explanation.pop("words")
    elif items and redact_text:
        merged = redact_tokens([str(item.get("word", "")) for item in items])
        new_items = []
        for text, indexes in merged:
            item = dict(items[indexes[0]])
            item["word"] = text
            if len(indexes) > 1:
                item["importance"] = float(sum(items[k].get("importance", 0.0) for k in indexes))
            new_items.append(item)
        explanation["words"] = new_items
    return explanation


def _private_segment(seg: Segment, *, redact_text: bool, no_transcript: bool) -> Segment:
    changes: dict[str, Any] = {}
    if no_transcript:
        changes["transcript"] = None
        changes["words"] = []
        if "no_transcript" not in seg.flags:
            changes["flags"] = [*seg.flags, "no_transcript"]
    elif redact_text:
        if seg.transcript is not None:
            changes["transcript"] = redact(seg.transcript)
        if seg.words:
            changes["words"] = _redact_words(seg.words)
    explanation = _private_explanation(
        seg.explanation, redact_text=redact_text, no_transcript=no_transcript
    )
    if explanation != seg.explanation:
        changes["explanation"] = explanation
    return seg.model_copy(update=changes) if changes else seg


_PSEUDONYMOUS_SPEAKER = re.compile(r"^spk-[0-9a-z]+$")


def _speaker_names(speakers: Sequence[str | None]) -> dict[str | None, str]:
    """Map speaker labels that are not already ``spk-...`` pseudonyms to ``spk-rN``."""
    names: dict[str | None, str] = {}
    for speaker in speakers:
        if speaker is None or _PSEUDONYMOUS_SPEAKER.match(speaker) or speaker in names:
            continue
        names[speaker] = f"spk-r{len(names) + 1}"
    return names


def apply_privacy(
    doc: PredictionDocument, *, redact: bool = False, no_transcript: bool = False
) -> PredictionDocument:
    """Return ``doc`` with transcripts redacted or removed in every part that holds words.

    Segment transcripts, ASR words (merged where an identifier spans several) and the word
    occlusion part of explanations change; with ``redact``, speaker labels that are not
    ``spk-...`` pseudonyms (names from a given transcript) become ``spk-r1``, ``spk-r2``...;
    the choice is recorded in ``provenance.config["privacy"]`` so that every export can say so.

    Args:
        doc: A finished prediction document.
        redact: Replace identifiers with placeholders (see :func:`redact`).
        no_transcript: Drop transcripts and words entirely (wins over ``redact``).

    Returns:
        A new, validated document (``doc`` itself is unchanged).

    Examples:
        >>> from emoscope.testing.documents import sample_document
        >>> doc = apply_privacy(sample_document(), no_transcript=True)
        >>> {s.transcript for s in doc.segments}, doc.provenance.config["privacy"]
        ({None}, {'redact': False, 'no_transcript': True})
    """
    if not (redact or no_transcript):
        return doc
    segments = [
        _private_segment(s, redact_text=redact, no_transcript=no_transcript) for s in doc.segments
    ]
    summary = doc.summary
    if redact:  # speaker labels that look like names (from a given transcript) go too
        names = _speaker_names([s.speaker for s in segments])
        segments = [
            s.model_copy(update={"speaker": names.get(s.speaker, s.speaker)}) for s in segments
        ]
        changes = [
            c.model_copy(update={"speaker": names.get(c.speaker, c.speaker)})
            for c in summary.changes
        ]
        summary = summary.model_copy(update={"changes": changes})
    config = dict(doc.provenance.config)
    config["privacy"] = {"redact": bool(redact), "no_transcript": bool(no_transcript)}
    provenance = doc.provenance.model_copy(update={"config": config})
    data = doc.model_copy(
        update={"segments": segments, "summary": summary, "provenance": provenance}
    )
    return PredictionDocument.model_validate(data.to_json_dict())
