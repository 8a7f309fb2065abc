"""A chat model run in-process through transformers (the offline default labeller).

The default is the built-in SmolLM2-135M-Instruct (``core.models.load_model("smollm2-135m")``);
any Hub id or local folder of an instruct model with a chat template works. Small models drift
from a reply format, so the reply can be *prefilled*: the assistant turn starts with
``reply_prefix`` (e.g. ``[LABEL]:``) and the model continues it; the parsed text is the prefix
plus the continuation. Generation is greedy unless a temperature is set. One model serves one
request at a time (a lock), so the run does not add threads for it.

Scoring questions (FORMATS §4: "answer with a list like [1,0,0,1,1]") are answered by
*constrained decoding*: the reply is forced into the list's shape and at each slot the model's
own next-token logits choose between ``0`` and ``1`` (the way grammar- or schema-constrained
decoding works in llama.cpp and OpenAI's structured outputs). A 135M model asked for a free-form
list mostly answers something else; this way every batch gets an answer, and the answer is
still the model's judgement.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

import torch

from mistudio.core.labeling.clients import ChatReply
from mistudio.core.labeling.errors import BadRequestError
from mistudio.core.labeling.prompts import Message
from mistudio.core.language_models import ModelLoadConfig, load_model


class LocalChatClient:
    """Chat with a causal LM and its tokenizer's chat template."""

    concurrent = False

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str,
        *,
        max_new_tokens: int = 128,
        temperature: float = 0.0,
        reply_prefix: str = "",
        max_prompt_tokens: int = 2048,
    ) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise BadRequestError(
                f"{name} has no chat template; the local labeller needs an instruct model"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.name = f"local:{name}"
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.reply_prefix = reply_prefix
        self.max_prompt_tokens = max_prompt_tokens
        self._lock = threading.Lock()

    @classmethod
    def load(cls, source: str, device: str = "auto", **kwargs: Any) -> LocalChatClient:
        """Load ``source`` (built-in name, Hub id or folder) with ``core.models.load_model``."""

        loaded = load_model(ModelLoadConfig(source=source, device=device))
        return cls(loaded.model, loaded.tokenizer, loaded.name, **kwargs)

    def __repr__(self) -> str:
        return f"LocalChatClient({self.name!r})"

    def check(self) -> None:
        """The model is loaded; nothing to check."""

    def close(self) -> None:
        """Nothing held beyond the model, which the caller owns."""

    def _prompt_ids(self, messages: list[Message], prefix: str | None = None) -> torch.Tensor:
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        if prefix is None:
            prefix = self.reply_prefix
        ids = self.tokenizer(text + prefix, add_special_tokens=False)["input_ids"]
        if len(ids) > self.max_prompt_tokens:
            # Keep the end: the feature's examples and the reply format come last.
            ids = ids[-self.max_prompt_tokens :]
        return torch.tensor([ids], dtype=torch.long)

    @torch.no_grad()
    def chat(self, messages: list[Message], json_mode: bool = False) -> ChatReply:
        ids = self._prompt_ids(messages)
        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        sample = self.temperature > 0
        with self._lock:
            out = self.model.generate(
                ids.to(device),
                attention_mask=torch.ones_like(ids).to(device),
                max_new_tokens=self.max_new_tokens,
                do_sample=sample,
                temperature=self.temperature if sample else None,
                top_p=None,
                top_k=None,
                pad_token_id=pad,
            )
        new = out[0, ids.shape[1] :].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return ChatReply(self.reply_prefix + text, ids.shape[1], len(new))

    def _single_token(self, text: str) -> int | None:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[0] if len(ids) == 1 else None

    @cached_property
    def _binary_marks(self) -> tuple[int, int, int]:
        """Token ids of ``0``, ``1`` and ``,`` (looked up once per client)."""
        marks = [self._single_token(t) for t in ("0", "1", ",")]
        if any(v is None for v in marks):
            raise BadRequestError(f"{self.name}: no single tokens for 0, 1 and ','")
        zero, one, comma = marks
        assert zero is not None and one is not None and comma is not None
        return zero, one, comma

    @torch.no_grad()
    def choose_binary_list(self, messages: list[Message], n: int) -> tuple[list[int], int, int]:
        """``n`` answers 0/1 as the list ``[a,b,...]``, each chosen by the model's logits.

        Returns (answers, prompt tokens, completion tokens). Raises :class:`BadRequestError`
        when the tokenizer has no single tokens for ``[``, ``0``, ``1`` and ``,``.
        """
        zero, one, comma = self._binary_marks
        ids = self._prompt_ids(messages, prefix="[")
        device = next(self.model.parameters()).device
        answers: list[int] = []
        with self._lock:
            step = ids.to(device)
            past = None
            for slot in range(n):
                out = self.model(input_ids=step, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[0, -1]
                answers.append(int(logits[one] > logits[zero]))
                forced = [one if answers[-1] else zero] + ([comma] if slot < n - 1 else [])
                step = torch.tensor([forced], dtype=torch.long, device=device)
        return answers, ids.shape[1], 2 * n
