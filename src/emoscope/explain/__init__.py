"""Per-segment explanations from the model protocol alone (so they work for every backend).

- **modality ablation**: the model's probabilities with both modalities, audio only (the
  transcript removed) and text only (the audio removed, or silenced if the model needs audio);
- **temporal occlusion**: how much the explained label's probability drops when each window of
  the audio is silenced;
- **word occlusion**: how much it drops when each word of the transcript is left out;
- **acoustic cues**: pitch, loudness and pace from eGeMAPS relative to the same speaker's usual
  in the recording, in words ("louder and higher than this speaker's usual").

:func:`explain_segments` returns one JSON-ready dict per utterance, stored in
``Segment.explanation`` and shown in the HTML report; :func:`explain_document` fills a whole
document. :data:`METHOD` names the method for
``provenance.explanation_method``.
"""

from __future__ import annotations

from emoscope.explain.core import METHOD, explain_document, explain_segments, explain_utterance

__all__ = ["METHOD", "explain_document", "explain_segments", "explain_utterance"]
