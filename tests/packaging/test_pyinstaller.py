"""packaging/build.sh: the one-folder PyInstaller app builds and runs (slow: a real build)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspector.resources import DESKTOP_ENTRY, METAINFO, icon_names
from servers import RunningServer

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 900

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 120)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the app once for this module; the folder holding the ``inspector`` binary."""
    out = tmp_path_factory.mktemp("pyinstaller")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DIST": str(out / "dist"),
        "WORK": str(out / "work"),
    }
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    folder = out / "dist" / "socket-inspector"
    assert (folder / "inspector").is_file()
    return folder


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_built_binary_prints_its_version(bundle: Path) -> None:
    from inspector import __version__

    result = _run(bundle / "inspector", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"socket-inspector {__version__}"


def test_built_binary_probes_a_websocket_server(bundle: Path, ws_server: RunningServer) -> None:
    result = _run(
        bundle / "inspector",
        "probe",
        ws_server.url,
        "--send",
        "hello-from-bundle",
        "--count",
        "1",
        "--wait",
        "20",
        "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    echoed = [
        r
        for r in records
        if r["kind"] == "frame" and r["dir"] == "in" and "hello-from-bundle" in json.dumps(r)
    ]
    assert len(echoed) == 1, records
    assert records[-1]["kind"] == "closed" and records[-1]["clean"] is True


def test_bundle_carries_the_resources_and_no_unused_qt(bundle: Path) -> None:
    internal = bundle / "_internal"
    shipped = internal / "inspector" / "resources"
    for name in [*icon_names(), DESKTOP_ENTRY, METAINFO]:
        assert (shipped / name).is_file(), name
    qt_libs = {p.name for p in (internal / "PySide6" / "Qt" / "lib").iterdir()}
    assert "libQt6Widgets.so.6" in qt_libs
    unused = {n for n in qt_libs if n.startswith(("libQt6WebEngine", "libQt6Qml", "libQt6Pdf"))}
    assert not unused
    assert not [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
