"""SAEs from the Hub through the API and a real worker (issue 16 points 2-5).

A studio whose API (this process) and worker (a subprocess) both talk to the fake Hub of
``tests/fake_hub.py``: add an SAE from a repo of several (one folder downloads), by SAELens
release name, from a gated repo with a token and from a local folder; browse and search; link,
unlink and relink a model; export the zip and read it back. Every bad input is one 4xx line with
no row written, or (what only the files can tell) a failed job and a failed row, never a ready
row without its files; a download killed halfway is reaped and its retry completes.
"""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from mistudio.core.formats import read_sae
from mistudio.core.sae import load_sae
from tests.fake_hub import FakeHub, redirect_clients
from tests.sae_repos import (
    bad_shape_folder,
    fixture,
    saelens_folder,
    unknown_format_folder,
)
from tests.security.worker_studio import worker_studio
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API

pytestmark = pytest.mark.service

WIDTH = 32  # the tiny llama's hidden size
MODEL_NAME = "tiny-llama"
SAES = "org/tiny-saes"


def _tiny_saes(root: Path) -> Path:
    for layer in (1, 2):
        hook = f"blocks.{layer}.hook_resid_post"
        saelens_folder(root / hook, WIDTH, 64, hook, f"someone/{MODEL_NAME}", seed=layer)
    shutil.copytree(fixture("saelens/standard"), root / "narrow")  # d_in 16, no hook or model
    return root


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    root = tmp_path_factory.mktemp("sae-repos")
    with FakeHub() as hub:
        hub.add_repo(SAES, _tiny_saes(root / "saes"), library="saelens", downloads=7)
        hub.add_repo("org/gated-saes", _tiny_saes(root / "gated"), gated=True)
        hub.add_repo("org/junk", unknown_format_folder(root / "junk"))
        hub.add_repo("org/bad-shape", bad_shape_folder(root / "bad"))
        big = root / "big" / "blocks.1.hook_resid_post"
        saelens_folder(big, WIDTH, 16384, "blocks.1.hook_resid_post", MODEL_NAME)  # 4 MB
        hub.add_repo("org/big-sae", big.parent)
        release = root / "gpt2" / "blocks.6.hook_resid_pre"
        shutil.copytree(fixture("saelens/standard"), release)
        hub.add_repo("jbloom/GPT2-Small-SAEs-Reformatted", release.parent, library="saelens")
        yield hub


@pytest.fixture(scope="module")
def sae_studio(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub) -> Iterator[Studio]:
    root = tmp_path_factory.mktemp("sae-studio")
    hf = root / "hf-worker"
    worker_env: dict[str, str | None] = {
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(hf),
        "HF_HUB_CACHE": str(hf / "hub"),
        "HF_TOKEN_PATH": str(hf / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": None,
        "HF_TOKEN": None,
        "HUGGING_FACE_HUB_TOKEN": None,
    }
    with (
        worker_studio(root, {}, worker_only=worker_env) as studio,
        pytest.MonkeyPatch.context() as mp,
    ):
        redirect_clients(mp, hub.endpoint, root / "hf-api")  # the API side, in this process
        c = studio.client
        r = c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir), "name": MODEL_NAME})
        assert r.status_code == 202, r.text
        studio.completed(r.json()["job_id"])
        studio.cache["model_id"] = r.json()["id"]
        yield studio


def _count(studio: Studio) -> int:
    return int(studio.client.get(f"{API}/saes").json()["total"])


