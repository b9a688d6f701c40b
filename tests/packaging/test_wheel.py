"""`python -m build` makes an sdist and a wheel that install and run with every resource (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import inspector
from inspector import resources

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 600

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 240)]

RESOURCE_FILES = [
    *resources.icon_names(),
    resources.DESKTOP_ENTRY,
    resources.METAINFO,
    resources.MIME_INFO,
]


def _run(*command: str | Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``command`` outside the source tree (whose inspector/ would shadow the wheel's)."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=Path(sys.executable).anchor,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert result.returncode == 0, f"{command}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist, then the wheel from it, as `python -m build` does by default."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, timeout=BUILD_TIMEOUT)
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed; dependencies come from the test venv."""
    root = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", root)
    (wheel,) = dist.glob("*.whl")
    _run(root / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", wheel, timeout=300)
    # After the venv's own site-packages, so the wheel's inspector wins over any other copy.
    query = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_run(root / "bin" / "python", "-c", query).strip())
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def test_sdist_carries_resources_and_setup_py(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "pyproject.toml", "resources/__init__.py"} <= names
    assert {f"resources/{name}" for name in RESOURCE_FILES} <= names


def test_wheel_carries_resources_and_the_entry_point(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"socket_inspector-{inspector.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "inspector = inspector.__main__:main" in archive.read(entry_points).decode()
    assert {f"inspector/resources/{name}" for name in RESOURCE_FILES} <= names
    assert "inspector/resources/__init__.py" in names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]


def test_installed_command_and_module_print_the_version(venv: Path) -> None:
    expected = f"socket-inspector {inspector.__version__}"
    env = _clean_env()
    assert _run(venv / "bin" / "inspector", "--version", env=env).strip() == expected
    module = _run(venv / "bin" / "python", "-m", "inspector", "--version", env=env)
    assert module.strip() == expected
    assert "probe" in _run(venv / "bin" / "inspector", "probe", "--help", env=env)


def test_installed_package_finds_its_resources(venv: Path) -> None:
    script = (
        "import json, inspector, inspector.resources as r\n"
        "print(json.dumps({'inspector': inspector.__file__,\n"
        "    'present': [n for n in r.icon_names() + [r.DESKTOP_ENTRY, r.METAINFO, r.MIME_INFO]\n"
        "                if r.path(n).is_file()],\n"
        "    'png': r.read_bytes(r.icon_png(16))[:8].hex()}))\n"
    )
    found = json.loads(_run(venv / "bin" / "python", "-c", script, env=_clean_env()))
    assert Path(found["inspector"]).is_relative_to(venv)
    assert found["present"] == RESOURCE_FILES
    assert found["png"] == "89504e470d0a1a0a"
