"""Fixtures of the fault tests: the misbehaving servers of the fault matrix, built once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).parent))

from fault_matrix import FaultEnv, FaultTargets
from servers import ServerLoop


@pytest.fixture(scope="session")
def fault_targets(
    server_loop: ServerLoop, tls_ca: trustme.CA, tls_ca_file: str
) -> Iterator[FaultTargets]:
    """Every fault's server, started when a test first asks for it."""
    env = FaultEnv(server_loop, tls_ca, tls_ca_file)
    yield FaultTargets(env)
    env.close()
