"""Steering edits against explicit computations: additive vs a hand-made hook, clamp vs
encode/modify/decode plus error by hand, suppress vs clamp to zero, zero strength vs baseline."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.hooks import capture, intervene, resolve_hook_points
from mistudio.core.sae import SAEConfig, build_sae
from mistudio.core.steering import (
    FeatureIntervention,
    GenerationConfig,
    Steerer,
    encode_prompt,
    generate,
    resolve_interventions,
    sample_next,
)
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import tiny_loaded

HOOK = "blocks.1.hook_resid_post"


@pytest.fixture(scope="module")
def loaded():
    return tiny_loaded("llama")


def make_sae(hook: str = HOOK, d_in: int = 32, seed: int = 0, arch: str = "standard"):
    torch.manual_seed(seed)
    kw = {"k": 8} if arch == "topk" else {}
    sae = build_sae(
        SAEConfig(
            architecture=arch,
            d_in=d_in,
            d_sae=64,
            metadata={"hook_name": hook, "model_name": "tiny-llama"},
            **kw,
        )
    )
    with torch.no_grad():  # a non-zero bias and decoder scale, so nothing holds by accident
        sae.b_enc.normal_(0, 0.5)
        sae.b_dec.normal_(0, 0.1)
        sae.W_dec.mul_(3.0)
    return sae


@pytest.fixture(scope="module")
def sae():
    return make_sae()


def steerer(loaded, saes, *ivs):
    return Steerer(loaded, resolve_interventions(loaded, list(ivs), saes))


def prompt(loaded, text="w5 w17 w33 w8"):
    return encode_prompt(loaded, text)


SAMPLED = GenerationConfig(max_new_tokens=12, temperature=1.0, top_p=0.95, seed=7)


def test_zero_strength_reproduces_baseline_exactly(loaded, sae):
    ids = prompt(loaded)
    base = generate(loaded, ids, SAMPLED, keep_logits=True)
    for mode_positions in ("all", "generated"):
        zero = steerer(
            loaded, {"s": sae}, FeatureIntervention(sae="s", index=3, positions=mode_positions)
        )
        out = generate(loaded, ids, SAMPLED, zero, keep_logits=True)
        assert out.token_ids == base.token_ids
        assert torch.equal(out.logits, base.logits)
    # The comparison can fail: another seed samples differently, a real strength moves logits.
    other = generate(loaded, ids, SAMPLED.model_copy(update={"seed": 8}))
    assert other.token_ids != base.token_ids
    pushed = steerer(loaded, {"s": sae}, FeatureIntervention(sae="s", index=3, strength=4.0))
    moved = generate(loaded, ids, SAMPLED, pushed, keep_logits=True)
    n = min(len(moved.logits), len(base.logits))
    assert not torch.allclose(moved.logits[:n], base.logits[:n])


@pytest.mark.parametrize("positions", ["all", "generated"])
def test_additive_matches_manual_hook(loaded, sae, positions):
    ids = prompt(loaded)
    n_prompt = ids.shape[1]
    s = 5.0
    iv = FeatureIntervention(sae="s", index=11, strength=s, positions=positions)
    out = generate(loaded, ids, SAMPLED, steerer(loaded, {"s": sae}, iv), keep_logits=True)
    full = torch.cat([ids, torch.tensor([out.token_ids[:-1]])], dim=1)
    vector = s * sae.W_dec[11].detach()

    def add(x):  # x [1, seq, d]
        if positions == "all":
            return x + vector
        x = x.clone()
        x[:, n_prompt - 1 :] += vector
        return x

    with intervene(loaded.model, {HOOK: add}, loaded.layout):
        manual = loaded.model(input_ids=full, use_cache=False).logits[0, n_prompt - 1 :]
    torch.testing.assert_close(out.logits, manual.float(), atol=2e-5, rtol=1e-5)


def _activation(loaded, ids):
    point = resolve_hook_points(loaded.model, [HOOK], loaded.layout)
    with capture(loaded.model, point) as cap:
        return cap.run(input_ids=ids)[HOOK]  # [1, seq, d]


@pytest.mark.parametrize("arch", ["standard", "topk"])
def test_clamp_equals_encode_modify_decode_plus_error(loaded, arch):
    sae = make_sae(arch=arch)
    x = _activation(loaded, prompt(loaded, "w5 w17 w33 w8 w40 w41"))
    flat = x.reshape(-1, x.shape[-1])
    f = sae.encode(flat)
    for index, value in [(int(f[:, :].sum(0).argmax()), 7.5), (int(f.sum(0).argmin()), 2.0)]:
        st = steerer(loaded, {"s": sae}, FeatureIntervention(sae="s", index=index, mode="clamp",
                                                              strength=value))  # fmt: skip
        st.prompt_len, st.offset = x.shape[1], 0
        edited = st.edits()[HOOK](x)
        f_set = f.clone()
        f_set[:, index] = value
        by_hand = sae.decode(f_set) + (flat - sae.decode(f))
        torch.testing.assert_close(edited.reshape(-1, x.shape[-1]), by_hand, atol=1e-5, rtol=1e-5)
        assert not torch.allclose(edited, x)


def test_clamp_generated_positions_leaves_prompt_untouched(loaded, sae):
    x = _activation(loaded, prompt(loaded, "w5 w17 w33 w8 w40 w41"))
    st = steerer(loaded, {"s": sae}, FeatureIntervention(
        sae="s", index=5, mode="clamp", strength=9.0, positions="generated"))  # fmt: skip
    st.prompt_len, st.offset = 4, 0
    edited = st.edits()[HOOK](x)
    assert torch.equal(edited[:, :3], x[:, :3])  # positions 0..P-2 are the prompt's own
    assert not torch.allclose(edited[:, 3:], x[:, 3:])
    st.offset = 10  # a later single-token step: always edited
    assert not torch.allclose(st.edits()[HOOK](x[:, :1]), x[:, :1])


def test_suppress_equals_clamp_to_zero(loaded, sae):
    x = _activation(loaded, prompt(loaded))
    index = int(sae.encode(x.reshape(-1, 32)).sum(0).argmax())  # a latent that fires here
    sup = steerer(loaded, {"s": sae}, FeatureIntervention(sae="s", index=index, mode="suppress",
                                                          strength=123.0))  # fmt: skip
    clamp0 = steerer(loaded, {"s": sae}, FeatureIntervention(sae="s", index=index, mode="clamp",
                                                             strength=0.0))  # fmt: skip
    a, b = sup.edits()[HOOK](x), clamp0.edits()[HOOK](x)
    assert torch.equal(a, b) and not torch.allclose(a, x)
    assert sup.interventions[0].value == 0.0


def test_several_features_combine_in_one_hook_per_point(loaded, sae):
    other = make_sae(hook="blocks.0.hook_resid_post", seed=1)
    saes = {"s": sae, "o": other}
    ivs = [
        FeatureIntervention(sae="s", index=2, strength=3.0),
        FeatureIntervention(sae="s", index=9, mode="clamp", strength=4.0),
        FeatureIntervention(sae="o", index=1, strength=-2.0),
    ]
    st = steerer(loaded, saes, *ivs)
    edits = st.edits()
    assert sorted(edits) == ["blocks.0.hook_resid_post", HOOK]
    ids = prompt(loaded)
    with st.active(ids.shape[1]):
        steered = loaded.model(input_ids=ids, use_cache=False).logits

    def at_1(x):  # clamp from the incoming activation, then add
        flat = x.reshape(-1, 32)
        f = sae.encode(flat)
        f2 = f.clone()
        f2[:, 9] = 4.0
        x = x + (sae.decode(f2) - sae.decode(f)).reshape(x.shape)
        return x + 3.0 * sae.W_dec[2]

    manual_edits = {HOOK: at_1, "blocks.0.hook_resid_post": lambda x: x - 2.0 * other.W_dec[1]}
    with intervene(loaded.model, manual_edits, loaded.layout):
        manual = loaded.model(input_ids=ids, use_cache=False).logits
    torch.testing.assert_close(steered, manual, atol=1e-5, rtol=1e-5)


def test_relative_strength_scales_by_max_act(loaded, sae):
    iv = FeatureIntervention(sae="s", index=4, strength=2.0, relative=True, max_act=3.5)
    [resolved] = resolve_interventions(loaded, [iv], {"s": sae})
    assert resolved.value == 7.0
    [swept] = resolve_interventions(loaded, [iv], {"s": sae}, strength=4.0)
    assert swept.value == 14.0 and swept.spec.strength == 4.0 and iv.strength == 2.0


def test_sampling_greedy_and_top_p():
    logits = torch.tensor([0.0, 3.0, 1.0, 2.9])
    gen = torch.Generator().manual_seed(0)
    greedy = GenerationConfig(temperature=0.0)
    assert sample_next(logits, greedy, gen) == 1
    narrow = GenerationConfig(temperature=1.0, top_p=0.01)
    assert {sample_next(logits, narrow, gen) for _ in range(20)} == {1}
    nucleus = GenerationConfig(temperature=1.0, top_p=0.8)  # {1, 3} hold > 0.8 of the mass
    assert {sample_next(logits, nucleus, gen) for _ in range(200)} == {1, 3}


@pytest.mark.parametrize("family", ["gpt2", "gemma2"])
def test_cached_steering_matches_full_forward_in_other_families(family):
    other = tiny_loaded(family)
    sae = make_sae()
    ids = prompt(other)
    n_prompt = ids.shape[1]
    iv = FeatureIntervention(sae="s", index=2, strength=6.0, positions="generated")
    st = Steerer(other, resolve_interventions(other, [iv], {"s": sae}, check_model_name=False))
    out = generate(other, ids, SAMPLED, st, keep_logits=True)
    full = torch.cat([ids, torch.tensor([out.token_ids[:-1]])], dim=1)

    def add(x):
        x = x.clone()
        x[:, n_prompt - 1 :] += 6.0 * sae.W_dec[2]
        return x

    with intervene(other.model, {HOOK: add}, other.layout):
        manual = other.model(input_ids=full, use_cache=False).logits[0, n_prompt - 1 :]
    torch.testing.assert_close(out.logits, manual.float(), atol=2e-5, rtol=1e-5)


def test_clamp_refuses_a_transcoder(loaded):
    hooks = {"hook_name": "blocks.1.hook_mlp_in", "hook_name_out": "blocks.1.hook_mlp_out"}
    cfg = SAEConfig(architecture="transcoder", d_in=32, d_out=32, d_sae=16, metadata=hooks)
    sae = build_sae(cfg)
    add = FeatureIntervention(sae="t", index=1, strength=2.0)
    [resolved] = resolve_interventions(loaded, [add], {"t": sae})
    assert resolved.point.name == "blocks.1.hook_mlp_out"  # the decoder writes there
    clamp = FeatureIntervention(sae="t", index=1, mode="clamp", strength=2.0)
    with pytest.raises(InvalidInputError, match="reads and writes different hook points"):
        resolve_interventions(loaded, [clamp], {"t": sae})