def _add(studio: Studio, **body: Any) -> dict[str, Any]:
    r = studio.client.post(f"{API}/saes", json=body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["origin"] == "imported"
    return r.json()


def _resolved(hub: FakeHub, start: int) -> set[str]:
    out = set()
    for _, path, status, _ in hub.requests[start:]:
        if "/resolve/" in path and status < 400:
            out.add(path.split("/resolve/", 1)[1].split("/", 1)[1])
    return out


def test_add_one_sae_of_a_repo_links_its_model(sae_studio: Studio, hub: FakeHub) -> None:
    c = sae_studio.client
    start = len(hub.requests)
    sae = _add(sae_studio, source=SAES, allow_patterns=["blocks.2.hook_resid_post/*"])
    job = sae_studio.completed(sae["job_id"])
    assert all(p.startswith("blocks.2.hook_resid_post/") for p in _resolved(hub, start))
    row = c.get(f"{API}/saes/{sae['id']}").json()
    assert row["status"] == "ready" and row["name"] == f"{SAES}/blocks.2.hook_resid_post"
    assert (row["hook_name"], row["d_in"], row["d_sae"], row["architecture"]) == (
        "blocks.2.hook_resid_post",
        WIDTH,
        64,
        "topk",
    )
    assert row["model_id"] == sae_studio.cache["model_id"]  # matched by its config's model name
    lineage = row["lineage"]
    sha = hub.repos[("model", SAES)].sha
    assert (lineage["origin"], lineage["format"], lineage["repo"], lineage["revision"]) == (
        "hub",
        "saelens",
        SAES,
        sha,
    )
    assert lineage["path"] == "blocks.2.hook_resid_post"
    assert lineage["model_link"].startswith("matched by name")
    assert set(lineage["files"]) == {"cfg.json", "sae_weights.safetensors"}
    served = hub.repos[("model", SAES)].files
    assert lineage["files"]["sae_weights.safetensors"] == (
        served["blocks.2.hook_resid_post/sae_weights.safetensors"].sha256
    )
    events = c.get(f"{API}/jobs/{job['id']}/events").json()
    assert any(e["data"].get("message") == "downloading" for e in events)
    # Its folder is a SAELens folder that reads back to the SAE served.
    x = torch.randn(16, WIDTH)
    ours = load_sae(row["path"])
    original = read_sae(hub_folder(hub, SAES, "blocks.2.hook_resid_post")).sae
    assert torch.allclose(ours(x).x_hat, original(x).x_hat, atol=1e-6)
    sae_studio.cache["sae_id"] = sae["id"]


def hub_folder(hub: FakeHub, repo: str, folder: str, into: Path | None = None) -> Path:
    """A served folder written back to disk (to read it independently of the studio)."""
    import tempfile

    out = into or Path(tempfile.mkdtemp()) / folder
    out.mkdir(parents=True, exist_ok=True)
    for path, entry in hub.repos[("model", repo)].files.items():
        if path.startswith(folder + "/"):
            (out / path[len(folder) + 1 :]).write_bytes(entry.data)
    return out


def test_browse_and_search(sae_studio: Studio) -> None:
    c = sae_studio.client
    r = c.post(f"{API}/saes/hub/browse", json={"source": SAES})
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["total"] == 3 and not found["gated"]
    by_path = {e["path"]: e for e in found["entries"]}
    assert set(by_path) == {"blocks.1.hook_resid_post", "blocks.2.hook_resid_post", "narrow"}
    one = by_path["blocks.1.hook_resid_post"]
    assert (one["format"], one["hook_name"], one["d_in"], one["d_sae"], one["k"]) == (
        "saelens",
        "blocks.1.hook_resid_post",
        WIDTH,
        64,
        4,
    )
    assert one["size_bytes"] > 2 * WIDTH * 64 * 4 and one["config_read"]
    r = c.get(f"{API}/saes/hub/search", params={"q": "tiny"})
    assert r.status_code == 200, r.text
    assert [x["repo_id"] for x in r.json()["repos"]] == [SAES]  # the gated one is not tagged
    r = c.get(f"{API}/saes/hub/search", params={"q": "gpt2-small-res-jb"})
    names = [x["name"] for x in r.json()["releases"]]
    assert "gpt2-small-res-jb" in names and "registry shipped" in r.json()["registry"]
    r = c.post(f"{API}/saes/hub/browse", json={"source": "gpt2-small-res-jb", "limit": 5})
    assert r.json()["release"] == "gpt2-small-res-jb" and r.json()["total"] == 13


def test_a_release_name_imports(sae_studio: Studio) -> None:
    sae = _add(sae_studio, source="gpt2-small-res-jb/blocks.6.hook_resid_pre")
    sae_studio.completed(sae["job_id"])
    row = sae_studio.client.get(f"{API}/saes/{sae['id']}").json()
    assert row["name"] == "gpt2-small-res-jb/blocks.6.hook_resid_pre"
    assert row["lineage"]["release"] == "gpt2-small-res-jb/blocks.6.hook_resid_pre"
    assert row["lineage"]["origin"] == "release" and row["metrics"]["l0"] == 51.0
    assert row["model_id"] is None and "gpt2-small" in row["lineage"]["model_link"]


def test_gated_repo_with_and_without_a_token(sae_studio: Studio, hub: FakeHub) -> None:
    c = sae_studio.client
    before = _count(sae_studio)
    body = {"source": "org/gated-saes/blocks.1.hook_resid_post"}
    r = c.post(f"{API}/saes", json=body)
    assert r.status_code == 422 and "gated" in r.json()["detail"], r.text
    r = c.post(f"{API}/saes", json={**body, "token": hub.no_access_token})
    assert r.status_code == 422 and "has no access" in r.json()["detail"], r.text
    assert _count(sae_studio) == before
    token = hub.valid_token
    r = c.post(f"{API}/saes", json={**body, "token": token})
    assert r.status_code == 202, r.text
    job = sae_studio.completed(r.json()["job_id"])
    row = c.get(f"{API}/saes/{r.json()['id']}")
    assert row.json()["status"] == "ready"
    for text in (r.text, row.text, c.get(f"{API}/jobs/{job['id']}").text):
        assert token not in text


def test_a_local_folder_imports_and_paths_outside_the_roots_do_not(
    sae_studio: Studio, tmp_path: Path
) -> None:
    c = sae_studio.client
    folder = shutil.copytree(fixture("sparsify/topk"), sae_studio.data_dir / "sparsify-run")
    sae = _add(sae_studio, source=str(folder / "layers.3"), name="local sparsify")
    sae_studio.completed(sae["job_id"])
    row = c.get(f"{API}/saes/{sae['id']}").json()
    assert (row["lineage"]["origin"], row["lineage"]["format"], row["d_sae"]) == (
        "local",
        "sparsify",
        40,
    )
    assert Path(row["path"]).parent.name == "saes"  # converted into the studio's own folder
    before = _count(sae_studio)
    r = c.post(f"{API}/saes", json={"source": "/etc"})
    assert r.status_code == 403 and "outside the folders" in r.json()["detail"], r.text
    # A folder inside the roots whose weights are a link to a file outside them.
    outside = tmp_path / "elsewhere.safetensors"
    shutil.copyfile(fixture("saelens/standard") / "sae_weights.safetensors", outside)
    linked = sae_studio.data_dir / "linked-sae"
    linked.mkdir()
    shutil.copyfile(fixture("saelens/standard") / "cfg.json", linked / "cfg.json")
    (linked / "sae_weights.safetensors").symlink_to(outside)
    r = c.post(f"{API}/saes", json={"source": str(linked)})
    assert r.status_code == 403 and "outside the folders" in r.json()["detail"], r.text
    assert _count(sae_studio) == before


def test_bad_inputs_are_one_line_and_write_no_row(sae_studio: Studio) -> None:
    c = sae_studio.client
    model_id = sae_studio.cache["model_id"]
    before = _count(sae_studio)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"source": "org/does-not-exist"}, 404, "not found"),
        ({"source": SAES, "allow_patterns": ["layer_99/*"]}, 422, "match no file"),
        ({"source": SAES, "revision": "v2"}, 404, "revision 'v2' not found"),
        ({"source": SAES}, 422, "3 SAEs in subfolders"),
        ({"source": "org/junk"}, 422, "no known SAE format in org/junk"),
        ({"source": f"{SAES}/narrow", "model_id": model_id}, 422, "d_in 16"),
        ({"source": "gpt2-small-res-jb/blocks.99"}, 404, "has no SAE"),
        ({"source": "no-such-thing"}, 422, "not a Hub path"),
    ]
    for body, status, text in cases:
        r = c.post(f"{API}/saes", json=body)
        detail = r.json().get("detail", "")
        assert r.status_code == status and text in detail and "\n" not in detail, (body, r.text)
    assert _count(sae_studio) == before


