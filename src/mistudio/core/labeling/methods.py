"""Labelling methods, a registry by name: ``rules``, ``local``, ``ollama``, ``openai``.

A method is a factory ``LabelingConfig -> Labeler``; adding one is a function plus
``@register_method("name")``. LLM methods share :class:`LLMLabeler` (prompt, parse, repair
retries) and :class:`LLMScorer` and differ only in their chat client.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from mistudio.core.labeling.clients import (
    BinaryListChooser,
    ChatClient,
    ChatReply,
    RateLimiter,
)
from mistudio.core.labeling.config import LabelingConfig
from mistudio.core.labeling.context import FeatureContext
from mistudio.core.labeling.errors import FATAL_ERRORS, BackendError, MalformedReplyError
from mistudio.core.labeling.http_backends import OPENAI_BASE_URL, OllamaClient, OpenAIClient
from mistudio.core.labeling.local_backend import LocalChatClient
from mistudio.core.labeling.parse import ParsedLabel, parse_binary_list, parse_label_reply
from mistudio.core.labeling.patterns import PatternLabeler
from mistudio.core.labeling.prompts import Message, PromptTemplate, small_model_template
from mistudio.core.labeling.records import FeatureLabel
from mistudio.core.labeling.rules import RuleMatch, match_rules, token_views
from mistudio.core.labeling.scoring import ScoreKind, Scorer, ScoringExample, scoring_messages
from mistudio.core.language_models import DEFAULT_MODEL
from mistudio.core.outbound import same_endpoint
from mistudio.errors import InvalidInputError

CHARS_PER_TOKEN = 4
"""Rough characters per token of English and code for BPE tokenizers (OpenAI's rule of thumb)."""


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN)


def messages_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


class Labeler(Protocol):
    """A labelling method ready to run."""

    method: str
    model: str | None
    concurrent: bool
    """Whether features may be labelled in parallel threads."""

    def label(self, ctx: FeatureContext) -> FeatureLabel: ...

    def scorer(self) -> Scorer: ...

    def check(self) -> None:
        """Fail fast (one line) when the backend cannot serve the run."""
        ...

    def close(self) -> None: ...


MethodFactory = Callable[[LabelingConfig], Labeler]
METHODS: dict[str, MethodFactory] = {}


def register_method(name: str) -> Callable[[MethodFactory], MethodFactory]:
    def add(factory: MethodFactory) -> MethodFactory:
        METHODS[name] = factory
        return factory

    return add


def create_labeler(config: LabelingConfig) -> Labeler:
    """The labeller ``config.method`` names."""
    factory = METHODS.get(config.method)
    if factory is None:
        raise InvalidInputError(
            f"unknown labelling method {config.method!r}; have: {', '.join(sorted(METHODS))}"
        )
    return factory(config)


# ---- rules --------------------------------------------------------------------------------
class RuleLabeler:
    method = "rules"
    model: str | None = None
    concurrent = False

    def __init__(self, min_share: float = 0.6) -> None:
        self.min_share = min_share
        self._matches: dict[int, RuleMatch] = {}

    def label(self, ctx: FeatureContext) -> FeatureLabel:
        start = time.perf_counter()
        match = match_rules(ctx, self.min_share)
        if match is None:
            return FeatureLabel(
                index=ctx.index,
                status="unclear",
                label="unclear",
                category="Unclear",
                description="No token pattern explains most of this feature's activations.",
                method=self.method,
                seconds=time.perf_counter() - start,
            )
        self._matches[ctx.index] = match
        return FeatureLabel(
            index=ctx.index,
            status="labelled",
            label=match.label,
            category=match.category,
            description=match.description,
            confidence=round(match.share, 4),
            method=self.method,
            seconds=time.perf_counter() - start,
        )

    def scorer(self) -> Scorer:
        return RuleScorer(self._matches)

    def check(self) -> None:
        """Rules need nothing."""

    def close(self) -> None:
        """Nothing to release."""


class RuleScorer:
    """Answers with the rule's own predicate: no LLM, deterministic."""

    def __init__(self, matches: dict[int, RuleMatch]) -> None:
        self.matches = matches

    def answer(
        self, label: FeatureLabel, kind: ScoreKind, batch: Sequence[ScoringExample]
    ) -> list[int]:
        match = self.matches.get(label.index)
        if match is None:
            raise MalformedReplyError(f"no rule behind the label of feature {label.index}")
        out = []
        for e in batch:
            views = token_views(e.tokens)
            if kind == "detection":
                out.append(int(any(match.matches(v) for v in views)))
            else:
                marked = [v for v, m in zip(views, e.marked, strict=True) if m]
                out.append(int(bool(marked) and all(match.matches(v) for v in marked)))
        return out


