"""HTTP throughput of the portal against the bare-Django baseline, in one run.

Both apps are served by gunicorn with 2 sync workers on loopback and loaded by the same
closed-loop client (C concurrent connections, fixed duration) in turn, A B A B, so the
ratio holds when the machine's speed drifts. Figures: requests/s and median / p95
latency; the ratio is portal / baseline requests per second.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
CONCURRENCY = 4
DURATION = 4.0
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            GUNICORN,
            app,
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def load(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + DURATION

    def worker() -> None:
        mine = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Host": "localhost", **(headers or {})})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - begun), latencies


def main() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    portal_env = {**env, "APP_MODE": "test", "ALLOWED_HOSTS": "localhost"}
    baseline = serve("bench.baseline_app:application", free_port_b := free_port(), env)
    portal = serve("config.wsgi:application", free_port_p := free_port(), portal_env)
    try:
        load(free_port_b, "/")  # warm-up
        load(free_port_p, "/sign-in/")
        rows = []
        for _ in range(ROUNDS):
            b_rps, b_lat = load(free_port_b, "/")
            p_rps, p_lat = load(free_port_p, "/sign-in/")
            rows.append((b_rps, p_rps, b_lat, p_lat))
    finally:
        for process in (baseline, portal):
            process.terminate()
            process.wait(timeout=10)

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[18]

    b_rps = statistics.median(r[0] for r in rows)
    p_rps = statistics.median(r[1] for r in rows)
    b_lat = [x for r in rows for x in r[2]]
    p_lat = [x for r in rows for x in r[3]]
    ratios = sorted(r[1] / r[0] for r in rows)
    print(f"http: gunicorn 2 sync workers, {CONCURRENCY} clients, {ROUNDS} x {DURATION:.0f}s each")
    print(f"  {'':<28}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    print(
        f"  {'baseline (bare Django, 1 query)':<28}{b_rps:>10.0f}"
        f"{statistics.median(b_lat) * 1000:>10.1f}{p95(b_lat) * 1000:>10.1f}"
    )
    print(
        f"  {'portal GET /sign-in/':<28}{p_rps:>10.0f}"
        f"{statistics.median(p_lat) * 1000:>10.1f}{p95(p_lat) * 1000:>10.1f}"
    )
    print(
        f"  ratio portal/baseline req/s: median {statistics.median(ratios):.2f} "
        f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f})"
    )


if __name__ == "__main__":
    main()
