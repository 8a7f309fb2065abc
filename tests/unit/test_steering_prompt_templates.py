"""Steering prompt templates: expansion (product, zip), escaping, the one-line refusals, and a
run whose prompts come from a template (one result per value, the values recorded)."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.sae import SAEConfig, build_sae
from mistudio.core.steering import (
    MAX_PROMPTS,
    FeatureIntervention,
    GenerationConfig,
    SteeringConfig,
    SteeringRun,
    TemplatedPrompt,
    steer,
    template_variables,
)
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import tiny_loaded

HOOK = "blocks.1.hook_resid_post"


def test_one_variable_one_prompt_per_value():
    t = TemplatedPrompt(text="Write about {topic}.", variables={"topic": ["cats", "the sea"]})
    assert [p.text for p in t.expand()] == ["Write about cats.", "Write about the sea."]
    assert [p.values for p in t.expand()] == [{"topic": "cats"}, {"topic": "the sea"}]
    assert t.count() == 2


def test_several_variables_product_in_text_order_last_fastest():
    # The dict's order is not the text's: the text decides (a JSONB column may reorder keys).
    t = TemplatedPrompt(
        text="A {style} poem about {topic}",
        variables={"topic": ["cats", "tides", "rain"], "style": ["sad", "funny"]},
    )
    assert t.names() == ["style", "topic"]
    assert t.count() == 6
    assert [p.text for p in t.expand()] == [
        "A sad poem about cats",
        "A sad poem about tides",
        "A sad poem about rain",
        "A funny poem about cats",
        "A funny poem about tides",
        "A funny poem about rain",
    ]


def test_zip_pairs_values():
    t = TemplatedPrompt(
        text="{name} said {pronoun} would",
        variables={"name": ["Ada", "Tom"], "pronoun": ["she", "he"]},
        combine="zip",
    )
    assert [p.text for p in t.expand()] == ["Ada said she would", "Tom said he would"]
    assert t.count() == 2


def test_a_variable_used_twice_takes_one_value():
    t = TemplatedPrompt(text="{x} and {x}", variables={"x": ["a", "b"]})
    assert [p.text for p in t.expand()] == ["a and a", "b and b"]


def test_double_braces_are_literal_and_values_are_never_read_as_variables():
    t = TemplatedPrompt(text="def f(): return {{'{key}': 1}}", variables={"key": ["{x}", "a.b"]})
    assert template_variables(t.text) == ["key"]
    assert [p.text for p in t.expand()] == [
        "def f(): return {'{x}': 1}",
        "def f(): return {'a.b': 1}",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "About {topic}", "variables": {}}, "{topic} has no values"),
        ({"text": "About {topic}", "variables": {"topic": []}}, "{topic} has an empty list"),
        (
            {"text": "About {topic}", "variables": {"topic": ["a"], "tpoic": ["b"]}},
            "values given for {tpoic}, which the text does not use (its variables: topic)",
        ),
        ({"text": "No variable here", "variables": {}}, "has no {variable}"),
        ({"text": "About {topic", "variables": {"topic": ["a"]}}, "literal brace"),
        ({"text": "About topic}", "variables": {"topic": ["a"]}}, "Single '}'"),
        ({"text": "About {0}", "variables": {"0": ["a"]}}, "{0} is not a variable"),
        ({"text": "About {}", "variables": {}}, "{} is not a variable"),
        ({"text": "About {a.b}", "variables": {"a": ["x"]}}, "{a.b} is not a variable"),
        ({"text": "About {a!r}", "variables": {"a": ["x"]}}, "{a!r} is not a variable"),
        ({"text": "About {a:>9}", "variables": {"a": ["x"]}}, "{a:>9} is not a variable"),
        (
            {
                "text": "{a} {b}",
                "variables": {"a": ["1", "2"], "b": ["x"]},
                "combine": "zip",
            },
            "every variable needs as many: a has 2, b has 1",
        ),
        (
            {"text": "{a} {b}", "variables": {"a": ["x"] * 5, "b": ["y"] * 20}},
            "makes 5 x 20 = 100 prompts; a run takes at most 64",
        ),
        ({"text": "{a}", "variables": {"a": ["x"] * 65}}, "makes 65 prompts"),
    ],
)
def test_bad_templates_are_one_line(kwargs, message):
    with pytest.raises(InvalidInputError) as info:
        TemplatedPrompt(**kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_the_cap_counts_plain_prompts_and_the_template_together():
    iv = [FeatureIntervention(sae="s", index=0, strength=1.0)]
    template = TemplatedPrompt(text="{a}", variables={"a": [str(i) for i in range(MAX_PROMPTS)]})
    assert len(SteeringConfig(interventions=iv, prompt_template=template).all_prompts()) == 64
    with pytest.raises(InvalidInputError, match="1 prompts and 64 from the template make 65"):
        SteeringConfig(interventions=iv, prompts=["x"], prompt_template=template)
    with pytest.raises(InvalidInputError, match="at least one prompt"):
        SteeringConfig(interventions=iv)


def test_a_template_run_has_one_result_per_value_and_reads_back(tmp_path):
    loaded = tiny_loaded("llama")
    torch.manual_seed(0)
    sae = build_sae(
        SAEConfig(architecture="standard", d_in=32, d_sae=64, metadata={"hook_name": HOOK})
    )
    config = SteeringConfig(
        prompts=["w5 w17"],
        prompt_template=TemplatedPrompt(text="w3 {word} w9", variables={"word": ["w40", "w41"]}),
        interventions=[FeatureIntervention(sae="s", index=3, strength=4.0)],
        generation=GenerationConfig(max_new_tokens=3, seed=1),
        similarity="jaccard",
    )
    calls = []
    run = steer(loaded, config, {"s": sae}, progress=lambda *a, **kw: calls.append(a))
    assert calls[-1] == (6, 6)  # 3 prompts x (baseline + steered)
    assert [p.prompt for p in run.prompts] == ["w5 w17", "w3 w40 w9", "w3 w41 w9"]
    assert [p.variables for p in run.prompts] == [{}, {"word": "w40"}, {"word": "w41"}]
    # What the model read is the filled prompt.
    ids = loaded.tokenizer("w3 w41 w9")["input_ids"]
    assert run.prompts[2].prompt_token_ids[-len(ids) :] == ids
    back = SteeringRun.load(run.save(tmp_path / "run.json"))
    assert back.prompts[1].variables == {"word": "w40"}
    assert back.config.prompt_template == config.prompt_template
