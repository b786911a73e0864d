"""The offline speech front-end: from a long recording to utterance-sized, transcribed segments.

Modules, each holding one step (all models ship inside their packages; nothing is downloaded):

- :mod:`~emoscope.frontend.vad`: silero-vad speech probabilities, streamed chunk by chunk.
- :mod:`~emoscope.frontend.segmentation`: speech regions merged/split into utterance-sized
  segments, cut at pauses; segments grouped into <= 28 s ASR windows.
- :mod:`~emoscope.frontend.asr`: faster-whisper with word timestamps; the Whisper encoder output
  of each window is kept so acoustic embeddings need not pay for it again.
- :mod:`~emoscope.frontend.transcript`: a user's transcript (.txt, .srt, .vtt, emoscope JSON) and
  the streaming alignment of plain text to the recogniser's word times.
- :mod:`~emoscope.frontend.checks`: word error rate and speech-rate plausibility (the alignment
  check that flags ``mismatch``).
- :mod:`~emoscope.frontend.quality`: per-segment quality figures and flags.
- :mod:`~emoscope.frontend.speakers`: resemblyzer speaker embeddings clustered into ``spk-N``.
- :mod:`~emoscope.frontend.loaders`: loads each model once per process.
"""
