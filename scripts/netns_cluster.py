"""A three-machine studio on one Linux box: network namespaces, a bridge, veth pairs.

    sudo .venv/bin/python scripts/netns_cluster.py            # run it, print what it proved
    sudo .venv/bin/python scripts/netns_cluster.py --keep-logs

Machines (each an ``ip netns``, its own loopback, one veth on a bridge in the root namespace):

* ``api``  10.231.N.1  PostgreSQL (a throwaway ``initdb`` cluster), Redis and ``mistudio serve
  --no-worker`` (token set), all listening on the veth address;
* ``w1``   10.231.N.2  ``mistudio worker`` with ``MISTUDIO_WORKER_NAME=w1``;
* ``w2``   10.231.N.3  ``mistudio worker`` with ``MISTUDIO_WORKER_NAME=w2``.

The root namespace is the researcher's laptop: it reaches the API on 10.231.N.1 through the
bridge (10.231.N.254) and drives the whole pipeline over HTTP: import the built-in stdlib corpus
(truncated), build a tiny Llama whose BPE tokenizer is trained on that corpus (a folder model on
the shared home), tokenize, cache activations, train two runs at once (one per worker), extract,
label with the rules, steer; then SIGKILL the worker of a third training mid-run and watch the
job fail over: queued again by the API's reaper and resumed by the other worker from its last
checkpoint. Artifacts live on one folder every machine sees (``MISTUDIO_HOME``, the shared
filesystem of a real cluster).

What it proves about the wiring: the workers' database and broker URLs name 10.231.N.1, their
established TCP connections all go there, and the api machine's loopback (where Redis also
listens) cannot be reached from a worker machine, nor can the host's own PostgreSQL/Redis.

Everything it starts (namespaces, bridge, processes) is removed on exit, failure and Ctrl-C
included. Needs root, ``ip`` (iproute2), PostgreSQL's ``initdb``/``postgres`` and
``redis-server``. ``tests/integration/test_netns_cluster.py`` runs it (marker ``cluster``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
HOOK = "blocks.1.hook_resid_post"
MACHINES = {"api": 1, "w1": 2, "w2": 3}
BRIDGE_HOST = 254
"""The root namespace's address on the bridge (the researcher's side)."""


class ClusterError(RuntimeError):
    """A step of the cluster run did not do what it should (one line)."""


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise ClusterError(f"{name} not found (install PostgreSQL's server binaries)")


def missing_tools() -> str | None:
    """Why this machine cannot run the cluster, or ``None``."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    for tool in ("ip", "redis-server", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    try:
        _pg_bin("initdb")
        _pg_bin("postgres")
    except ClusterError as exc:
        return str(exc)
    return None


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


