"""Prompt rendering (markers, variables, no injection) and label-reply parsing."""

from __future__ import annotations

import pytest

from mistudio.core.labeling import MalformedReplyError, PromptTemplate
from mistudio.core.labeling.parse import parse_label_reply
from mistudio.core.labeling.prompts import (
    discretise,
    format_pairs,
    highlight,
    small_model_template,
)
from mistudio.errors import InvalidInputError
from tests.unit.labeling_fixtures import feature


def test_highlight_merges_runs_and_shows_newlines() -> None:
    tokens = ["def", " foo", "(", "x", ")", ":\n", "    "]
    marked = [False, True, True, False, False, True, True]
    assert highlight(tokens, marked) == "def<< foo(>>x)<<:\\n    >>"


def test_threshold_is_a_fraction_of_the_latent_max() -> None:
    ctx = feature(0, [(["a", " b", " c", " d"], [0.0, 3.1, 10.0, 2.9])])
    text = PromptTemplate().variables(ctx)["examples"]
    assert text == "Example 1: a<< b c>> d"  # 3.1 > 0.3 * 10, 2.9 is not


def test_discretise_and_pairs() -> None:
    assert [discretise(a, 10.0) for a in (-1.0, 0.0, 0.99, 5.0, 9.99, 10.0, 12.0)] == [
        0,
        0,
        0,
        5,
        9,
        10,
        10,
    ]
    assert discretise(1.0, 0.0) == 0
    ctx = feature(0, [(["a", " b"], [0.0, 10.0])])
    assert format_pairs(ctx.examples, 10.0) == "Example 1: ' b' (10)"


def test_render_default_template() -> None:
    ctx = feature(
        4, [(["x", " =", " 1"], [0.0, 0.0, 5.0])], top_tokens=[(" 1", 1.0)], logit_lens=[" 2"]
    )
    messages = PromptTemplate().render(ctx)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    user = messages[-1]["content"]
    assert "Example 1: x =<< 1>>" in user
    assert "' 1'" in user and "' 2'" in user
    assert "[EXPLANATION]:" in user and "{reply_format}" not in messages[1]["content"]
    assert '"label"' in PromptTemplate().render(ctx, json_mode=True)[-1]["content"]


def test_dataset_text_cannot_inject_variables_and_is_not_escaped() -> None:
    """Braces, variable names and markup in tokens are shown verbatim, once."""
    tokens = ["{examples}", " <b>&amp;</b>", " {0}", " }{"]
    ctx = feature(0, [(tokens, [1.0, 0.0, 0.0, 0.0])], top_tokens=[("{top_tokens}", 1.0)])
    user = PromptTemplate(user="A {examples} B {top_tokens} C {unknown} {").render(ctx)[-1][
        "content"
    ]
    assert user == "A Example 1: <<{examples}>> <b>&amp;</b> {0} }{ B '{top_tokens}' C {unknown} {"


def test_template_must_show_the_feature() -> None:
    with pytest.raises(InvalidInputError):
        PromptTemplate(user="Describe the feature. {reply_format}")
    assert (
        PromptTemplate(user="{activation_pairs}", worked_user=None).render(
            feature(0, [(["a"], [1.0])])
        )[-1]["content"]
        == "Example 1: 'a' (10)"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "[LABEL]: leading whitespace\n[CATEGORY]: Formatting > Whitespace\n[CONFIDENCE]: 0.8\n"
        "[EXPLANATION]: Spaces that indent Python lines.",
        "Let me think.\n**[LABEL]:** leading whitespace\n**[CATEGORY]:** Formatting > Whitespace\n"
        "[CONFIDENCE]: 80%\n[EXPLANATION]: Spaces that indent Python lines.",
        '```json\n{"label": "leading whitespace", "category": "Formatting > Whitespace", '
        '"confidence": 0.8, "explanation": "Spaces that indent Python lines."}\n```',
    ],
)
def test_parse_label_reply_formats(reply: str) -> None:
    parsed = parse_label_reply(reply)
    assert parsed.label == "leading whitespace"
    assert parsed.category == "Formatting > Whitespace"
    assert parsed.confidence == pytest.approx(0.8)
    assert parsed.description == "Spaces that indent Python lines."


def test_parse_explanation_only_delphi_style() -> None:
    parsed = parse_label_reply(
        "The examples show commas.\n[EXPLANATION]: Commas between list items."
    )
    assert parsed.description == "Commas between list items."
    assert parsed.label == "Commas between list items"
    assert parsed.confidence is None and parsed.category == "Uncategorised"


@pytest.mark.parametrize(
    "reply", ["", "   ", "I am not sure what this feature does.", "{broken json"]
)
def test_parse_rejects_malformed(reply: str) -> None:
    with pytest.raises(MalformedReplyError):
        parse_label_reply(reply)


def test_parse_small_model_quirks() -> None:
    # The answer on the line after an empty tag, and the prompt's markers copied into it.
    assert parse_label_reply("[LABEL]:\n  the word <<import>>\n").label == "the word import"
    # An empty tag must not swallow the next tag's line.
    parsed = parse_label_reply("[LABEL]:\n[EXPLANATION]: leading spaces of code lines")
    assert parsed.label == "leading spaces of code lines"
    assert parsed.description == "leading spaces of code lines"


def test_small_model_template_is_short_and_shows_the_feature() -> None:
    windows = [([f"w{j}" for j in range(30)], [0.0] * 29 + [float(i + 1)]) for i in range(20)]
    ctx = feature(3, windows, top_tokens=[(" import", 0.9), ("from", 0.1)])
    messages = small_model_template().render(ctx)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    last = messages[-1]["content"]
    assert last.startswith("Tokens: ' import', 'from'\n")
    assert last.count("<<") == 5  # five examples, each with its peak marked
    default = PromptTemplate().render(ctx)
    assert (
        len("".join(m["content"] for m in messages))
        < len("".join(m["content"] for m in default)) / 2
    )


def test_examples_are_shown_to_the_labeller_word_by_word() -> None:
    """A word is marked whole when one of its tokens fires (``<<unbelievable>>``, not
    ``un<<believ>>able``), and a character split over byte tokens reads as itself, not '�'."""
    from mistudio.core.data.words import Word
    from mistudio.core.features.result import Example
    from mistudio.core.labeling.prompts import format_examples, format_pairs

    tokens = [" un", "believ", "able", " caf", "\ufffd", "\ufffd", "!"]
    acts = [0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    words = [Word(0, 3, " unbelievable"), Word(3, 6, " café"), Word(6, 7, "!")]
    example = Example(list(range(7)), acts, 1, 4.0, 0, 1, tokens, None, words)
    assert format_examples([example], 4.0, 0.3) == "Example 1: << unbelievable>> café!"
    assert format_pairs([example], 4.0) == "Example 1: ' unbelievable' (10)"
    tokenwise = Example(list(range(7)), acts, 1, 4.0, 0, 1, tokens)
    assert format_examples([tokenwise], 4.0, 0.3) == "Example 1:  un<<believ>>able caf\ufffd\ufffd!"
