"""Constructed features for labelling tests: an extraction folder written array by array, a
list-vocabulary tokenizer, and a scripted OpenAI/Ollama server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from mistudio.core.features.config import ExtractionConfig
from mistudio.core.features.result import Example, ExtractionMeta, ExtractionResult
from mistudio.core.labeling.context import FeatureContext

Window = tuple[list[str], list[float]]


def example(tokens: list[str], acts: list[float]) -> Example:
    center = int(np.argmax(acts)) if acts else 0
    return Example(
        list(range(len(tokens))), list(acts), center, max(acts, default=0.0), 0, 0, tokens
    )


def feature(index: int, windows: list[Window], **kw: Any) -> FeatureContext:
    """A FeatureContext whose shown examples are ``windows``."""
    return FeatureContext(index=index, examples=[example(t, a) for t, a in windows], **kw)


class ListTokenizer:
    """The least a tokenizer must do for pages: decode single ids from a fixed vocabulary."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab

    def batch_decode(self, ids: list[list[int]], **kw: Any) -> list[str]:
        return ["".join(self.vocab[i] for i in row) for row in ids]

    def decode(self, ids: list[int], **kw: Any) -> str:
        return "".join(self.vocab[i] for i in ids)


@dataclass
class FeatureSpec:
    top: list[Window]
    samples: list[Window] = field(default_factory=list)


def build_extraction(
    folder: Path, specs: list[FeatureSpec], random_windows: list[list[str]], before: int = 4
) -> tuple[ExtractionResult, ListTokenizer]:
    """Write an extraction folder holding exactly ``specs`` (dead latents: ``FeatureSpec([])``)."""
    windows = [t for s in specs for t, _ in s.top + s.samples] + random_windows
    vocab = sorted({tok for w in windows for tok in w})
    ids = {t: i for i, t in enumerate(vocab)}
    width = max(len(w) for w in windows)
    d, k = len(specs), max(1, max(len(s.top) for s in specs))
    n_s = max(1, max(len(s.samples) for s in specs))
    folder.mkdir(parents=True)
    (folder / "stats").mkdir()

    def pack(rows: list[Window], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        toks = -np.ones((n, width), np.int32)
        acts = np.zeros((n, width), np.float32)
        vals = np.zeros(n, np.float32)
        locs = -np.ones((n, 2), np.int64)
        for r, (t, a) in enumerate(rows):
            toks[r, : len(t)] = [ids[x] for x in t]
            acts[r, : len(a)] = a
            vals[r] = max(a)
            locs[r] = (r, 100 * r + 7)
        return toks, acts, vals, locs

    arrays: dict[str, list[np.ndarray]] = {}
    stats: dict[str, list[Any]] = {c: [] for c in ("count", "frequency", "max_act", "mean_act")}
    token_ids, token_counts, token_mass = [], [], []
    for f, spec in enumerate(specs):
        for prefix, rows, n in (("top", spec.top, k), ("sample", spec.samples, n_s)):
            for name, arr in zip(
                ("tokens", "acts", "values", "locations"), pack(rows, n), strict=True
            ):
                if prefix == "sample" and name == "locations":
                    arr = np.where(arr >= 0, arr + 10_000 * (f + 1), arr)
                arrays.setdefault(f"{prefix}_{name}", []).append(arr)
        acts_all = [
            (tok, a) for t, acts in spec.top for tok, a in zip(t, acts, strict=True) if a > 0
        ]
        mass: dict[str, float] = {}
        for tok, a in acts_all:
            mass[tok] = mass.get(tok, 0.0) + a
        best = sorted(mass.items(), key=lambda kv: -kv[1])[:5]
        token_ids.append([ids[t] for t, _ in best] + [-1] * (5 - len(best)))
        token_counts.append([1] * len(best) + [0] * (5 - len(best)))
        token_mass.append([m for _, m in best] + [0.0] * (5 - len(best)))
        stats["count"].append(len(acts_all))
        stats["frequency"].append(len(acts_all) / 1000)
        stats["max_act"].append(max((a for _, a in acts_all), default=0.0))
        stats["mean_act"].append(float(np.mean([a for _, a in acts_all])) if acts_all else 0.0)
        arrays.setdefault("n_top", []).append(np.array(len(spec.top)))
        arrays.setdefault("n_samples", []).append(np.array(len(spec.samples)))
        q = np.zeros(n_s, np.int8)
        q[: len(spec.samples)] = np.arange(len(spec.samples)) % 5
        arrays.setdefault("sample_quantile", []).append(q)
    for name, parts in arrays.items():
        target = f"stats/{name}" if name in ("n_top", "n_samples") else name
        np.save(folder / f"{target}.npy", np.stack(parts))
    for name, values in stats.items():
        np.save(
            folder / f"stats/{name}.npy",
            np.array(values, np.float32 if name != "count" else np.int64),
        )
    np.save(folder / "stats/interpretability_proxy.npy", np.zeros(d, np.float32))
    np.save(folder / "stats/top_token_ids.npy", np.array(token_ids, np.int32))
    np.save(folder / "stats/top_token_counts.npy", np.array(token_counts, np.int64))
    np.save(folder / "stats/top_token_mass.npy", np.array(token_mass, np.float32))
    rt = -np.ones((len(random_windows), width), np.int32)
    for r, w in enumerate(random_windows):
        rt[r, : len(w)] = [ids[x] for x in w]
    np.save(folder / "random_tokens.npy", rt)
    np.save(
        folder / "random_locations.npy",
        np.array([(50_000 + r, 3) for r in range(len(random_windows))], np.int64),
    )
    np.save(folder / "random_max.npy", np.zeros((d, len(random_windows)), np.float16))
    meta = ExtractionMeta(
        sae_folder=None,
        sae_architecture="standard",
        d_in=8,
        d_sae=d,
        hook_name="blocks.0.hook_resid_post",
        hf_hook_name="model.layers.0",
        model_name="constructed",
        model_path=".",
        tokenization_folder=".",
        tokenization_name="constructed",
        tokenizer_fingerprint="x",
        n_tokens=1000,
        n_sequences=10,
        config=ExtractionConfig(
            context_before=min(before, width - 1), context_after=max(0, width - before - 1)
        ),
        coactivation_tokens=0,
        coactivation_pairs=0,
        seconds=0.0,
    )
    (folder / "extraction.json").write_text(meta.model_dump_json())
    return ExtractionResult.open(folder), ListTokenizer(vocab)


# ---- a scripted LLM server speaking the OpenAI and Ollama wire formats ----------------------
@dataclass
class Reply:
    status: int = 200
    body: Any = None
    """dict -> JSON; str -> sent as is."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def openai_body(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def ollama_body(content: str) -> dict[str, Any]:
    return {
        "model": "m",
        "message": {"role": "assistant", "content": content},
        "done": True,
        "prompt_eval_count": 90,
        "eval_count": 15,
    }


Responder = Callable[[str, str, dict[str, Any] | None], Reply]


class ScriptedServer:
    """An HTTP server on 127.0.0.1: queued replies first, then ``default(method, path, body)``."""

    def __init__(self, default: Responder | None = None) -> None:
        self.queue: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.default = default or (lambda m, p, b: Reply(404, {"error": "no route"}))
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with server.lock:
                    server.requests.append(
                        {
                            "method": method,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                        }
                    )
                    reply = server.queue.pop(0) if server.queue else None
                if reply is None:
                    reply = server.default(method, self.path, body)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                payload = data.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
