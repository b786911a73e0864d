"""Emotion models: the protocol and registry (base), and the backends."""
