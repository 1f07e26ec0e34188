"""The generated folder is a pip-installable project: `pip install ./student_system` in a
fresh virtual environment brings in msgpack and installs the typed package."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import student_system


def test_pip_installs_the_generated_package_with_its_type_marker(tmp_path: Path) -> None:
    # A copy: pip builds in the source folder and leaves `build/` behind.
    source = tmp_path / "student_system"
    shutil.copytree(Path(student_system.__file__).parent, source)
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", source],
        check=True,
    )
    installed = subprocess.run(
        [
            python,
            "-c",
            "import os, msgpack, student_system as s; "
            "print(s.FINGERPRINT, sorted(os.listdir(os.path.dirname(s.__file__))))",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert student_system.FINGERPRINT in installed
    assert "'_medium'" in installed and "'py.typed'" in installed
