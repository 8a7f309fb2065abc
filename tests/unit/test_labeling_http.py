"""OpenAI-compatible and Ollama clients against a real HTTP server on 127.0.0.1 that speaks
their wire formats with scripted replies: success, 429 then success, 401, 404, malformed JSON,
slow replies, nothing listening. The API key must never leak into results, logs or errors."""

from __future__ import annotations

import logging
import socket

import pytest
from pydantic import SecretStr

from mistudio.core.labeling import (
    AuthenticationError,
    BackendUnreachableError,
    LabelingConfig,
    LLMLabeler,
    ModelNotFoundError,
    PromptTemplate,
    create_labeler,
)
from mistudio.core.labeling.clients import RateLimiter
from mistudio.core.labeling.errors import (
    MalformedReplyError,
    RateLimitedError,
    TransientBackendError,
)
from mistudio.core.labeling.http_backends import OllamaClient, OpenAIClient
from mistudio.errors import MiStudioError
from tests.unit.labeling_fixtures import Reply, ScriptedServer, feature, ollama_body, openai_body

KEY = "sk-test-0123456789abcdefSECRET"
GOOD = (
    "[LABEL]: leading whitespace\n[CATEGORY]: Formatting > Whitespace\n[CONFIDENCE]: 0.9\n"
    "[EXPLANATION]: Spaces that indent code lines."
)


def ctx():
    return feature(11, [(["\n", "    ", "return"], [0.0, 5.0, 0.0])], top_tokens=[("    ", 1.0)])


def openai(url: str, **kw) -> OpenAIClient:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("max_retries", 3)
    return OpenAIClient("gpt-test", url + "/v1", SecretStr(KEY), **kw)


def test_openai_wire_format_and_label() -> None:
    with ScriptedServer() as server:
        server.queue.append(Reply(body=openai_body(GOOD)))
        client = openai(server.url)
        lab = LLMLabeler(client, "openai", PromptTemplate()).label(ctx())
        req = server.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["method"] == "POST"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["model"] == "gpt-test" and body["temperature"] == 0.0
    assert body["messages"][0]["role"] == "system" and "<<    >>" in body["messages"][-1]["content"]
    assert "max_completion_tokens" in body and "response_format" not in body
    assert lab.status == "labelled" and lab.label == "leading whitespace"
    assert lab.category == "Formatting > Whitespace" and lab.confidence == 0.9
    assert lab.prompt_tokens == 100 and lab.completion_tokens == 20 and lab.model == "gpt-test"


def test_openai_json_mode_sends_response_format() -> None:
    reply = (
        '{"label": "indentation", "category": "Formatting", "confidence": 0.7, '
        '"explanation": "Indents."}'
    )
    with ScriptedServer() as server:
        server.queue.append(Reply(body=openai_body(reply)))
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate(), json_mode=True).label(
            ctx()
        )
        assert server.requests[0]["body"]["response_format"] == {"type": "json_object"}
    assert lab.label == "indentation" and lab.description == "Indents."


def test_429_then_success_is_retried_with_retry_after() -> None:
    with ScriptedServer() as server:
        server.queue += [
            Reply(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": "0"}),
            Reply(503, {"error": "overloaded"}),
            Reply(body=openai_body(GOOD)),
        ]
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate()).label(ctx())
        assert len(server.requests) == 3
    assert lab.status == "labelled"


def test_persistent_429_fails_the_feature_not_the_run() -> None:
    with ScriptedServer(lambda m, p, b: Reply(429, {"error": {"message": "slow down"}})) as server:
        client = openai(server.url, max_retries=2)
        with pytest.raises(RateLimitedError, match="rate limit"):
            client.chat([{"role": "user", "content": "hi"}])
        lab = LLMLabeler(client, "openai", PromptTemplate()).label(ctx())
    assert lab.status == "failed" and "rate limit" in lab.error


def test_wrong_key_is_one_line_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """The server echoes the key, as OpenAI does partially; neither copy reaches the error."""
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}. Also {KEY[:12]}..."}}
    caplog.set_level(logging.DEBUG)
    with ScriptedServer(lambda m, p, b: Reply(401, echo)) as server:
        client = openai(server.url)
        with pytest.raises(AuthenticationError) as info:
            LLMLabeler(client, "openai", PromptTemplate()).label(ctx())
        assert len(server.requests) == 1  # not retried
    message = str(info.value)
    assert "HTTP 401" in message and "\n" not in message and isinstance(info.value, MiStudioError)
    assert KEY not in message and KEY[:12] not in message and "SECRET" not in message
    assert KEY not in caplog.text
    assert KEY not in repr(client) and KEY not in repr(LabelingConfig(method="openai", api_key=KEY))


def test_model_not_found() -> None:
    body = {"error": {"message": "The model `nope` does not exist", "code": "model_not_found"}}
    with (
        ScriptedServer(lambda m, p, b: Reply(404, body)) as server,
        pytest.raises(ModelNotFoundError, match="no model 'gpt-test'.*does not exist"),
    ):
        openai(server.url).chat([{"role": "user", "content": "hi"}])


def test_malformed_json_is_retried_then_recorded_as_failed() -> None:
    with ScriptedServer(lambda m, p, b: Reply(200, "{not json")) as server:
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate(), malformed_retries=2).label(
            ctx()
        )
        assert len(server.requests) == 3
    assert lab.status == "failed" and "not JSON" in lab.error


