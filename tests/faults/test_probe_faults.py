"""``inspector probe`` against every fault of the matrix: exit status 1 and exactly one
line on stderr, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_matrix import CASE_IDS, CASES, FaultCase, FaultTargets, Target

ROOT = Path(__file__).resolve().parents[2]

#: SessionOptions field -> how the probe is told the same thing.
_FLAGS = {"cafile": "--cafile", "max_size": "--max-size", "connect_timeout": "--timeout"}


def probe_command(target: Target) -> list[str]:
    """The probe command line asking for what the target's session options ask for."""
    command = [sys.executable, "-m", "inspector", "probe", target.url, "--wait", "5"]
    for name, value in target.options.items():
        if name == "compression":
            assert value is False
            command.append("--no-compress")
        else:
            command += [_FLAGS[name], str(value)]
    return [*command, *target.probe_args]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_probe_reports_the_fault_in_one_line(case: FaultCase, fault_targets: FaultTargets) -> None:
    result = subprocess.run(
        probe_command(fault_targets[case.id]),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("inspector: ") and case.expect.message in lines[0]
