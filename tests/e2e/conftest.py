"""E2E fixtures: the built studio served by ``mistudio serve`` (fresh ``MISTUDIO_HOME``, free port,
embedded worker) and one headless Chromium page that walks the researcher's path.

The studio's Hub is the fake one of ``tests/fake_hub.py`` (``HF_ENDPOINT``), serving a repo of
SAEs for the built-in SmolLM2 (tagged ``saelens``), so the walkthrough adds an SAE "from the Hub"
with no network. It also serves two tiny GPT-2 model repos (one gated) and two tiny dataset repos
under their own names (``e2e-models/``, ``e2e-data/``) for the Hub suggestions and the memory
estimate of ``test_walkthrough_with_hub_and_estimates.py``; none is downloaded, and no other module
searches for them (the SAE search asks for ``saelens`` repos).

Chromium is Debian's (``apt-get install chromium``), driven by the ``playwright`` pip package;
Playwright's own browser download is never used. Without the browser, the package or the built UI
(``make ui``), the suite is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port, mistudio_exe, running_server

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "mistudio" / "api" / "static" / "index.html"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = (
    os.environ.get("MISTUDIO_E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    """Skip, unless ``make test`` said the walkthrough is required (then a missing piece fails)."""
    if os.environ.get("MISTUDIO_E2E_REQUIRED"):
        pytest.fail(f"e2e walkthrough required but {reason}")
    pytest.skip(reason)


FAKE_NVIDIA_SMI = ROOT / "tests" / "fixtures" / "fake_nvidia_smi"
FAKE_GPUS_FILE = "fake-gpus"
"""In the studio's home: the number of fake GPUs its ``nvidia-smi`` reports (no file: none)."""

HUB_SAE_REPO = "e2e-lab/smollm2-135m-saes"
"""The fake Hub's SAE repo: SAELens folders for SmolLM2-135M (d_model 576)."""
HUB_MODELS = {"e2e-models/tiny-gpt2": 4200, "e2e-models/tiny-gpt2-gated": 37}
"""Model repos (id: downloads) of one 2-layer GPT-2; the second is gated."""
HUB_DATASETS = {"e2e-data/tiny-docs": 770, "e2e-data/tiny-docs-configs": 5}
"""Dataset repos (id: downloads): parquet splits, and two jsonl configs."""


@pytest.fixture(scope="session")
def e2e_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.fake_hub import (
        FakeHub,
        build_config_dataset,
        build_parquet_dataset,
        build_tiny_gpt2,
    )
    from tests.sae_repos import saelens_folder

    root = tmp_path_factory.mktemp("e2e-hub") / "repo"
    model = "HuggingFaceTB/SmolLM2-135M-Instruct"
    saelens_folder(root / "blocks.6.hook_resid_post", 576, 512, "blocks.6.hook_resid_post", model)
    saelens_folder(root / "blocks.3.hook_resid_post", 576, 1024, "blocks.3.hook_resid_post", model)
    long = (
        "resid_post_sweep/blocks.9.hook_resid_post_trained_on_python_stdlib_for_200k_tokens_l0_32"
    )
    saelens_folder(root / long, 576, 2048, "blocks.9.hook_resid_post", model, seed=3)
    with FakeHub() as hub:
        hub.add_repo(HUB_SAE_REPO, root, library="saelens", downloads=1234)
        tiny = build_tiny_gpt2(root.parent / "tiny-gpt2")
        for (repo_id, downloads), gated in zip(HUB_MODELS.items(), (False, True), strict=True):
            hub.add_repo(repo_id, tiny, gated=gated, downloads=downloads)
        data = [
            build_parquet_dataset(root.parent / "docs"),
            build_config_dataset(root.parent / "cf"),
        ]
        for (repo_id, downloads), folder in zip(HUB_DATASETS.items(), data, strict=True):
            hub.add_repo(repo_id, folder, "dataset", downloads=downloads)
        yield hub


def require_browser() -> None:
    """The built UI, Debian's Chromium and playwright, or skip (a failure under make test)."""
    if not STATIC.exists():
        _unavailable("the web studio is not built (run `make ui`)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is missing (pip install playwright)")


@contextlib.contextmanager
def serve_studio(home: Path, env: dict[str, str], what: str) -> Iterator[str]:
    """``mistudio serve`` on a free port with ``env``, until the block ends; its URL. The tail of
    its log is printed afterwards (shown when a test failed)."""
    for key in ("MISTUDIO_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE"):
        env.pop(key, None)
    url = f"http://127.0.0.1:{free_port()}"
    port = url.rsplit(":", 1)[1]
    log_path = home / "serve.log"
    argv = [mistudio_exe(), "serve", "--port", port, "--log-level", "warning"]
    try:
        with running_server(argv, env, log_path, f"{url}/api/v1/health", timeout=120):
            yield url
    finally:
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        print(f"\n--- {what} log (tail) ---\n{tail}")


@contextlib.contextmanager
def browser_page(playwright_driver: Any, url: str) -> Iterator[Any]:
    """One headless Chromium page at ``url`` (1440x960, 30 s timeouts); an uncaught error in
    the page fails the test that closes it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(url)
    yield pg
    context.close()
    browser.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory, e2e_hub: Any) -> Iterator[str]:
    require_browser()
    home = tmp_path_factory.mktemp("e2e-home")
    env = {
        **os.environ,
        "MISTUDIO_HOME": str(home),
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": e2e_hub.endpoint,
        "HF_HOME": str(home / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MISTUDIO_MONITOR_INTERVAL_SECONDS": "1",
        # Fake GPUs (mistudio/gpu_sources.py): none until a module writes a count into
        # FAKE_GPUS_FILE (test_walkthrough_system_and_extraction.py, which removes it again).
        "PATH": f"{FAKE_NVIDIA_SMI}{os.pathsep}{os.environ.get('PATH', '')}",
        "MISTUDIO_GPU_SOURCE": "nvidia-smi",
        "FAKE_NVIDIA_SMI_GPUS_FILE": str(home / FAKE_GPUS_FILE),
    }
    with serve_studio(home, env, "mistudio serve") as url:
        yield url


@pytest.fixture(scope="session")
def page(studio: str, playwright_driver: Any) -> Iterator[object]:
    with browser_page(playwright_driver, studio) as pg:
        yield pg
