"""Prompt templates for explaining a latent, and the text pieces they are built from.

The default follows delphi's explainer (EleutherAI, "Automatically Interpreting Millions of
Features in LLMs", 2024): a system prompt, one worked example, then the latent's examples with the
activating tokens marked ``<<like this>>`` (tokens above 0.3 x the latent's max, consecutive ones
merged; shown word by word, a word marked when one of its tokens is), optionally
``token (activation 0-10)`` pairs, and a fixed reply format ending in ``[EXPLANATION]:``.
Templates are editable: any text with the variables below.

Rendering substitutes ``{variable}`` in one pass over the *template*, never over the inserted
text, so a dataset token such as ``{examples}`` or ``{0}`` is shown as it is and cannot inject
another variable; braces the template uses for other purposes (a JSON sketch) are left alone.
Nothing is HTML-escaped: the reader is a language model, and the studio renders text as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pydantic import Field, model_validator

from mistudio.core.config import OperationConfig
from mistudio.core.features.result import Example
from mistudio.core.labeling.context import FeatureContext
from mistudio.core.linguistics.summary import category_name
from mistudio.errors import InvalidInputError

VARIABLES = ("examples", "top_tokens", "logit_lens", "activation_pairs", "reply_format", "index")
"""Variables a template may use."""
HIGHLIGHT_THRESHOLD = 0.3
"""Tokens above this fraction of the latent's max are marked (delphi's default)."""

Message = dict[str, str]


def show_token(text: str) -> str:
    """A token as one line of prompt text: newlines and tabs written as ``\\n`` / ``\\t``."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def discretise(act: float, max_act: float) -> int:
    """Activation on delphi's/OpenAI's 0..10 scale: ``min(10, floor(10 * relu(a) / max))``."""
    if max_act <= 0 or not math.isfinite(act):
        return 0
    return min(10, math.floor(10 * max(act, 0.0) / max_act))


def highlight(
    tokens: Sequence[str], marked: Sequence[bool], left: str = "<<", right: str = ">>"
) -> str:
    """Join ``tokens`` with each run of consecutive marked tokens wrapped in one marker pair."""
    out: list[str] = []
    open_run = False
    for text, mark in zip(tokens, marked, strict=True):
        if mark and not open_run:
            out.append(left)
            open_run = True
        elif not mark and open_run:
            out.append(right)
            open_run = False
        out.append(show_token(text))
    if open_run:
        out.append(right)
    return "".join(out)


def active_mask(acts: Sequence[float], max_act: float, threshold: float) -> list[bool]:
    """Which tokens count as activating: act > threshold x max_act (and > 0)."""
    cut = threshold * max_act
    return [a > cut and a > 0 for a in acts]


def in_words(example: Example, per_token: Sequence[float]) -> tuple[list[str], list[float]]:
    """The example's texts and ``per_token`` values word by word (a word takes its largest
    token's value), so a prompt reads ``<<unbelievable>>``, not ``un<<believ>>able`` or a '�'
    per byte; token by token where the example has no words."""
    if not example.words:
        return list(example.tokens or []), list(per_token)
    texts = [w.text for w in example.words]
    return texts, [max(per_token[w.start : w.end]) for w in example.words]


def format_examples(examples: Sequence[Example], max_act: float, threshold: float) -> str:
    lines = []
    for n, e in enumerate(examples, 1):
        mask = active_mask(e.acts, max_act, threshold)
        if not any(mask):  # a weak example: mark its own peak so it still shows something
            mask = [j == e.center for j in range(len(e.acts))]
        texts, marks = in_words(e, [float(m) for m in mask])
        lines.append(f"Example {n}: {highlight(texts, [m > 0 for m in marks])}")
    return "\n".join(lines)


def format_pairs(examples: Sequence[Example], max_act: float) -> str:
    lines = []
    for n, e in enumerate(examples, 1):
        texts, acts = in_words(e, e.acts)
        pairs = [
            f"{show_token(t)!r} ({discretise(a, max_act)})"
            for t, a in zip(texts, acts, strict=True)
            if discretise(a, max_act) > 0
        ]
        lines.append(f"Example {n}: " + (", ".join(pairs) if pairs else "(weak)"))
    return "\n".join(lines)


