"""Package list for setuptools: every ``inspector.*`` package plus ``resources/`` mapped in.

The top-level ``resources/`` folder (icons, launcher entry, metainfo) ships inside the
wheel as the package ``inspector.resources``; its data-only subfolders are listed as
namespace packages so setuptools copies them without a warning. pyproject.toml cannot
combine automatic discovery with such a mapping, so the list is computed here; all other
settings live in pyproject.toml.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, find_packages, setup

RESOURCE_FOLDERS = find_namespace_packages(where="resources", exclude=["*__pycache__*"])

setup(
    packages=[
        *find_packages(include=["inspector", "inspector.*"]),
        "inspector.resources",
        *(f"inspector.resources.{folder}" for folder in RESOURCE_FOLDERS),
    ],
    package_dir={"inspector.resources": "resources"},
)
