"""Each fault of the matrix against a real loopback server: records, one line, close
code, state and ``ok`` (see fault_matrix.py for the cases)."""

from __future__ import annotations

import pytest
from fault_kit import play
from fault_matrix import CASE_IDS, CASES, FaultCase, FaultTargets, check_outcome
from session_helpers import run


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fault(case: FaultCase, fault_targets: FaultTargets) -> None:
    session, sink = run(play(case, fault_targets[case.id]))
    check_outcome(case, session, sink.records)
