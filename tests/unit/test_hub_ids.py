"""Hub repo ids (core/hub_ids.py) against huggingface_hub's own check, ``validate_repo_id``."""

from __future__ import annotations

import pytest

from mistudio.core.hub_ids import hub_id_problem, is_hub_id

VALID = [
    "gpt2",
    "bert-base-uncased",
    "wikitext",
    "HuggingFaceTB/SmolLM2-135M",
    "org/name",
    "a",
    "_private_x",
    "EleutherAI/pythia-70m-deduped",
    "x" * 96,
    "google/gemma-scope-2b-pt-res",
]
INVALID = [
    "",
    "a/b/c",
    "has space",
    "-leading",
    "trailing-",
    ".dot",
    "dot.",
    "double--dash",
    "two..dots",
    "name.git",
    "x" * 97,
    "/abs/path",
    "./rel",
    "~/home",
    "org/",
    "/name",
    "org/na me",
    "hub:org/name",
]


@pytest.mark.parametrize("text", VALID + INVALID)
def test_agrees_with_huggingface_hub(text: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
        theirs = True
    except HFValidationError:
        theirs = False
    assert is_hub_id(text) is theirs
    assert theirs is (text in VALID)


def test_problem_is_one_line() -> None:
    for text in INVALID:
        problem = hub_id_problem(text)
        assert problem and "\n" not in problem
    assert hub_id_problem("gpt2") is None
