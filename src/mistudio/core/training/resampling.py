"""Re-initialise dead latents (Bricken et al. 2023, "Towards Monosemanticity", resampling).

Pick inputs with probability proportional to their squared reconstruction loss (the SAE handles
them worst), point each dead latent's decoder row at one of them (unit direction, minus b_dec),
set its encoder column to the same direction at 0.2 x the mean alive encoder norm, zero its
bias, and reset its Adam moments so the old statistics do not push it straight back.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mistudio.core.sae.base import SAE
from mistudio.core.sae.jumprelu import JumpReLUSAE


@torch.no_grad()
def resample_dead_latents(
    sae: SAE,
    optimizer: torch.optim.Optimizer,
    dead: Tensor,
    x: Tensor,
    generator: torch.Generator,
) -> int:
    """Resample the latents in ``dead`` [d_sae] (bool) from batch ``x`` [n, d_in]; count them."""
    idx = dead.nonzero().squeeze(1)
    n_dead = idx.numel()
    if n_dead == 0:
        return 0
    out = sae(x)
    loss = (out.x_hat.float() - x.float()).pow(2).sum(-1)  # [n]
    weights = loss.pow(2).cpu().double()
    if not torch.isfinite(weights).all() or float(weights.sum()) <= 0:
        weights = torch.ones_like(weights)
    pick = torch.multinomial(weights, n_dead, replacement=n_dead > x.shape[0], generator=generator)
    pick = pick.to(x.device)
    centre = sae.b_dec if sae.apply_b_dec_to_input else torch.zeros_like(sae.b_dec)
    dirs = x[pick].to(sae.W_dec.dtype) - centre  # [n_dead, d]
    dirs = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    alive = ~dead
    dec_norm = float(sae.W_dec[alive].norm(dim=-1).mean()) if bool(alive.any()) else 1.0
    enc_norm = float(sae.W_enc[:, alive].norm(dim=0).mean()) if bool(alive.any()) else 1.0
    sae.W_dec[idx] = dirs * (1.0 if sae.unit_norm_decoder else dec_norm)
    sae.W_enc[:, idx] = dirs.T * (0.2 * enc_norm)
    sae.b_enc[idx] = 0.0
    if isinstance(sae, JumpReLUSAE):
        sae.log_threshold[idx] = math.log(sae.cfg.jumprelu_init_threshold)
    for param, dim in ((sae.W_enc, 1), (sae.b_enc, 0), (sae.W_dec, 0)):
        state = optimizer.state.get(param, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key].index_fill_(dim, idx, 0.0)
    if isinstance(sae, JumpReLUSAE):
        state = optimizer.state.get(sae.log_threshold, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key].index_fill_(0, idx, 0.0)
    return n_dead
