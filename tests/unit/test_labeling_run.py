"""Labelling runs over a constructed extraction folder: selection, JSONL persistence, resume,
progress, stop, concurrency against a scripted OpenAI server with scoring, the cost estimate,
and the local backend on a tiny random llama."""

from __future__ import annotations

import json
import re

import pytest

from mistudio.core.labeling import (
    AuthenticationError,
    FeatureFilter,
    LabelingConfig,
    LabelStore,
    estimate_cost,
    label_features,
    parse_indices,
    select_indices,
)
from mistudio.errors import InvalidInputError
from tests.unit.labeling_fixtures import (
    FeatureSpec,
    Reply,
    ScriptedServer,
    build_extraction,
    openai_body,
)

KEY = "sk-run-test-key-ABCDEFGHIJKLMNOP"


def windows(tokens_list: list[list[str]], fire: set[str]) -> list[tuple[list[str], list[float]]]:
    return [(t, [5.0 if tok in fire else 0.0 for tok in t]) for t in tokens_list]


CODE = [
    ["\n", "    ", "return", " x"],
    ["\n", "        ", "if", " y"],
    ["\n", "    ", "pass", "\n"],
]
PROSE = [[" the", " cat", ",", " sat"], [" a", " dog", ",", " ran"], ["yes", ",", " no", "."]]


@pytest.fixture
def extraction(tmp_path):
    specs = [
        FeatureSpec(
            windows(CODE * 3, {"    ", "        "}), windows(CODE * 2, {"    ", "        "})
        ),
        FeatureSpec([]),  # dead
        FeatureSpec(windows(PROSE * 3, {","}), windows(PROSE * 2, {","})),
        FeatureSpec(
            windows([[" cat", " dog", " sat", " ran"]] * 4, {" cat", " dog", " sat", " ran"})
        ),
    ]
    random_windows = [[" the", " cat", " sat", "."], [" a", " dog", " ran", "."]] * 4
    return build_extraction(tmp_path / "ex", specs, random_windows)


def test_parse_and_select_indices(extraction) -> None:
    result, _ = extraction
    assert parse_indices("0-3, 7,2") == [0, 1, 2, 3, 7]
    with pytest.raises(InvalidInputError):
        parse_indices("a-b")
    with pytest.raises(InvalidInputError):
        parse_indices("0-9", d_sae=4)
    assert select_indices(result, None) == [0, 2, 3]  # the dead latent is left out
    assert select_indices(result, FeatureFilter(limit=2)) == [0, 2]


def test_rules_run_persists_resumes_and_reports(extraction, tmp_path) -> None:
    result, tok = extraction
    out = tmp_path / "labels"
    seen = []
    run = label_features(
        result,
        LabelingConfig(method="rules", score=True),
        out=out,
        tokenizer=tok,
        progress=lambda step, total, **m: seen.append((step, total, m)),
    )
    by_index = {lab.index: lab for lab in run.labels}
    assert by_index[0].category == "Formatting > Whitespace / indentation"
    assert by_index[2].label == 'the token ","' and by_index[2].category == "Syntax > Punctuation"
    assert by_index[3].status == "unclear"
    assert by_index[0].scores is not None and by_index[0].scores.detection == 1.0
    assert run.summary.labelled == 2 and run.summary.unclear == 1 and run.summary.scored == 2
    assert sum(run.summary.score_histogram) == 2
    assert seen[0][:2] == (0, 3) and seen[-1][:2] == (3, 3)
    assert {"features_per_s", "eta_s", "failed"} <= set(seen[-1][2])
    stored = LabelStore(out).read()
    assert sorted(stored) == [0, 2, 3]
    assert json.loads((out / "run.json").read_text())["summary"]["labelled"] == 2

    again = label_features(result, LabelingConfig(method="rules"), out=out, tokenizer=tok)
    assert again.labels == [] and again.summary.skipped == 3


def test_should_stop_ends_early(extraction) -> None:
    result, tok = extraction
    run = label_features(
        result, LabelingConfig(), [0, 2, 3], tokenizer=tok, should_stop=lambda: True
    )
    assert run.labels == [] and run.summary.stopped


def scripted_llm(method: str, path: str, body):
    """Labels from the marked tokens; scoring answers 1 where the text has indentation."""
    system = body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    if "Decide for each example" in system:
        lines = re.findall(r"^Example \d+: (.*)$", user, re.MULTILINE)
        if "marked" in system:
            answers = [int("<<    >>" in t or "<<        >>" in t) for t in lines]
        else:
            answers = [int("\\n    " in t) for t in lines]
        return Reply(body=openai_body(json.dumps(answers)))
    if "<<    >>" in user:
        return Reply(
            body=openai_body(
                "[LABEL]: indentation\n[CATEGORY]: Formatting\n[EXPLANATION]: Leading spaces."
            )
        )
    return Reply(body=openai_body("hmm"))