def format_tokens(tokens: Sequence[str]) -> str:
    return ", ".join(repr(show_token(t)) for t in tokens) if tokens else "(none)"


TEXT_REPLY = """Reply with exactly these four lines and nothing else:
[LABEL]: a short label of two to five words
[CATEGORY]: a taxonomy path such as "Syntax > Punctuation" or "Semantics > Animals"
[CONFIDENCE]: a number from 0 to 1
[EXPLANATION]: one sentence describing what the feature responds to"""

JSON_REPLY = """Reply with one JSON object and nothing else:
{"label": "two to five words", "category": "Area > Subarea", "confidence": 0.0 to 1.0, \
"explanation": "one sentence describing what the feature responds to"}"""

DEFAULT_SYSTEM = """You are a meticulous AI researcher investigating the features of a language \
model. A feature is a direction in the model's activations that fires on some pattern in text. \
You will see text examples in which the tokens where the feature fires are marked \
<<like this>>; consecutive marked tokens are marked together <<like this>>. A newline inside a \
token is written \\n.

- Describe what the marked tokens have in common, and which context makes the feature fire.
- Consider the token itself (a word, a piece of a word, punctuation, whitespace, a number), its \
position (start of a line, inside code, after a particular word) and its meaning.
- Be concise and specific. Do not mention the << >> markers. Do not list alternatives."""

WORKED_USER = """Feature examples:
Example 1: and he went<< over>> the hill
Example 2: the cat jumped<< over>> the fence
Example 3: she leaned<< over>> and whispered
Example 4: the game was<< over>> by noon

Most frequent activating tokens: ' over'

{reply_format}"""

WORKED_TEXT = """[LABEL]: the word "over"
[CATEGORY]: Lexical > Prepositions
[CONFIDENCE]: 0.9
[EXPLANATION]: The word "over" as a preposition or adverb, as in movement above something or \
something having ended."""

WORKED_JSON = """{"label": "the word \\"over\\"", "category": "Lexical > Prepositions", \
"confidence": 0.9, "explanation": "The word \\"over\\" as a preposition or adverb, as in \
movement above something or something having ended."}"""

DEFAULT_USER = """Feature examples:
{examples}

Most frequent activating tokens: {top_tokens}
Tokens the feature promotes as the next token: {logit_lens}
{linguistics}
{reply_format}"""


SMALL_SYSTEM = """You name patterns in text. Marked tokens look <<like this>>. Say in a few \
words what the marked tokens have in common. A newline is written \\n."""

SMALL_WORKED_USER = """Tokens: ' over', ' over', ' over'
Examples:
he went<< over>> the hill
the game was<< over>> by noon

{reply_format}"""

SMALL_WORKED_REPLY = '[LABEL]: the word "over"'

# No {linguistics} here: the 135M model copies the line into its label ('the word "cmd" (55%)
# (code identifiers 50%)') and its labels scored no better with it (README, "Linguistic analysis").
SMALL_USER = """Tokens: {top_tokens}
Examples:
{examples}

{reply_format}"""

SMALL_REPLY = "In a few words, what do the marked tokens have in common?"