@register_method("rules")
def _rules(config: LabelingConfig) -> Labeler:
    return RuleLabeler(config.rules_min_share)


# ---- LLM methods --------------------------------------------------------------------------
REPAIR = "Your reply did not follow the required format. {format}"


class LLMLabeler:
    """Prompt a chat client with a template; parse; on a malformed reply, ask again."""

    def __init__(
        self,
        client: ChatClient,
        method: str,
        template: PromptTemplate,
        json_mode: bool = False,
        malformed_retries: int = 2,
    ) -> None:
        self.client = client
        self.method = method
        self.model: str | None = client.name.split(":", 1)[-1]
        self.template = template
        self.json_mode = json_mode
        self.malformed_retries = malformed_retries
        self.concurrent = client.concurrent
        self._scorer = LLMScorer(client, malformed_retries)

    def __repr__(self) -> str:
        return f"LLMLabeler({self.client!r})"

    def label(self, ctx: FeatureContext) -> FeatureLabel:
        start = time.perf_counter()
        messages = self.template.render(ctx, self.json_mode)
        fmt = self.template.reply_format_json if self.json_mode else self.template.reply_format
        p_tokens = c_tokens = 0
        reply: ChatReply | None = None
        error = ""
        for attempt in range(self.malformed_retries + 1):
            try:
                reply = self.client.chat(messages, self.json_mode)
            except FATAL_ERRORS:
                raise
            except MalformedReplyError as exc:  # a body that is not the wire format
                error = str(exc)
                continue
            except BackendError as exc:  # rate limit / 5xx outlasting the retries
                error = str(exc)
                break
            p_tokens += reply.prompt_tokens or messages_tokens(messages)
            c_tokens += reply.completion_tokens or estimate_tokens(reply.content)
            try:
                parsed = parse_label_reply(reply.content)
                if self._copies_worked_example(parsed):
                    raise MalformedReplyError("the reply copies the worked example")
            except MalformedReplyError as exc:
                error = f"{exc} after {attempt + 1} attempt(s)"
                if attempt < self.malformed_retries:
                    messages = [
                        *messages[:],
                        {"role": "assistant", "content": reply.content},
                        {"role": "user", "content": REPAIR.format(format=fmt)},
                    ]
                continue
            return FeatureLabel(
                index=ctx.index,
                status="labelled",
                label=parsed.label,
                category=parsed.category,
                description=parsed.description,
                confidence=parsed.confidence,
                method=self.method,
                model=self.model,
                prompt_tokens=p_tokens,
                completion_tokens=c_tokens,
                seconds=time.perf_counter() - start,
            )
        return FeatureLabel(
            index=ctx.index,
            status="failed",
            method=self.method,
            model=self.model,
            error=error,
            raw=reply.content[:2000] if reply is not None else None,
            prompt_tokens=p_tokens,
            completion_tokens=c_tokens,
            seconds=time.perf_counter() - start,
        )

    def _copies_worked_example(self, parsed: ParsedLabel) -> bool:
        """Small models parrot the worked example; that is no label of this feature."""
        worked = f"{self.template.worked_reply or ''} {self.template.worked_reply_json or ''}"
        if len(parsed.description) > 20 and parsed.description.rstrip(".") in worked:
            return True
        try:  # the worked label itself, e.g. SmolLM2-135M answering 'the word "over"' to all
            worked_label = parse_label_reply(self.template.worked_reply or "").label
        except MalformedReplyError:
            return False
        words = [re.sub(r"\W+", " ", t).strip().lower() for t in (parsed.label, worked_label)]
        return words[0] == words[1]

    def scorer(self) -> Scorer:
        return self._scorer

    def check(self) -> None:
        self.client.check()

    def close(self) -> None:
        self.client.close()


