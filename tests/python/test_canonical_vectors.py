"""The canonical-spec vectors (`tests/vectors/canonical/canonical.json`, PROTOCOL.md §12) on the
Python side: the package `cargo-medium gen python` makes from each case's source carries the
case's canonical text and fingerprint, in its module constants and in the protocol its client
and daemon handshake with; and each fingerprint is the SHA-256 of the UTF-8 canonical text, as
any implementation computes it.

Each package is imported in its own interpreter: the vectors' class names may repeat the
packages conftest.py generated (the student spec is one of the cases).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, cargo_medium

VECTORS = ROOT / "tests" / "vectors" / "canonical"
CASES: list[dict[str, str]] = json.loads(
    (VECTORS / "canonical.json").read_text(encoding="utf-8")
)["cases"]

# Prints what the package in the folder given as argv[1] says its spec and fingerprint are.
REPORT = """
import importlib, json, sys
(package,) = sys.argv[2:]
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(package)
protocol = module._PROTOCOL
print(json.dumps({
    "FINGERPRINT": module.FINGERPRINT,
    "SPEC": module.SPEC,
    "protocol.fingerprint": protocol.fingerprint,
    "protocol.spec": protocol.spec,
}))
"""


@pytest.fixture(scope="module")
def binary() -> str:
    return cargo_medium()


def generated_package_report(binary: str, source: Path, out: Path) -> dict[str, Any]:
    subprocess.run([binary, "-q", "gen", "python", str(source), "-o", str(out)], check=True)
    (package,) = [init.parent.name for init in out.glob("*/__init__.py")]
    report = subprocess.run(
        [sys.executable, "-c", REPORT, str(out), package],
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
    ).stdout
    result: dict[str, Any] = json.loads(report)
    return result


def test_there_are_vectors_for_several_specs() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_fingerprint_is_the_sha256_of_the_utf8_canonical_text(case: dict[str, str]) -> None:
    digest = hashlib.sha256(case["canonical"].encode("utf-8")).hexdigest()
    assert digest == case["fingerprint"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_generated_package_carries_the_vector_spec_and_fingerprint(
    case: dict[str, str], binary: str, tmp_path: Path
) -> None:
    report = generated_package_report(binary, VECTORS / case["source"], tmp_path)
    assert report == {
        "FINGERPRINT": case["fingerprint"],
        "SPEC": case["canonical"],
        "protocol.fingerprint": case["fingerprint"],
        "protocol.spec": case["canonical"],
    }
