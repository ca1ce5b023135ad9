#!/usr/bin/env python3
"""HTTPS load benchmark: mayfly-ca against step-ca, same load, same machine.

Usage:
  benchmarks/https_bench.py [--quick] [--build-dir DIR] [--out-dir DIR]
                            [--only mayfly|stepca] [--keep]

For each CA in turn (mayfly-ca with its SQLite store, then step-ca with its
default embedded badger database), in a fresh directory:
  1. init it non-interactively (`mayfly-ca init`, `step ca init`) for
     127.0.0.1 on a free port, provisioner "admin";
  2. start it pinned to one core (taskset, --server-cpu, default 1);
  3. run the load generator (build/benchmarks/https_load) pinned to another
     core (--load-cpu, default 0): POST /sign at each concurrency level,
     then mTLS POST /renew at each level. Tokens and CSRs are made before
     each level, outside the timed window;
  4. stop it.
No level may have errors; any error fails the run.

Writes into --out-dir (default benchmarks/out):
  https_bench.json      the headline figures, at HEADLINE_CONNECTIONS
                        connections, shaped like Google Benchmark output so
                        `summarize.py --bench` merges them: https.sign_per_s,
                        https.sign_p99_ms, https.renew_per_s,
                        https.renew_p99_ms and the same four as stepca.*
  https_levels.json     every level of both CAs, the versions and settings
  https_throughput.png  throughput and p99 against concurrency, both CAs

Binaries: https_load and mayfly-ca from the build directory (--build-dir,
else $BUILD_DIR, else build/); step-ca and step from $STEP_CA_BIN and
$STEP_BIN, else third_party/go-bin/, else $PATH.

--quick: 2 s per level after 0.5 s warm-up (about a minute in all); the
default: 12 s after 1 s (about 4 to 5 minutes). Needs matplotlib.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = (1, 4, 16, 64)
HEADLINE_CONNECTIONS = 16
PASSWORD = "https-bench-password"
# Largest token budget per second of a sign level (https_load --max-rate);
# well above what either CA signs on one core.
MAX_RATE = 6000


def log(msg):
    print(f"https_bench: {msg}", flush=True)


class BenchError(Exception):
    pass


def find_tool(env_name, name):
    path = os.environ.get(env_name)
    if path:
        if not os.access(path, os.X_OK):
            raise BenchError(f"${env_name}={path} is not executable")
        return path
    bundled = os.path.join(ROOT, "third_party", "go-bin", name)
    if os.access(bundled, os.X_OK):
        return bundled
    found = shutil.which(name)
    if found:
        return found
    raise BenchError(f"no {name}: set ${env_name} or run scripts/setup "
                     f"(it builds it into third_party/go-bin)")


def go_module_version(binary, module):
    """Reads a module's version from a Go binary's embedded build info.

    Binaries built with `go install module@version` report "0000000-dev"
    themselves; the build info still names the module version.
    """
    with open(binary, "rb") as f:
        data = f.read()
    m = re.search(rb"(?:^|\n)mod\t" + re.escape(module.encode()) +
                  rb"\t(v[^\t\n]+)", data)
    return m.group(1).decode() if m else "unknown"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env=None, what=None):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, check=False)
    if r.returncode != 0:
        raise BenchError(f"{what or cmd[0]} failed ({r.returncode}):\n"
                         f"{r.stdout[-3000:]}")
    return r.stdout


def pin(cpu):
    if cpu is None:
        return []
    return ["taskset", "-c", str(cpu)]


class Server:
    """One CA process: started pinned, waited for, stopped."""

    def __init__(self, name, cmd, env, log_path, port, root_file):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.port = port
        self.root_file = root_file
        self.proc = None

    def start(self):
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env,
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context(cafile=self.root_file)
        url = f"https://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode})"
                                 f":\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, context=ctx,
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"{self.name} not healthy after 60 s:\n"
                         f"{self.log_tail()}")

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 3000))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log_file.close()


def init_stepca(tools, work, port, server_cpu):
    steppath = os.path.join(work, "stepca")
    pw = os.path.join(work, "password")
    env = dict(os.environ, STEPPATH=steppath, HOME=work)
    run([tools["step"], "ca", "init", "--deployment-type", "standalone",
         "--name", "Bench step-ca", "--dns", "127.0.0.1",
         "--address", f"127.0.0.1:{port}", "--provisioner", "admin",
         "--password-file", pw, "--provisioner-password-file", pw],
        env=env, what="step ca init")
    config = os.path.join(steppath, "config", "ca.json")
    with open(config, encoding="utf-8") as f:
        db = json.load(f).get("db") or {}
    if not db.get("type", "").startswith("badger"):
        raise BenchError(f"step ca init wrote no badger db: {db}")
    cmd = pin(server_cpu) + [tools["step-ca"], config, "--password-file", pw]
    root = os.path.join(steppath, "certs", "root_ca.crt")
    return Server("step-ca", cmd, env, os.path.join(work, "stepca.log"), port,
                  root), config


def init_mayfly(tools, work, port, server_cpu):
    ca_dir = os.path.join(work, "mayfly")
    pw = os.path.join(work, "password")
    env = dict(os.environ, HOME=work)
    run([tools["mayfly-ca"], "init", "--name", "Bench mayfly-ca",
         "--dns", "127.0.0.1", "--address", f"127.0.0.1:{port}",
         "--provisioner", "admin", "--password-file", pw, "--dir", ca_dir],
        env=env, what="mayfly-ca init")
    config = os.path.join(ca_dir, "config", "ca.json")
    with open(config, encoding="utf-8") as f:
        store = json.load(f).get("store", "")
    # The issue measures the SQLite store, mayfly's embedded default.
    if not store.startswith("sqlite:"):
        raise BenchError(f"mayfly-ca init chose store {store!r}, not SQLite")
    cmd = pin(server_cpu) + [tools["mayfly-ca"], "serve", config,
                             "--password-file", pw]
    with open(config, encoding="utf-8") as f:
        root = json.load(f)["root"]
    root = root[0] if isinstance(root, list) else root
    root = os.path.join(os.path.dirname(config), root)
    return Server("mayfly-ca", cmd, env, os.path.join(work, "mayfly.log"),
                  port, root), config


def load(tools, server, config, work, mode, settings, load_cpu):
    out = os.path.join(work, f"{server.name}-{mode}.json")
    cmd = pin(load_cpu) + [
        tools["https_load"], "--ca-url", f"https://127.0.0.1:{server.port}",
        "--config", config, "--password-file", os.path.join(work, "password"),
        "--root", server.root_file, "--provisioner", "admin", "--mode", mode,
        "--connections", ",".join(str(c) for c in settings["levels"]),
        "--duration", str(settings["duration_s"]),
        "--warmup", str(settings["warmup_s"]),
        "--max-rate", str(MAX_RATE), "--label", server.name, "--out", out]
    # Its progress lines go straight to our output; results to `out`.
    r = subprocess.run(cmd, check=False)
    if r.returncode != 0:
        raise BenchError(f"https_load against {server.name} failed "
                         f"({r.returncode}); server log tail:\n"
                         f"{server.log_tail()}")
    with open(out, encoding="utf-8") as f:
        results = json.load(f)["results"]
    for level in results:
        if level["errors"] or not level["requests"]:
            raise BenchError(
                f"{server.name} {mode} at {level['connections']} connections: "
                f"{level['errors']} errors, {level['requests']} answers "
                f"(first error: {level['first_error']})")
    return results


def bench_one(name, tools, work, settings, server_cpu, load_cpu):
    port = free_port()
    if name == "mayfly":
        server, config = init_mayfly(tools, work, port, server_cpu)
    else:
        server, config = init_stepca(tools, work, port, server_cpu)
    log(f"{server.name} on 127.0.0.1:{port}")
    server.start()
    try:
        return {mode: load(tools, server, config, work, mode, settings,
                           load_cpu)
                for mode in ("sign", "renew")}
    finally:
        server.stop()


def headline(results, prefix):
    keys = {}
    for mode, levels in results.items():
        level = next((l for l in levels
                      if l["connections"] == HEADLINE_CONNECTIONS), None)
        if level is None:
            raise BenchError(f"no level at {HEADLINE_CONNECTIONS} connections")
        keys[f"{prefix}.{mode}_per_s"] = level["per_s"]
        keys[f"{prefix}.{mode}_p99_ms"] = level["p99_ms"]
    return keys


def plot(all_results, path, settings):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"mayfly": ("mayfly-ca (SQLite)", "tab:blue", "o"),
              "stepca": ("step-ca (badger)", "tab:orange", "s")}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), sharex=True)
    for col, mode in enumerate(("sign", "renew")):
        for name, results in all_results.items():
            label, color, marker = styles[name]
            levels = results[mode]
            xs = [l["connections"] for l in levels]
            axes[0][col].plot(xs, [l["per_s"] for l in levels], marker=marker,
                              color=color, label=label)
            axes[1][col].plot(xs, [l["p99_ms"] for l in levels],
                              marker=marker, color=color, label=label)
        path_name = "POST /sign" if mode == "sign" else "mTLS POST /renew"
        axes[0][col].set_title(f"{path_name}: throughput")
        axes[0][col].set_ylabel("requests / s")
        axes[0][col].set_ylim(bottom=0)
        axes[1][col].set_title(f"{path_name}: p99 latency")
        axes[1][col].set_ylabel("p99 (ms, log scale)")
        axes[1][col].set_yscale("log")
        axes[1][col].set_xlabel("concurrent keep-alive connections")
        for row in (0, 1):
            ax = axes[row][col]
            ax.set_xscale("log", base=2)
            ax.set_xticks(settings["levels"])
            ax.set_xticklabels([str(c) for c in settings["levels"]])
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
    fig.suptitle("HTTPS load, server on one core, load generator on another "
                 f"({settings['duration_s']} s per level)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--build-dir",
                        default=os.environ.get("BUILD_DIR") or
                        os.path.join(ROOT, "build"))
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "benchmarks",
                                                          "out"))
    parser.add_argument("--only", choices=("mayfly", "stepca"),
                        help="bench one CA (no headline file is written)")
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--load-cpu", type=int, default=0)
    parser.add_argument("--keep", action="store_true",
                        help="keep the CAs' directories and logs")
    args = parser.parse_args(argv)

    settings = {"levels": list(LEVELS), "headline_connections":
                HEADLINE_CONNECTIONS,
                "duration_s": 2 if args.quick else 12,
                "warmup_s": 0.5 if args.quick else 1}
    server_cpu, load_cpu = args.server_cpu, args.load_cpu
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        log("warning: no taskset or fewer than 2 CPUs; running unpinned")
        server_cpu = load_cpu = None
    elif server_cpu == load_cpu:
        log("error: --server-cpu and --load-cpu must differ")
        return 2

    try:
        import matplotlib  # noqa: F401  (fail before minutes of load)
    except ImportError:
        log("error: no matplotlib (python3 -m pip install matplotlib)")
        return 1

    names = [args.only] if args.only else ["mayfly", "stepca"]
    try:
        build = os.path.abspath(args.build_dir)
        tools = {"https_load": os.path.join(build, "benchmarks", "https_load"),
                 "mayfly-ca": os.path.join(build, "examples", "mayfly-ca")}
        for name in ("https_load", "mayfly-ca") if "mayfly" in names else (
                "https_load",):
            if not os.access(tools[name], os.X_OK):
                raise BenchError(f"no {tools[name]}; build target {name} "
                                 f"(with -DMAYFLY_BUILD_BENCHMARKS=ON)")
        if "stepca" in names:
            tools["step-ca"] = find_tool("STEP_CA_BIN", "step-ca")
            tools["step"] = find_tool("STEP_BIN", "step")
        versions = {}
        if "mayfly" in names:
            versions["mayfly-ca"] = run([tools["mayfly-ca"], "version"],
                                        what="mayfly-ca version").strip()
        if "stepca" in names:
            versions["step-ca"] = go_module_version(
                tools["step-ca"], "github.com/smallstep/certificates")
            versions["step"] = go_module_version(
                tools["step"], "github.com/smallstep/cli")

        os.makedirs(args.out_dir, exist_ok=True)
        # The CAs' state lives on the project's disk, not a tmpfs /tmp, so
        # the databases' fsyncs cost what they cost.
        work = tempfile.mkdtemp(prefix="https-bench-", dir=args.out_dir)
        with open(os.path.join(work, "password"), "w",
                  encoding="utf-8") as f:
            f.write(PASSWORD + "\n")
        all_results = {}
        started = time.monotonic()
        try:
            for name in names:
                all_results[name] = bench_one(name, tools, work, settings,
                                              server_cpu, load_cpu)
        finally:
            if args.keep:
                log(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)

        levels_path = os.path.join(args.out_dir, "https_levels.json")
        with open(levels_path, "w", encoding="utf-8") as f:
            json.dump({"versions": versions, "settings": settings,
                       "pinning": {"server_cpu": server_cpu,
                                   "load_cpu": load_cpu},
                       "seconds": round(time.monotonic() - started, 1),
                       "results": all_results}, f, indent=2)
            f.write("\n")
        png = os.path.join(args.out_dir, "https_throughput.png")
        plot(all_results, png, settings)
        log(f"wrote {levels_path} and {png}")
        if args.only:
            return 0

        keys = {}
        keys.update(headline(all_results["mayfly"], "https"))
        keys.update(headline(all_results["stepca"], "stepca"))
        # Google Benchmark's shape, so summarize.py --bench reads the keys
        # like any benchmark binary's counters.
        bench = {"context": {"executable": "benchmarks/https_bench.py",
                             "versions": versions,
                             "connections": HEADLINE_CONNECTIONS},
                 "benchmarks": [dict(name="https_load/headline",
                                     run_type="iteration", **keys)]}
        bench_path = os.path.join(args.out_dir, "https_bench.json")
        with open(bench_path, "w", encoding="utf-8") as f:
            json.dump(bench, f, indent=2)
            f.write("\n")
        for key, value in keys.items():
            log(f"  {key}: {value}")
        for mode in ("sign", "renew"):
            ratio = keys[f"https.{mode}_per_s"] / keys[f"stepca.{mode}_per_s"]
            p99_ok = keys[f"https.{mode}_p99_ms"] <= keys[
                f"stepca.{mode}_p99_ms"]
            log(f"  {mode}: {ratio:.2f} x step-ca throughput (target 3), "
                f"p99 {'no worse' if p99_ok else 'WORSE'} than step-ca's")
        log(f"wrote {bench_path}")
    except BenchError as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