def test_a_folder_that_fails_to_read_fails_its_job_not_a_half_row(sae_studio: Studio) -> None:
    c = sae_studio.client
    sae = _add(sae_studio, source="org/bad-shape")
    job = sae_studio.wait_job(sae["job_id"])
    assert job["status"] == "failed"
    assert "tensor 'W_enc' has shape (16, 32), expected (8, 32)" in job["error"], job["error"]
    row = c.get(f"{API}/saes/{sae['id']}").json()
    assert row["status"] == "failed" and row["path"] is None and "W_enc" in row["error"]
    assert not (sae_studio.home / "artifacts" / "saes" / str(sae["id"])).exists()
    assert c.delete(f"{API}/saes/{sae['id']}").status_code == 204


def test_link_unlink_and_relink(sae_studio: Studio) -> None:
    c = sae_studio.client
    sae_id, model_id = sae_studio.cache["sae_id"], sae_studio.cache["model_id"]
    url = f"{API}/saes/{sae_id}"
    r = c.patch(url, json={"model_id": None})
    assert r.status_code == 200 and r.json()["model_id"] is None, r.text
    r = c.patch(url, json={"model_id": model_id, "hook_name": "model.layers.1"})
    assert r.status_code == 200, r.text
    assert (r.json()["model_id"], r.json()["hook_name"]) == (model_id, "blocks.1.hook_resid_post")
    r = c.patch(url, json={"hook_name": "blocks.1.attn.hook_z"})
    assert r.status_code == 422 and "not supported" in r.json()["detail"], r.text
    r = c.patch(url, json={"hook_name": "blocks.9.hook_resid_post"})
    assert r.status_code == 422 and "does not have" in r.json()["detail"], r.text
    r = c.patch(url, json={"hook_name": "blocks.2.hook_resid_post", "name": "relinked"})
    assert r.status_code == 200 and r.json()["name"] == "relinked"
    assert c.patch(f"{API}/saes/999999", json={"model_id": None}).status_code == 404
    # An SAE of another width cannot be linked.
    narrow = _add(sae_studio, source=f"{SAES}/narrow")
    sae_studio.completed(narrow["job_id"])
    r = c.patch(f"{API}/saes/{narrow['id']}", json={"model_id": model_id})
    assert r.status_code == 422 and "d_in 16" in r.json()["detail"], r.text
    r = c.patch(
        f"{API}/saes/{narrow['id']}",
        json={"model_id": model_id, "hook_name": "blocks.1.hook_resid_post"},
    )
    assert r.status_code == 422 and "width 32" in r.json()["detail"], r.text


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        archive.extractall(into)
    (folder,) = list(into.iterdir())
    return folder


