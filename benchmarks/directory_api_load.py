"""The directory API benchmark's load: the API under uvicorn, a lean HTTP/1.1 client, and the open and
closed loops that drive it (``python -m benchmarks.directory_api``)."""

from __future__ import annotations

import asyncio
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlencode

import httpx

# The load generator shares the two cores with what it measures: on uvloop its CPU per read is a quarter less.
from benchmarks.directory_api_store import REPO, cp_id

PURPOSE = "safeguarding"
WARM_UP_READS = 200

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn in a subprocess on loopback, access log off (it would log search terms)."""
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": url}
    command = [sys.executable, "-m", "uvicorn", "directory_api.main:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_api(process)
    raise RuntimeError("uvicorn did not answer within 60 s")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    """Stop the uvicorn we started (its own process group: workers included)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))  # round() rounds halves to even
    return ordered[rank - 1]


def summary(latencies: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds."""
    ms = [v * 1000 for v in latencies]
    return {f"p{q}_ms": (round(v, 2) if (v := percentile(ms, q)) is not None else None) for q in (50, 95, 99)} | {
        "max_ms": round(max(ms), 2) if ms else None}


class RawClient:
    """A minimal HTTP/1.1 keep-alive GET client for our own server on loopback.

    httpx.AsyncClient spends about 1.4 ms of CPU per request here; on a 2-core machine that CPU is taken
    from the server being measured. This client spends a fraction of it. It handles exactly what uvicorn
    answers a GET with (status line, headers, ``Content-Length`` body); a kept-alive connection the
    server has closed is reopened once.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int = 512) -> None:
        self.host, self.port = host, port
        self.header_bytes = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> int | None:
        reader, writer = conn
        writer.write(request)
        status_line = await reader.readline()
        if not status_line:
            return None  # closed by the server while idle
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                keep = False
        await reader.readexactly(length)
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        return int(status_line.split()[1])

    async def get(self, target: str) -> int:
        """GET ``target`` (path and query); returns the status code."""
        request = f"GET {target} HTTP/1.1\r\n{self.header_bytes}\r\n".encode()
        async with self.slots:
            for reused in (True, False):
                conn = self.idle.pop() if reused and self.idle else await asyncio.open_connection(self.host, self.port)
                try:
                    status = await self._exchange(conn, request)
                except BaseException:
                    conn[1].close()
                    raise
                if status is not None:
                    return status
                conn[1].close()
            raise ConnectionError("server closed a new connection without answering")

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def drive(base_url: str, token: str, *, children: int, rate: float, seconds: float, seed: int,
                client_kind: str = "raw") -> dict[str, Any]:
    """Open-loop reads at ``rate`` per second for ``seconds``; bounded in count and in time."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    targets = [f"/children/{cp_id(rng.randint(1, children))}?{urlencode({'purpose': PURPOSE})}" for _ in range(total)]
    headers = {"Authorization": f"Bearer {token}"}
    scheduled_latency: list[float] = []
    service_latency: list[float] = []
    statuses: dict[str, int] = {}
    url = httpx.URL(base_url)
    raw = RawClient(url.host, url.port or 80, headers)
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=10.0) as client:

        async def get(target: str) -> int:
            if client_kind == "raw":
                return await asyncio.wait_for(raw.get(target), timeout=10.0)
            return (await client.get(target)).status_code

        for i in range(WARM_UP_READS):  # fills the server's connection pool and PostgreSQL's caches
            await get(targets[i % total])

        async def one(at: float, target: str) -> None:
            sent = time.perf_counter()
            try:
                key = str(await get(target))
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:  # OSError: timeouts too
                key = type(error).__name__
            done = time.perf_counter()
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                scheduled_latency.append(done - at)
                service_latency.append(done - sent)

        start, client_cpu = time.perf_counter() + 0.1, time.process_time()
        tasks = []
        lag = 0.0
        for i, target in enumerate(targets):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(at, target)))
        _, pending = await asyncio.wait(tasks, timeout=seconds + 15)
        for task in pending:
            task.cancel()
        elapsed = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        raw.close()
    ok = statuses.get("200", 0)
    return {"requests": total, "ok": ok, "statuses": statuses, "unfinished": len(pending),
            "elapsed_seconds": round(elapsed, 2), "reads_per_second": round(ok / elapsed, 1),
            "max_send_lag_ms": round(lag * 1000, 2), "client_cpu_ms_per_read": round(client_cpu * 1000 / total, 2),
            "latency_from_schedule": summary(scheduled_latency), "latency_from_send": summary(service_latency)}


async def drive_closed(base_url: str, token: str, *, children: int, clients: int, seconds: float,
                       seed: int) -> dict[str, Any]:
    """Closed loop: ``clients`` connections each send the next read as soon as the last one answers, for
    ``seconds``: the most reads a second the server gives, and their latency at that rate."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    url = httpx.URL(base_url)
    raw = RawClient(url.host, url.port or 80, headers, max_connections=clients)
    query = urlencode({"purpose": PURPOSE})
    for _ in range(WARM_UP_READS):
        await raw.get(f"/children/{cp_id(rng.randint(1, children))}?{query}")
    latency: list[float] = []
    statuses: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                key = str(await asyncio.wait_for(raw.get(f"/children/{cp_id(rng.randint(1, children))}?{query}"),
                                                 timeout=10.0))
            except (OSError, asyncio.IncompleteReadError) as error:
                key = type(error).__name__
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                latency.append(time.perf_counter() - sent)

    start, client_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    raw.close()
    ok = statuses.get("200", 0)
    return {"mode": "closed", "clients": clients, "requests": sum(statuses.values()), "ok": ok,
            "statuses": statuses, "elapsed_seconds": round(elapsed, 2), "reads_per_second": round(ok / elapsed, 1),
            "client_cpu_ms_per_read": round(client_cpu * 1000 / max(1, ok), 2),
            "latency_from_schedule": summary(latency), "latency_from_send": summary(latency)}
