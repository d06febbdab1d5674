"""Per-call overhead of the EC2 façade over a raw boto3 client, on the same moto HTTP server.

Run: ``python3 bench/bench_overhead.py [--calls 1000] [--write]``. Both sides call DescribeInstances (5
instances in the account) over HTTP to one ThreadedMotoServer; the façade also translates arguments, follows
pagination and wraps the result as Instance objects. Calls alternate one by one (and which side goes first) so
both see the same server state and machine load. Prints the results; ``--write`` also records them in
``bench/results/overhead.md`` (a tracked file).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import platform
import statistics
import time

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import boto3
from moto.server import ThreadedMotoServer

from provisioning import EC2

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "overhead.md"


def main() -> None:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000, help="calls per client (default: 1000)")
    parser.add_argument("--write", action="store_true", help=f"also write the results to {RESULTS}")
    opts = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        ec2 = EC2(endpoint=endpoint, region="us-east-1")
        raw = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
        image = ec2.register_image(name="bench", root_device_name="/dev/sda1", block_devices=["/dev/sda1=:8"])
        ec2.run_instances(image, min_count=5)
        for _ in range(20):  # warm both paths (connections, caches)
            raw.describe_instances()
            ec2.describe_instances()
        raw_times: list[float] = []
        ours_times: list[float] = []
        clock = time.perf_counter
        for i in range(opts.calls):
            # Alternate which side goes first so drift in machine load hits both equally.
            first, second = (raw.describe_instances, ec2.describe_instances)[:: 1 if i % 2 else -1]
            t0 = clock()
            first()
            t1 = clock()
            second()
            t2 = clock()
            a, b = t1 - t0, t2 - t1
            raw_t, ours_t = (a, b) if i % 2 else (b, a)
            raw_times.append(raw_t)
            ours_times.append(ours_t)
        raw_total, ours_total = sum(raw_times), sum(ours_times)
        raw_med, ours_med = statistics.median(raw_times), statistics.median(ours_times)
        overhead = (ours_med / raw_med - 1) * 100
        # The façade's own work, without the network: translate + dispatch on a canned response.
        from provisioning.arguments import translate
        from provisioning.dispatch import dispatch
        from provisioning.naming import operation_model

        model = operation_model("ec2", "DescribeInstances")
        response = raw.describe_instances()
        t0 = time.perf_counter()
        for _ in range(opts.calls):
            translate("ec2", model, (), {})
            dispatch.handle("ec2", model, response, ec2)
        local_us = (time.perf_counter() - t0) / opts.calls * 1e6
    finally:
        server.stop()
    lines = [
        "# EC2 façade overhead over raw boto3",
        "",
        f"Command: `python3 bench/bench_overhead.py --calls {opts.calls} --write`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"boto3 {boto3.__version__}; moto ThreadedMotoServer on 127.0.0.1; "
        "DescribeInstances with 5 instances.",
        "",
        "| client | calls | total s | median ms/call |",
        "|---|---|---|---|",
        f"| raw boto3 client | {opts.calls} | {raw_total:.2f} | {raw_med * 1e3:.2f} |",
        f"| provisioning.EC2 | {opts.calls} | {ours_total:.2f} | {ours_med * 1e3:.2f} |",
        "",
        f"**Overhead (median per call): {overhead:+.1f} %**; by totals "
        f"{(ours_total / raw_total - 1) * 100:+.1f} % (target: under 10 %).",
        "",
        f"The façade's own work per call without the network (argument translation + wrapping 5 Instance "
        f"objects): {local_us:.1f} µs.",
        "",
    ]
    print("\n".join(lines))
    if opts.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(lines), encoding="utf-8")
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
