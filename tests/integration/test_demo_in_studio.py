"""``mistudio demo --quick`` on the real SmolLM2, then the studio's API opens what it made.

The demo (the first run, issue 22) registers its model, corpus, tokenization, training (with
curves and checkpoints), its layer-6 top-k SAE and its labelled extraction in the studio database
of the same ``MISTUDIO_HOME``; a second run updates those rows instead of adding more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mistudio.cli import _register, app
from mistudio.core.language_models import LoadedModel

pytestmark = [pytest.mark.smollm, pytest.mark.slow]  # two real demos: over a minute
SERVICE_KEYS = (
    "MISTUDIO_DATABASE_URL",
    "MISTUDIO_BROKER_URL",
    "MISTUDIO_BROKER_KEY_PREFIX",
    "MISTUDIO_TOKEN",
)


@pytest.fixture(scope="module")
def demo_home(
    smollm2: LoadedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, list[str]]]:
    """A fresh MISTUDIO_HOME sharing the dequantized model cache, after two quick demos."""
    from mistudio.settings import get_settings
    from mistudio.store import dispose_all

    # Where the session's smollm2 fixture put its dequantized weights: <home>/cache/models/<name>.
    cache = Path(smollm2.local_path).parents[1]
    assert cache.name == "cache", cache
    home = tmp_path_factory.mktemp("demo-home")
    (home / "cache").symlink_to(cache, target_is_directory=True)
    outputs = []
    _register()  # the CLI's commands, as `mistudio` adds them
    # Only this home's SQLite database and broker, even where a session-scoped studio of the
    # service tests has pointed the environment at PostgreSQL and Redis.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MISTUDIO_HOME", str(home))
        for key in SERVICE_KEYS:
            env.delenv(key, raising=False)
        get_settings.cache_clear()
        dispose_all()
        try:
            for _ in range(2):
                result = CliRunner().invoke(app, ["demo", "--quick"], catch_exceptions=False)
                assert result.exit_code == 0, result.output
                outputs.append(result.output)
            yield home, outputs
        finally:
            dispose_all()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def api(demo_home: tuple[Path, list[str]]) -> Iterator[Any]:
    from mistudio.api.app import create_app
    from tests.studio_client import StudioClient

    with StudioClient(create_app()) as client:
        yield client


def get(api: Any, path: str, **params: Any) -> Any:
    response = api.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_demo_says_where_it_registered(demo_home):
    _, outputs = demo_home
    for output in outputs:
        assert "registered in the studio database" in output
        assert "mistudio serve" in output
        assert "seconds per stage (share of the run):" in output
        assert "labels recorded in the studio database" in output


def test_studio_lists_the_demo_model_data_and_training(api):
    models = [m for m in get(api, "/models")["items"] if m["source"] == "smollm2-135m"]
    assert len(models) == 1  # the built-in row, filled; not a second one
    (model,) = models
    assert model["status"] == "ready"
    detail = get(api, f"/models/{model['id']}")
    assert detail["architecture"]["n_layers"] == 30
    assert detail["hook_dims"]["blocks.6.hook_resid_post"] == 576

    datasets = {d["name"]: d for d in get(api, "/datasets")["items"]}
    stdlib = datasets["python-stdlib"]
    assert stdlib["status"] == "ready" and stdlib["n_documents"] > 0
    toks = get(api, "/tokenizations")["items"]
    assert len(toks) == 1 and all(t["status"] == "ready" and t["n_tokens"] > 0 for t in toks)

    (training,) = get(api, "/trainings")["items"]
    assert training["status"] == "ready" and training["model_id"] == model["id"]
    assert training["step"] == training["total_steps"] > 0
    l0 = get(api, f"/trainings/{training['id']}/metrics", sae="layer6-topk", name="l0")
    assert l0 and all(p["value"] == pytest.approx(32) for p in l0)  # topk k=32
    assert get(api, f"/trainings/{training['id']}/checkpoints")


def test_studio_opens_the_demo_saes_and_features(api):
    saes = get(api, "/saes")["items"]
    assert len(saes) == 1, [s["name"] for s in saes]  # two demo runs, one set of rows
    names = sorted(s["name"].split("/")[-1] for s in saes)
    assert names == ["layer6-topk"]
    assert all(s["status"] == "ready" and s["origin"] == "trained" for s in saes)
    topk6 = next(s for s in saes if s["name"].endswith("layer6-topk"))
    assert topk6["metrics"]["final"]["l0"] == pytest.approx(32)

    extractions = get(api, "/extractions")["items"]
    assert len(extractions) == 1 and all(e["status"] == "ready" for e in extractions)
    ex = next(e for e in extractions if e["sae_id"] == topk6["id"])
    page = get(api, "/features", extraction_id=ex["id"], limit=5, sort="frequency", order="desc")
    assert page["total"] == topk6["d_sae"] == ex["n_features"] == 256
    top = page["items"][0]
    assert top["frequency"] > 0 and top["top_tokens"]
    assert top["label"], "the demo labels its most frequent latents (rules, then patterns)"
    # Searchable by a top token, and the detail reads the demo's extraction folder.
    word = top["top_tokens"].split()[0]
    hits = get(api, "/features", extraction_id=ex["id"], q=word, limit=50)["items"]
    assert top["index"] in [h["index"] for h in hits]
    detail = get(api, f"/features/{top['id']}/detail")
    assert detail["examples"] and detail["stats"]["max_act"] == pytest.approx(
        top["max_activation"], rel=1e-5
    )
