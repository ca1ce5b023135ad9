#!/usr/bin/env python3
"""Merges benchmark results into benchmarks/out/summary.json.

Usage:
  summarize.py --out SUMMARY.json --command CMD
               [--bench BENCH.json ...] [--flat FIGURES.json ...]
               [--value KEY=NUMBER ...]

Every Google Benchmark JSON file given with --bench contributes its
counters whose names are summary keys (dotted lower-case names such as
"crypto.p256_sign_per_s"; each benchmark binary names its counters so).
--flat adds a script's flat JSON object of figures (the Python binding's
benchmark), --value single figures measured outside Google Benchmark
(openssl speed).
The summary is one flat JSON object: every key collected, plus "machine",
"date" and "command". Exits 1 if a key in REQUIRED_KEYS is missing or a
value is not a positive number (zero is allowed for the failure counts
in ZERO_ALLOWED_KEYS), or if two sources report the same key.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys

# Keys every summary must have; add a key here when a benchmark adds one.
REQUIRED_KEYS = (
    "crypto.p256_sign_per_s",
    "crypto.p256_verify_per_s",
    "crypto.ed25519_sign_per_s",
    "crypto.ed25519_verify_per_s",
    "crypto.openssl_p256_sign_per_s",
    "crypto.openssl_p256_verify_per_s",
    "issuance.bound_per_s",
    "issuance.memory_1thread_per_s",
    "issuance.memory_2threads_per_s",
    "renewal.memory_1thread_per_s",
    "issuance.memory_8callers_per_s",
    "issuance.sqlite_8callers_per_s",
    "issuance.postgres_8callers_per_s",
    "store.sqlite_commit_p99_ms",
    "scheduler.entries",
    "scheduler.bytes_per_entry",
    "scheduler.add_per_s",
    "scheduler.next_due_per_s",
    "https.sign_per_s",
    "https.sign_p99_ms",
    "https.renew_per_s",
    "https.renew_p99_ms",
    "stepca.sign_per_s",
    "stepca.sign_p99_ms",
    "stepca.renew_per_s",
    "stepca.renew_p99_ms",
    "rotation.handshakes",
    "rotation.failed_handshakes",
    "rotation.rotations",
    "rotation.handshakes_per_s",
    "capi.issuance_1thread_per_s",
    "python.issuance_1thread_per_s",
    "hostile.cases",
    "hostile.failures",
    "fuzz.targets",
    "fuzz.total_execs",
    "fuzz.open_crashes",
    "soak.rss_growth_mb",
    "soak.errors",
)

# Counts that may be zero (failures, crashes); every other figure must be
# positive.
ZERO_ALLOWED_KEYS = frozenset((
    "rotation.failed_handshakes",
    "hostile.failures",
    "fuzz.open_crashes",
    "soak.errors",
    "soak.expected_refusals",
))

# Differences that may have any sign (memory can shrink).
SIGNED_KEYS = frozenset((
    "soak.rss_growth_mb",
))

KEY_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, "
            f"{platform.system()} {platform.release()} {platform.machine()}")


def bench_counters(path):
    """Returns {key: value} from one Google Benchmark JSON file."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = data.get("benchmarks", [])
    # With --benchmark_repetitions, use the medians; else the plain runs.
    medians = [r for r in runs if r.get("aggregate_name") == "median"]
    runs = medians or [r for r in runs if r.get("run_type", "iteration") ==
                       "iteration"]
    counters = {}
    for run in runs:
        if run.get("error_occurred"):
            raise ValueError(f"{path}: {run.get('name')}: "
                             f"{run.get('error_message')}")
        for key, value in run.items():
            if KEY_RE.match(key) and isinstance(value, (int, float)):
                if key in counters:
                    raise ValueError(f"{path}: {key} reported twice")
                counters[key] = float(value)
    return counters


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--bench", action="append", default=[])
    parser.add_argument("--value", action="append", default=[])
    parser.add_argument("--flat", action="append", default=[],
                        help="a JSON file holding one flat object of "
                        "figures (a script's output)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="warn about missing REQUIRED_KEYS instead of "
                        "failing (a run of some benchmark binaries only)")
    args = parser.parse_args(argv)

    summary = {}

    def add(key, value, source):
        if not KEY_RE.match(key):
            raise ValueError(f"{source}: {key!r} is not a summary key")
        if key in summary:
            raise ValueError(f"{source}: {key} already reported")
        if key in SIGNED_KEYS:
            floor_ok = True
        elif key in ZERO_ALLOWED_KEYS:
            floor_ok = value >= 0
        else:
            floor_ok = value > 0
        if not (isinstance(value, float) and math.isfinite(value) and
                floor_ok):
            raise ValueError(f"{source}: {key} = {value} is not a positive "
                             "number")
        summary[key] = round(value, 1)

    try:
        for path in args.bench:
            for key, value in bench_counters(path).items():
                add(key, value, path)
        for path in args.flat:
            with open(path, encoding="utf-8") as f:
                flat = json.load(f)
            if not isinstance(flat, dict):
                raise ValueError(f"{path}: not a JSON object")
            for key, value in flat.items():
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"{path}: {key} is not a number")
                add(key, float(value), path)
        for item in args.value:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--value {item!r}: want KEY=NUMBER")
            add(key, float(value), "--value")
    except (OSError, ValueError) as e:
        print(f"summarize: {e}", file=sys.stderr)
        return 1

    missing = [k for k in REQUIRED_KEYS if k not in summary]
    if missing and args.allow_missing:
        print(f"summarize: warning: partial run, missing {', '.join(missing)}",
              file=sys.stderr)
    elif missing:
        print(f"summarize: missing {', '.join(missing)}", file=sys.stderr)
        return 1

    summary = dict(sorted(summary.items()))
    summary["machine"] = machine()
    summary["date"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    summary["command"] = args.command
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
