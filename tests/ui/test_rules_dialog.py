"""The Rules and Listen options dialogs: editing, ordering, the rules file the command
line reads, the made certificate's fingerprint and its export."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from inspector.core.rulefile import load_rules
from inspector.core.rules import ActionKind, MatchKind, Rule, RuleError
from inspector.net.certs import ensure_self_signed, fingerprint
from inspector.ui.listen_options import (
    ListenDialog,
    ListenOptions,
    store_options,
    store_rules,
    stored_options,
    stored_rules,
)
from inspector.ui.rules_dialog import RuleEditor, RulesDialog, rule_text
from inspector.ui.settings import Settings

PING = Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}")
TICK = Rule(MatchKind.TIMER, ActionKind.BROADCAST, every_ms=500, template='{"t": {{unix_ms}}}')


def test_rule_editor_makes_checked_rules(qtbot: QtBot) -> None:
    editor = RuleEditor(None)
    qtbot.addWidget(editor)
    editor.match.setCurrentIndex(editor.match.findData(MatchKind.JSON))
    editor.path.setText("type")
    editor.value.setText('"ping"')
    editor.action.setCurrentIndex(editor.action.findData(ActionKind.REPLY))
    editor.template.setPlainText('{"type": "pong", "id": "{{json.id}}"}')
    rule = editor.rule()
    assert (rule.match, rule.path, rule.value) == (MatchKind.JSON, "type", "ping")
    assert not editor.every.isEnabled() and editor.path.isEnabled()
    editor.match.setCurrentIndex(editor.match.findData(MatchKind.REGEX))
    editor.value.setText("(unclosed")
    with pytest.raises(RuleError):
        editor.rule()
    editor.accept()
    assert not editor.error.isHidden() and "regular expression" in editor.error.text().lower()
    assert editor.result() != RuleEditor.DialogCode.Accepted


def test_rules_dialog_orders_saves_and_loads_the_cli_file(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = RulesDialog([PING])
    qtbot.addWidget(dialog)
    dialog.edit_rule = lambda rule: TICK  # type: ignore[method-assign]
    dialog.add()
    assert dialog.rules() == [PING, TICK]
    assert dialog.list.item(1).text() == rule_text(TICK)
    assert "Every 500 ms" in rule_text(TICK)
    dialog.move_selected(-1)
    assert dialog.rules() == [TICK, PING]
    path = tmp_path / "rules.toml"
    assert dialog.save(path)
    assert load_rules(path) == [TICK, PING]  # what inspector listen --rules reads
    dialog.remove_selected()
    assert dialog.rules() == [PING]
    assert dialog.load(path)
    assert dialog.rules() == [TICK, PING]
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[[rule]]\nmatch = "nonsense"\naction = "echo"\n')
    assert not dialog.load(bad)
    assert "nonsense" in dialog.error.text()
    assert dialog.rules() == [TICK, PING]


def test_rules_and_listen_options_are_kept_with_the_settings(settings: Settings) -> None:
    assert stored_rules(settings) == []
    store_rules(settings, [PING, TICK])
    assert stored_rules(settings) == [PING, TICK]
    options = ListenOptions(subprotocols=("chat",), compression=False, max_connections=3)
    store_options(settings, options)
    assert stored_options(settings) == options
    settings.qsettings.setValue("listen/options", "{not json")
    assert stored_options(settings) == ListenOptions()


def test_listen_dialog_shows_and_exports_the_made_certificate(qtbot: QtBot, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    dialog = ListenDialog(ListenOptions(), cert_dir=certs)
    qtbot.addWidget(dialog)
    cert, _key = ensure_self_signed(certs)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert fingerprint(der) in dialog.fingerprint.text()
    target = tmp_path / "exported.pem"
    assert dialog.export_certificate(target)
    assert ssl.PEM_cert_to_DER_cert(target.read_text()) == der
    dialog.cert_file.setText(str(tmp_path / "missing.pem"))
    assert not dialog.export_button.isEnabled()
    dialog.subprotocols.setText("chat, superchat")
    dialog.compression.setChecked(False)
    dialog.key_file.setText("")
    with pytest.raises(ValueError, match="both"):
        dialog.options()
    dialog.cert_file.setText("")
    made = dialog.options()
    assert made.subprotocols == ("chat", "superchat") and not made.compression
    assert made.session_options().subprotocols == ("chat", "superchat")