def test_export_zip_reads_back_the_same_sae(sae_studio: Studio, tmp_path: Path) -> None:
    c = sae_studio.client
    sae_id = sae_studio.cache["sae_id"]
    r = c.get(f"{API}/saes/{sae_id}/export.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert 'filename="relinked.zip"' in r.headers["content-disposition"]
    folder = _unzip(r.content, tmp_path / "a")
    assert sorted(p.name for p in folder.iterdir()) == ["cfg.json", "sae_weights.safetensors"]
    row = c.get(f"{API}/saes/{sae_id}").json()
    x = torch.randn(32, WIDTH)
    assert torch.equal(load_sae(folder)(x).x_hat, load_sae(row["path"])(x).x_hat)
    cfg = read_sae(folder).metadata
    assert (cfg["hook_name"], cfg["hf_hook_name"]) == ("blocks.2.hook_resid_post", "model.layers.2")
    # A folder of another SAELens version, registered in place, exports converted.
    src = shutil.copytree(fixture("saelens/pre6_topk"), sae_studio.data_dir / "pre6")
    r = c.post(f"{API}/saes/import", json={"path": str(src)})
    assert r.status_code == 201, r.text
    out = _unzip(c.get(f"{API}/saes/{r.json()['id']}/export.zip").content, tmp_path / "b")
    from tests.sae_repos import reference

    ref = reference("saelens/pre6_topk")
    assert torch.allclose(load_sae(out)(ref["x"]).x_hat, ref["forward"], atol=1e-5)
    assert c.get(f"{API}/saes/999999/export.zip").status_code == 404


def test_a_download_killed_halfway_leaves_no_half_row_and_retries(
    sae_studio: Studio, hub: FakeHub
) -> None:
    c = sae_studio.client
    hub.bytes_per_second = 400_000  # the 4 MB SAE takes about ten seconds
    try:
        sae = _add(sae_studio, source="org/big-sae/blocks.1.hook_resid_post")
        # Halfway: the weights are on the wire into the studio's Hub cache (huggingface_hub
        # writes an ".incomplete" blob, flushed every 10 MB, so still empty here).
        blobs = sae_studio.home / "cache" / "hub" / "models--org--big-sae" / "blobs"
        deadline = time.monotonic() + 60
        while not (blobs.is_dir() and any(blobs.glob("*.incomplete"))):
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.1)
        time.sleep(2)  # of about ten seconds
        assert c.get(f"{API}/jobs/{sae['job_id']}").json()["status"] == "running"
        sae_studio.worker.kill()
        job = sae_studio.wait_job(sae["job_id"], statuses=("failed",), timeout=30)
        assert "worker lost" in job["error"]
        row = c.get(f"{API}/saes/{sae['id']}").json()
        assert row["status"] == "failed" and row["path"] is None
        saes = sae_studio.home / "artifacts" / "saes"
        assert not (saes / str(sae["id"])).exists()
        assert not (saes / f"{sae['id']}.partial").exists()
    finally:
        hub.bytes_per_second = None
        sae_studio.worker.start()
    r = c.post(f"{API}/jobs/{sae['job_id']}/retry")
    assert r.status_code == 200, r.text
    t0 = time.monotonic()
    job = sae_studio.completed(sae["job_id"], timeout=120)
    assert job["attempts"] == 2, job
    row = c.get(f"{API}/saes/{sae['id']}").json()
    assert row["status"] == "ready" and row["d_sae"] == 16384, time.monotonic() - t0
    served = hub.repos[("model", "org/big-sae")].files
    assert row["lineage"]["files"]["sae_weights.safetensors"] == (
        served["blocks.1.hook_resid_post/sae_weights.safetensors"].sha256
    )


