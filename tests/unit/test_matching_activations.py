"""Activation correlation of matched pairs on shared tokens, against a brute-force recompute."""

from __future__ import annotations

import json

import pytest
import torch

from mistudio.core.activations import special_token_ids
from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.matching_activations import activation_correlation
from mistudio.core.sae import SAEConfig, build_sae
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("corr")
    src = tmp / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(20)))
    import_dataset(DatasetSource.local(src), tmp / "ds")
    tok = tokenize_dataset(
        tmp / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=16), tmp / "tok"
    )
    return tiny_loaded("llama"), tok


def test_a_copy_correlates_one_and_equals_brute_force(inputs) -> None:  # type: ignore[no-untyped-def]
    loaded, tok = inputs
    torch.manual_seed(0)
    a = build_sae(SAEConfig(architecture="standard", d_in=32, d_sae=24))
    b = build_sae(SAEConfig(architecture="standard", d_in=32, d_sae=24))
    with torch.no_grad():
        a.b_enc.fill_(0.05)  # most latents fire on some tokens
        b.load_state_dict(a.state_dict())
        perm = torch.randperm(24)
        for name in ("W_dec", "b_enc"):
            getattr(b, name).copy_(getattr(a, name)[perm])
        b.W_enc.copy_(a.W_enc[:, perm])  # B's latent j is A's latent perm[j]
    inverse = torch.argsort(perm)
    pairs = torch.stack([torch.arange(24), inverse], dim=1)
    corr = activation_correlation(
        loaded, tok, a, "blocks.1.hook_resid_post", b, "blocks.1.hook_resid_post", pairs, 200
    )
    fired = [c for c in corr if c is not None]
    assert len(fired) >= 12 and all(abs(c - 1) < 1e-6 for c in fired)

    # Another layer for B, against the same Pearson computed from output_hidden_states
    # (hidden_states[L + 1] is block L's output; the last one has the final norm applied).
    shifted = torch.tensor([[0, 1], [2, 3], [4, 4]])
    got = activation_correlation(
        loaded, tok, a, "blocks.1.hook_resid_post", b, "blocks.0.hook_resid_post", shifted, 200
    )
    assert any(v is not None for v in got)
    rows = tok.get_batch(0, len(tok))
    ids = torch.from_numpy(rows.input_ids)
    with torch.no_grad():
        hidden = loaded.model(ids, attention_mask=torch.from_numpy(rows.attention_mask).long(),
                              output_hidden_states=True).hidden_states  # fmt: skip
    specials = torch.tensor(special_token_ids(loaded.tokenizer))
    keep = torch.from_numpy(rows.attention_mask) & ~torch.isin(ids, specials)
    xa, xb = hidden[2][keep][:200], hidden[1][keep][:200]
    with torch.no_grad():
        fa, fb = a.encode(xa), b.encode(xb)
    for (i, j), value in zip(shifted.tolist(), got, strict=True):
        u, v = fa[:, i].double(), fb[:, j].double()
        if u.std() == 0 or v.std() == 0:
            assert value is None
            continue
        want = float(torch.corrcoef(torch.stack([u, v]))[0, 1])
        assert value is not None and abs(value - want) < 1e-5


def test_bad_pairs_are_one_line(inputs) -> None:  # type: ignore[no-untyped-def]
    loaded, tok = inputs
    sae = build_sae(SAEConfig(architecture="standard", d_in=32, d_sae=8))
    with pytest.raises(InvalidInputError, match="pairs must be"):
        hook = "blocks.1.hook_resid_post"
        activation_correlation(loaded, tok, sae, hook, sae, hook, torch.zeros(3, dtype=torch.int64))
