#!/usr/bin/env python3
"""python.issuance_1thread_per_s: issuance.memory_1thread_per_s through the
Python binding.

The workload of benchmarks/issuance_bench.cc's BM_Sign/memory_1thread: a CA
on the memory store with one JWK provisioner, 16 pre-built CSRs for
svc.example.com, one pre-made single-use token per call, and Ca.sign per
iteration (the returned chain is released each time, as the C++ result is
destroyed), timed on one thread for about 2 seconds after a warm-up.

Prints one JSON object on standard output:
    {"python.issuance_1thread_per_s": N}
Target (issue #8): >= 0.7 x issuance.memory_1thread_per_s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from typing import List

import mayfly

CA_URL = "https://localhost:9000"
SUBJECT = "svc.example.com"
PASSWORD = "password"


def make_tokens(signer: mayfly.TokenSigner, fingerprint: str, n: int) -> List[str]:
    return [
        signer.sign(SUBJECT, ca_url=CA_URL, root_fingerprint=fingerprint) for _ in range(n)
    ]


def run(
    ca: mayfly.Ca, csrs: List[mayfly.Csr], tokens: List[str], seconds: float
) -> "tuple[int, float, float]":
    """Signs with the tokens in order until they run out or `seconds` pass;
    returns (calls, elapsed, CPU time of this thread)."""
    sign = ca.sign
    n = len(csrs)
    clock = time.perf_counter
    cpu = time.thread_time()
    start = clock()
    stop = start + seconds
    i = 0
    for token in tokens:
        chain = sign(csrs[i % n], token)
        del chain
        i += 1
        # Reading the clock every 64 calls keeps it out of the measurement.
        if i & 63 == 0 and clock() >= stop:
            break
    return i, clock() - start, time.thread_time() - cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=2.0, help="measurement time")
    p.add_argument("--warmup", type=float, default=0.3, help="warm-up time")
    p.add_argument("-v", "--verbose", action="store_true", help="per-call times on stderr")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="mayfly-bench-") as d:
        pki = mayfly.init_pki(
            d, PASSWORD, name="Bench", provisioner="bench", kdf_iterations=1000
        )
        with mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:") as ca:
            signer = ca.token_signer("bench", PASSWORD)
            fingerprint = ca.root_fingerprint
            csrs = [mayfly.Csr(mayfly.Key.generate(), SUBJECT, [SUBJECT]) for _ in range(16)]

            # Warm-up, which also estimates how many tokens the measurement
            # needs (each is single use).
            warm = make_tokens(signer, fingerprint, 256)
            done, elapsed, _ = run(ca, csrs, warm, args.warmup)
            rate = done / elapsed if elapsed > 0 else 1000.0
            if done == len(warm):
                # The warm-up used every token: run it longer, as sized.
                extra = make_tokens(signer, fingerprint, int(rate * args.warmup) + 1)
                run(ca, csrs, extra, args.warmup)

            tokens = make_tokens(signer, fingerprint, int(rate * args.seconds * 1.5) + 64)
            done, elapsed, cpu = run(ca, csrs, tokens, args.seconds)
            if done == len(tokens) and elapsed < args.seconds * 0.5:
                print("bench_issuance: too few tokens for a stable figure", file=sys.stderr)
                return 1
    if args.verbose:
        print(
            f"bench_issuance: {done} calls in {elapsed:.3f} s: "
            f"{elapsed / done * 1e6:.1f} us/call, CPU {cpu / done * 1e6:.1f} us/call",
            file=sys.stderr,
        )
    print(json.dumps({"python.issuance_1thread_per_s": round(done / elapsed, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
