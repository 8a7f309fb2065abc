"""Hub search for the model and dataset id fields (core/hub_search.py), against the fake Hub's
``GET /api/models`` / ``GET /api/datasets`` (what huggingface_hub's list_models/list_datasets
request), a closed port and offline mode."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mistudio.core.hub_search import search_hub
from mistudio.errors import HubUnreachableError, InvalidInputError

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

pytest_plugins = ["tests.fake_hub"]


def _logged(hub: FakeHub, fragment: str) -> list[tuple[str, str, int, str | None]]:
    """The fake Hub's log of requests to ``fragment``, once it has any: a handler thread logs a
    request after sending its answer, so the client can have the answer first. Waits 0.2 s more
    so a request that should not have been made has time to show."""
    deadline = time.monotonic() + 3
    while not hub.requests_to(fragment) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    return hub.requests_to(fragment)


def _folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(name)
    return folder


@pytest.fixture
def repos(fake_hub: FakeHub, tmp_path: Path) -> FakeHub:
    for repo_id, downloads in [
        ("openai-community/gpt2", 900),
        ("gpt2", 50),
        ("someone/gpt2-finetuned", 300),
        ("someone/llama-tiny", 5000),
    ]:
        fake_hub.add_repo(repo_id, _folder(tmp_path, repo_id), downloads=downloads)
    for repo_id, downloads in [("Salesforce/wikitext", 70), ("wikitext", 2), ("org/imdb", 9)]:
        fake_hub.add_repo(
            repo_id, _folder(tmp_path / "d", repo_id), repo_type="dataset", downloads=downloads
        )
    return fake_hub


def test_models_by_text_most_downloaded_first(repos: FakeHub) -> None:
    hits = search_hub("model", "GPT2")
    assert [h.repo_id for h in hits] == ["openai-community/gpt2", "someone/gpt2-finetuned", "gpt2"]
    assert [h.downloads for h in hits] == [900, 300, 50]
    (request,) = _logged(repos, "/api/models")
    assert "search=GPT2" in request[1] and "sort=downloads" in request[1]


def test_datasets_are_searched_apart_from_models(repos: FakeHub) -> None:
    hits = search_hub("dataset", "wiki")
    assert [h.repo_id for h in hits] == ["Salesforce/wikitext", "wikitext"]
    assert search_hub("dataset", "gpt2") == []
    assert _logged(repos, "/api/datasets")


def test_the_request_is_the_one_list_models_sends(repos: FakeHub) -> None:
    from huggingface_hub import HfApi

    list(HfApi().list_models(search="gpt2", sort="downloads", limit=3))
    list(HfApi().list_datasets(search="wiki", sort="downloads", limit=3))
    _logged(repos, "/api/datasets")
    theirs = [r[1] for r in repos.requests if r[1].startswith("/api/")]
    search_hub("model", "gpt2", limit=3)
    search_hub("dataset", "wiki", limit=3)
    deadline = time.monotonic() + 3
    while len([r for r in repos.requests if r[1].startswith("/api/")]) < 2 * len(theirs):
        assert time.monotonic() < deadline, repos.requests
        time.sleep(0.02)  # logged after the answer (see _logged)
    ours = [r[1] for r in repos.requests if r[1].startswith("/api/")][len(theirs) :]
    assert sorted(ours) == sorted(theirs)


def test_limit_is_one_request(repos: FakeHub) -> None:
    # The Hub pages with Link: rel="next"; a limited search must not follow it.
    hits = search_hub("model", "", limit=2)
    assert [h.repo_id for h in hits] == ["someone/llama-tiny", "openai-community/gpt2"]
    assert len(_logged(repos, "/api/models")) == 1, repos.requests


def test_refused_token_is_one_line(repos: FakeHub) -> None:
    with pytest.raises(InvalidInputError, match="refused the token") as info:
        search_hub("model", "gpt2", token="hf_not_a_real_token")
    assert "\n" not in str(info.value)


def test_unreachable_hub_answers_within_the_deadline(
    repos: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    with pytest.raises(HubUnreachableError, match="type the full id") as info:
        search_hub("model", "gpt2", timeout=1.5)
    # huggingface_hub alone retries a refused connection for ~23 s.
    assert time.monotonic() - start < 2
    assert "\n" not in str(info.value)


def test_a_hub_that_never_answers_times_out(
    repos: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        with pytest.raises(HubUnreachableError, match=r"within 1 s"):
            search_hub("dataset", "wiki", timeout=1)
        assert time.monotonic() - start < 3


def test_offline_mode_answers_at_once(repos: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = len(repos.requests)
    with pytest.raises(HubUnreachableError, match="HF_HUB_OFFLINE"):
        search_hub("dataset", "wiki")
    assert len(repos.requests) == before


def test_bad_kind_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        search_hub("space", "x")  # type: ignore[arg-type]
