"""Load benchmark of the studio service on SQLite (127.0.0.1 only).

1. Feature list latency: 65,536 synthetic latents are inserted through the store; a real uvicorn
   server (a subprocess, like ``mistudio serve``) answers ``GET /api/v1/features`` with search +
   sort + paging from ``--clients`` concurrent asyncio httpx clients for ``--requests`` requests
   (or ``--seconds``, whichever ends first). Target: p95 < 50 ms.
2. Event delay: this process plays the worker: it writes job events exactly as a worker does
   (``mistudio.jobs.events.emit``: a row in ``job_events``), while a WebSocket client subscribed to
   the job measures write-to-receive time. Target: < 1 s (the API polls every 200 ms).

Prints one JSON object. Usage::

    .venv/bin/python benchmarks/service_load.py [--clients 20] [--requests 2000] [--events 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMMON_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "river",
    "stone",
    "light",
    "music",
    "paper",
    "cloud",
    "python",
    "code",
    "bible",
    "king",
    "token",
    "layer",
    "number",
    "digit",
    "quote",
    "space",
]
N_FEATURES = 65_536
WORDS = COMMON_WORDS


def make_vocabulary(size: int, seed: int = 0) -> list[str]:
    """``size`` pronounceable pseudo-words: label vocabularies of real SAEs are large, so a
    search matches a small share of latents; ``--vocabulary 20`` is the common-words worst case
    (each word in ~37% of rows)."""
    if size <= len(COMMON_WORDS):
        return COMMON_WORDS[:size]
    rng = random.Random(seed)
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set(COMMON_WORDS)
    while len(words) < size:
        n = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(n)))
    return sorted(words)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def seed_features(n: int) -> int:
    from mistudio.store import Extraction, Feature, SAERow, init_db, session_scope
    from mistudio.store.features import analyze_features

    init_db()
    rng = random.Random(0)
    with session_scope() as session:
        sae = SAERow(
            name="bench",
            status="ready",
            origin="imported",
            d_in=576,
            d_sae=n,
            cfg={},
            metrics={},
            lineage={},
        )
        session.add(sae)
        session.flush()
        ext = Extraction(
            name="bench",
            status="ready",
            sae_id=sae.id,
            config={},
            result={},
            lineage={},
            n_features=n,
        )
        session.add(ext)
        session.flush()
        sae_id, ext_id = sae.id, ext.id
    for start in range(0, n, 8192):
        rows = [
            {
                "extraction_id": ext_id,
                "sae_id": sae_id,
                "index": i,
                "frequency": rng.random() ** 3,
                "max_activation": rng.random() * 20,
                "mean_activation": rng.random(),
                "interpretability": None if i % 9 == 0 else rng.random(),
                "label": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                "description": f"fires on {rng.choice(WORDS)} near {rng.choice(WORDS)}",
                "top_tokens": " ".join(rng.choice(WORDS) for _ in range(5)),
                "starred": i % 500 == 0,
            }
            for i in range(start, min(n, start + 8192))
        ]
        with session_scope() as session:
            session.bulk_insert_mappings(Feature.__mapper__, rows)
    with session_scope() as session:
        analyze_features(session)
    return ext_id


def _query(ext_id: int, rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {
        "extraction_id": ext_id,
        "sort": rng.choice(["frequency", "max_activation", "interpretability", "index"]),
        "order": rng.choice(["asc", "desc"]),
        "limit": 50,
        "offset": rng.choice([0, 0, 0, 50, 500, 5000]),
    }
    if rng.random() < 0.7:
        params["q"] = rng.choice(WORDS)[: rng.choice([3, 4, 10])]
    if rng.random() < 0.05:
        params["starred"] = "true"
    return params


async def feature_load(
    base: str, ext_id: int, clients: int, requests: int, seconds: float, think: float = 0.0
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    remaining = [requests]

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while remaining[0] > 0 and time.monotonic() < deadline:
                remaining[0] -= 1
                t0 = time.perf_counter()
                r = await http.get("/api/v1/features", params=_query(ext_id, rng))
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1
                if think:
                    await asyncio.sleep(think * (0.5 + rng.random()))

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        **_percentiles(latencies),
    }


async def event_delay(ws_url: str, n_events: int) -> dict[str, Any]:
    import websockets

    from mistudio.jobs.events import emit
    from mistudio.jobs.lifecycle import new_job
    from mistudio.store import session_scope

    with session_scope() as session:
        job_id = new_job(session, "benchmark", {}).id
    sent: dict[int, float] = {}
    delays: list[float] = []

    def worker() -> None:
        for i in range(n_events):
            time.sleep(0.1)
            wire = emit(job_id, "progress", {"progress": (i + 1) / n_events})
            sent[wire["seq"]] = time.time()

    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channel": f"jobs/{job_id}", "after": 1}))
        thread = threading.Thread(target=worker)
        thread.start()
        received = 0
        deadline = time.monotonic() + n_events * 0.1 + 10
        while received < n_events and time.monotonic() < deadline:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            except TimeoutError:
                break
            if message.get("type") != "progress":
                continue
            now = time.time()
            received += 1
            seq = message["seq"]
            for _ in range(50):  # the write's timestamp lands just after emit() returns
                if seq in sent:
                    break
                await asyncio.sleep(0.001)
            delays.append(max(0.0, now - sent.get(seq, now)))
        thread.join()
    return {"events": n_events, "received": received, **_percentiles(delays)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="Mean pause between one user's requests in the 'users' phase",
    )
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument(
        "--vocabulary",
        type=int,
        default=2000,
        help="Distinct words in labels/descriptions/top tokens (20: worst case)",
    )
    args = parser.parse_args()

    global WORDS
    WORDS = make_vocabulary(args.vocabulary)
    home = Path(tempfile.mkdtemp(prefix="mistudio-bench-"))
    os.environ.update({"MISTUDIO_HOME": str(home), "MISTUDIO_MONITOR_INTERVAL_SECONDS": "2"})
    for key in ("MISTUDIO_DATABASE_URL", "MISTUDIO_BROKER_URL", "MISTUDIO_TOKEN"):
        os.environ.pop(key, None)
    sys.path.insert(0, str(ROOT / "src"))
    t0 = time.perf_counter()
    ext_id = seed_features(N_FEATURES)
    seed_s = time.perf_counter() - t0
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "mistudio.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        # warm-up (first queries read pages from disk and fill the count cache)
        asyncio.run(feature_load(base, ext_id, 2, 100, args.seconds))
        single = asyncio.run(feature_load(base, ext_id, 1, 300, args.seconds))
        users = asyncio.run(
            feature_load(
                base, ext_id, args.clients, args.requests, min(args.seconds, 30), think=args.think
            )
        )
        saturated = asyncio.run(
            feature_load(base, ext_id, args.clients, args.requests, args.seconds)
        )
        delay = asyncio.run(event_delay(f"ws://127.0.0.1:{port}/api/v1/ws", args.events))
    finally:
        server.terminate()
        server.wait(timeout=15)
    result = {
        "database": "sqlite",
        "n_features": N_FEATURES,
        "vocabulary": len(WORDS),
        "seed_seconds": round(seed_s, 1),
        "cpu_count": os.cpu_count(),
        "feature_list": {
            "single_client": single,
            "users": users,
            "saturated": saturated,
            "note": "users: --clients concurrent users, each pausing ~--think s between "
            "requests; saturated: --clients clients back to back (throughput-bound on a shared "
            "2-core machine; the load generator shares the CPU with the server)",
        },
        "event_delay": delay,
        "targets": {"feature_list_p95_ms": 50, "event_delay_max_ms": 1000},
        "meets": {
            "feature_list_p95_users": users.get("p95_ms", 1e9) < 50,
            "feature_list_p95_single": single.get("p95_ms", 1e9) < 50,
            "event_delay": delay.get("max_ms", 1e9) < 1000 and delay["received"] == args.events,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
