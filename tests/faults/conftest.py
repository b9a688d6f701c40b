"""Fixtures of the fault tests: the misbehaving servers of the fault matrix, built once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).parent))

from fault_matrix import CASES, FaultEnv, Target
from servers import ServerLoop


class FaultTargets:
    """Builds each case's server on first use and keeps it for the whole run."""

    def __init__(self, env: FaultEnv) -> None:
        self.env = env
        self._targets: dict[str, Target] = {}

    def __getitem__(self, case_id: str) -> Target:
        target = self._targets.get(case_id)
        if target is None:
            case = next(c for c in CASES if c.id == case_id)
            target = self._targets[case_id] = case.build(self.env)
        return target


@pytest.fixture(scope="session")
def fault_targets(
    server_loop: ServerLoop, tls_ca: trustme.CA, tls_ca_file: str
) -> Iterator[FaultTargets]:
    """Every fault's server, started when a test first asks for it."""
    env = FaultEnv(server_loop, tls_ca, tls_ca_file)
    yield FaultTargets(env)
    env.close()
