"""Load test of `mnist-cnn serve`: a bounded load of real MNIST test digits against a server on 127.0.0.1.

Usage: .venv/bin/python benchmarks/load_test.py [--requests 2000] [--concurrency 16] [--payload png json]
                                                [--model best] [--runtime NAME] [--workers N] [--time-limit 300]
                                                [--data-dir DIR]

Starts `mnist-cnn serve` on a free loopback port, with one worker process per CPU core by default
(the request handling is Python, one core's worth per process), and waits for /healthz. For each
payload it sends 5 warm-up requests on each of --concurrency connections (so every worker process
warms up), then --requests requests, one test digit each, with --concurrency in flight at once:
`png` uploads the digit as a PNG file (multipart, the page's path: decoding and full preprocessing),
`json` sends its 28x28 pixels. Every phase stops after --time-limit seconds whatever happens, and the
server is stopped at the end. Only the loopback address is ever targeted.

Reports requests per second, p50/p90/p99/max latency, errors by kind and the accuracy of the answers
against the test labels, held against the goal (no errors, p99 at most 50 ms). Writes
benchmarks/results/load.json and the table between the load-test markers of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common import machine, percentile_ms  # noqa: E402
from mnist_cnn.data import load_dataset  # noqa: E402

HOST = "127.0.0.1"  # loopback only: this script never sends a request anywhere else
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
MARKERS = ("<!-- load-test:begin -->", "<!-- load-test:end -->")
GOAL_P99_MS = 50
WARM_UP = 5  # requests per connection before the measured run
BOUNDARY = "mnist-cnn-load-test"


def multipart_png(digit: np.ndarray) -> bytes:
    """A multipart body with the digit as a PNG file, built once so the client spends its CPU on sending."""
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="digit.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return head + buffer.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode()


def bodies(payload: str, digits: np.ndarray) -> tuple[list[bytes], str]:
    if payload == "png":
        return [multipart_png(digit) for digit in digits], f"multipart/form-data; boundary={BOUNDARY}"
    return [json.dumps({"pixels": digit.tolist()}).encode() for digit in digits], "application/json"


class Connection:
    """One keep-alive HTTP/1.1 connection to the server.

    A load generator's client: it writes a prepared request and reads the answer by its Content-Length,
    at a small fraction of a general-purpose client's CPU per request, so that on a 2-core machine the
    client takes little of the CPU the server is being measured on.
    """

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = (
            f"POST /v1/predict HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:] if line)}
        content = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(lines[0].split()[1]), content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_phase(port, payload, digits, labels, requests, concurrency, time_limit) -> dict:
    """Send ``requests`` requests, ``concurrency`` at a time, stopping at ``time_limit`` seconds."""
    encoded, content_type = bodies(payload, digits)
    latencies, errors, correct = [], Counter(), 0
    next_index = 0

    async def warm_up(offset: int) -> None:  # on as many connections as the run: every worker process warms up
        connection = Connection(port)
        for index in range(WARM_UP):
            await connection.post(encoded[(offset + index) % len(encoded)], content_type)
        connection.close()

    await asyncio.gather(*(warm_up(offset * WARM_UP) for offset in range(concurrency)))

    async def worker(deadline: float) -> None:
        nonlocal next_index, correct
        connection = Connection(port)
        while next_index < requests and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                status, content = await asyncio.wait_for(
                    connection.post(encoded[index % len(encoded)], content_type), 30
                )
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, KeyError) as error:
                errors[type(error).__name__] += 1
                connection.close()
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors[f"HTTP {status}"] += 1
            elif json.loads(content)["predictions"][0]["digit"] == labels[index % len(labels)]:
                correct += 1
        connection.close()

    started = time.perf_counter()
    deadline = time.monotonic() + time_limit
    await asyncio.gather(*(worker(deadline) for _ in range(concurrency)))
    seconds = time.perf_counter() - started

    answered = len(latencies) - sum(count for kind, count in errors.items() if kind.startswith("HTTP"))
    return {
        "payload": payload,
        "requests_sent": next_index,
        "requests_planned": requests,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "requests_per_second": round(next_index / seconds, 1),
        "latency_ms": {
            "p50": round(percentile_ms(latencies, 50), 2),
            "p90": round(percentile_ms(latencies, 90), 2),
            "p99": round(percentile_ms(latencies, 99), 2),
            "max": round(max(latencies) * 1000, 2),
        }
        if latencies
        else None,
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "accuracy": round(correct / answered, 4) if answered else None,
        "stopped_by_time_limit": next_index < requests,
    }


def run_event_loop(coroutine):
    """uvloop when installed (the serve extra brings it): the client then takes less of the CPU it shares."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def start_server(port: int, model: str, runtime: str | None, workers: int, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "mnist_cnn.cli", "serve", "--host", HOST, "--port", str(port), "--model", model]
    command += ["--workers", str(workers)]
    if runtime:
        command += ["--runtime", runtime]
    with log_path.open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def wait_until_ready(process: subprocess.Popen, base_url: str, log_path: Path, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return httpx.get(f"{base_url}/v1/model", timeout=5).json()
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the server was not ready within {seconds:.0f} s:\n{log_path.read_text()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def markdown(report: dict) -> str:
    rows = [
        f"| {phase['payload']} | {phase['requests_sent']:,} | {phase['concurrency']} | "
        f"{phase['requests_per_second']:.0f} | {phase['latency_ms']['p50']:.1f} | {phase['latency_ms']['p99']:.1f} | "
        f"{phase['latency_ms']['max']:.1f} | {phase['errors']} | {phase['accuracy']:.2%} |"
        for phase in report["phases"]
    ]
    cpu = report["machine"]
    return "\n".join(
        [
            f"`{report['command']}` on {cpu['cores']} core{'s' if cpu['cores'] > 1 else ''} ({cpu['cpu']}), "
            f"model `{report['model']['name']}` "
            f"({report['model']['runtime']} runtime), {report['workers']} server worker process(es), {report['date']}. "
            "Client and server share the machine; "
            f"its 1-minute load average before the run was {report['load_average_before']:.1f}.",
            "",
            "| payload | requests | concurrent | requests/s | p50 ms | p99 ms | max ms | errors | accuracy |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Goal: no errors and p99 at most {GOAL_P99_MS} ms: **{'met' if report['goal_met'] else 'not met'}**.",
        ]
    )


def update_docs(table: str) -> bool:
    """Replace the text between the load-test markers of docs/BENCHMARKS.md; False when there are none."""
    if not DOCS.exists():
        return False
    text = DOCS.read_text()
    begin, end = MARKERS
    if begin not in text or end not in text:
        return False
    before, rest = text.split(begin, 1)
    DOCS.write_text(f"{before}{begin}\n{table}\n{end}{rest.split(end, 1)[1]}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per payload (default: 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at once (default: 16)")
    parser.add_argument(
        "--payload", nargs="+", choices=["png", "json"], default=["png", "json"], help="what to send (default: both)"
    )
    parser.add_argument("--model", default="best", help="model to serve (default: best, the shipped default)")
    parser.add_argument("--runtime", help="inference runtime (default: the server's choice)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes (default: one per CPU core)"
    )
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per payload at most (default: 300)")
    parser.add_argument("--data-dir", type=Path, help="MNIST folder (default: $MNIST_CNN_DATA, then the cache)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]  # other work on the machine competes with client and server
    dataset = load_dataset("mnist", args.data_dir)
    digits, labels = dataset.test_images[: args.requests], dataset.test_labels[: args.requests].tolist()
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "serve.log"
        process = start_server(port, args.model, args.runtime, args.workers, log_path)
        try:
            model = wait_until_ready(process, base_url, log_path)
            phases = []
            for payload in args.payload:
                phase = run_event_loop(
                    run_phase(port, payload, digits, labels, args.requests, args.concurrency, args.time_limit)
                )
                phases.append(phase)
                print(json.dumps(phase))
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    report = {
        "command": shlex.join([".venv/bin/python", "benchmarks/load_test.py", *sys.argv[1:]]),
        "date": datetime.now().strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average_before": round(load_before, 2),
        "model": {key: model[key] for key in ("name", "runtime", "test_accuracy")},
        "workers": args.workers,
        "goal": {"errors": 0, "p99_ms_at_most": GOAL_P99_MS},
        "goal_met": all(
            phase["errors"] == 0 and not phase["stopped_by_time_limit"] and phase["latency_ms"]["p99"] <= GOAL_P99_MS
            for phase in phases
        ),
        "phases": phases,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    print(table)
    print(f"written: {RESULTS / 'load.json'}")
    if update_docs(table):
        print(f"updated: {DOCS}")
    else:
        print(f"not updated: {DOCS} has no {MARKERS[0]} ... {MARKERS[1]} section")
    if not report["goal_met"]:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
