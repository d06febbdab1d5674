"""Waiters and asynchronous calls on moto's HTTP server.

Run: ``python3 bench/bench_waiters_async.py [--write]``. Prints the results; ``--write`` also records them in
``bench/results/waiters_async.md`` (a tracked file).

1. **Waiting for 50 instances** issues one ``DescribeInstances`` per polling round. moto starts instances
   at once, so an ``after-call`` hook rewrites each answer to keep all but the first 10·k instances
   ``pending`` in round k (5 rounds). HTTP requests are counted at ``before-send``, so pages would count too.
   For contrast, the same rounds polled object by object (``current_status()``) cost 50 calls per round.
2. **Ten ``_async`` calls against a server with 100 ms latency** per request take about as long as one:
   moto runs behind a WSGI middleware that sleeps 100 ms before every request (threaded werkzeug server).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from provisioning import EC2
from provisioning.waiters import WaitProgress

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "waiters_async.md"
LATENCY = 0.100
INSTANCES = 50


class Latency:
    """WSGI middleware: every request waits ``delay`` seconds before moto sees it."""

    def __init__(self, app: Callable[..., Any], delay: float) -> None:
        self.app = app
        self.delay = delay

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(self.delay)
        return self.app(environ, start_response)


class KeepAlive(WSGIRequestHandler):
    """HTTP/1.1, so the client's pooled connections stay open as they would against AWS."""

    protocol_version = "HTTP/1.1"


def serve(delay: float) -> None:
    """Child-process mode: run moto behind :class:`Latency` and print the port on stdout."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app: Callable[..., Any] = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, Latency(app, delay), threaded=True, request_handler=KeepAlive)
    print(server.server_port, flush=True)
    server.serve_forever()


@contextmanager
def moto_process(delay: float) -> Iterator[str]:
    """moto with ``delay`` per request in its own process, as a remote endpoint would be; yields the URL.

    In-process, the server's request handling would compete with the client's threads for one GIL.
    """
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(delay)], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert child.stdout is not None
        yield f"http://127.0.0.1:{int(child.stdout.readline())}"
    finally:
        child.terminate()
        child.wait(10)


@contextmanager
def moto(delay: float = 0.0) -> Iterator[str]:
    """A threaded moto server (behind :class:`Latency` when ``delay``); yields its endpoint."""
    app: Callable[..., Any] = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, Latency(app, delay) if delay else app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    # moto's backends are process-wide: start each part from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    try:
        yield endpoint
    finally:
        server.shutdown()
        thread.join()


def count_requests(ec2: EC2, operation: str) -> list[int]:
    """A one-item list counting the HTTP requests of ``operation`` from now on."""
    counter = [0]

    def count(**_: Any) -> None:
        counter[0] += 1

    ec2._pool.client("ec2").meta.events.register(f"before-send.ec2.{operation}", count)
    return counter


def hold_back(ec2: EC2, order: list[str], per_round: int) -> list[int]:
    """Rewrite DescribeInstances answers so only ``per_round``·k instances are running in round k."""
    rounds = [0]

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        rounds[0] += 1
        ready = set(order[: per_round * rounds[0]])
        for res in parsed.get("Reservations", []):
            for inst in res["Instances"]:
                if inst["InstanceId"] not in ready:
                    inst["State"] = {"Code": 0, "Name": "pending"}

    ec2._pool.client("ec2").meta.events.register("after-call.ec2.DescribeInstances", rewrite)
    return rounds


def bench_waiters(lines: list[str]) -> None:
    """Part 1: one describe per round for 50 instances, against object-by-object polling."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto() as endpoint:
        ec2 = EC2(endpoint=endpoint, region="us-east-1")
        image = ec2.register_image(name="bench-wait", root_device_name="/dev/sda1")
        instances = ec2.run_instances(image, min_count=INSTANCES)
        order = [str(i) for i in instances]
        hold_back(ec2, order, per_round=10)
        calls = count_requests(ec2, "DescribeInstances")
        progress: list[WaitProgress] = []
        started = time.perf_counter()
        result = ec2.wait_for_instances(instances, state="running", progress=progress.append)
        seconds = time.perf_counter() - started
        assert result is not None and set(result.values()) == {"running"}
        batched_calls = calls[0]

        naive_calls = count_requests(ec2, "DescribeInstances")
        for inst in instances:  # one round of polling object by object
            inst.refresh()
        naive_count = naive_calls[0]

    lines += [
        f"## 1. Waiting for {INSTANCES} instances",
        "",
        '`ec2.wait_for_instances(instances, state="running")`; answers rewritten so 10 more instances are',
        "running in each round; real backoff sleeps between rounds.",
        "",
        "| round | elapsed s | still pending |",
        "|---|---|---|",
        *(f"| {p.round} | {p.elapsed:.2f} | {len(p.pending)} |" for p in progress),
        "",
        f"**DescribeInstances HTTP requests: {batched_calls} for {len(progress)} rounds "
        f"= {batched_calls / len(progress):g} per round** for {INSTANCES} instances "
        f"(wall time {seconds:.1f} s, of which the backoff sleeps 1 + 1.5 + 2.25 + 3.375 s).",
        "",
        f"For contrast, one round of object-by-object polling (`refresh()` per instance): {naive_count} "
        f"requests, so {naive_count * len(progress)} for the same {len(progress)} rounds.",
        "",
    ]


