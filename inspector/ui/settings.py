"""What the window remembers between runs, kept in QSettings.

All keys live here so the rest of the UI asks for meanings (recent endpoints, saved
messages) rather than strings. Tests pass a QSettings backed by a file under their
temporary directory, so they never touch the user's real settings.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus, urlsplit

from PySide6.QtCore import QByteArray, QSettings

from inspector.capture.formats.redact import is_secret_query_name

MAX_RECENT = 20
MAX_SAVED = 50
MAX_HISTORY = 100
MAX_RECENT_WORKSPACES = 10


def without_secrets(url: str) -> str:
    """``url`` as the endpoint history keeps it: the values of secret-looking query
    parameters (token, key, secret, password, auth, …) and a password in the user part
    dropped, so settings files never hold them in plain text (``?token=&room=1``)."""
    head, sep, rest = url.partition("?")
    try:
        parts = urlsplit(head)
    except ValueError:
        parts = None
    if parts is not None and parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        head = head.replace(parts.netloc, f"{user}@{host}" if user else host, 1)
    if not sep:
        return head
    query, hash_sep, fragment = rest.partition("#")
    kept = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        secret = is_secret_query_name(unquote_plus(name))
        kept.append(f"{name}=" if eq and value and secret else part)
    return head + sep + "&".join(kept) + hash_sep + fragment


class Settings:
    """Typed access to the application's QSettings."""

    def __init__(self, qsettings: QSettings) -> None:
        self.qsettings = qsettings

    # -- plain values ---------------------------------------------------------------

    def _strings(self, key: str) -> list[str]:
        raw = self.qsettings.value(key, "")
        if not isinstance(raw, str) or not raw:
            return []
        try:
            value = json.loads(raw)
        except ValueError:
            return []
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    def _set_strings(self, key: str, values: list[str]) -> None:
        self.qsettings.setValue(key, json.dumps(values))

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- recent endpoints -----------------------------------------------------------

    def recent_endpoints(self) -> list[str]:
        """Most recent first, without secret values (a history written before they
        were dropped is cleaned when read)."""
        stored = self._strings("connect/recent")
        clean = list(dict.fromkeys(without_secrets(url) for url in stored))
        if clean != stored:
            self._set_strings("connect/recent", clean)
        return clean

    def add_recent_endpoint(self, url: str) -> list[str]:
        """Move ``url`` (its secret values dropped) to the front of the history and
        return the new list."""
        url = without_secrets(url)
        recent = [url, *(item for item in self.recent_endpoints() if item != url)][:MAX_RECENT]
        self._set_strings("connect/recent", recent)
        return recent

    # -- composer -------------------------------------------------------------------

    def sent_history(self) -> list[str]:
        """Messages sent from the composer, oldest first."""
        return self._strings("composer/history")

    def set_sent_history(self, history: list[str]) -> None:
        self._set_strings("composer/history", history[-MAX_HISTORY:])

    @staticmethod
    def _saved_key(endpoint: str) -> str:
        # QSettings keys cannot hold "/" or ":" portably: store under a hex name.
        return "saved/" + endpoint.encode("utf-8").hex()

    def saved_messages(self, endpoint: str) -> list[str]:
        """Messages the user saved for this endpoint, in the order saved."""
        return self._strings(self._saved_key(endpoint))

    def save_message(self, endpoint: str, text: str) -> list[str]:
        """Add ``text`` to the endpoint's saved messages (once) and return the list."""
        saved = [item for item in self.saved_messages(endpoint) if item != text]
        saved = [*saved, text][-MAX_SAVED:]
        self._set_strings(self._saved_key(endpoint), saved)
        return saved

    def remove_saved_message(self, endpoint: str, text: str) -> list[str]:
        saved = [item for item in self.saved_messages(endpoint) if item != text]
        self._set_strings(self._saved_key(endpoint), saved)
        return saved

    # -- workspaces -----------------------------------------------------------------

    def recent_workspaces(self) -> list[str]:
        """Workspace folders opened before, most recent first."""
        return self._strings("workspace/recent")

    def add_recent_workspace(self, folder: str) -> list[str]:
        """Move ``folder`` to the front of the recent workspaces and return the list."""
        recent = [folder, *(item for item in self.recent_workspaces() if item != folder)]
        self._set_strings("workspace/recent", recent[:MAX_RECENT_WORKSPACES])
        return recent[:MAX_RECENT_WORKSPACES]

    def last_workspace(self) -> str | None:
        """The workspace open when the window last closed (None: none was)."""
        value = self.qsettings.value("workspace/open", "")
        return value if isinstance(value, str) and value else None

    def set_last_workspace(self, folder: str | None) -> None:
        self.qsettings.setValue("workspace/open", folder or "")

    def workspace_environment(self, folder: str) -> str | None:
        """The environment last chosen in this workspace."""
        value = self.qsettings.value("workspace/env/" + folder.encode("utf-8").hex(), "")
        return value if isinstance(value, str) and value else None

    def set_workspace_environment(self, folder: str, name: str | None) -> None:
        self.qsettings.setValue("workspace/env/" + folder.encode("utf-8").hex(), name or "")

    # -- layout ---------------------------------------------------------------------

    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def set_geometry(self, value: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", value)

    def splitter_state(self, name: str) -> QByteArray | None:
        return self._bytes(f"splitters/{name}")

    def set_splitter_state(self, name: str, value: QByteArray) -> None:
        self.qsettings.setValue(f"splitters/{name}", value)

    def time_format(self) -> str:
        """How the records table shows time: relative, absolute or delta."""
        value = self.qsettings.value("records/time", "relative")
        return value if value in ("relative", "absolute", "delta") else "relative"

    def set_time_format(self, value: str) -> None:
        self.qsettings.setValue("records/time", value)

    def sync(self) -> None:
        self.qsettings.sync()
