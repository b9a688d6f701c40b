"""The endpoint history keeps no secrets in plain text settings."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS

from inspector.ui.connect_bar import secret_gap
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings, without_secrets


def test_secret_query_values_and_passwords_are_dropped() -> None:
    assert without_secrets("ws://h:1/chat?token=abc123&room=1") == "ws://h:1/chat?token=&room=1"
    assert (
        without_secrets("wss://h/?api_key=k&password=p&secret=s&auth=a&x=1#top")
        == "wss://h/?api_key=&password=&secret=&auth=&x=1#top"
    )
    assert without_secrets("wss://user:pw@h:8443/p?q=1") == "wss://user@h:8443/p?q=1"
    assert without_secrets("tcp://127.0.0.1:9") == "tcp://127.0.0.1:9"
    assert secret_gap("ws://h/?room=1&token=") == len("ws://h/?room=1&token=")
    assert secret_gap("ws://h/?room=1") is None


def test_connecting_keeps_the_endpoint_but_not_its_token(
    qtbot: QtBot, window: MainWindow, settings: Settings, connect, ws_server
) -> None:
    url = f"{ws_server.url}chat?access_token=abc123&room=1"
    tab = connect(url)
    assert tab.endpoint.url.endswith("access_token=abc123&room=1")  # sent as typed
    assert settings.recent_endpoints()[0] == f"{ws_server.url}chat?access_token=&room=1"
    settings.qsettings.sync()
    stored = QSettings(settings.qsettings.fileName(), QSettings.Format.IniFormat)
    assert "abc123" not in str(stored.value("connect/recent"))
    combo = window.connect_bar.endpoint_edit
    assert combo.itemText(0).endswith("access_token=&room=1")
    # Picking the entry puts the cursor where the token goes.
    combo.setCurrentIndex(0)
    combo.activated.emit(0)
    line = combo.lineEdit()
    qtbot.waitUntil(lambda: line.text().endswith("access_token=&room=1"), timeout=WAIT_MS)
    assert line.text()[: line.cursorPosition()].endswith("access_token=")


def test_a_history_written_before_is_cleaned_when_read(settings: Settings) -> None:
    settings.qsettings.setValue("connect/recent", '["ws://h/?token=old", "ws://h/?token=new"]')
    assert settings.recent_endpoints() == ["ws://h/?token="]
    assert "old" not in str(settings.qsettings.value("connect/recent"))
