"""resources/: icons in every size, a valid desktop entry, AppStream metainfo and MIME type."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import inspector
from inspector import resources

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tool(name: str) -> str:
    """The path of a validator; skip (naming the Debian package) when it is absent."""
    found = shutil.which(name)
    if found is None:
        package = {"desktop-file-validate": "desktop-file-utils"}.get(name, name)
        package = {"appstreamcli": "appstream", "update-mime-database": "shared-mime-info"}.get(
            name, package
        )
        pytest.skip(f"{name} is not installed (Debian package {package}; .ci/run installs it)")
    return found


def _extract(name: str, tmp_path: Path) -> Path:
    """Copy resource ``name`` to a real file (validators take paths)."""
    target = tmp_path / Path(name).name
    target.write_bytes(resources.read_bytes(name))
    return target


def _png_size(data: bytes) -> tuple[int, int, int]:
    """Width, height and colour type from a PNG's IHDR chunk (PNG spec §11.2.2)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def test_accessor_reaches_the_package_files() -> None:
    location = Path(str(resources.path("__init__.py")))
    assert location.name == "__init__.py"
    assert resources.path(resources.DESKTOP_ENTRY).is_file()


@pytest.mark.parametrize("size", resources.ICON_SIZES)
def test_png_icon_has_its_size_and_transparency(size: int) -> None:
    width, height, colour = _png_size(resources.read_bytes(resources.icon_png(size)))
    assert (width, height) == (size, size)
    assert colour == 6  # truecolour with alpha: the rounded corners are transparent


def test_every_desktop_size_is_there() -> None:
    assert set(resources.ICON_SIZES) >= {16, 32, 48, 64, 128, 256, 512}
    assert all(resources.path(name).is_file() for name in resources.icon_names())


def test_asking_for_a_missing_size_says_which_exist() -> None:
    with pytest.raises(ValueError, match="no 20px icon; sizes: 16, 32"):
        resources.icon_png(20)


def test_svg_icon_is_square_svg() -> None:
    root = ET.fromstring(resources.read_bytes(resources.ICON_SVG))
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 256 256"


def test_desktop_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    validator = _tool("desktop-file-validate")
    entry = _extract(resources.DESKTOP_ENTRY, tmp_path)
    result = subprocess.run(
        [validator, str(entry)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout + result.stderr


def test_desktop_entry_launches_the_installed_command() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(resources.read_bytes(resources.DESKTOP_ENTRY).decode("utf-8"))
    entry = parser["Desktop Entry"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    command, argument = entry["Exec"].split()
    assert command in scripts and argument == "%u"
    assert entry["Name"] == "Socket Inspector"
    assert entry["Icon"] == resources.APP_ID
    assert entry["Categories"] == "Network;Development;"
    assert resources.CAPTURE_MIME_TYPE in entry["MimeType"].split(";")


def test_metainfo_passes_appstreamcli_validate(tmp_path: Path) -> None:
    appstreamcli = _tool("appstreamcli")
    metainfo = _extract(resources.METAINFO, tmp_path)
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--no-color", str(metainfo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_matches_the_package() -> None:
    root = ET.fromstring(resources.read_bytes(resources.METAINFO))
    assert root.findtext("id") == resources.APP_ID
    assert root.findtext("launchable") == resources.DESKTOP_ENTRY
    assert root.findtext("provides/binary") == "inspector"
    assert root.findtext("provides/mediatype") == resources.CAPTURE_MIME_TYPE
    releases = root.findall("releases/release")
    assert releases[0].get("version") == inspector.__version__
    assert releases[0].get("date") == "2026-11-22"
    image = root.findtext("screenshots/screenshot/image") or ""
    assert image.startswith("https://") and image.endswith("/docs/screenshot.png")
    assert root.find("content_rating") is not None


def test_mime_info_declares_capture_files() -> None:
    root = ET.fromstring(resources.read_bytes(resources.MIME_INFO))
    assert root.tag == f"{MIME_NS}mime-info"
    (mime_type,) = root.findall(f"{MIME_NS}mime-type")
    assert mime_type.get("type") == resources.CAPTURE_MIME_TYPE
    globs = [g.get("pattern") for g in mime_type.findall(f"{MIME_NS}glob")]
    assert globs == [resources.CAPTURE_GLOB] == ["*.sockcap"]


def test_mime_info_compiles_with_update_mime_database(tmp_path: Path) -> None:
    update = _tool("update-mime-database")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    (packages / f"{resources.APP_ID}.xml").write_bytes(resources.read_bytes(resources.MIME_INFO))
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path)}
    result = subprocess.run(
        [update, str(tmp_path / "mime")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    globs = (tmp_path / "mime" / "globs2").read_text("utf-8")
    assert f":{resources.CAPTURE_MIME_TYPE}:*.sockcap" in globs


def test_make_icons_renders_every_size(tmp_path: Path) -> None:
    """packaging/make_icons.py, which made the committed PNGs, still renders them all."""
    pytest.importorskip("PySide6.QtSvg", reason="the icon renderer needs PySide6's QtSvg")
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "make_icons.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    for size in resources.ICON_SIZES:
        rendered = tmp_path / f"{size}x{size}" / "apps" / f"{resources.APP_ID}.png"
        assert _png_size(rendered.read_bytes()) == (size, size, 6)
