#!/usr/bin/env python3
"""Builds every Lambda function and a bare `lambda_http` hello
(benches/lambda-hello) the way `sam build` builds them, then prints each
one's arm64 zip size and its init time: from process start until it asks the
runtime API for its first event, the moment Lambda considers it initialised.

    scripts/measure-lambdas.py [--runs N] [--no-build]

Two builds of each, both `cargo lambda build --release` run from functions/
as SAM runs it (so cargo-lambda's release defaults and the release settings
of functions/.cargo/config.toml apply, to the hello too): arm64 as zips for
the sizes, and the host's architecture for the init times, since only that
runs here. Cargo's target directory is CARGO_TARGET_DIR (else ./target); the
script prints how long each build took, and the CPU time it used, which
depends less on what else the machine is doing.

A stand-in runtime API on loopback accepts the first request and stops the
clock. Each binary gets the environment Lambda gives it in template.yaml
(TABLE_NAME, RUST_LOG, JSON logs, the function's own variables, credentials),
and nothing else, so SDK clients are built during init exactly as on AWS.
Nothing leaves the machine: building a client makes no request. The CPU time
each start used is printed beside its wall time: on a busy machine the wall
time is mostly waiting for a core.

Besides the table, for scripts/bench.py:
    @row lambda_init|...   @num lambda_init <slowest function's p50 ms>
    @row lambda_size|...   @num lambda_size <largest zip MB>
"""
import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS_DIR = os.path.join(ROOT, "functions")
HELLO = os.path.join(ROOT, "benches", "lambda-hello")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
TOOLS = os.path.join(ROOT, ".tools", "bin")  # cargo-lambda and zig, from scripts/install-tools.sh
FUNCTIONS = ["checkout", "orders", "tracking", "webhooks", "stall-sweep", "publisher"]