def test_openai_run_concurrent_scored_and_keyless_records(extraction, tmp_path, caplog) -> None:
    result, tok = extraction
    config = LabelingConfig(
        method="openai",
        model="gpt-test",
        api_key=KEY,
        concurrency=3,
        requests_per_minute=6000,
        score=True,
        backoff_s=0.01,
        malformed_retries=1,
        price_per_1k_input=0.001,
        price_per_1k_output=0.002,
    )
    out = tmp_path / "openai"
    with ScriptedServer(scripted_llm) as server:
        config.base_url = server.url + "/v1"
        estimate = estimate_cost(result, [0, 2, 3], config, tokenizer=tok)
        run = label_features(result, config, [0, 2, 3], out=out, tokenizer=tok)
    assert estimate.requests > 3 and estimate.prompt_tokens > 0 and estimate.cost > 0
    by_index = {lab.index: lab for lab in run.labels}
    assert by_index[0].status == "labelled" and by_index[0].label == "indentation"
    scores = by_index[0].scores
    assert scores is not None and scores.detection == 1.0 and scores.fuzzing == 1.0
    assert (
        by_index[2].status == "failed" and by_index[3].status == "failed"
    )  # malformed, not crashed
    assert run.summary.failed == 2 and run.summary.cost > 0
    files = (out / "labels.jsonl").read_text() + (out / "run.json").read_text()
    assert KEY not in files and KEY not in caplog.text and KEY not in repr(run)
    assert json.loads((out / "run.json").read_text())["config"].get("api_key") is None


def test_fatal_error_stops_the_run_and_keeps_what_was_done(extraction, tmp_path) -> None:
    result, tok = extraction
    out = tmp_path / "fatal"
    with ScriptedServer(lambda m, p, b: Reply(401, {"error": {"message": "bad key"}})) as server:
        config = LabelingConfig(
            method="openai", model="m", base_url=server.url, api_key=KEY, backoff_s=0.01
        )
        with pytest.raises(AuthenticationError, match="refused the API key"):
            label_features(result, config, [0, 2], out=out, tokenizer=tok)
    assert (out / "run.json").is_file()


def test_local_backend_on_a_tiny_random_llama(extraction) -> None:
    """The pipeline runs; the random model's reply is malformed and recorded, not raised."""
    from mistudio.core.labeling import LLMLabeler, PromptTemplate
    from mistudio.core.labeling.local_backend import LocalChatClient
    from tests.unit.tiny_models import tiny_model, tiny_tokenizer

    result, tok = extraction
    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant {% endif %}"
    )
    client = LocalChatClient(tiny_model("llama"), tokenizer, "tiny-llama", max_new_tokens=8)
    labeler = LLMLabeler(client, "local", PromptTemplate(), malformed_retries=1)
    run = label_features(
        result, LabelingConfig(method="local"), [0, 2], tokenizer=tok, labeler=labeler
    )
    assert [lab.status for lab in run.labels] == ["failed", "failed"]
    assert all(lab.raw is not None and lab.completion_tokens > 0 for lab in run.labels)
    assert run.summary.failed == 2

    prefixed = LocalChatClient(
        tiny_model("llama"), tokenizer, "tiny", max_new_tokens=4, reply_prefix="[LABEL]:"
    )
    reply = prefixed.chat([{"role": "user", "content": "w5 w6"}])
    assert reply.content.startswith("[LABEL]:") and reply.completion_tokens == 4


def test_local_scoring_is_constrained_to_the_list_and_chosen_by_the_logits() -> None:
    """A scoring question to the in-process model always yields n answers, each the model's
    own pick between the tokens 0 and 1 given the list so far (same as a full recompute)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from mistudio.core.labeling.local_backend import LocalChatClient
    from mistudio.core.labeling.methods import LLMScorer
    from mistudio.core.labeling.records import FeatureLabel
    from mistudio.core.labeling.scoring import ScoringExample
    from tests.unit.tiny_models import VOCAB, tiny_model

    marks = {"[": 3, "0": 4, "1": 5, ",": 6}
    vocab = {"<bos>": 0, "<eos>": 1, "<pad>": 2} | marks
    vocab |= {f"w{i}": i for i in range(7, VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}w9 {% endif %}"
    )
    model = tiny_model("llama", seed=3)
    client = LocalChatClient(model, tokenizer, "tiny", reply_prefix="[LABEL]:")
    messages = [{"role": "user", "content": "w10 w11 w12 w13 w14"}]
    answers, p_tokens, c_tokens = client.choose_binary_list(messages, 5)
    assert len(answers) == 5 and set(answers) <= {0, 1}
    prompt = tokenizer("w10 w11 w12 w13 w14 w9 [", add_special_tokens=False)["input_ids"]
    assert p_tokens == len(prompt) and c_tokens == 10  # not prefixed with the label's [LABEL]:
    expected, ids = [], list(prompt)
    with torch.no_grad():
        for slot in range(5):
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            expected.append(int(logits[5] > logits[4]))
            ids += [5 if expected[-1] else 4] + ([6] if slot < 4 else [])
    assert answers == expected

    scorer = LLMScorer(client)
    label = FeatureLabel(index=7, status="labelled", label="w10", method="local")
    batch = [ScoringExample(tokens=["w10", "w11"], marked=[True, False], active=True)] * 3
    assert len(scorer.answer(label, "detection", batch)) == 3
    prompt_used, completion = scorer.pop_usage(7)
    assert prompt_used > 0 and completion == 6
