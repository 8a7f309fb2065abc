"""The studio on three machines built from network namespaces (``scripts/netns_cluster.py``):
the pipeline through the API with PostgreSQL, Redis and the API on one machine and a worker on
each of two others, then a worker SIGKILLed mid-training and the job resumed on the other.

Needs root (``ip netns``), iproute2, PostgreSQL's server binaries and ``redis-server``; skipped
otherwise. Marked ``cluster`` and run only with ``MISTUDIO_TEST_CLUSTER=1`` (``make
test-cluster``): 2-3 minutes on the shared 2-core machine, too long for ``make test``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.cluster
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "netns_cluster.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("netns_cluster", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["netns_cluster"] = module
    spec.loader.exec_module(module)
    return module


def test_pipeline_on_three_machines_survives_a_worker_kill() -> None:
    if os.environ.get("MISTUDIO_TEST_CLUSTER") != "1":
        pytest.skip("the namespace cluster runs with MISTUDIO_TEST_CLUSTER=1 (make test-cluster)")
    nc = _script()
    why = nc.missing_tools()
    if why:
        pytest.skip(f"namespace cluster: {why}")
    # its own folder under /tmp (not tmp_path: PostgreSQL runs as another user, and pytest's
    # folders are root's alone); removed on success, kept with the logs on failure
    with nc.running_cluster() as cluster:
        namespaces = [cluster.net.ns(m) for m in nc.MACHINES]
        facts = nc.run_pipeline(cluster)
    print("\n" + "\n".join(f"{k}: {v}" for k, v in facts.items()))
    api = facts["api"]
    assert api.startswith("10.231.")

    # the workers are wired to the api machine's veth address, from their own namespaces
    for machine, env in facts["worker_env"].items():
        assert env["database"] == f"postgresql://postgres@{api}:5432/postgres"
        assert env["broker"] == f"redis://{api}:6379/0"
        assert env["netns"].endswith(f"-{machine}")
    assert facts["reach"] == {
        "api loopback redis from api": True,
        "api veth redis from w1": True,
        "api veth postgres from w2": True,
        "loopback redis from w1": False,
        "loopback postgres from w1": False,
        "loopback api from w2": False,
    }
    for machine, peers in facts["peers"].items():
        assert peers == [api], (machine, peers)

    # two runs at once, one per machine
    two = facts["two_runs"]
    assert two["running_together"] and two["steps"] == [1500, 1500]
    assert sorted(w.split(":")[0] for w in two["workers"]) == ["w1", "w2"]
    assert facts["labels"]["labelled"] > 0
    assert facts["steering"]["n_strengths"] == 2

    # the killed training: queued again by itself, finished on the other machine from its
    # checkpoint, no step before the checkpoint trained again
    f = facts["failover"]
    other = {"w1": "w2", "w2": "w1"}[f["killed"]]
    assert f["first_worker"].startswith(f"{f['killed']}:")
    assert f["final_worker"].startswith(f"{other}:") and f["attempts"] == 2
    assert f["steps"] == 2500 and f["resumed_from_step"] >= 100
    assert len(f["requeue_events"]) == 1
    assert f["requeue_events"][0].startswith(f"worker {f['killed']} lost at step ")
    (resumed,) = f["resumed_events"]
    assert resumed.startswith(f"worker {f['killed']} lost at step ")
    assert resumed.endswith(f"; resumed on {other} from step {f['resumed_from_step']}")
    assert f["first_step_after_resume"] > f["resumed_from_step"]

    # nothing left behind: namespaces gone, no process of ours still running
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [ns for ns in namespaces if ns in listed]
    assert all(p.popen.poll() is not None for p in cluster.procs.values())
