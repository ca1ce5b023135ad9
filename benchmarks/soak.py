#!/usr/bin/env python3
"""Soak: mayfly-ca under a steady mixed load, its memory sampled.

Usage:
  benchmarks/soak.py [--seconds 600] [--warmup 60] [--rate PER_S]
                     [--load-fraction 0.5] [--connections 16]
                     [--mix sign=70,renew=25,revoke=5] [--build-dir DIR]
                     [--out FILE] [--server-cpu 1] [--load-cpu 0] [--keep]

Issue #9's "load and faults" soak, on loopback only:
  1. `mayfly-ca init` a CA for 127.0.0.1 on a free port, with its default
     SQLite store, and start `mayfly-ca serve` pinned to one core
     (taskset, --server-cpu; --allow-root when run as root);
  2. unless --rate is given, find the server's saturation: https_load
     --mode mix unpaced for --saturation-seconds; the soak then runs at
     --load-fraction of it (default half: sustainable, not saturated);
  3. run https_load --mode mix at that fixed rate for --warmup + --seconds
     (pinned to --load-cpu): POST /sign, mTLS POST /renew and POST /revoke
     in the --mix proportions, some renewals of revoked certificates (401
     is their expected answer); then https_load checks that every
     acknowledged revocation holds (each revoked certificate, and each one
     renewed from a revoked one, is refused renewal with 401);
  4. meanwhile sample the server's VmRSS from /proc every second;
  5. stop the server with SIGTERM (it must exit 0).

Figures, a flat JSON object written to --out (default
benchmarks/out/soak.json) and printed:
  soak.rss_growth_mb   median RSS of the last minute minus the median of
                       the first minute after the warm-up (windows of
                       min(60 s, --seconds / 4))
  soak.errors          unexpected answers and failures (expected refusals
                       excluded), revocations not enforced at the end,
                       error events in the server log (not request lines:
                       those are counted by the client), a server that
                       died or did not exit 0; must be 0
  soak.seconds, soak.requests, soak.per_s, soak.target_per_s,
  soak.saturation_per_s (when measured), soak.expected_refusals,
  soak.revocations (acknowledged), soak.revoked_certificates (those plus
  descendants revoked by lineage), soak.revocations_enforced (refused
  renewal at the end; equals soak.revoked_certificates), soak.p99_ms,
  soak.rss_first_minute_mb, soak.rss_last_minute_mb, soak.rss_max_mb
Details (every RSS sample, https_load's answer counts and first errors) go
to the same path with _details.json.

Exits 1 if soak.errors is not 0 or the RSS grew more than
--max-rss-growth-mb; 2 for bad usage.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "soak-password"


def log(msg):
    print(f"soak: {msg}", flush=True)


class SoakError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu):
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, check=False)
    if r.returncode != 0:
        raise SoakError(f"{what} failed ({r.returncode}):\n{r.stdout[-3000:]}")
    return r.stdout


def rss_kb(pid):
    """VmRSS of `pid` in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Sampler(threading.Thread):
    """Samples a process's RSS every second: (seconds since t0, kB)."""

    def __init__(self, pid, t0):
        super().__init__(daemon=True)
        self.pid = pid
        self.t0 = t0
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        next_at = time.monotonic()
        while not self.stopped.is_set():
            kb = rss_kb(self.pid)
            if kb is not None:
                self.samples.append((round(time.monotonic() - self.t0, 3), kb))
            next_at += 1.0
            self.stopped.wait(max(0.0, next_at - time.monotonic()))

    def stop(self):
        self.stopped.set()
        self.join()


