"""E2E fixtures: the built studio served by ``mistudio serve`` (fresh ``MISTUDIO_HOME``, free port,
embedded worker) and one headless Chromium page that walks the researcher's path.

Chromium is Debian's (``apt-get install chromium``), driven by the ``playwright`` pip package;
Playwright's own browser download is never used. Without the browser, the package or the built UI
(``make ui``), the suite is skipped with the reason.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not STATIC.exists():
        _unavailable("the web studio is not built (run `make ui`)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is missing (pip install playwright)")
    home = tmp_path_factory.mktemp("e2e-home")
    port = free_port()
    env = {
        **os.environ,
        "MISTUDIO_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MISTUDIO_MONITOR_INTERVAL_SECONDS": "1",
    }
    env.pop("MISTUDIO_TOKEN", None)
    url = f"http://127.0.0.1:{port}"
    log_path = home / "serve.log"
    argv = [mistudio_exe(), "serve", "--port", str(port), "--log-level", "warning"]
    try:
        with running_server(argv, env, log_path, f"{url}/api/v1/health", timeout=120):
            yield url
    finally:
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        print(f"\n--- mistudio serve log (tail) ---\n{tail}")


@pytest.fixture(scope="session")
def page(studio: str, playwright_driver: Any) -> Iterator[object]:
    SCREENSHOTS.mkdir(exist_ok=True)
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(studio)
    yield pg
    context.close()
    browser.close()
    assert not errors, f"uncaught errors in the page: {errors}"
