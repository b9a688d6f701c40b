"""Errors that carry one clear line meant for a person, never a traceback."""

from __future__ import annotations


class InspectorError(Exception):
    """Base of every error the program reports to its user as a single line."""

    def __str__(self) -> str:
        text = super().__str__()
        return " ".join(text.split())


class EndpointError(InspectorError, ValueError):
    """The text typed as an endpoint is not a usable URL."""


class CaptureError(InspectorError):
    """A capture file cannot be written, or read back as a capture."""


class UsageError(InspectorError):
    """A command was given options that do not fit together."""