def test_a_sparsify_skip_sae_imports_and_its_saelens_export_is_refused(
    sae_studio: Studio,
) -> None:
    """sparsify's TopK with a skip connection has no SAELens architecture: it imports (stored
    under our own name, the same outputs), and the SAELens export says why in one line."""
    c = sae_studio.client
    folder = shutil.copytree(fixture("sparsify/skip"), sae_studio.data_dir / "sparsify-skip")
    sae = _add(sae_studio, source=str(folder / "layers.3"), name="sparsify skip")
    sae_studio.completed(sae["job_id"])
    row = c.get(f"{API}/saes/{sae['id']}").json()
    assert (row["status"], row["lineage"]["format"]) == ("ready", "sparsify")
    from tests.sae_repos import reference

    ref = reference("sparsify/skip")
    assert torch.allclose(load_sae(row["path"])(ref["x"]).x_hat, ref["forward"], atol=1e-5)
    r = c.get(f"{API}/saes/{sae['id']}/export.zip")
    assert r.status_code == 422 and "no SAELens counterpart" in r.json()["detail"], r.text


def test_every_format_imports_through_the_api_and_exports_the_same(
    sae_studio: Studio, tmp_path: Path
) -> None:
    """One SAE of each format (FORMATS §1, §2) from a folder under the import roots: a ready
    row with its format in the lineage, and an export zip with the same outputs."""
    from tests.unit.test_saes_cli import FORMAT_CASES, _hand_built

    c = sae_studio.client
    for i, (fmt, case) in enumerate(FORMAT_CASES):
        built = fixture(case) if case else _hand_built(fmt, tmp_path / f"src{i}")
        source = shutil.copytree(built, sae_studio.data_dir / f"format-{i}" / built.name)
        sae = _add(sae_studio, source=str(source), name=f"format {i}")
        sae_studio.completed(sae["job_id"])
        row = c.get(f"{API}/saes/{sae['id']}").json()
        assert (row["status"], row["lineage"]["format"]) == ("ready", fmt), row
        r = c.get(f"{API}/saes/{sae['id']}/export.zip")
        assert r.status_code == 200, r.text
        back = load_sae(_unzip(r.content, tmp_path / f"out{i}"))
        expected = read_sae(source).sae
        x = torch.randn(16, expected.d_in)
        with torch.no_grad():
            assert torch.allclose(back(x).x_hat, expected(x).x_hat, atol=1e-5), fmt
