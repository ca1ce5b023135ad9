"""Object lifetimes across threads: closing objects other threads are
using, and the interpreter exiting while mayfly threads call into Python."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List

import pytest

import mayfly
from conftest import PASSWORD, issue


def test_close_while_other_threads_use_the_object(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    chain, key = issue(ca, signer)
    errors: List[BaseException] = []
    ok = [0]
    start = threading.Barrier(5)

    def use() -> None:
        start.wait()
        for _ in range(300):
            try:
                assert chain.leaf.common_name == "svc.internal"
                key.public_pem()
                ok[0] += 1
            except ValueError as e:  # "closed": the only acceptable failure
                assert "closed" in str(e)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait()
    chain.close()
    key.close()
    for t in threads:
        t.join()
    assert errors == []
    with pytest.raises(ValueError):
        key.to_pem()


def test_interpreter_exit_with_running_scheduler_and_server(
    fast_pki: mayfly.InitResult, tmp_path: Path
) -> None:
    """The process exits while the scheduler renews every ~1.5 s and the
    server logs through a Python callback, without closing anything: the
    exit hook stops mayfly's threads before Python goes away."""
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(f"""
        import time, mayfly
        ca = mayfly.Ca.open({fast_pki.config_path!r}, {PASSWORD!r}, store="memory:")
        key = mayfly.Key.generate()
        ca.add_provisioner("short", key, "pw", min_duration=1, default_duration=2,
                           kdf_iterations=1000)
        signer = mayfly.TokenSigner(key, "short")
        lines = []
        server = ca.serve(log=lines.append)
        events = []
        sched = mayfly.Scheduler(ca=ca, on_event=events.append)
        for i in range(3):
            k = mayfly.Key.generate()
            tok = signer.sign(f"x{{i}}.internal", ca_url=server.url)
            chain = mayfly.Client.bootstrap(server.url, ca.root_fingerprint).sign(k, tok)
            sched.add(chain, k, callback=lambda c, k: time.sleep(0.05))
        sched.start()
        deadline = time.time() + 10
        while len(events) < 3 and time.time() < deadline:
            time.sleep(0.05)
        print("events", len(events), "log lines", len(lines), flush=True)
        # exit with everything running
    """))
    env = dict(os.environ, MAYFLY_LIBRARY=mayfly.library_path)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fatal Python error" not in proc.stderr
    words = proc.stdout.split()
    assert int(words[1]) >= 3 and int(words[4]) >= 3, proc.stdout