@dataclass
class Net:
    """The namespaces, the bridge and the veth pairs (names carry a random tag, so two runs on
    one box do not collide)."""

    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: int = 0
    made: list[tuple[str, str]] = field(default_factory=list)

    def ns(self, machine: str) -> str:
        return f"mis{self.tag}-{machine}"

    def addr(self, machine: str) -> str:
        return f"10.231.{self.subnet}.{MACHINES[machine]}"

    @property
    def bridge(self) -> str:
        return f"misbr{self.tag}"

    def up(self) -> None:
        used = _run("ip", "-4", "route").stdout
        free = [n for n in range(10, 250) if f"10.231.{n}." not in used]
        self.subnet = free[int(self.tag, 16) % len(free)]
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        _run("ip", "addr", "add", f"10.231.{self.subnet}.{BRIDGE_HOST}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for machine in MACHINES:
            ns, outer = self.ns(machine), f"mis{self.tag}{machine}"
            _run("ip", "netns", "add", ns)
            self.made.append(("netns", ns))
            _run("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _run("ip", "link", "set", outer, "master", self.bridge, "up")
            _run("ip", "-n", ns, "addr", "add", f"{self.addr(machine)}/24", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self) -> None:
        """Delete what :meth:`up` made (a namespace takes its end of the veth with it)."""
        for kind, name in reversed(self.made):
            if kind == "netns":
                _run("ip", "netns", "del", name, check=False)
            else:
                _run("ip", "link", "del", name, check=False)
        self.made.clear()

    def can_connect(self, machine: str, host: str, port: int) -> bool:
        """Whether a TCP connection from ``machine`` to ``host:port`` opens (bash's /dev/tcp)."""
        probe = f"exec 3<>/dev/tcp/{host}/{port}"
        cmd = ["ip", "netns", "exec", self.ns(machine), "timeout", "3", "bash", "-c", probe]
        return subprocess.run(cmd, capture_output=True).returncode == 0

    def peers(self, machine: str) -> set[str]:
        """Addresses ``machine`` has established TCP connections to (``ss``)."""
        out = _run("ip", "netns", "exec", self.ns(machine), "ss", "-Htn", "state", "established")
        return {line.split()[-1].rsplit(":", 1)[0] for line in out.stdout.splitlines() if line}


@dataclass
class Proc:
    name: str
    machine: str
    popen: subprocess.Popen[bytes]
    log: Path


class Cluster:
    """The running cluster: :meth:`start` brings up the network and the services in order,
    :meth:`stop` takes all of it down (each process group we started, then the network)."""

    def __init__(self, root: Path, stale_after: float = 5.0) -> None:
        self.root = root
        self.net = Net()
        self.home = root / "shared-home"
        self.token = secrets.token_urlsafe(16)
        self.stale_after = stale_after
        self.procs: dict[str, Proc] = {}
        self.client: httpx.Client | None = None

    # -- bring-up ----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://{self.net.addr('api')}:8000"

    def env(self, machine: str) -> dict[str, str]:
        """A machine's environment: only these ``MISTUDIO_*`` settings, nothing from ours."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
        api = self.net.addr("api")
        base.update(
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), base.get("PYTHONPATH", "")]),
            HF_HUB_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
            OMP_NUM_THREADS="1",
            MISTUDIO_HOME=str(self.home),
            MISTUDIO_DATABASE_URL=f"postgresql://postgres@{api}:5432/postgres",
            MISTUDIO_BROKER_URL=f"redis://{api}:6379/0",
            MISTUDIO_TOKEN=self.token,
            MISTUDIO_HEARTBEAT_SECONDS="1",
            MISTUDIO_STALE_AFTER_SECONDS=str(self.stale_after),
        )
        if machine != "api":
            base["MISTUDIO_WORKER_NAME"] = machine
        return base

    def spawn(self, name: str, machine: str, cmd: list[str], env: dict[str, str]) -> Proc:
        """Start ``cmd`` inside ``machine``'s namespace, in its own process group."""
        log = self.root / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", self.net.ns(machine), *cmd],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, machine, popen, log)
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self.home.mkdir(parents=True)
        self.net.up()
        self._start_postgres()
        api = self.net.addr("api")
        self.spawn(
            "redis",
            "api",
            [
                "redis-server",
                "--port",
                "6379",
                "--bind",
                f"{api} 127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            dict(os.environ),
        )
        self._wait(lambda: self.net.can_connect("api", api, 6379), "redis on the api machine")
        py = [sys.executable, "-m", "mistudio"]
        self.spawn(
            "api",
            "api",
            [*py, "serve", "--no-worker", "--host", api, "--port", "8000"],
            self.env("api"),
        )
        self.client = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        self._wait(self._answers, "the API on the api machine", timeout=180)
        for machine in ("w1", "w2"):
            self.start_worker(machine)

    def start_worker(self, machine: str) -> Proc:
        cmd = [sys.executable, "-m", "mistudio", "worker", "--name", f"{machine}@%h"]
        return self.spawn(f"worker-{machine}", machine, cmd, self.env(machine))

    def _start_postgres(self) -> None:
        data, sock = self.root / "pg", self.root / "pg-socket"
        for folder in (data, sock):
            folder.mkdir()
            shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        init = subprocess.run(
            [
                *as_postgres,
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        if init.returncode != 0:
            raise ClusterError(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
        with (data / "pg_hba.conf").open("a") as hba:  # the machines on the bridge, no password
            hba.write(f"host all all 10.231.{self.net.subnet}.0/24 trust\n")
        api = self.net.addr("api")
        self.spawn(
            "postgres",
            "api",
            [
                *as_postgres,
                _pg_bin("postgres"),
                "-D",
                str(data),
                "-h",
                api,
                "-p",
                "5432",
                "-k",
                str(sock),
                "-F",
                "-c",
                "max_connections=200",
            ],
            dict(os.environ),
        )
        self._wait(lambda: self.net.can_connect("api", api, 5432), "postgres on the api machine")

    def _answers(self) -> bool:
        assert self.client is not None
        try:
            return self.client.get(f"{API}/health").status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, ok: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            dead = [p.name for p in self.procs.values() if p.popen.poll() is not None]
            if dead:
                raise ClusterError(f"{', '.join(dead)} exited while waiting for {what}")
            time.sleep(0.3)
        raise ClusterError(f"{what} did not come up in {timeout:.0f} s")

    # -- take-down ---------------------------------------------------------------------------
    def kill(self, name: str) -> None:
        """SIGKILL one process we started (a worker machine losing power)."""
        popen = self.procs[name].popen
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout=10)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        for name in reversed(list(self.procs)):
            popen = self.procs[name].popen
            if popen.poll() is None:
                # PostgreSQL's SIGTERM waits for its clients; SIGINT is its fast shutdown
                stop = signal.SIGINT if name == "postgres" else signal.SIGTERM
                try:
                    os.killpg(popen.pid, stop)
                    popen.wait(timeout=10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    with suppress(ProcessLookupError):
                        os.killpg(popen.pid, signal.SIGKILL)
                    popen.wait(timeout=10)
        self.net.down()


@contextmanager
def running_cluster(root: Path | None = None, keep_logs: bool = False) -> Iterator[Cluster]:
    """A started :class:`Cluster`, stopped and its folder removed on exit (its logs kept when
    asked or when the body failed). SIGTERM/SIGHUP unwind through here like Ctrl-C."""
    made = root is None
    folder = root or Path(tempfile.mkdtemp(prefix="mistudio-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)  # postgres (another user) must reach its data folder below it
    cluster = Cluster(folder)

    def unwind(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, unwind) for s in (signal.SIGTERM, signal.SIGHUP)}
    failed = True
    try:
        cluster.start()
        yield cluster
        failed = False
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if failed or keep_logs:
            _err(f"cluster logs kept in {folder}")
        elif made:
            shutil.rmtree(folder, ignore_errors=True)


# -- the pipeline, through the API ---------------------------------------------------------------
class Driver:
    """Calls the cluster's API the way the studio's browser does (token, JSON)."""

    def __init__(self, cluster: Cluster) -> None:
        assert cluster.client is not None
        self.c = cluster.client
        self.cluster = cluster

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.c.post(f"{API}{path}", json=body)
        if r.status_code != 202:
            raise ClusterError(f"POST {path}: {r.status_code} {r.text[:300]}")
        return dict(r.json())

    def get(self, path: str, **params: Any) -> Any:
        r = self.c.get(f"{API}{path}", params=params)
        r.raise_for_status()
        return r.json()

    def wait(
        self, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 300
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}")
            if until(job):
                return job
            if job["status"] in ("failed", "cancelled"):
                raise ClusterError(f"job {job_id} ({job['kind']}) {job['status']}: {job['error']}")
            time.sleep(0.25)
        raise ClusterError(f"job {job_id} ({job.get('kind')}) still {job.get('status')}")

    def completed(self, job_id: str, timeout: float = 300) -> dict[str, Any]:
        return self.wait(job_id, lambda j: j["status"] == "completed", timeout)


def training_body(
    model_id: int,
    tok_id: int,
    cache_id: int,
    steps: int,
    name: str,
    checkpoint_every: int | None = None,
) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "tokenization_id": tok_id,
        "activation_cache_id": cache_id,
        "name": name,
        "train": {
            "saes": [
                {
                    "hook_name": HOOK,
                    "sae": {"architecture": "topk", "d_in": 32, "d_sae": 64, "k": 4},
                }
            ],
            "total_tokens": 128 * steps,
            "batch_tokens": 128,
            "log_every": 10,
            "init_batches": 2,
            "checkpoint_every": checkpoint_every,
            "final_eval_tokens": 512,
            "threads": 1,
        },
        "run": {"buffer_tokens": 1024, "eval_sequences": 4, "eval_splice": False},
    }


def build_tiny_model(folder: Path, texts: list[str]) -> None:
    """A 3-layer, 32-wide Llama with random weights and a byte-level BPE tokenizer (512 tokens)
    trained on ``texts``: real code tokens for the rules to label, at unit-test cost."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<bos>", "<eos>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )
    config = LlamaConfig(
        vocab_size=fast.vocab_size if len(fast) <= fast.vocab_size else len(fast),
        num_hidden_layers=3,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    import torch

    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    fast.save_pretrained(folder)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def run_pipeline(cluster: Cluster, say: Callable[[str], None] = _say) -> dict[str, Any]:
    """Drive the pipeline and the fail-over; returns what was observed (the test asserts on
    it, the script prints it). Raises :class:`ClusterError` when a step goes wrong."""
    d = Driver(cluster)
    net = cluster.net
    facts: dict[str, Any] = {"api": net.addr("api"), "timings": {}}
    t0 = time.monotonic()

    def lap(name: str) -> None:
        facts["timings"][name] = round(time.monotonic() - t0, 1)
        say(f"  {facts['timings'][name]:6.1f} s  {name}")

    # the wiring: every worker talks to 10.231.N.1, and cannot reach anyone's loopback
    api = net.addr("api")
    facts["worker_env"] = {}
    for machine in ("w1", "w2"):
        pid = cluster.procs[f"worker-{machine}"].popen.pid
        environ = dict(
            line.split("=", 1)
            for line in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
            if "=" in line
        )
        facts["worker_env"][machine] = {
            "database": environ["MISTUDIO_DATABASE_URL"],
            "broker": environ["MISTUDIO_BROKER_URL"],
            "netns": _run("ip", "netns", "identify", str(pid)).stdout.strip(),
        }
    facts["reach"] = {
        "api loopback redis from api": net.can_connect("api", "127.0.0.1", 6379),
        "api veth redis from w1": net.can_connect("w1", api, 6379),
        "api veth postgres from w2": net.can_connect("w2", api, 5432),
        "loopback redis from w1": net.can_connect("w1", "127.0.0.1", 6379),
        "loopback postgres from w1": net.can_connect("w1", "127.0.0.1", 5432),
        "loopback api from w2": net.can_connect("w2", "127.0.0.1", 8000),
    }
    lap("wiring checked")

    # import the built-in stdlib corpus (truncated) and a tiny model trained on its text
    ds = d.post(
        "/datasets",
        {"source": {"kind": "builtin", "builtin": "python-stdlib", "max_documents": 40}},
    )
    d.completed(ds["job_id"])
    lap("stdlib corpus imported")
    samples = d.get(f"/datasets/{ds['id']}/samples", limit=40)
    model_dir = cluster.home / "imports" / "tiny-llama-stdlib"
    build_tiny_model(model_dir, [s["text"] for s in samples])
    model = d.post("/models", {"source": str(model_dir), "name": "tiny-llama-stdlib"})
    facts["model_job_worker"] = d.completed(model["job_id"])["worker"]
    lap("tiny model built and loaded")

    tok = d.post(
        "/tokenizations",
        {
            "dataset_id": ds["id"],
            "model_id": model["id"],
            "config": {"max_length": 64, "stride": 64},
        },
    )
    d.completed(tok["job_id"])
    cache = d.post(
        "/activations",
        {
            "model_id": model["id"],
            "tokenization_id": tok["id"],
            "stream": {"hook_points": [HOOK], "max_tokens": 6000},
            "shard_tokens": 2048,
        },
    )
    d.completed(cache["job_id"])
    lap("tokenized, activations cached")

    # two runs at once: one on each worker machine
    runs = [
        d.post("/trainings", training_body(model["id"], tok["id"], cache["id"], 1500, f"run-{i}"))
        for i in (1, 2)
    ]
    together = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        jobs = [d.get(f"/jobs/{r['job_id']}") for r in runs]
        if all(j["status"] == "running" for j in jobs):
            together = True
        if all(j["status"] in ("completed", "failed", "cancelled") for j in jobs):
            break
        time.sleep(0.25)
    jobs = [d.completed(r["job_id"], timeout=5) for r in runs]
    facts["two_runs"] = {
        "workers": [j["worker"] for j in jobs],
        "running_together": together,
        "steps": [d.get(f"/trainings/{r['id']}")["step"] for r in runs],
    }
    lap("two trainings done")

    training = d.get(f"/trainings/{runs[0]['id']}")
    sae_id = training["result"]["sae_ids"][0]
    ext = d.post(
        "/extractions",
        {
            "sae_id": sae_id,
            "model_id": model["id"],
            "tokenization_id": tok["id"],
            "config": {
                "n_tokens": 3000,
                "top_k": 5,
                "context_before": 4,
                "context_after": 2,
                "n_samples": 5,
                "n_random_contexts": 10,
                "coactivation_tokens": 512,
            },
        },
    )
    facts["extraction_worker"] = d.completed(ext["job_id"])["worker"]
    labels = d.post("/labeling", {"extraction_id": ext["id"], "config": {"method": "rules"}})
    label_job = d.completed(labels["job_id"])
    facts["labels"] = label_job["result"]["summary"]
    top = d.get("/features", extraction_id=ext["id"], sort="max_activation", order="desc", limit=1)[
        "items"
    ][0]
    steer = d.post(
        "/steering",
        {
            "prompts": ["def main():\n    "],
            "features": [
                {"sae_id": sae_id, "index": top["index"], "mode": "add", "relative": True}
            ],
            "generation": {"max_new_tokens": 6, "temperature": 0.0},
            "strengths": [0.0, 4.0],
        },
    )
    facts["steering"] = d.completed(steer["job_id"])["result"]
    lap("extracted, labelled (rules), steered")

    # fail-over: SIGKILL the machine that trains, mid-run, after a checkpoint
    run = d.post(
        "/trainings",
        training_body(
            model["id"], tok["id"], cache["id"], 2500, "killed-mid-run", checkpoint_every=100
        ),
    )
    first = d.wait(run["job_id"], lambda j: j["status"] == "running" and j["progress"] > 0.12)
    victim = first["worker"].split(":", 1)[0]
    cluster.kill(f"worker-{victim}")
    t_kill = time.monotonic()
    lap(f"worker {victim} killed at {first['progress']:.0%} of its training")
    requeued = d.wait(
        run["job_id"], lambda j: j["status"] != "running" or j["attempts"] > 1, timeout=120
    )
    facts["requeue_seconds"] = round(time.monotonic() - t_kill, 1)
    done = d.completed(run["job_id"], timeout=600)
    events = d.get(f"/jobs/{run['job_id']}/events", limit=5000)
    result = d.get(f"/trainings/{run['id']}")["result"]
    facts["failover"] = {
        "killed": victim,
        "first_worker": first["worker"],
        "status_after_kill": requeued["status"],
        "final_worker": done["worker"],
        "attempts": done["attempts"],
        "resumed_from_step": result["resumed_from_step"],
        "steps": result["steps"],
        "requeue_events": [
            e["data"]["message"]
            for e in events
            if e["type"] == "status" and e["data"].get("automatic")
        ],
        "resumed_events": [e["data"]["message"] for e in events if e["type"] == "resumed"],
        "first_step_after_resume": min(
            (
                e["data"]["step"]
                for e in events
                if e["type"] == "progress"
                and (e["data"].get("step") or 0) > 0
                and e["seq"] > max(x["seq"] for x in events if x["data"].get("attempt") == 2)
            ),
            default=None,
        ),
    }
    lap("the killed training finished on the other worker")
    facts["peers"] = {
        m: sorted(net.peers(m))
        for m in ("w1", "w2")
        if cluster.procs[f"worker-{m}"].popen.poll() is None
    }
    facts["seconds"] = round(time.monotonic() - t0, 1)
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-logs", action="store_true", help="keep the run folder")
    args = parser.parse_args()
    why = missing_tools()
    if why:
        _err(f"cannot run the namespace cluster: {why}")
        return 2
    started = time.monotonic()
    try:
        with running_cluster(keep_logs=args.keep_logs) as cluster:
            _say(f"cluster up in {time.monotonic() - started:.1f} s: api {cluster.api_url}")
            facts = run_pipeline(cluster, _say)
    except ClusterError as exc:
        _err(f"cluster run failed: {exc}")
        return 1
    _say(json.dumps(facts, indent=2, default=str))
    _say(f"total {time.monotonic() - started:.1f} s (namespaces, processes removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
