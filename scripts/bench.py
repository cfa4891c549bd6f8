#!/usr/bin/env python3
"""Runs every benchmark and prints the performance table: each figure of
this build beside the peer or floor it is compared to, and how it was
measured.

    python3 scripts/bench.py [--skip peer,sse,...]

The DynamoDB rows of this build and of the peer are measured in the same run,
one after the other, each against a DynamoDB Local of its own (started by
`scripts/with-emulators.sh`): the emulator slows down as its tables fill, so
sharing one would favour whichever runs first. Each benchmark prints, besides
its own report, one line per row it measures:

    @row <key>|<figure>|<compared to>|<how measured>
    @peer <key>|<the peer's figure>

which this script gathers; every benchmark's full output is kept under
target/bench/<name>.log.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, command): the benchmarks, in the order they run.
BENCHES = [
    ("peer", ["scripts/bench-peer.sh"]),
    ("dynamodb", ["scripts/with-emulators.sh", "cargo", "bench", "-q", "-p", "order-core",
                  "--features", "aws,testkit", "--bench", "dynamodb_cost"]),
    ("service", ["cargo", "bench", "-q", "-p", "order-core", "--bench", "service"]),
    ("http", ["scripts/bench-http.sh"]),
    ("sse", ["cargo", "bench", "-q", "--bench", "sse"]),
    ("merchant", ["cargo", "bench", "-q", "--bench", "merchant_webhooks"]),
    ("lambdas", ["python3", "scripts/measure-lambdas.py"]),
]

# (key, what the row measures, the goal), in the table's order.
ROWS = [
    ("ddb_seq", "6-command shipping lifecycle on DynamoDB Local, cmd/s, sequential",
     ">= 1.2x the peer"),
    ("ddb_par8", "same, 8 workers", ">= 1.2x the peer"),
    ("ddb_requests", "DynamoDB requests per command", "2.00"),
    ("ddb_bytes", "bytes sent to DynamoDB per command", "<= 1,500"),
    ("ddb_wcu", "write capacity per staff move", "<= 8 WCU"),
    ("http_file", "transitions/s through the local HTTP API (file store)",
     ">= 10,000/s, p99 <= 5 ms"),
    ("http_memory", "same with --memory", "file store within 20%"),
    ("inproc", "in-process OrderService, file store, 8 workers, cmd/s", ">= 50,000 cmd/s"),
    ("sse", "SSE, 10,000 subscribers, commit -> receipt", "p99 <= 20 ms, <= 300 MB"),
    ("ws", "the same over the local WebSocket", "beside SSE"),
    ("merchant_delay", "merchant webhooks: commit -> first delivery attempt (local)", "-"),
    ("merchant_rate", "merchant webhooks delivered per second (local)", "-"),
    ("lambda_init", "Lambda init (process start -> first poll)", "<= 2x hello"),
    ("lambda_size", "Lambda arm64 zips", "<= 8 MB"),
]


def run(name, command, logs):
    """Runs one benchmark, echoing its output and keeping it in a log."""
    print(f"== {name}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    lines = []
    with open(os.path.join(logs, f"{name}.log"), "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            sys.stdout.write(line)
            lines.append(line.rstrip("\n"))
        code = proc.wait()
    print(f"== {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    return code, lines


def gather(lines, rows, peers):
    for line in lines:
        if line.startswith("@row "):
            key, _, rest = line[5:].partition("|")
            rows[key.strip()] = rest.split("|")
        elif line.startswith("@peer "):
            key, _, figure = line[6:].partition("|")
            peers[key.strip()] = figure.strip()


def table(rows, peers):
    out = ["| what | this build | peer / floor | goal | how measured |",
           "|---|---|---|---|---|"]
    for key, what, goal in ROWS:
        figure, compared, how = (rows.get(key, []) + ["not measured", "-", "-"])[:3]
        if key in peers:
            compared = f"peer: {peers[key]}" if compared.strip() in ("", "-") \
                else f"{compared}; peer: {peers[key]}"
        out.append(f"| {what} | {figure} | {compared} | {goal} | {how} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="benchmarks to leave out, comma-separated: "
                        + ", ".join(name for name, _ in BENCHES))
    args = parser.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    logs = os.path.join(ROOT, "target", "bench")
    os.makedirs(logs, exist_ok=True)
    rows, peers, failed = {}, {}, []
    for name, command in BENCHES:
        if name in skip:
            continue
        code, lines = run(name, command, logs)
        gather(lines, rows, peers)
        if code != 0:
            failed.append(name)
    print()
    print(table(rows, peers))
    if failed:
        print(f"\nfailed: {', '.join(failed)} (logs in target/bench/)")
        sys.exit(1)


if __name__ == "__main__":
    main()
