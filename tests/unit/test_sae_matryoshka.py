"""Matryoshka BatchTopK: nested prefixes each reconstruct, general atoms settle in the first one,
the folder round-trips, and SAELens reads it (skipped unless ``sae_lens`` is importable)::

    PYTHONPATH=.venv-bench/lib/python3.11/site-packages .venv/bin/pytest \
        tests/unit/test_sae_matryoshka.py -q
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor

from mistudio.core.sae import MatryoshkaBatchTopKSAE, SAEConfig, build_sae, load_sae, save_sae
from mistudio.core.sae.catalog import architecture_catalog
from mistudio.core.sae.matryoshka import prefix_fvu, prefix_widths
from mistudio.core.sae_export import write_saelens_folder
from mistudio.core.training import TrainConfig, train_saes
from mistudio.errors import InvalidInputError
from tests.unit.planted import one_thread

D, PARENTS, CHILDREN, BATCH = 32, 6, 24, 512


class NestedDictionary:
    """Frequent general atoms (``PARENTS``: each token holds one or two, coefficient ~2) and rare
    specific ones (``CHILDREN``: one per token, coefficient ~1). A prefix of ``PARENTS`` latents
    reconstructs best by holding the general atoms, which is what the nested loss asks of it."""

    def __init__(self, seed: int = 2025) -> None:
        g = torch.Generator().manual_seed(seed)
        atoms = torch.randn(PARENTS + CHILDREN, D, generator=g)
        self.atoms = atoms / atoms.norm(dim=-1, keepdim=True)  # [parents + children, D]

    def sample(self, n: int, index: int) -> Tensor:
        g = torch.Generator().manual_seed(10_007 + index)
        parent = torch.randint(0, PARENTS, (n, 2), generator=g)
        second = (torch.rand(n, generator=g) < 0.5).float()
        child = torch.randint(PARENTS, PARENTS + CHILDREN, (n,), generator=g)
        coef = torch.rand(n, 3, generator=g) * 0.5
        x = (2 + coef[:, :1]) * self.atoms[parent[:, 0]]
        x = x + second[:, None] * (2 + coef[:, 1:2]) * self.atoms[parent[:, 1]]
        x = x + (1 + coef[:, 2:]) * self.atoms[child]
        return x + 0.01 * torch.randn(n, D, generator=g)

    def factory(self, hook: str):  # type: ignore[no-untyped-def]
        def batches(position: int):  # type: ignore[no-untyped-def]
            i = position
            while True:
                yield {hook: self.sample(BATCH, i)}
                i += 1

        return batches


def _best_cos(atoms: Tensor, rows: Tensor) -> Tensor:
    a = atoms / atoms.norm(dim=-1, keepdim=True)
    w = rows / rows.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return (a @ w.T).max(dim=-1).values  # [atoms]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NestedDictionary]:
    planted = NestedDictionary()
    spec = dict(
        hook_name="h",
        sae=dict(
            architecture="matryoshka_batchtopk", d_in=D, d_sae=48, k=3,
            matryoshka_widths=[PARENTS, 16, 48],
        ),
        lr=5e-3,
        lr_warmup_steps=20,
    )  # fmt: skip
    cfg = TrainConfig(saes=[spec], total_tokens=200 * BATCH, batch_tokens=BATCH, log_every=100)
    with one_thread():
        result = train_saes(cfg, planted.factory("h"), tmp_path_factory.mktemp("matryoshka"))
    (res,) = result.saes.values()
    return res.folder, planted


def test_planted_nested_dictionary_is_recovered(trained: tuple[Path, NestedDictionary]) -> None:
    folder, planted = trained
    sae = load_sae(folder)
    W = sae.W_dec.detach()
    # The atoms are found, and the general ones by the first prefix alone: 5 or 6 of the 6 (a
    # BatchTopK SAE of the same size and steps puts 0 or 1 of them in its first 6 rows).
    assert float(_best_cos(planted.atoms, W).mean()) >= 0.85
    assert int((_best_cos(planted.atoms[:PARENTS], W[:PARENTS]) > 0.85).sum()) >= PARENTS - 1


def test_prefix_fvu_falls_as_prefixes_grow(trained: tuple[Path, NestedDictionary]) -> None:
    folder, planted = trained
    sae = load_sae(folder)
    fvu = prefix_fvu(sae, planted.sample(4096, 99_999), [PARENTS, 16, 48])
    assert fvu[0] > fvu[1] > fvu[2]
    # The first prefix alone carries the general atoms (BatchTopK's first 6 rows: FVU ~1).
    assert fvu[2] < 0.1 and fvu[0] < 0.4


def test_save_load_round_trip_equal_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sae = build_sae(dict(architecture="matryoshka_batchtopk", d_in=16, d_sae=48, k=4))
    assert isinstance(sae, MatryoshkaBatchTopKSAE) and sae.widths == [3, 12, 48]
    sae.threshold.fill_(0.05)
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.1)
    save_sae(sae, tmp_path / "m", metadata={"hook_name": "blocks.0.hook_resid_post"})
    loaded = load_sae(tmp_path / "m")
    x = torch.randn(32, 16)
    assert torch.equal(loaded(x).x_hat, sae(x).x_hat)
    assert torch.equal(loaded.encode(x), sae.encode(x))


SMALL = dict(architecture="matryoshka_batchtopk", d_in=8, d_sae=32, k=2)


def test_config_checks_are_one_line() -> None:
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        SAEConfig(
            architecture="matryoshka_batchtopk", d_in=8, d_sae=32, k=2, matryoshka_widths=[8, 4]
        )
    with pytest.raises(InvalidInputError, match=r"1\.\.d_sae \(32\)"):
        SAEConfig(
            architecture="matryoshka_batchtopk", d_in=8, d_sae=32, k=2, matryoshka_widths=[64]
        )
    cfg = SAEConfig(
        architecture="matryoshka_batchtopk", d_in=8, d_sae=32, k=2, matryoshka_widths=[8]
    )
    assert prefix_widths(cfg) == [8, 32]
    info = {a.name: a for a in architecture_catalog()}["matryoshka_batchtopk"]
    assert info.sparsity_control == "k" and info.saelens_names == ["jumprelu"]
    assert [p.name for p in info.parameters] == ["k", "matryoshka_widths"]
    assert "nested prefix widths" in info.parameters[1].doc and info.parameters[1].is_list
    assert not info.parameters[0].is_list


def test_saelens_loads_our_folder_with_equal_outputs(tmp_path: Path) -> None:
    sae_lens = pytest.importorskip("sae_lens")
    torch.manual_seed(1)
    sae = build_sae(dict(architecture="matryoshka_batchtopk", d_in=16, d_sae=48, k=4))
    sae.threshold.fill_(0.05)
    stored = save_sae(sae, tmp_path / "m", metadata={"hook_name": "blocks.0.hook_resid_post"})
    for folder in (stored, write_saelens_folder(stored, tmp_path / "export")):
        theirs = sae_lens.SAE.load_from_disk(str(folder), device="cpu")
        assert type(theirs).__name__ == "JumpReLUSAE"
        x = torch.randn(32, 16)
        with torch.no_grad():
            assert torch.allclose(theirs.encode(x), sae.encode(x), atol=1e-6)
            assert torch.allclose(theirs(x), sae(x).x_hat, atol=1e-5)