class LLMScorer:
    """Asks the chat client; re-asks on an unparsable answer; counts tokens per feature."""

    def __init__(self, client: ChatClient, malformed_retries: int = 2) -> None:
        self.client = client
        self.malformed_retries = malformed_retries
        self._usage: dict[int, list[int]] = {}
        self._lock = threading.Lock()

    def pop_usage(self, index: int) -> tuple[int, int]:
        """(prompt, completion) tokens spent scoring feature ``index`` so far, then reset."""
        with self._lock:
            p, c = self._usage.pop(index, [0, 0])
        return p, c

    def answer(
        self, label: FeatureLabel, kind: ScoreKind, batch: Sequence[ScoringExample]
    ) -> list[int]:
        messages = scoring_messages(label, kind, batch)
        if isinstance(self.client, BinaryListChooser):  # constrained: never malformed
            answers, p_tokens, c_tokens = self.client.choose_binary_list(messages, len(batch))
            with self._lock:
                usage = self._usage.setdefault(label.index, [0, 0])
                usage[0] += p_tokens
                usage[1] += c_tokens
            return list(answers)
        error: MalformedReplyError | None = None
        for _ in range(self.malformed_retries + 1):
            reply = self.client.chat(messages)
            with self._lock:
                usage = self._usage.setdefault(label.index, [0, 0])
                usage[0] += reply.prompt_tokens or messages_tokens(messages)
                usage[1] += reply.completion_tokens or estimate_tokens(reply.content)
            try:
                return parse_binary_list(reply.content, len(batch))
            except MalformedReplyError as exc:
                error = exc
        assert error is not None
        raise error


SMALL_MODEL_MAX_TOKENS = 32
"""Generation cap for the built-in labeller with its default prompt."""


def _default_prefix(config: LabelingConfig) -> str:
    if config.reply_prefix is not None:
        return config.reply_prefix
    return "" if config.json_mode else "[LABEL]:"


PATTERNS = "patterns"
"""The ``local`` method's built-in default model: :mod:`mistudio.core.labeling.patterns`."""


def uses_patterns(config: LabelingConfig) -> bool:
    """Whether ``config`` runs the pattern labeller: ``local`` with ``model`` ``patterns``, or
    with no model and the default prompt (a prompt of one's own asks for a language model, the
    built-in SmolLM2, as before)."""
    if config.method != "local":
        return False
    return config.model == PATTERNS or (config.model is None and config.prompt == PromptTemplate())


@register_method("local")
def _local(config: LabelingConfig) -> Labeler:
    """The pattern labeller by default (issue 19 part 4: it labelled 32 of 32 of the walkthrough
    SAE's most frequent latents the rules leave unclear, with a held-out detection score above
    SmolLM2-135M's, in milliseconds; ``benchmarks/local_labeller.py``); any other ``model`` is
    a chat model run through transformers (``smollm2-135m`` the built-in one)."""
    if uses_patterns(config):
        return PatternLabeler(PATTERNS)
    prompt = config.prompt
    max_tokens = config.max_tokens
    if config.model in (None, DEFAULT_MODEL) and prompt == PromptTemplate():
        # The built-in 135M model cannot follow the delphi prompt (see small_model_template),
        # and when it strays it rambles: a label line or a list of five 0/1s fits in 32 tokens.
        prompt = small_model_template()
        max_tokens = min(max_tokens, SMALL_MODEL_MAX_TOKENS)
    client = LocalChatClient.load(
        config.model or DEFAULT_MODEL,
        device=config.device,
        max_new_tokens=max_tokens,
        temperature=config.temperature,
        reply_prefix=_default_prefix(config),
    )
    return LLMLabeler(client, "local", prompt, config.json_mode, config.malformed_retries)


def _http_kwargs(config: LabelingConfig) -> dict[str, object]:
    return {
        "api_key": config.resolved_key(),
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "seed": config.seed,
        "timeout_s": config.timeout_s,
        "max_retries": config.max_retries,
        "backoff_s": config.backoff_s,
        "limiter": RateLimiter(config.requests_per_minute),
    }


@register_method("ollama")
def _ollama(config: LabelingConfig) -> Labeler:

    if not config.model:
        raise InvalidInputError("the ollama method needs a model name (e.g. llama3.2)")
    config.check_endpoint()
    base = config.endpoint()
    assert base is not None
    client = OllamaClient(config.model, base, **_http_kwargs(config))  # type: ignore[arg-type]
    return LLMLabeler(client, "ollama", config.prompt, config.json_mode, config.malformed_retries)


@register_method("openai")
def _openai(config: LabelingConfig) -> Labeler:

    if not config.model:
        raise InvalidInputError("the openai method needs a model name (e.g. gpt-4o-mini)")
    config.check_endpoint()
    base = config.endpoint()
    assert base is not None
    kwargs = _http_kwargs(config)
    if kwargs["api_key"] is None and same_endpoint(base, OPENAI_BASE_URL):
        raise InvalidInputError(
            "the openai method needs an API key: set MISTUDIO_OPENAI_API_KEY or OPENAI_API_KEY"
        )
    client = OpenAIClient(config.model, base, **kwargs)  # type: ignore[arg-type]
    return LLMLabeler(client, "openai", config.prompt, config.json_mode, config.malformed_retries)
