"""Corpora: manifests, per-corpus recipes and speaker-independent splits."""