class PromptTemplate(OperationConfig):
    """An editable explanation prompt (saved as a labelling-prompt template)."""

    name: str = "delphi-default"
    """Name shown in template lists."""
    system: str = DEFAULT_SYSTEM
    """System prompt."""
    user: str = DEFAULT_USER
    """The request for one feature; variables: ``{examples}``, ``{top_tokens}``,
    ``{logit_lens}``, ``{activation_pairs}``, ``{reply_format}``, ``{index}``,
    ``{linguistics}`` (a line, or nothing; see ``use_linguistics``)."""
    worked_user: str | None = WORKED_USER
    """A worked example's request (None: no worked example)."""
    worked_reply: str | None = WORKED_TEXT
    """Its answer in the text reply format."""
    worked_reply_json: str | None = WORKED_JSON
    """Its answer in the JSON reply format."""
    reply_format: str = TEXT_REPLY
    """Reply instructions in text mode (inserted at ``{reply_format}``)."""
    reply_format_json: str = JSON_REPLY
    """Reply instructions when the backend is asked for JSON."""
    n_examples: int = Field(default=20, gt=0)
    """Top examples shown."""
    n_top_tokens: int = Field(default=10, ge=0)
    """Most frequent activating tokens listed."""
    highlight_threshold: float = Field(default=HIGHLIGHT_THRESHOLD, gt=0, lt=1)
    """Mark tokens above this fraction of the latent's max activation."""
    use_linguistics: bool = True
    """Show the latent's linguistic summary at ``{linguistics}`` when its extraction was
    analysed (part of speech, lemmas, entity types or code classes of its activating tokens)."""

    @model_validator(mode="after")
    def _check_variables(self) -> PromptTemplate:
        used = set(re.findall(r"\{(\w+)\}", self.user))
        if not used & {"examples", "activation_pairs", "top_tokens"}:
            raise InvalidInputError(
                "a labelling prompt must show the feature: use {examples}, {activation_pairs} "
                "or {top_tokens}"
            )
        return self

    def variables(self, ctx: FeatureContext, json_mode: bool = False) -> dict[str, str]:
        examples = ctx.examples[: self.n_examples]
        return {
            "examples": format_examples(examples, ctx.max_act, self.highlight_threshold),
            "activation_pairs": format_pairs(examples, ctx.max_act),
            "top_tokens": format_tokens([t for t, _ in ctx.top_tokens[: self.n_top_tokens]]),
            "logit_lens": format_tokens(ctx.logit_lens[:10]),
            "reply_format": self.reply_format_json if json_mode else self.reply_format,
            "index": str(ctx.index),
            "linguistics": linguistics_line(ctx) if self.use_linguistics else "",
        }

    def render(self, ctx: FeatureContext, json_mode: bool = False) -> list[Message]:
        """The chat messages asking for ``ctx``'s label."""
        values = self.variables(ctx, json_mode)
        messages: list[Message] = [{"role": "system", "content": self.system}]
        worked = self.worked_reply_json if json_mode else self.worked_reply
        if self.worked_user and worked:
            messages.append({"role": "user", "content": substitute(self.worked_user, values)})
            messages.append({"role": "assistant", "content": worked})
        messages.append({"role": "user", "content": substitute(self.user, values)})
        return messages


def linguistics_line(ctx: FeatureContext) -> str:
    """``{linguistics}``: one line (ending in a newline) on what the activating tokens are
    linguistically, or nothing without an analysis: ``Linguistic analysis of the activating
    tokens: 82% verbs; lemmas: say/tell/ask (VERB 82%, NOUN 10%; entities: PERSON 40%)``."""
    s = ctx.linguistics
    if s is None or s.n_examples == 0:
        return ""
    parts = ", ".join(f"{category_name(c)} {v:.0%}" for c, v in list(s.categories.items())[:3])
    if s.entities:
        parts += "; entities: " + ", ".join(f"{e} {v:.0%}" for e, v in list(s.entities.items())[:2])
    return f"Linguistic analysis of the activating tokens: {s.text} ({parts})\n"


def small_model_template() -> PromptTemplate:
    """The default for the built-in SmolLM2-135M-Instruct: one short label line from the top tokens
    and five examples, after one tiny worked example. A 135M model copies the long delphi
    example's wording instead of reading the feature and loses the four-line format; a
    short prompt keeps its attention on the tokens (and a 2k-token prompt takes seconds on a CPU).
    """
    return PromptTemplate(
        name="small-model",
        system=SMALL_SYSTEM,
        user=SMALL_USER,
        worked_user=SMALL_WORKED_USER,
        worked_reply=SMALL_WORKED_REPLY,
        worked_reply_json=None,
        reply_format=SMALL_REPLY,
        n_examples=5,
        n_top_tokens=5,
    )


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace each known ``{name}`` in one pass (inserted text is never rescanned)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
