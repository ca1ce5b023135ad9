"""The example and the benchmark, run briefly as programs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import mayfly

HERE = Path(__file__).resolve().parent.parent


def _env() -> "dict[str, str]":
    env = dict(os.environ)
    env["MAYFLY_LIBRARY"] = mayfly.library_path
    return env


def test_https_server_example_rotates_without_failures() -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "examples" / "https_server.py"),
         "--seconds", "5", "--lifetime", "3", "--self-test"],
        capture_output=True, text=True, timeout=60, env=_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith("serving https://127.0.0.1:"), out
    rotations = re.findall(r"^rotated: generation (\d+) serial (\d+)", out, re.M)
    assert len(rotations) >= 2, out
    assert len({serial for _, serial in rotations}) == len(rotations)
    m = re.search(r"^self-test: requests (\d+) failures (\d+) certificates (\d+)$", out, re.M)
    assert m, out
    requests, failures, certificates = map(int, m.groups())
    assert failures == 0 and requests > 20 and certificates >= 2, out
    assert "Traceback" not in proc.stderr, proc.stderr


def test_bench_issuance_prints_one_json_object() -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "bench_issuance.py"), "--seconds", "0.3", "--warmup", "0.1"],
        capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == ["python.issuance_1thread_per_s"]
    assert result["python.issuance_1thread_per_s"] > 0