# What template.yaml sets (Globals and each function), with values that make
# init do its full work: a carrier API configured, a tenant's secrets.
COMMON_ENV = {"TABLE_NAME": "orders", "RUST_LOG": "info", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
FUNCTION_ENV = {
    "orders": {"CARRIER_API_URL": "https://carrier.example"},
    "webhooks": {"WEBHOOK_SECRETS": '{"acme": {"easypost": "secret", "stripe": "whsec_secret"}}'},
    "publisher": {"EVENT_BUS_NAME": "order-tracking"},
}


def release_profile(manifest):
    with open(manifest, "rb") as f:
        return tomllib.load(f).get("profile", {}).get("release")


def cargo_lambda(label, manifest, packages, lambda_dir, *extra):
    """Runs one `cargo lambda build --release`; returns the seconds it took
    and the CPU seconds it used. The hello, a workspace of its own, builds
    in a target directory of its own under TARGET, not beside its sources."""
    command = ["cargo", "lambda", "build", "--release", "--manifest-path", manifest,
               "--lambda-dir", lambda_dir, *extra]
    for package in packages:
        command += ["-p", package]
    print(f"building {label}: {' '.join(command[1:])}", file=sys.stderr)
    env = dict(os.environ, PATH=os.pathsep.join([TOOLS, os.environ.get("PATH", "")]))
    if not packages:
        env["CARGO_TARGET_DIR"] = os.path.join(TARGET, "measure", "hello-target")
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=FUNCTIONS_DIR, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def build():
    root, hello = os.path.join(ROOT, "Cargo.toml"), os.path.join(HELLO, "Cargo.toml")
    if release_profile(root) != release_profile(hello):
        sys.exit("benches/lambda-hello/Cargo.toml's [profile.release] differs from the "
                 "workspace's: copy it, so the hello is built the same way")
    host, arm64 = os.path.join(TARGET, "measure", "host"), os.path.join(TARGET, "measure", "arm64")
    zip_arm64 = ("--arm64", "--output-format", "zip")
    times = {
        "functions, host": cargo_lambda("functions (host)", root, FUNCTIONS, host),
        "functions, arm64": cargo_lambda("functions (arm64)", root, FUNCTIONS, arm64, *zip_arm64),
        "hello, host": cargo_lambda("hello (host)", hello, [], host),
        "hello, arm64": cargo_lambda("hello (arm64)", hello, [], arm64, *zip_arm64),
    }
    print("build times: " + ", ".join(f"{k} {wall:.0f}s ({cpu:.0f} CPU-s)"
                                      for k, (wall, cpu) in times.items()), file=sys.stderr)


def init_time(binary, function_env):
    """Milliseconds from start to the first poll, and the CPU used meanwhile."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.getsockname()[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "measure",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_ACCESS_KEY_ID": "measure",
        "AWS_SECRET_ACCESS_KEY": "measure",
        "AWS_SESSION_TOKEN": "measure",
        "AWS_REGION": "ca-central-1",
        "AWS_DEFAULT_REGION": "ca-central-1",
        **COMMON_ENV,
        **function_env,
    }
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection, _ = server.accept()
        connection.recv(1024)
        elapsed = time.perf_counter() - start
        connection.close()
    finally:
        # Killed and reaped here, not through `process`, to read the CPU all
        # its threads used: after its poll it only waits, so that is init's.
        os.kill(process.pid, signal.SIGKILL)
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = -signal.SIGKILL
        server.close()
    return elapsed * 1000, (usage.ru_utime + usage.ru_stime) * 1000


def measure(names, runs):
    """Init times in rounds, every binary once a round, so a busy moment on
    the machine weighs on all of them alike; sizes from the arm64 zips."""
    times = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            host = os.path.join(TARGET, "measure", "host", name, "bootstrap")
            times[name].append(init_time(host, FUNCTION_ENV.get(name, {})))
    results = {}
    for name in names:
        package = os.path.join(TARGET, "measure", "arm64", name, "bootstrap.zip")
        with zipfile.ZipFile(package) as z:
            unpacked = z.getinfo("bootstrap").file_size
        wall = [w for w, _ in times[name]]
        results[name] = {"p50": statistics.median(wall), "max": max(wall),
                         "cpu": statistics.median(c for _, c in times[name]),
                         "zip": os.path.getsize(package) / 1e6, "bootstrap": unpacked / 1e6}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="starts per binary (default 30)")
    parser.add_argument("--no-build", action="store_true", help="measure the last build")
    args = parser.parse_args()
    if not args.no_build:
        build()

    results = measure(FUNCTIONS + ["lambda-hello"], args.runs)
    print(f"{'function':<13} {'arm64 zip':>9} {'bootstrap':>9} {'init p50':>9} {'init max':>9}"
          f" {'CPU p50':>9}  ({args.runs} starts each, cargo lambda build --release)")
    for name, r in results.items():
        print(f"{name:<13} {r['zip']:>7.2f}MB {r['bootstrap']:>7.1f}MB {r['p50']:>7.1f}ms"
              f" {r['max']:>7.1f}ms {r['cpu']:>7.1f}ms")

    hello = results.pop("lambda-hello")
    slowest = max(r["p50"] for r in results.values())
    largest = max(r["zip"] for r in results.values())
    each_init = ", ".join(f"{n} {r['p50']:.1f}" for n, r in results.items())
    each_size = ", ".join(f"{n} {r['zip']:.1f}" for n, r in results.items())
    print(f"@row lambda_init|{slowest:.1f} ms ({each_init})|hello {hello['p50']:.1f} ms"
          f"|p50 of {args.runs} starts to the first runtime-API poll, x86_64 cargo lambda build --release")
    print(f"@row lambda_size|{largest:.1f} MB ({each_size})|hello {hello['zip']:.1f} MB"
          f"|arm64 zip, cargo lambda build --release --arm64")
    print(f"@num lambda_init {slowest:.2f}")
    print(f"@num lambda_size {largest:.2f}")


if __name__ == "__main__":
    main()
