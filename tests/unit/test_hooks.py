"""Hook points against an independent reference: HF's own output_hidden_states."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.hooks import all_hook_points, capture, intervene, layout_for, resolve_hook_points
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import FAMILIES, VOCAB, tiny_model


@pytest.fixture(params=FAMILIES)
def model(request):
    return tiny_model(request.param)


def _ids(batch: int = 2, seq: int = 12) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, seq), generator=torch.Generator().manual_seed(1))


def test_resid_post_equals_hidden_states_exactly(model):
    ids = _ids()
    with torch.no_grad():
        ref = model(ids, output_hidden_states=True).hidden_states
    n = model.config.num_hidden_layers
    names = [f"blocks.{layer}.hook_resid_post" for layer in range(n - 1)]
    points = resolve_hook_points(model, names)
    with capture(model, points, stop_early=False) as cap:
        acts = cap.run(input_ids=ids)
    for layer in range(n - 1):  # the last hidden state has the final norm applied by HF
        assert torch.equal(acts[f"blocks.{layer}.hook_resid_post"], ref[layer + 1])
    # resid_pre of block L is hidden_states[L]
    pre = resolve_hook_points(model, ["blocks.0.hook_resid_pre", "blocks.2.hook_resid_pre"])
    with capture(model, pre) as cap:
        acts = cap.run(input_ids=ids)
    assert torch.equal(acts["blocks.0.hook_resid_pre"], ref[0])
    assert torch.equal(acts["blocks.2.hook_resid_pre"], ref[2])


def test_early_stop_gives_the_same_tensors_and_skips_later_layers(model):
    ids = _ids()
    layout = layout_for(model)
    points = resolve_hook_points(model, ["blocks.1.hook_resid_post"])
    with capture(model, points, stop_early=False) as cap:
        full = cap.run(input_ids=ids)
    calls = []
    last = model.get_submodule(f"{layout.layers}.2")
    handle = last.register_forward_pre_hook(lambda *a: calls.append(1))
    with capture(model, points, stop_early=True) as cap:
        early = cap.run(input_ids=ids)
    handle.remove()
    assert torch.equal(full["blocks.1.hook_resid_post"], early["blocks.1.hook_resid_post"])
    assert calls == []


def test_all_hook_points_in_one_pass_equal_separate_passes(model):
    ids = _ids()
    points = all_hook_points(model)
    with capture(model, points) as cap:
        together = cap.run(input_ids=ids)
    for point in points:
        with capture(model, [point]) as cap:
            alone = cap.run(input_ids=ids)
        assert torch.equal(together[point.name], alone[point.name]), point.name
        assert together[point.name].shape[-1] == point.d


def test_residual_decomposition(model):
    """resid_post = resid_pre + attn_out + mlp_out: the hooks read the branches the block adds."""
    ids = _ids()
    points = [p for p in all_hook_points(model) if p.layer == 1]
    with capture(model, points) as cap:
        a = cap.run(input_ids=ids)
    total = a["blocks.1.hook_resid_pre"] + a["blocks.1.hook_attn_out"] + a["blocks.1.hook_mlp_out"]
    torch.testing.assert_close(total, a["blocks.1.hook_resid_post"], atol=1e-5, rtol=1e-5)
    if "blocks.1.hook_resid_mid" in a:
        mid = a["blocks.1.hook_resid_pre"] + a["blocks.1.hook_attn_out"]
        torch.testing.assert_close(mid, a["blocks.1.hook_resid_mid"], atol=1e-5, rtol=1e-5)


def test_hf_names_resolve_to_the_same_points(model):
    layout = layout_for(model)
    (by_tl,) = resolve_hook_points(model, ["blocks.1.hook_resid_post"])
    (by_hf,) = resolve_hook_points(model, [f"{layout.layers}.1"])
    assert by_tl == by_hf


def test_unknown_hook_point_lists_valid_names(model):
    with pytest.raises(InvalidInputError, match="valid names"):
        resolve_hook_points(model, ["blocks.1.hook_nonsense"])
    with pytest.raises(InvalidInputError, match="layers 0..2"):
        resolve_hook_points(model, ["blocks.7.hook_resid_post"])


def test_intervene_identity_changes_nothing_and_zeroing_changes_logits(model):
    ids = _ids()
    with torch.no_grad():
        ref = model(ids).logits
        with intervene(model, {"blocks.1.hook_resid_post": lambda x: x}):
            same = model(ids).logits
        with intervene(model, {"blocks.1.hook_mlp_out": torch.zeros_like}):
            changed = model(ids).logits
    assert torch.equal(ref, same)
    assert not torch.allclose(ref, changed)


def test_intervening_on_resid_pre_equals_editing_the_previous_resid_post(model):
    ids = _ids()
    with torch.no_grad():
        with intervene(model, {"blocks.2.hook_resid_pre": lambda x: x * 0.5}):
            a = model(ids).logits
        with intervene(model, {"blocks.1.hook_resid_post": lambda x: x * 0.5}):
            b = model(ids).logits
    torch.testing.assert_close(a, b)
