#!/usr/bin/env python3
"""Prints each Lambda binary's stripped size and init time: from process
start until it asks the runtime API for its first event, the moment Lambda
considers the function initialised. Run after `cargo build --release`:

    python3 scripts/measure-lambdas.py [runs]

A stand-in runtime API on loopback accepts the first request and stops the
clock; the binaries get the same configuration as on AWS (TABLE_NAME,
EVENT_BUS_NAME, credentials in the environment), so SDK clients are built
during init exactly as in production. Nothing leaves the machine: building a
client makes no request.
"""
import os
import socket
import statistics
import subprocess
import sys
import time

FUNCTIONS = ["checkout", "orders", "tracking", "webhooks", "stall-sweep", "publisher"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def init_time(binary):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)
    env = dict(
        os.environ,
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.getsockname()[1]}",
        AWS_LAMBDA_FUNCTION_NAME="measure",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_ACCESS_KEY_ID="measure",
        AWS_SECRET_ACCESS_KEY="measure",
        AWS_REGION="ca-central-1",
        AWS_EC2_METADATA_DISABLED="true",
        TABLE_NAME="orders",
        EVENT_BUS_NAME="order-tracking",
    )
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection, _ = server.accept()
        connection.recv(1024)
        elapsed = time.perf_counter() - start
        connection.close()
    finally:
        process.kill()
        process.wait()
        server.close()
    return elapsed


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"{'function':<10} {'size':>9} {'init p50':>9} {'init max':>9}  ({runs} runs, release, stripped)")
    for name in FUNCTIONS:
        binary = os.path.join(ROOT, "target", "release", name)
        times = sorted(init_time(binary) * 1000 for _ in range(runs))
        size = os.path.getsize(binary) / 1024 / 1024
        print(f"{name:<10} {size:>7.1f}MB {statistics.median(times):>7.1f}ms {times[-1]:>7.1f}ms")


if __name__ == "__main__":
    main()
