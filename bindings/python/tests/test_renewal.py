"""Rotating credentials and the renewal scheduler: host-loop mode driven by
explicit times (no sleeping), every sink, events, and Python dropping its
objects while the scheduler thread calls into it."""

from __future__ import annotations

import datetime as dt
import gc
import os
import signal as signal_mod
import stat
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

import mayfly
from mayfly import _handle
from conftest import CA_URL, issue, short_ca


def test_credentials(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    creds = mayfly.Credentials()
    assert creds.generation == 0
    with pytest.raises(mayfly.FailedPrecondition):
        creds.current()
    seen: List[int] = []
    creds.on_change(seen.append)
    chain, key = issue(ca, signer)
    creds.set(chain, key)
    snap = creds.current()
    assert snap.generation == 1 == creds.generation
    assert snap.chain_pem == chain.to_pem()
    assert mayfly.Key.parse(snap.key_pem).public_pem() == key.public_pem()
    assert creds.chain().leaf == chain.leaf
    assert creds.key().public_pem() == key.public_pem()
    renewed = ca.renew(chain)
    creds.set(renewed, key)
    assert seen == [1, 2]
    # A key that is not the leaf's changes nothing.
    with pytest.raises(mayfly.InvalidArgument):
        creds.set(renewed, mayfly.Key.generate())
    assert creds.generation == 2 and seen == [1, 2]


def test_credentials_callback_exception_is_recorded(
    ca: mayfly.Ca, signer: mayfly.TokenSigner, caplog: pytest.LogCaptureFixture
) -> None:
    creds = mayfly.Credentials()

    def boom(generation: int) -> None:
        raise RuntimeError(f"boom {generation}")

    creds.on_change(boom)
    chain, key = issue(ca, signer)
    creds.set(chain, key)  # does not raise: nothing reaches C
    assert [str(e) for e in creds.callback_errors] == ["boom 1"]
    assert "credentials change" in caplog.text
    assert creds.generation == 1


def test_callbacks_are_released_when_objects_are_freed(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    before = _handle.registered_count()
    creds = mayfly.Credentials()
    creds.on_change(lambda g: None)
    sched = mayfly.Scheduler(ca=ca, on_event=lambda e: None)
    chain, key = issue(ca, signer)
    sched.add(chain, key, callback=lambda c, k: None, credentials=creds)
    assert _handle.registered_count() == before + 3
    sched.close()
    creds.close()
    gc.collect()
    assert _handle.registered_count() == before


def test_scheduler_host_loop_with_every_sink(
    tmp_path: Path, ca: mayfly.Ca, signer: mayfly.TokenSigner
) -> None:
    events: List[mayfly.Event] = []
    delivered: List[tuple] = []
    signals: List[int] = []
    old = signal_mod.signal(signal_mod.SIGUSR1, lambda s, f: signals.append(s))
    try:
        sched = mayfly.Scheduler(ca=ca, on_event=events.append)
        assert len(sched) == 0 and sched.next_deadline is None
        chain, key = issue(ca, signer, "loop.internal")
        creds = mayfly.Credentials()
        cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
        marker = tmp_path / "ran"
        entry = sched.add(
            chain,
            key,
            credentials=creds,
            cert_file=cert_file,
            key_file=key_file,
            exec=[sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"],
            signal=(os.getpid(), signal_mod.SIGUSR1),
            callback=lambda c, k: delivered.append((c, k)),
        )
        assert len(sched) == 1
        assert creds.generation == 1  # set at once with the current pair
        info = sched.entry_info(entry)
        assert info.chain.leaf == chain.leaf and info.attempts == 0
        nb, na = chain.leaf.validity
        deadline = sched.next_deadline
        assert deadline is not None and nb < deadline < na
        assert info.next_attempt == deadline
        # Nothing is due now; everything is due at the deadline.
        assert sched.run_due() == 0
        assert sched.run_due(deadline) == 1
        assert [e.type for e in events] == [mayfly.EventType.RENEWED]
        ev = events[0]
        assert ev.entry == entry and ev.code == mayfly.StatusCode.OK and ev.error is None
        assert ev.chain is not None and ev.chain.leaf.serial != chain.leaf.serial
        assert creds.generation == 2
        assert creds.current().chain_pem == ev.chain.to_pem()
        assert cert_file.read_text() == ev.chain.to_pem()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert mayfly.Key.parse(key_file.read_text()).public_pem() == key.public_pem()
        assert marker.read_text() == "x"
        deadline_end = time.time() + 5
        while not signals and time.time() < deadline_end:
            time.sleep(0.01)  # the signal handler runs on the main thread
        assert signals == [signal_mod.SIGUSR1]
        assert len(delivered) == 1 and delivered[0][0] == ev.chain.to_pem()
        assert sched.entry_info(entry).chain.leaf == ev.chain.leaf

        # update / remove / NotFound.
        other, _ = issue(ca, signer, "loop.internal", key=key)
        sched.update(entry, other, key)
        assert sched.entry_info(entry).chain.leaf == other.leaf
        with pytest.raises(mayfly.InvalidArgument):
            sched.update(entry, other, mayfly.Key.generate())
        sched.remove(entry)
        assert len(sched) == 0
        with pytest.raises(mayfly.NotFound):
            sched.remove(entry)
        with pytest.raises(mayfly.NotFound):
            sched.entry_info(entry)
        sched.close()
    finally:
        signal_mod.signal(signal_mod.SIGUSR1, old)


def test_scheduler_revoked_and_sink_failures(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    events: List[mayfly.Event] = []
    with mayfly.Scheduler(ca=ca, on_event=events.append) as sched:
        chain, key = issue(ca, signer, "failing.internal")

        def bad_sink(chain_pem: str, key_pem: str) -> None:
            raise OSError("disk full")

        entry = sched.add(chain, key, callback=bad_sink)
        when = sched.next_deadline
        assert when is not None
        assert sched.run_due(when) == 1
        kinds = [e.type for e in events]
        assert mayfly.EventType.RENEWED in kinds and mayfly.EventType.SINK_FAILED in kinds
        assert [str(e) for e in sched.callback_errors] == ["disk full"]

        renewed = sched.entry_info(entry).chain
        ca.revoke(chain.leaf.serial, peer_chain=chain)  # revokes the lineage
        events.clear()
        when = sched.next_deadline
        assert when is not None
        assert sched.run_due(when) == 1
        assert [e.type for e in events] == [mayfly.EventType.REVOKED]
        assert isinstance(events[0].error, (mayfly.Unauthenticated, mayfly.PermissionDenied))
        assert len(sched) == 0
        assert renewed.leaf.serial != chain.leaf.serial

        # Bad input is refused by add and changes nothing.
        with pytest.raises(mayfly.InvalidArgument):
            sched.add(chain, mayfly.Key.generate())
        with pytest.raises(TypeError):
            sched.add(chain, key, exec="not a list")  # type: ignore[arg-type]
        assert len(sched) == 0


def test_scheduler_argument_checks(ca: mayfly.Ca) -> None:
    with pytest.raises(ValueError):
        mayfly.Scheduler()
    with pytest.raises(ValueError):
        mayfly.Scheduler(ca=ca, client=mayfly.Client(CA_URL, ca.roots()))
    with pytest.raises(TypeError):
        mayfly.Scheduler(ca="ca")  # type: ignore[arg-type]
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Scheduler(ca=ca, first_retry=10, max_retry=1)


def test_scheduler_thread_with_python_dropping_objects(fast_pki: mayfly.InitResult) -> None:
    """Certificates of 3 s renew about every 2 s on the scheduler thread,
    calling three Python callbacks, while the test drops every Python
    object it can and collects garbage: nothing may crash, and callbacks
    keep running until the scheduler is gone."""
    ca, signer = short_ca(fast_pki, 3)
    counts = {"events": 0, "deliver": 0, "change": 0}
    lock = threading.Lock()

    def bump(k: str) -> None:
        with lock:
            counts[k] += 1
        # Allocate, to give the collector reasons to run on this thread.
        [object() for _ in range(1000)]
        gc.collect()

    sched = mayfly.Scheduler(ca=ca, on_event=lambda e: bump("events"), first_retry=0.2, max_retry=1)
    for i in range(4):
        chain, key = issue(ca, signer, f"drop{i}.internal")
        creds = mayfly.Credentials()
        creds.on_change(lambda g: bump("change"))
        sched.add(chain, key, credentials=creds, callback=lambda c, k: bump("deliver"))
        del chain, key, creds  # the scheduler keeps what it needs
    sched.start()
    del ca, signer  # the scheduler holds the CA
    gc.collect()
    end = time.time() + 6
    while time.time() < end and counts["events"] < 8:
        gc.collect()
        time.sleep(0.05)
    with lock:
        assert counts["events"] >= 4, counts
        assert counts["deliver"] >= 4 and counts["change"] >= 8, counts
    assert not sched.callback_errors
    before = _handle.registered_count()
    del sched  # freed here while its thread may be in a callback
    gc.collect()
    assert _handle.registered_count() < before


def test_freeing_a_scheduler_from_its_own_callback_is_deferred(fast_pki: mayfly.InitResult) -> None:
    """The last reference to a scheduler dropped inside its own callback
    (on its thread) must not free it there (c.h forbids it)."""
    ca, signer = short_ca(fast_pki, 2)
    done = threading.Event()
    holder: List[mayfly.Scheduler] = []

    def on_event(e: mayfly.Event) -> None:
        if holder:
            holder.clear()  # drops the last reference, on the scheduler thread
            done.set()

    sched = mayfly.Scheduler(ca=ca, on_event=on_event)
    chain, key = issue(ca, signer, "self.internal")
    sched.add(chain, key)
    sched.start()
    holder.append(sched)
    del sched
    assert done.wait(10)
    # The scheduler is freed by another thread once the callback returned.
    end = time.time() + 5
    while time.time() < end and any(h.name == "scheduler" for h in list(_handle._running)):
        time.sleep(0.05)
    assert not any(h.name == "scheduler" for h in list(_handle._running))


def test_event_time_fields(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    events: List[mayfly.Event] = []
    sched = mayfly.Scheduler(ca=ca, on_event=events.append)
    chain, key = issue(ca, signer)
    sched.add(chain, key)
    when = sched.next_deadline
    assert when is not None
    sched.run_due(when)
    (ev,) = events
    now = dt.datetime.now(dt.timezone.utc)
    # In host-loop mode events are stamped with the time given to run_due.
    assert abs((ev.time - when).total_seconds()) < 0.002
    assert ev.time > now
    assert ev.message == "" and ev.attempts == 0
    assert ev.next_attempt is None or ev.next_attempt > when
    sched.close()
