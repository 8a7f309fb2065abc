"""Which tokens an extraction does not measure: stop words and a user's list.

What "filtered" means (the same for every statistic): a filtered position is **not measured**. Its
latents are not encoded into the statistics at all, exactly like the BOS/padding/special positions
the activation stream already masks: it adds nothing to a latent's count, frequency (whose
denominator is the measured tokens, ``n_tokens`` of the result), mean, max, histogram or
co-activation, it is never a top example, a sample or the centre of a random context, and it does
not count towards ``n_tokens``. The LM still reads it (the model's forward is unchanged), and it
still appears as context inside the windows of other examples, where its activation shows as 0
because it was not measured.

Matching is on the token's own text: each vocabulary entry is decoded alone, stripped of
surrounding whitespace and lower-cased, then compared for equality with the (equally normalised)
words. So ``"the"`` excludes ``"The"``, ``" the"`` and ``"THE"`` but not ``"there"``; a word that
the tokenizer splits into several tokens matches none of them (list the pieces instead). A token
that decodes to nothing but whitespace is matched by neither list.

The stop-word list is NLTK's English list without its contractions (``"don't"``: a BPE
vocabulary has no such single token) and contraction fragments (``"d"``, ``"ll"``, ``"re"``, ...),
which as single tokens are more often parts of other words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

_STOP_WORD_TEXT = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against between
    into through during before after above below to from up down in out on off over under again
    further then once here there when where why how all any both each few more most other some
    such no nor not only own same so than too very can will just don should now ain aren couldn
    didn doesn hadn hasn haven isn mightn mustn needn shan shouldn wasn weren won wouldn
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORD_TEXT.split())
"""English stop words (NLTK's list without contraction fragments; see the module docstring)."""


def normalise(word: str) -> str:
    """How a token's text and a listed word are compared: stripped and lower-cased."""
    return word.strip().lower()


def excluded_token_table(tokenizer: Any, stop_words: bool, words: Iterable[str]) -> Tensor | None:
    """``Bool[vocab]``: True for token ids the extraction skips; ``None`` when nothing is."""
    wanted = {normalise(w) for w in words} - {""}
    if stop_words:
        wanted |= STOP_WORDS
    if not wanted:
        return None
    n = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(n)], skip_special_tokens=False)
    return torch.tensor([normalise(t) in wanted for t in texts], dtype=torch.bool)


def keep_mask(table: Tensor, input_ids: Tensor) -> Tensor:
    """``Bool[batch, seq]``: positions whose token the table does not exclude (ids beyond the
    tokenizer's vocabulary, e.g. a model's padded embedding rows, are kept)."""
    table = table.to(input_ids.device)
    inside = input_ids < table.numel()
    return ~(table[input_ids.clamp(0, table.numel() - 1)] & inside)
