"""Typed errors. Every message names the thing, the rule and, where there is one, the fix.

The CLI prints an :class:`EmoscopeError` as one line on stderr and exits 1 (2 for
:class:`UsageError`); other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations


class EmoscopeError(Exception):
    """Base class of every error emoscope raises for a user's input or environment."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)


class UsageError(EmoscopeError, ValueError):
    """A command or function was called with arguments that cannot work."""

    exit_code = 2


class BadLabelError(EmoscopeError, ValueError):
    """A label is outside its closed scheme."""


class BadProbabilitiesError(EmoscopeError, ValueError):
    """A probability vector is not a distribution (range, sum, length)."""


class AudioError(EmoscopeError):
    """An audio file cannot be used: missing, empty, not audio, truncated, or silent."""


class SchemaError(EmoscopeError, ValueError):
    """A document does not follow its JSON Schema."""


class ManifestError(EmoscopeError, ValueError):
    """A manifest file or a corpus folder is not what it should be."""


class UnknownNameError(EmoscopeError, KeyError):
    """A name is not in a registry; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class OfflineError(EmoscopeError):
    """Something tried to reach the network while emoscope runs offline."""
