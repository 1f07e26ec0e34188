"""The generated folder is a pip-installable project: `pip install ./student_system` in a
fresh virtual environment brings in msgpack and installs the typed package with its
`_medium` runtime subpackage."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import student_system


def test_pip_installs_the_generated_package_with_its_runtime_and_type_marker(
    tmp_path: Path,
) -> None:
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
            "folder = os.path.dirname(s.__file__); "
            "print(s.FINGERPRINT, folder); "
            "print(sorted(os.listdir(folder))); "
            "print(sorted(f for f in os.listdir(os.path.join(folder, '_medium')) "
            "if f.endswith('.py')))",
        ],
        # Not next to the source copy, which `python -c` would import instead.
        cwd=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    fingerprint, folder = installed[0].split(" ", 1)
    assert fingerprint == student_system.FINGERPRINT
    assert Path(folder).is_relative_to(env / "lib")
    assert "'_medium'" in installed[1] and "'py.typed'" in installed[1]
    # The runtime subpackage, every module of it.
    runtime = sorted(f.name for f in (source / "_medium").glob("*.py"))
    assert "__init__.py" in runtime and len(runtime) > 1
    assert installed[2] == str(runtime)
