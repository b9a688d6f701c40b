"""Options ▸ Proxy, client certificate, heartbeats, reconnect and addresses in the
window's Options dialog, and their words in the connect bar's summary."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from inspector.core.options import SessionOptions
from inspector.ui.connect_bar import DEFAULT_OPTIONS, OptionsDialog, options_summary


def dialog_for(qtbot: QtBot, options: SessionOptions = DEFAULT_OPTIONS) -> OptionsDialog:
    dialog = OptionsDialog(options)
    qtbot.addWidget(dialog)
    return dialog


def test_proxy_certificate_heartbeat_and_reconnect_are_edited(qtbot: QtBot) -> None:
    dialog = dialog_for(qtbot)
    reach = dialog.reach
    assert not reach.proxy_address.isEnabled()
    reach.proxy_kind.setCurrentIndex(4)  # SOCKS5, names resolved by the proxy
    assert reach.proxy_address.isEnabled()
    reach.proxy_address.setText("127.0.0.1:1080")
    reach.proxy_user.setText("me")
    reach.proxy_password.setText("p@ss:word")
    reach.client_cert.setText("/certs/client.p12")
    reach.key_password.setText("pw")
    reach.ping_interval.setValue(5.0)
    reach.ping_timeout.setValue(10.0)
    reach.reconnect.setChecked(True)
    reach.reconnect_max.setValue(3)
    reach.family.setCurrentIndex(1)
    reach.bind.setText("127.0.0.1")
    options = dialog.options()
    assert options.proxy == "socks5h://me:p%40ss%3Aword@127.0.0.1:1080"
    assert options.client_cert == "/certs/client.p12" and options.client_key_password == "pw"
    assert (options.ping_interval, options.ping_timeout) == (5.0, 10.0)
    assert options.reconnect and options.reconnect_max == 3
    assert options.family == "ipv4" and options.bind == "127.0.0.1"
    summary = options_summary(options)
    assert "proxy socks5h://me@127.0.0.1:1080" in summary and "p@ss" not in summary
    for words in ("client certificate", "ping 5 s", "reconnect (max 3)", "IPv4 only"):
        assert words in summary
    again = dialog_for(qtbot, options)
    assert again.reach.proxy_password.text() == "p@ss:word"
    assert again.reach.proxy_kind.currentIndex() == 4
    assert again.options() == options


def test_environment_proxy_and_defaults(qtbot: QtBot) -> None:
    dialog = dialog_for(qtbot)
    assert dialog.options() == DEFAULT_OPTIONS
    dialog.reach.proxy_kind.setCurrentIndex(1)
    options = dialog.options()
    assert options.proxy == "env" and options_summary(options) == "proxy from environment"


def test_bad_values_are_one_line_in_the_dialog(qtbot: QtBot) -> None:
    dialog = dialog_for(qtbot)
    dialog.reach.proxy_kind.setCurrentIndex(2)
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error.text() == "Proxy: give the proxy's host:port"
    dialog.reach.proxy_address.setText("proxy.test:99999")
    dialog.accept()
    assert "Proxy:" in dialog.error.text() and "out of range" in dialog.error.text()
    dialog.reach.proxy_address.setText("proxy.test:3128")
    dialog.reach.bind.setText("nowhere")
    dialog.accept()
    assert dialog.error.text().startswith("Source address:")
    assert "is not an IP address" in dialog.error.text()
    dialog.reach.bind.clear()
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
