"""The Rules dialog: an ordered list of match → action rules for the server tab.

The rules are the kinds of :mod:`inspector.core.rules`; each is checked with
``compile_rule`` when it is edited (one line under the form when it cannot work).
The list is kept with the settings and saved or loaded as the TOML file
``inspector listen --rules FILE`` reads (:mod:`inspector.core.rulefile`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.rulefile import load_rules, save_rules
from inspector.core.rules import ActionKind, MatchKind, Rule, compile_rule
from inspector.ui.guard import guarded
from inspector.ui.widgets.formparts import CheckedDialog, choice_box, number_box, text_line

MATCH_LABELS = {
    MatchKind.ANY: "Any message",
    MatchKind.CONTAINS: "Text contains",
    MatchKind.REGEX: "Regular expression",
    MatchKind.JSON: "JSON field equals",
    MatchKind.HEX: "Hex prefix",
    MatchKind.CONNECT: "On connect",
    MatchKind.TIMER: "On a timer",
}
ACTION_LABELS = {
    ActionKind.REPLY: "Reply with template",
    ActionKind.ECHO: "Echo",
    ActionKind.BROADCAST: "Send to all",
    ActionKind.DELAY: "Wait, then reply",
    ActionKind.CLOSE: "Close",
    ActionKind.DROP: "Drop the connection",
    ActionKind.IGNORE: "Ignore",
}
_TEMPLATE_HELP = (
    "Placeholders: {{1}} and named regex groups, {{json.a.b}}, {{now}}, {{unix_ms}}, "
    "{{seq}}, {{conn}}, {{uuid}}, {{random}}, {{message}}"
)


def rule_text(rule: Rule) -> str:
    """One line for the list: ``Regular expression "^PING" → Reply "PONG"``."""
    match = MATCH_LABELS[rule.match]
    if rule.match is MatchKind.JSON:
        value = "" if rule.value is None else f" = {json.dumps(rule.value)}"
        match += f" {rule.path or ''}{value}"
    elif rule.match is MatchKind.TIMER:
        match = f"Every {rule.every_ms} ms"
    elif rule.value is not None:
        match += (
            f" {json.dumps(rule.value) if not isinstance(rule.value, str) else repr(rule.value)}"
        )
    action = ACTION_LABELS[rule.action]
    if rule.hex:
        action += f" hex {rule.hex}"
    elif rule.template:
        action += f" {rule.template!r}"
    if rule.delay_ms and rule.action is not ActionKind.DELAY:
        action += f" after {rule.delay_ms} ms"
    elif rule.action is ActionKind.DELAY:
        action = f"Wait {rule.delay_ms} ms, then reply {rule.template or ''!r}"
    if rule.action is ActionKind.CLOSE and rule.close_code is not None:
        action += f" {rule.close_code}"
    name = f"{rule.name}: " if rule.name else ""
    more = "  (then the next rules)" if rule.next else ""
    return f"{name}{match} → {action}{more}"


def _json_value(text: str) -> Any:
    """A JSON match's value: a JSON literal (42, true, "x"), else the text; empty: None."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