def bench_async(lines: list[str]) -> None:
    """Part 2: ten _async calls behind 100 ms latency against one call."""
    with moto_process(LATENCY) as endpoint:
        ec2 = EC2(endpoint=endpoint, region="us-east-1")
        ec2.create_volume(availability_zone="us-east-1a", size=1)
        for future in [ec2.describe_volumes_async() for _ in range(10)]:  # open 10 pooled connections
            future.result()
        clock = time.perf_counter
        one: list[float] = []
        ten: list[float] = []
        serial: list[float] = []
        for _ in range(11):
            t0 = clock()
            ec2.describe_volumes()
            one.append(clock() - t0)
            t0 = clock()
            futures = [ec2.describe_volumes_async() for _ in range(10)]
            assert all(len(f.result()) == 1 for f in futures)
            ten.append(clock() - t0)
        for _ in range(2):
            t0 = clock()
            for _ in range(10):
                ec2.describe_volumes()
            serial.append(clock() - t0)
        raw = boto3.client(
            "ec2", endpoint_url=endpoint, region_name="us-east-1", config=Config(max_pool_connections=32)
        )
        raw_one = statistics.median([_timed(raw.describe_volumes) for _ in range(5)])
        with ThreadPoolExecutor(10) as pool:  # the same ten calls on plain threads, without our layer
            [f.result() for f in [pool.submit(raw.describe_volumes) for _ in range(10)]]
            raw_ten = statistics.median(
                [
                    _timed(
                        lambda: [f.result() for f in [pool.submit(raw.describe_volumes) for _ in range(10)]]
                    )
                    for _ in range(5)
                ]
            )
    m1, m10, ms = statistics.median(one), statistics.median(ten), statistics.median(serial)
    ratio = m10 / m1
    lines += [
        "## 2. Ten `_async` calls, 100 ms latency per request",
        "",
        "`DescribeVolumes` (one volume) against moto in its own process (threaded werkzeug server, HTTP/1.1",
        "keep-alive) behind a WSGI middleware sleeping 100 ms per request;",
        "medians of 11 runs (serial: 2 runs), after warming 10 pooled connections.",
        "",
        "| what | median s |",
        "|---|---|",
        f"| one call (`ec2.describe_volumes()`) | {m1:.3f} |",
        f"| one call, raw boto3 client | {raw_one:.3f} |",
        f"| 10 calls `describe_volumes_async()`, all results | {m10:.3f} |",
        f"| 10 calls one after another | {ms:.3f} |",
        f"| 10 calls, raw boto3 client on 10 plain threads | {raw_ten:.3f} |",
        "",
        f"**10 async calls / 1 call = {ratio:.2f}** (target: under 2). "
        f"Serial/async speed-up: {ms / m10:.1f}x.",
        "",
        "What ten calls cost beyond one is mostly moto's own per-request work (Flask and moto's dispatch and",
        "serializer run one at a time under the server's GIL); raw boto3 on plain threads pays as much.",
        "",
    ]
    print(f"async ratio {ratio:.2f}")


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Run both parts, print the results and, with ``--write``, record them."""
    import boto3 as _boto3

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--write", action="store_true", help=f"also write the results to {RESULTS}")
    args = parser.parse_args(argv)

    lines = [
        "# Waiters and asynchronous calls",
        "",
        "Command: `python3 bench/bench_waiters_async.py --write`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"boto3 {_boto3.__version__}; moto's threaded werkzeug server on 127.0.0.1; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f} "
        "(a shared machine).",
        "",
    ]
    bench_waiters(lines)
    bench_async(lines)
    print("\n".join(lines))
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(lines))
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(float(sys.argv[2]))
    else:
        main()
