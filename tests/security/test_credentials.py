"""Server credentials go only where the server was told to send them (issue 13, point 2).

The server's OpenAI key (``MISTUDIO_OPENAI_API_KEY``) belongs to the endpoint configured beside
it (``MISTUDIO_OPENAI_BASE_URL``): a labelling request naming another ``base_url`` must bring its
own key, and is refused before any row is written otherwise. Every URL a request points the
server at is http(s) and never a link-local or cloud-metadata address, by literal or by what
the name resolves to. Two scripted OpenAI-compatible servers on 127.0.0.1 record the
``Authorization`` headers they receive: the configured one and "another" one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from mistudio.core.labeling import LabelingConfig, create_labeler
from mistudio.core.labeling.errors import RefusedEndpointError
from mistudio.core.labeling.http_backends import OllamaClient, OpenAIClient
from mistudio.core.outbound import check_outbound_url, same_endpoint
from mistudio.errors import InvalidInputError
from tests.security.worker_studio import worker_studio
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction
from tests.unit.labeling_fixtures import Reply, ScriptedServer, openai_body

SERVER_KEY = "sk-server-held-0123456789abcdef-SECRET"
OWN_KEY = "sk-request-own-fedcba9876543210-SECRET"
GOOD = (
    "[LABEL]: zebra crossing words\n[CATEGORY]: Lexical > Words\n[CONFIDENCE]: 0.8\n"
    "[EXPLANATION]: Words that appear in the middle of a zebra sentence."
)
REFUSED_URLS = [
    "file:///etc/passwd",
    "ftp://127.0.0.1/v1",
    "gopher://127.0.0.1:70/",
    "127.0.0.1:8080/v1",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
    "http://[fe80::1]/v1",
    "http://[fd00:ec2::254]/latest",
    "http://[::ffff:169.254.169.254]/",
    "http://100.100.100.200/latest/meta-data",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://METADATA.google.internal./v1",
    "http://user:pw@127.0.0.1:8080/v1",
    "http://0.0.0.0:8080/v1",
]


def _auth(server: ScriptedServer) -> list[str | None]:
    return [r["headers"].get("Authorization") for r in server.requests]


# ---- the outbound check itself ----------------------------------------------------------------
@pytest.mark.parametrize("url", REFUSED_URLS)
def test_outbound_url_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match="refused"):
        check_outbound_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434",
        "http://localhost:8000/v1",
        "http://[::1]:8000/v1",
        "http://192.168.1.20:8000/v1",
        "http://10.0.0.5/v1",
        "https://api.openai.com/v1",
        "http://no-such-host.invalid/v1",
    ],
)
def test_outbound_url_allows_local_and_lan_servers(url: str) -> None:
    assert check_outbound_url(url) == url


def test_outbound_url_checks_what_a_name_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # No DNS server here to answer with a metadata address, so the resolver's answer is given.
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kw: Any) -> Any:
        if host == "rebind.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80)),
            ]
        if host == "lan.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.20", 80))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(InvalidInputError, match=r"rebind\.example \(169\.254\.169\.254\)"):
        check_outbound_url("http://rebind.example/v1")
    assert check_outbound_url("http://lan.example/v1") == "http://lan.example/v1"
    # ... and the client checks again before each request (the name may change its answer)
    client = OpenAIClient("m", "http://rebind.example/v1", max_retries=0)
    with pytest.raises(RefusedEndpointError, match="metadata address"):
        client.chat([{"role": "user", "content": "hi"}])


def test_same_endpoint_normalises_spelling() -> None:
    assert same_endpoint("https://API.OpenAI.com:443/v1/", "https://api.openai.com/v1")
    assert same_endpoint("http://127.0.0.1/v1", "HTTP://127.0.0.1:80/v1")
    assert not same_endpoint("https://api.openai.com/v1", "http://api.openai.com/v1")
    assert not same_endpoint("https://api.openai.com/v1", "https://api.openai.com:8443/v1")
    assert not same_endpoint("https://api.openai.com/v1", "https://api.openai.com/v2")
    assert not same_endpoint("https://api.openai.com/v1", "https://api.openai.com.evil.example/v1")


def test_clients_refuse_metadata_addresses_before_connecting() -> None:
    for client in (
        OpenAIClient("m", "http://169.254.169.254/v1", SecretStr(SERVER_KEY), max_retries=0),
        OllamaClient("m", "http://[fd00:ec2::254]", max_retries=0),
    ):
        with pytest.raises(RefusedEndpointError, match="refused") as caught:
            client.chat([{"role": "user", "content": "hi"}])
        assert SERVER_KEY not in str(caught.value)


# ---- key routing in core (what the worker, the CLI and a notebook do) -------------------------
def test_core_sends_the_server_key_only_to_its_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(lambda m, p, b: Reply(body=openai_body(GOOD))) as configured:
        monkeypatch.setenv("MISTUDIO_OPENAI_API_KEY", SERVER_KEY)
        monkeypatch.setenv("MISTUDIO_OPENAI_BASE_URL", f"{configured.url}/v1")
        default = LabelingConfig(method="openai", model="m")
        assert default.resolved_key() is not None
        assert default.resolved_key().get_secret_value() == SERVER_KEY  # type: ignore[union-attr]
        respelled = LabelingConfig(method="openai", model="m", base_url=f"{configured.url}/v1/")
        assert respelled.resolved_key() is not None

        other = LabelingConfig(method="openai", model="m", base_url="http://127.0.0.1:9/v1")
        assert other.resolved_key() is None
        with pytest.raises(InvalidInputError, match="give an api_key"):
            create_labeler(other)
        own = other.model_copy(update={"api_key": SecretStr(OWN_KEY)})
        assert own.resolved_key().get_secret_value() == OWN_KEY  # type: ignore[union-attr]
        # Ollama's server-held key follows the same rule
        monkeypatch.setenv("MISTUDIO_OLLAMA_API_KEY", SERVER_KEY)
        ollama = LabelingConfig(method="ollama", model="m", base_url="http://127.0.0.1:9")
        assert ollama.resolved_key() is None
        with pytest.raises(InvalidInputError, match="give an api_key"):
            create_labeler(ollama)
        assert LabelingConfig(method="ollama", model="m").resolved_key() is not None


def test_without_a_server_key_any_allowed_endpoint_works_keyless(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MISTUDIO_OPENAI_API_KEY", "OPENAI_API_KEY", "MISTUDIO_OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = LabelingConfig(method="openai", model="m", base_url="http://127.0.0.1:9/v1")
    config.check_endpoint()  # a local vLLM without auth needs no key
    assert config.resolved_key() is None


# ---- through the API and a worker --------------------------------------------------------------
@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    def good(method: str, path: str, body: Any) -> Reply:
        return Reply(body=openai_body(GOOD))

    with ScriptedServer(good) as configured, ScriptedServer(good) as other:
        yield configured, other


@pytest.fixture(scope="module")
def key_studio(
    tmp_path_factory: pytest.TempPathFactory, servers: tuple[ScriptedServer, ScriptedServer]
) -> Iterator[Studio]:
    configured, _ = servers
    env = {
        "MISTUDIO_OPENAI_API_KEY": SERVER_KEY,
        "MISTUDIO_OPENAI_BASE_URL": f"{configured.url}/v1",
    }
    with worker_studio(tmp_path_factory.mktemp("key-studio"), env) as studio:
        yield studio


def _counts(studio: Studio) -> tuple[int, int]:
    c = studio.client
    return c.get(f"{API}/labeling").json()["total"], c.get(f"{API}/jobs").json()["total"]


def _label(studio: Studio, eid: int, **config: Any) -> Any:
    body = {
        "extraction_id": eid,
        "config": {"method": "openai", "model": "gpt-test", "max_retries": 0, **config},
        "selection": {"indices": [0, 1, 2], "only_unlabelled": False},
    }
    return studio.client.post(f"{API}/labeling", json=body)


@pytest.mark.service
def test_labelling_keys_go_only_where_they_belong(
    key_studio: Studio, servers: tuple[ScriptedServer, ScriptedServer]
) -> None:
    configured, other = servers
    eid = ensure_extraction(key_studio)["extraction_id"]

    # no base_url: the configured endpoint, with the server's key
    r = _label(key_studio, eid)
    assert r.status_code == 202, r.text
    key_studio.completed(r.json()["job_id"])
    assert _auth(configured) and set(_auth(configured)) == {f"Bearer {SERVER_KEY}"}

    # another base_url without a key: refused before any row or job is written
    before = _counts(key_studio)
    for url in (f"{other.url}/v1", f"{configured.url}/v2", f"{configured.url.upper()}/v1x"):
        r = _label(key_studio, eid, base_url=url)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "api_key" in detail and "\n" not in detail and SERVER_KEY not in detail
    elsewhere = {"method": "openai", "model": "m", "base_url": f"{other.url}/v1"}
    estimate = key_studio.client.post(
        f"{API}/labeling/estimate", json={"extraction_id": eid, "config": elsewhere}
    )
    assert estimate.status_code == 422, estimate.text
    assert _counts(key_studio) == before
    assert other.requests == []

    # the same endpoint spelt differently still is the configured one
    seen = len(configured.requests)
    r = _label(key_studio, eid, base_url=f"{configured.url}/v1/")
    assert r.status_code == 202, r.text
    key_studio.completed(r.json()["job_id"])
    assert set(_auth(configured)[seen:]) == {f"Bearer {SERVER_KEY}"}

    # another base_url with its own key: only that key is sent, the server's never
    seen = len(configured.requests)
    r = _label(key_studio, eid, base_url=f"{other.url}/v1", api_key=OWN_KEY)
    assert r.status_code == 202, r.text
    key_studio.completed(r.json()["job_id"])
    assert _auth(other) and set(_auth(other)) == {f"Bearer {OWN_KEY}"}
    assert len(configured.requests) == seen


@pytest.mark.service
@pytest.mark.parametrize("url", REFUSED_URLS[:6] + ["http://metadata.google.internal/v1"])
def test_labelling_refuses_urls_the_server_must_not_fetch(key_studio: Studio, url: str) -> None:
    eid = ensure_extraction(key_studio)["extraction_id"]
    before = _counts(key_studio)
    r = _label(key_studio, eid, base_url=url, api_key=OWN_KEY)
    assert r.status_code == 422, r.text
    assert "refused" in r.json()["detail"] and "Traceback" not in r.text
    r = _label(key_studio, eid, base_url=url, api_key=OWN_KEY, method="ollama")
    assert r.status_code == 422, r.text
    assert _counts(key_studio) == before