class RuleEditor(CheckedDialog):
    """Edits one rule; OK only when it compiles."""

    def __init__(self, rule: Rule | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ruleEditor")
        self.setWindowTitle("Rule")
        rule = rule or Rule(MatchKind.ANY, ActionKind.ECHO)
        form = QFormLayout()
        self.name = QLineEdit(rule.name)
        form.addRow("Name", self.name)
        self.match = choice_box(MATCH_LABELS, rule.match, "ruleMatch")
        form.addRow("Match", self.match)
        value = rule.value
        self.value = text_line(
            "ruleValue",
            "" if value is None else value if isinstance(value, str) else json.dumps(value),
            "text, regular expression, hex digits or JSON value",
        )
        form.addRow("Value", self.value)
        self.path = text_line(
            "rulePath", rule.path or "", "JSON field, e.g. type or data.items.0.id"
        )
        form.addRow("JSON path", self.path)
        self.every = number_box("ruleEvery", 1, 86_400_000, rule.every_ms or 1000, suffix=" ms")
        form.addRow("Every", self.every)
        self.action = choice_box(ACTION_LABELS, rule.action, "ruleAction")
        form.addRow("Action", self.action)
        self.template = QPlainTextEdit(rule.template or "")
        self.template.setObjectName("ruleTemplate")
        self.template.setPlaceholderText(_TEMPLATE_HELP)
        self.template.setToolTip(_TEMPLATE_HELP)
        self.template.setFixedHeight(60)
        form.addRow("Template", self.template)
        self.hex = text_line(
            "ruleHex", rule.hex or "", "or these bytes (hex) instead of the template"
        )
        form.addRow("Hex", self.hex)
        self.delay = number_box("ruleDelay", 0, 3_600_000, rule.delay_ms, suffix=" ms")
        form.addRow("Delay", self.delay)
        self.close_code = number_box("ruleCloseCode", 0, 4999, rule.close_code or 0, special="none")
        form.addRow("Close code", self.close_code)
        self.close_reason = QLineEdit(rule.close_reason)
        form.addRow("Close reason", self.close_reason)
        self.next = QCheckBox("Then try the next rules too")
        self.next.setChecked(rule.next)
        form.addRow("", self.next)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.add_error_and_buttons(layout, "ruleError")
        self.match.currentIndexChanged.connect(self._follow_kinds)
        self.action.currentIndexChanged.connect(self._follow_kinds)
        self._follow_kinds()

    @guarded
    def _follow_kinds(self, *_: object) -> None:
        """Enable only the fields the chosen match and action use."""
        match = MatchKind(self.match.currentData())
        action = ActionKind(self.action.currentData())
        self.value.setEnabled(
            match in (MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.JSON, MatchKind.HEX)
        )
        self.path.setEnabled(match is MatchKind.JSON)
        self.every.setEnabled(match is MatchKind.TIMER)
        sends = action in (ActionKind.REPLY, ActionKind.BROADCAST, ActionKind.DELAY)
        self.template.setEnabled(sends)
        self.hex.setEnabled(sends)
        self.close_code.setEnabled(action is ActionKind.CLOSE)
        self.close_reason.setEnabled(action is ActionKind.CLOSE)

    def rule(self) -> Rule:
        """The rule as edited; RuleError with one line when it cannot work."""
        match = MatchKind(self.match.currentData())
        action = ActionKind(self.action.currentData())
        value: Any = None
        if match is MatchKind.JSON:
            value = _json_value(self.value.text())
        elif match in (MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.HEX):
            value = self.value.text()
        sends = action in (ActionKind.REPLY, ActionKind.BROADCAST, ActionKind.DELAY)
        template = self.template.toPlainText() if sends else ""
        made = Rule(
            match,
            action,
            value,
            path=(self.path.text().strip() or None) if match is MatchKind.JSON else None,
            every_ms=self.every.value() if match is MatchKind.TIMER else None,
            template=template or None,
            hex=(self.hex.text().strip() or None) if sends else None,
            delay_ms=self.delay.value(),
            close_code=(self.close_code.value() or None) if action is ActionKind.CLOSE else None,
            close_reason=self.close_reason.text() if action is ActionKind.CLOSE else "",
            next=self.next.isChecked(),
            name=self.name.text().strip(),
        )
        compile_rule(made)
        return made

    def check(self) -> None:
        self.rule()


class RulesDialog(CheckedDialog):
    """The ordered rule list: add, edit, remove, move, load and save a rules file."""

    def __init__(self, rules: list[Rule], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rulesDialog")
        self.setWindowTitle("Rules")
        self.resize(640, 420)
        self._rules = list(rules)
        intro = QLabel(
            "Rules answer clients of new server tabs by themselves, tried in order: the "
            "first that matches decides (unless it says to go on). The same file works "
            "with inspector listen --rules FILE."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("rulesList")
        self.list.setAccessibleName("Rules")
        self.list.itemDoubleClicked.connect(lambda *_: self.edit_selected())
        buttons = QVBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for name, text, slot in (
            ("add", "Add…", self.add),
            ("edit", "Edit…", self.edit_selected),
            ("remove", "Remove", self.remove_selected),
            ("up", "Move up", lambda: self.move_selected(-1)),
            ("down", "Move down", lambda: self.move_selected(1)),
            ("load", "Load…", self._load_dialog),
            ("save", "Save…", self._save_dialog),
        ):
            button = QPushButton(text)
            button.setObjectName(f"rules{name.title()}Button")
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[name] = button
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row, 1)
        self.add_error_and_buttons(layout, "rulesError")
        self._fill()

    def rules(self) -> list[Rule]:
        return list(self._rules)

    def set_rules(self, rules: list[Rule]) -> None:
        self._rules = list(rules)
        self._fill()

    def _fill(self, current: int | None = None) -> None:
        self.list.clear()
        for rule in self._rules:
            self.list.addItem(rule_text(rule))
        if current is not None and 0 <= current < len(self._rules):
            self.list.setCurrentRow(current)

    def _selected(self) -> int | None:
        row = self.list.currentRow()
        return row if 0 <= row < len(self._rules) else None

    def edit_rule(self, rule: Rule | None) -> Rule | None:
        """Ask for one rule (replaceable in tests)."""
        editor = RuleEditor(rule, self)
        try:
            if editor.exec() == QDialog.DialogCode.Accepted:
                return editor.rule()
            return None
        finally:
            editor.deleteLater()

    @guarded
    def add(self, *_: object) -> None:
        rule = self.edit_rule(None)
        if rule is not None:
            self._rules.append(rule)
            self._fill(len(self._rules) - 1)

    @guarded
    def edit_selected(self, *_: object) -> None:
        row = self._selected()
        if row is None:
            return
        rule = self.edit_rule(self._rules[row])
        if rule is not None:
            self._rules[row] = rule
            self._fill(row)

    @guarded
    def remove_selected(self, *_: object) -> None:
        row = self._selected()
        if row is not None:
            del self._rules[row]
            self._fill(min(row, len(self._rules) - 1))

    @guarded
    def move_selected(self, step: int) -> None:
        row = self._selected()
        if row is None or not 0 <= row + step < len(self._rules):
            return
        rules = self._rules
        rules[row], rules[row + step] = rules[row + step], rules[row]
        self._fill(row + step)

    @guarded
    def _load_dialog(self, *_: object) -> None:
        self.with_chosen_path(self.load, "Load rules", "Rules (*.toml);;All files (*)")

    def load(self, path: Path) -> bool:
        """Replace the list with the rules in ``path`` (one line when it cannot)."""
        return self.attempt(lambda: self.set_rules(load_rules(path)))

    @guarded
    def _save_dialog(self, *_: object) -> None:
        self.with_chosen_path(self.save, "Save rules", "Rules (*.toml)", "rules.toml")

    def save(self, path: Path) -> bool:
        """Write the list as a rules file ``inspector listen --rules`` reads."""
        return self.attempt(lambda: save_rules(path, self._rules), path)
