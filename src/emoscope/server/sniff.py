r"""Decide from the first bytes of an upload (never its name) whether it is audio, and which kind.

Examples:
    >>> sniff_audio(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    'wav'
    >>> sniff_audio(b"fLaC\x00\x00\x00\x22")
    'flac'
    >>> sniff_audio(b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm")
    'webm'
    >>> sniff_audio(b"%PDF-1.7 ...") is None
    True
"""

from __future__ import annotations

SNIFF_BYTES = 64
"""How many leading bytes :func:`sniff_audio` needs."""

MIME_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
    "matroska": "audio/x-matroska",
    "aiff": "audio/aiff",
}
"""The formats :func:`sniff_audio` recognises and their media types."""

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _mpeg_frame_sync(head: bytes) -> str | None:
    """Return ``mp3`` or ``aac`` for an MPEG audio / ADTS frame header, else ``None``."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    if head[1] & 0xF6 == 0xF0:  # ADTS: sync 12 bits, layer 00
        return "aac"
    version = (head[1] >> 3) & 0x03
    layer = (head[1] >> 1) & 0x03
    bitrate = (head[2] >> 4) & 0x0F
    rate = (head[2] >> 2) & 0x03
    if version == 0b01 or layer == 0 or bitrate == 0x0F or rate == 0x03:
        return None  # reserved values: not a real frame header
    return "mp3"


def sniff_audio(head: bytes) -> str | None:
    r"""Return the audio container named by the magic bytes at the start of ``head``, or ``None``.

    Recognised: RIFF/WAVE, FORM/AIFF, fLaC, OggS (vorbis, opus, flac), ID3 tags and MPEG audio
    frame sync (mp3), ADTS (aac), ISO base media ``ftyp`` (m4a/mp4) and EBML (webm from browser
    recording, matroska). Whether the file then decodes is a separate check.

    Args:
        head: The first bytes of the file (:data:`SNIFF_BYTES` are enough).

    Examples:
        >>> sniff_audio(b"ID3\x04\x00\x00\x00\x00\x00\x00")
        'mp3'
        >>> sniff_audio(b"\xff\xfb\x90\x64")
        'mp3'
        >>> sniff_audio(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00")
        'm4a'
        >>> sniff_audio(b"OggS\x00\x02"), sniff_audio(b"")
        ('ogg', None)
    """
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return "wav"
    if len(head) >= 12 and head[:4] == b"RF64" and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == _EBML_MAGIC:
        return "webm" if b"webm" in head[:SNIFF_BYTES] else "matroska"
    return _mpeg_frame_sync(head)