def test_unparsable_reply_gets_a_repair_turn() -> None:
    with ScriptedServer() as server:
        server.queue += [
            Reply(body=openai_body("I think it is about spaces?")),
            Reply(body=openai_body(GOOD)),
        ]
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate()).label(ctx())
        repair = server.requests[1]["body"]["messages"]
    assert lab.status == "labelled" and lab.prompt_tokens == 200
    assert repair[-2] == {"role": "assistant", "content": "I think it is about spaces?"}
    assert "did not follow the required format" in repair[-1]["content"]


def test_wrong_shape_reply_and_unparsable_text_fail_the_feature() -> None:
    with (
        ScriptedServer(lambda m, p, b: Reply(body={"choices": []})) as server,
        pytest.raises(MalformedReplyError, match="choices"),
    ):
        openai(server.url).chat([{"role": "user", "content": "hi"}])
    with ScriptedServer(lambda m, p, b: Reply(body=openai_body("no idea"))) as server:
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate(), malformed_retries=1).label(
            ctx()
        )
    assert lab.status == "failed" and lab.raw == "no idea" and "[EXPLANATION]" in lab.error


def test_slow_reply_times_out_and_is_retried() -> None:
    with ScriptedServer() as server:
        server.queue += [Reply(body=openai_body(GOOD), delay=1.0), Reply(body=openai_body(GOOD))]
        lab = LLMLabeler(openai(server.url, timeout_s=0.3), "openai", PromptTemplate()).label(ctx())
    assert lab.status == "labelled"
    slow = ScriptedServer(lambda m, p, b: Reply(body=openai_body(GOOD), delay=1.0))
    with slow as server, pytest.raises(TransientBackendError, match="timed out"):
        openai(server.url, timeout_s=0.2, max_retries=1).chat([{"role": "user", "content": "x"}])


def test_unreachable_backend() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    client = openai(f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(
        BackendUnreachableError, match=f"cannot reach openai at http://127.0.0.1:{port}/v1"
    ):
        LLMLabeler(client, "openai", PromptTemplate()).label(ctx())


def test_rate_limiter_spaces_requests() -> None:
    import time

    limiter = RateLimiter(600)  # one every 0.1 s
    start = time.monotonic()
    for _ in range(4):
        limiter.wait()
    assert time.monotonic() - start >= 0.29


# ---- Ollama -------------------------------------------------------------------------------
def ollama_routes(method: str, path: str, body):
    if path == "/api/tags":
        return Reply(
            body={
                "models": [
                    {"name": "llama3.2:latest", "size": 1, "details": {"parameter_size": "3B"}}
                ]
            }
        )
    if path == "/api/chat":
        if body["model"] not in ("llama3.2", "llama3.2:latest"):
            return Reply(404, {"error": f'model "{body["model"]}" not found, try pulling it first'})
        return Reply(body=ollama_body(GOOD))
    return Reply(404, "404 page not found")


def test_ollama_native_chat_and_tags() -> None:
    with ScriptedServer(ollama_routes) as server:
        labeler = create_labeler(
            LabelingConfig(method="ollama", model="llama3.2", base_url=server.url, json_mode=True)
        )
        labeler.check()
        lab = labeler.label(ctx())
        labeler.close()
        chat = server.requests[-1]
    assert chat["path"] == "/api/chat" and chat["body"]["stream"] is False
    assert chat["body"]["format"] == "json" and chat["body"]["options"]["temperature"] == 0.0
    assert lab.status == "labelled" and lab.label == "leading whitespace"
    assert lab.prompt_tokens == 90 and lab.completion_tokens == 15


def test_ollama_model_not_found() -> None:
    with ScriptedServer(ollama_routes) as server:
        client = OllamaClient("mistral", server.url, backoff_s=0.01)
        with pytest.raises(ModelNotFoundError, match="ollama pull mistral"):
            client.check()
        with pytest.raises(ModelNotFoundError, match="try pulling it first"):
            client.chat([{"role": "user", "content": "hi"}])


def test_openai_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTUDIO_OPENAI_API_KEY", KEY)
    config = LabelingConfig(method="openai", model="m")
    assert config.resolved_key() is not None and config.resolved_key().get_secret_value() == KEY
    assert KEY not in config.model_dump_json() and KEY not in repr(config)
    monkeypatch.delenv("MISTUDIO_OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MiStudioError, match="needs an API key"):
        create_labeler(LabelingConfig(method="openai", model="m"))


def test_a_copy_of_the_worked_example_is_not_a_label() -> None:
    from mistudio.core.labeling.prompts import WORKED_TEXT

    with ScriptedServer() as server:
        server.queue += [Reply(body=openai_body(WORKED_TEXT)), Reply(body=openai_body(GOOD))]
        lab = LLMLabeler(openai(server.url), "openai", PromptTemplate()).label(ctx())
        assert len(server.requests) == 2
    assert lab.status == "labelled" and lab.label == "leading whitespace"


def test_a_copy_of_the_small_templates_worked_label_is_not_a_label() -> None:
    # SmolLM2-135M answers the worked example's label, word for word, to most features.
    from mistudio.core.labeling.prompts import small_model_template

    template = small_model_template()
    with ScriptedServer() as server:
        server.queue += [
            Reply(body=openai_body('[LABEL]: the word "over"')),
            Reply(body=openai_body("[LABEL]: The word over")),
            Reply(body=openai_body("[LABEL]: leading spaces")),
        ]
        lab = LLMLabeler(openai(server.url), "openai", template).label(ctx())
        assert len(server.requests) == 3
    assert lab.status == "labelled" and lab.label == "leading spaces"