class Server:
    """mayfly-ca serve, pinned; waited for until /health answers."""

    def __init__(self, cmd, log_path, port, root_file):
        self.cmd = cmd
        self.log_path = log_path
        self.port = port
        self.root_file = root_file
        self.proc = None
        self.returncode = None

    def start(self):
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context(cafile=self.root_file)
        url = f"https://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SoakError(f"mayfly-ca exited ({self.proc.returncode}):"
                                f"\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, context=ctx,
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SoakError(f"mayfly-ca not healthy after 60 s:\n{self.log_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 3000))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
                self.proc = None
                self.log_file.close()
                return None
        self.returncode = self.proc.returncode
        self.proc = None
        self.log_file.close()
        return self.returncode


def error_events(log_path):
    """Server log lines at level error that are not request lines."""
    events = []
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "level=error" in line and " status=" not in line:
                events.append(line.strip())
    return events


def mix_load(tools, server, config, work, args, rate, seconds, label,
             load_cpu):
    out = os.path.join(work, f"{label}.json")
    cmd = pin(load_cpu) + [
        tools["https_load"], "--ca-url", f"https://127.0.0.1:{server.port}",
        "--config", config, "--password-file", os.path.join(work, "password"),
        "--root", server.root_file, "--provisioner", "admin",
        "--mode", "mix", "--mix", args.mix, "--rate", f"{rate:.1f}",
        "--connections", str(args.connections),
        "--duration", str(seconds), "--label", label, "--out", out]
    # The revocation check after the run renews each revoked certificate
    # once; give it time on top of the run.
    r = subprocess.run(cmd, check=False, timeout=seconds * 3 + 300)
    if r.returncode != 0:
        raise SoakError(f"https_load {label} failed ({r.returncode}); server "
                        f"log tail:\n{server.log_tail()}")
    with open(out, encoding="utf-8") as f:
        return json.load(f)["mix"]


def median_mb(samples, lo, hi):
    window = [kb for t, kb in samples if lo <= t <= hi]
    if len(window) < 3:
        raise SoakError(f"only {len(window)} RSS samples between {lo:.0f} s "
                        f"and {hi:.0f} s")
    return statistics.median(window) / 1024.0


def soak(args, tools, work, server_cpu, load_cpu):
    port = free_port()
    ca_dir = os.path.join(work, "ca")
    with open(os.path.join(work, "password"), "w", encoding="utf-8") as f:
        f.write(PASSWORD + "\n")
    run([tools["mayfly-ca"], "init", "--name", "Soak", "--dns", "127.0.0.1",
         "--address", f"127.0.0.1:{port}", "--provisioner", "admin",
         "--password-file", os.path.join(work, "password"), "--dir", ca_dir],
        "mayfly-ca init")
    config = os.path.join(ca_dir, "config", "ca.json")
    with open(config, encoding="utf-8") as f:
        store = json.load(f).get("store", "")
    if not store.startswith("sqlite:"):
        raise SoakError(f"mayfly-ca init chose store {store!r}, not SQLite")
    cmd = pin(server_cpu) + [tools["mayfly-ca"], "serve", config,
                             "--password-file",
                             os.path.join(work, "password")]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # a throwaway CA in a private folder
    root = os.path.join(ca_dir, "certs", "root_ca.crt")
    server = Server(cmd, os.path.join(work, "mayfly-ca.log"), port, root)
    log(f"mayfly-ca (SQLite store) on 127.0.0.1:{port}")
    server.start()
    details = {"settings": vars(args).copy()}
    figures = {}
    try:
        rate = args.rate
        if rate is None:
            log(f"measuring saturation: unpaced mix for "
                f"{args.saturation_seconds} s at {args.connections} "
                f"connections")
            sat = mix_load(tools, server, config, work, args, 0,
                           args.saturation_seconds, "saturation", load_cpu)
            details["saturation"] = sat
            if sat["unexpected_errors"]:
                raise SoakError(f"the saturation run had "
                                f"{sat['unexpected_errors']} unexpected "
                                f"errors: {sat['first_errors']}")
            figures["soak.saturation_per_s"] = sat["per_s"]
            rate = max(1.0, sat["per_s"] * args.load_fraction)
            log(f"saturation {sat['per_s']:.1f}/s; soaking at {rate:.1f}/s "
                f"({args.load_fraction:g} of it)")
        total = args.warmup + args.seconds
        log(f"soak: {total} s ({args.warmup} s warm-up) at {rate:.1f}/s, "
            f"mix {args.mix}")
        t0 = time.monotonic()
        sampler = Sampler(server.proc.pid, t0)
        sampler.start()
        try:
            mix = mix_load(tools, server, config, work, args, rate, total,
                           "soak", load_cpu)
        finally:
            sampler.stop()
        alive = server.alive()
        rc = server.stop()
        details["soak"] = mix
        details["rss_samples"] = sampler.samples
        events = error_events(server.log_path)
        details["server_error_events"] = events[:20]
        details["server_exit"] = rc

        # RSS windows: the first after the warm-up, the last before the end
        # of the run (the revocation check afterwards is not in it).
        window = min(60.0, args.seconds / 4.0)
        end = min(total, mix["seconds"])
        first = median_mb(sampler.samples, args.warmup, args.warmup + window)
        last = median_mb(sampler.samples, end - window, end)
        in_run = [kb for t, kb in sampler.samples if t <= end]
        errors = (mix["unexpected_errors"] + len(events) +
                  (0 if alive else 1) + (0 if rc == 0 else 1))
        if not alive:
            log("error: mayfly-ca died during the soak")
        if rc != 0:
            log(f"error: mayfly-ca exited {rc} after SIGTERM, want 0")
        for e in events[:5]:
            log(f"error event in the server log: {e[:300]}")
        for e in mix["first_errors"][:10]:
            log(f"unexpected: {e}")
        figures.update({
            "soak.rss_growth_mb": round(last - first, 2),
            "soak.errors": errors,
            "soak.seconds": args.seconds,
            "soak.requests": mix["requests"],
            "soak.per_s": round(mix["per_s"], 1),
            "soak.target_per_s": round(rate, 1),
            "soak.expected_refusals": mix["expected_refusals"],
            "soak.revocations": mix["revocations"],
            "soak.revoked_certificates": mix["revoked_certificates"],
            "soak.revocations_enforced": mix["revocations_enforced"],
            "soak.p99_ms": round(mix["p99_ms"], 2),
            "soak.rss_first_minute_mb": round(first, 2),
            "soak.rss_last_minute_mb": round(last, 2),
            "soak.rss_max_mb": round(max(in_run) / 1024.0, 2),
        })
        if mix["revocations_enforced"] != mix["revoked_certificates"]:
            log(f"error: {mix['revoked_certificates']} certificates revoked, "
                f"{mix['revocations_enforced']} refused renewal at the end")
        return figures, details
    finally:
        server.stop()


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--seconds", type=int, default=600,
                        help="measured part of the soak (default 600)")
    parser.add_argument("--warmup", type=int, default=60,
                        help="load before the first RSS window (default 60)")
    parser.add_argument("--rate", type=float,
                        help="requests per second (default: --load-fraction "
                        "of the measured saturation)")
    parser.add_argument("--load-fraction", type=float, default=0.5)
    parser.add_argument("--saturation-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mix", default="sign=70,renew=25,revoke=5")
    parser.add_argument("--max-rss-growth-mb", type=float, default=10.0)
    parser.add_argument("--build-dir",
                        default=os.environ.get("BUILD_DIR") or
                        os.path.join(ROOT, "build"))
    parser.add_argument("--out",
                        default=os.path.join(ROOT, "benchmarks", "out",
                                             "soak.json"))
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--keep", action="store_true",
                        help="keep the CA's folder and logs")
    args = parser.parse_args(argv)
    if args.seconds < 20 or args.seconds > 3000 or args.warmup < 0:
        log("error: --seconds must be 20..3000 and --warmup >= 0")
        return 2
    if args.rate is not None and args.rate <= 0:
        log("error: --rate must be positive")
        return 2
    if not 0 < args.load_fraction <= 1:
        log("error: --load-fraction must be in (0, 1]")
        return 2

    server_cpu, load_cpu = args.server_cpu, args.load_cpu
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        log("warning: no taskset or fewer than 2 CPUs; running unpinned")
        server_cpu = load_cpu = None
    elif server_cpu == load_cpu:
        log("error: --server-cpu and --load-cpu must differ")
        return 2

    build = os.path.abspath(args.build_dir)
    tools = {"https_load": os.path.join(build, "benchmarks", "https_load"),
             "mayfly-ca": os.path.join(build, "examples", "mayfly-ca")}
    for name, path in tools.items():
        if not os.access(path, os.X_OK):
            log(f"error: no {path}; build target {name} (with "
                f"-DMAYFLY_BUILD_BENCHMARKS=ON)")
            return 1

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    # On the project's disk, not a tmpfs /tmp: SQLite's fsyncs cost what
    # they cost.
    work = tempfile.mkdtemp(prefix="soak-", dir=out_dir)
    started = time.monotonic()
    try:
        figures, details = soak(args, tools, work, server_cpu, load_cpu)
    except (SoakError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        return 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    details["wall_seconds"] = round(time.monotonic() - started, 1)
    details["figures"] = figures
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=2)
        f.write("\n")
    details_path = os.path.splitext(args.out)[0] + "_details.json"
    with open(details_path, "w", encoding="utf-8") as f:
        json.dump(details, f, indent=1)
        f.write("\n")
    for key, value in figures.items():
        log(f"  {key}: {value}")
    log(f"wrote {args.out} and {details_path}")
    if figures["soak.errors"]:
        log(f"FAIL: {figures['soak.errors']} errors")
        return 1
    if figures["soak.rss_growth_mb"] > args.max_rss_growth_mb:
        log(f"FAIL: RSS grew {figures['soak.rss_growth_mb']} MB "
            f"(more than {args.max_rss_growth_mb} MB)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
