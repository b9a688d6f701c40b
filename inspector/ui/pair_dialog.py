"""The "Pair by…" dialog: how a records view pairs requests with responses.

The decoder's ids (the default), an id rule on each side (a JSON path such as ``$.id``
or ``re:REGEX``, as ``show --stats --match-request-id/--match-response-id`` take), or
each inbound message answering the oldest outbound one (``--match-next``). A rule that
does not parse is one line under the fields, and the dialog stays open.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.matching import IdRule, UserRule
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.widgets.stats import DECODER_IDS, PairBy


class PairByDialog(QDialog):
    """Choose how the view pairs; :meth:`chosen` is the choice once accepted."""

    def __init__(self, current: PairBy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pairByDialog")
        self.setWindowTitle("Pair requests with responses by")
        self.by_decoder = QRadioButton("The decoder's ids (JSON-RPC id, ack id, receipt, …)")
        self.by_rule = QRadioButton("An id found by a rule on each side")
        self.by_next = QRadioButton("The next inbound message after each outbound one")
        group = QButtonGroup(self)
        for button in (self.by_decoder, self.by_rule, self.by_next):
            group.addButton(button)
        self.request = QLineEdit(current.texts[0])
        self.request.setPlaceholderText("$.id or re:REGEX (in outbound messages)")
        self.response = QLineEdit(current.texts[1])
        self.response.setPlaceholderText("empty: the same as for requests")
        self.error = QLabel()
        self.error.setObjectName("pairByError")
        self.error.setStyleSheet(f"color: {theme.error_text(theme.is_dark(self)).name()}")
        self.error.hide()
        form = QFormLayout()
        form.addRow("Requests' id", self.request)
        form.addRow("Responses' id", self.response)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.by_decoder, self.by_rule):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addWidget(self.by_next)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.by_decoder.setChecked(current.rule is None and not current.next)
        self.by_rule.setChecked(current.rule is not None)
        self.by_next.setChecked(current.next)
        self._chosen = current

    def chosen(self) -> PairBy:
        """The choice (the current one until the dialog is accepted)."""
        return self._chosen

    def choice(self) -> PairBy:
        """What the dialog says now; ValueError with one line for a rule that is wrong."""
        if self.by_next.isChecked():
            return PairBy(next=True)
        if not self.by_rule.isChecked():
            return DECODER_IDS
        request = self.request.text().strip()
        response = self.response.text().strip() or request
        if not request:
            raise ValueError("give the rule for the requests' id ($.id or re:REGEX)")
        rule = UserRule(IdRule.parse(request), IdRule.parse(response))
        return PairBy(rule=rule, texts=(request, response))

    @guarded
    def _accept(self) -> None:
        try:
            self._chosen = self.choice()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()
