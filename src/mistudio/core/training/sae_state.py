"""One SAE being trained: its module, optimiser, dead-latent trackers, sparsity controller and log
sums, with its state for exact resume.

:class:`~mistudio.core.training.trainer.SAETrainer` holds one per SAE of a run and calls
:meth:`SAEState.step` for each batch; the per-step work (schedules, the architecture's training
forward, divergence check, gradient clipping, decoder constraint, dead-latent and density
tracking, auto sparsity, resampling) lives here so the trainer reads as the loop alone.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mistudio.core.evals import DENSE_THRESHOLD, ReconstructionAccumulator
from mistudio.core.sae.base import SAE, SAEOutput, TrainContext, build_sae
from mistudio.core.sae.topk import global_variances
from mistudio.core.training.auto_sparsity import L0Controller, active_excess, shift_thresholds
from mistudio.core.training.config import SAETrainConfig, TrainConfig
from mistudio.core.training.distributed import RankGroup
from mistudio.core.training.resampling import resample_dead_latents
from mistudio.core.training.schedules import lr_factor, warmup_factor
from mistudio.errors import MiStudioError


class TrainingDivergedError(MiStudioError):
    """A loss became NaN or infinite."""


@dataclass
class StepStats:
    """What one step measured over the whole batch (every rank's shard): the per-token means
    the trainer logs and steers by, and the per-latent fire counts."""

    tokens: int
    """Rows of the global batch."""
    loss: Tensor
    l0: Tensor
    mse: Tensor
    sparsity: Tensor
    aux: Tensor
    excess: float | None
    """:func:`~mistudio.core.training.auto_sparsity.active_excess` (None: not measured)."""
    fired: Tensor
    """[d_sae] int64 tokens each latent fired on."""


def step_stats(group: RankGroup, out: SAEOutput, n: int, excess: float | None) -> StepStats:
    """This shard's means and counts, summed over ranks weighted by their rows (one float64
    all-reduce); a single process returns its own values untouched."""
    zero = out.loss.new_zeros(())
    parts = [
        out.loss.detach(),
        out.l0.detach().float(),
        out.losses["mse"].detach(),
        out.losses.get("sparsity", zero).detach(),
        out.losses.get("aux", zero).detach(),
    ]
    if not group.distributed:
        loss, l0, mse, sparsity, aux = parts
        return StepStats(n, loss, l0, mse, sparsity, aux, excess=excess, fired=out.fired)
    dev = out.loss.device
    head = torch.stack([p.double() for p in parts] + [out.loss.new_tensor(excess or 0.0).double()])
    flat = torch.cat(
        [torch.tensor([float(n)], dtype=torch.float64, device=dev), head * n, out.fired.double()]
    )
    group.sum_(flat)
    total = flat[0]
    means = flat[1:7] / total
    return StepStats(
        tokens=int(total.item()),
        loss=means[0].float(),
        l0=means[1].float(),
        mse=means[2].float(),
        sparsity=means[3].float(),
        aux=means[4].float(),
        excess=float(means[5]) if excess is not None else None,
        fired=flat[7:].round().long(),
    )


class SAEState:
    """One SAE being trained: module, optimiser, trackers, controller, log sums."""

    def __init__(self, spec: SAETrainConfig, config: TrainConfig, index: int) -> None:
        self.spec = spec
        self.name = spec.resolved_name
        self.config = config
        sae_cfg = spec.sae.model_copy(update={"device": config.device})
        self.sae: SAE = build_sae(sae_cfg)
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + index)
        self.sae.reset_parameters(generator=gen)
        self.generator = torch.Generator().manual_seed(config.seed * 7_919 + index)
        fused = config.device.startswith("cuda") or config.device == "cpu"
        self.optimizer = torch.optim.Adam(
            self.sae.parameters(),
            lr=spec.lr,
            betas=spec.adam_betas,
            eps=spec.adam_eps,
            fused=fused,
        )
        self.scaler = torch.amp.GradScaler("cuda") if config.autocast == "float16" else None
        d = self.sae.d_sae
        dev = self.sae.W_enc.device
        self.since_fired = torch.zeros(d, dtype=torch.int64, device=dev)
        self.window_counts = torch.zeros(d, dtype=torch.int64, device=dev)
        self.window_tokens = 0
        self.last_density: Tensor | None = None
        self.controller: L0Controller | None = None
        if spec.target_l0 is not None:
            self.controller = L0Controller.start(
                spec.target_l0, spec.sparsity_coefficient, self.sae.d_in, config.total_steps
            )
        self.scale_in = 1.0
        self.scale_out = 1.0
        self.history: list[dict[str, Any]] = []
        self.last_fvu: float | None = None
        self.final_acc: ReconstructionAccumulator | None = None
        self.n_resampled = 0
        self._reset_sums()

    # ---- schedules ----------------------------------------------------------------------
    def coefficient(self, step: int) -> float:
        if self.controller is not None:
            return self.controller.coefficient
        if self.spec.sparsity_coefficient is None:
            return 0.0
        return self.spec.sparsity_coefficient * warmup_factor(step, self.spec.sparsity_warmup_steps)

    def lr(self, step: int) -> float:
        s = self.spec
        return s.lr * lr_factor(
            step,
            self.config.total_steps,
            s.lr_warmup_steps,
            s.lr_decay,
            s.lr_decay_start_fraction,
            s.lr_end_fraction,
        )

    def dead_mask(self) -> Tensor:
        return self.since_fired >= self.spec.dead_window_tokens

    def density(self) -> Tensor | None:
        if self.last_density is not None:
            return self.last_density
        if self.window_tokens > 0:
            return self.window_counts.double() / self.window_tokens
        return None

    def _reset_sums(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.sum_steps = 0
        self.grad_norm_sum = 0.0

    # ---- one step -----------------------------------------------------------------------
    def step(
        self,
        x: Tensor,
        y: Tensor,
        step: int,
        autocast: torch.dtype | None,
        group: RankGroup | None = None,
    ) -> StepStats:
        """One optimiser step on ``x`` [n, d_in] / ``y`` [n, d_out]: the whole batch, or this
        rank's shard of it when ``group`` is distributed (then everything a batch steers is
        reduced over the ranks, see :mod:`~mistudio.core.training.distributed`)."""
        group = group or RankGroup.single()
        spec, sae = self.spec, self.sae
        n = x.shape[0]
        lr = self.lr(step)
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr
        self.current_lr = lr
        coeff = self.coefficient(step)
        dead = self.dead_mask() if sae.uses_dead_mask else None
        ctx = TrainContext(
            sparsity_coefficient=coeff,
            dead_mask=dead,
            aux_k=spec.aux_k or max(1, sae.d_in // 2),
            aux_coefficient=spec.aux_coefficient,
            update_threshold=step >= spec.threshold_start_step,
            group=group if group.distributed else None,
        )
        amp = (
            torch.autocast("cuda", dtype=autocast)
            if autocast is not None
            else contextlib.nullcontext()
        )
        with amp:
            out = sae.training_forward(x, y, ctx)
        loss = out.loss
        excess = active_excess(sae, out) if self.controller is not None else None
        stats = step_stats(group, out, n, excess)
        if not bool(torch.isfinite(stats.loss)):
            terms = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in out.losses.items())
            raise TrainingDivergedError(
                f"SAE {self.name}: loss became {float(stats.loss)} at step {step} ({terms}); "
                "training stopped before the bad update; resume from the last checkpoint "
                "with a lower lr or sparsity coefficient"
            )
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        params = [p for p in sae.parameters() if p.grad is not None]
        # Averaged before anything reads the gradient: clipping sees the global norm.
        group.average_grads(params, n / stats.tokens)
        sae.remove_parallel_decoder_grad()
        if spec.grad_clip_norm is not None:
            gnorm = torch.nn.utils.clip_grad_norm_(params, spec.grad_clip_norm)
        else:
            gnorm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))  # type: ignore[union-attr]
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sae.normalize_decoder()
        if group.distributed and hasattr(sae, "last_density"):
            # Standard SAEs pick their sparse or dense kernels from it: the same on every rank.
            setattr(sae, "last_density", float(stats.l0) / sae.d_sae)  # noqa: B010

        # Dead-latent and density tracking over a token window (of global tokens).
        tokens = stats.tokens
        fired = stats.fired
        self.since_fired += tokens
        self.since_fired.masked_fill_(fired > 0, 0)
        self.window_counts += fired
        self.window_tokens += tokens
        if self.window_tokens >= spec.dead_window_tokens:
            self.last_density = self.window_counts.double() / self.window_tokens
            self.window_counts.zero_()
            self.window_tokens = 0

        if self.controller is not None:
            l0 = float(stats.l0)
            scale = stats.excess / l0 if stats.excess is not None and l0 > 0 else None
            shift = self.controller.update(l0, scale)
            if shift:
                shift_thresholds(sae, shift)
            if step + 1 >= spec.adjust_steps(self.config.total_steps):
                self.controller.freeze()

        parts = {
            "loss": stats.loss,
            "l0": stats.l0,
            "mse": stats.mse,
            "sparsity_loss": stats.sparsity,
            "aux_loss": stats.aux,
        }
        for k, v in parts.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.sum_steps += 1
        self.last_grad_norm = gnorm
        self.last_out_mse = stats.mse
        self.last_target = y

        final_start = self.config.total_steps - max(1, self.config.final_eval_tokens // tokens)
        if step >= final_start:
            # This shard's sums; the trainer adds the ranks' together when it reads them.
            if self.final_acc is None:
                self.final_acc = ReconstructionAccumulator(sae.d_sae, sae.W_enc.device)
            self.final_acc.update(y, out.x_hat.detach(), out.fired, out.l0.detach().double() * n)

        if (step + 1) in spec.resample_steps:
            # Every rank resamples from the whole batch with the same generator: same result.
            batch = group.gather_rows(x) if group.distributed else x
            self.n_resampled += resample_dead_latents(
                sae, self.optimizer, self.dead_mask(), batch, self.generator
            )
            self.since_fired.masked_fill_(self.dead_mask(), 0)
        return stats

    def log_metrics(self, tokens_per_s: float, group: RankGroup | None = None) -> dict[str, Any]:
        """Means since the last log (global already) and the FVU of the last batch; every rank
        calls it at the same step (the last batch's variance is reduced over them)."""
        steps = max(self.sum_steps, 1)
        m: dict[str, Any] = {k: float(v) / steps for k, v in self.sums.items()}
        y = self.last_target.float()
        if group is not None and group.distributed:
            var = float(global_variances(group, y)[0])
        else:
            var = float((y - y.mean(0)).pow(2).sum(-1).mean())
        fvu = float(self.last_out_mse) / var if var > 0 else float("nan")
        self.last_fvu = fvu
        dens = self.density()
        m.update(
            fvu=fvu,
            explained_variance=1.0 - fvu,
            dead=int(self.dead_mask().sum()),
            dense=int((dens > DENSE_THRESHOLD).sum()) if dens is not None else 0,
            lr=self.current_lr,
            grad_norm=float(self.last_grad_norm),
            tokens_per_s=tokens_per_s,
            sparsity_coefficient=self.coefficient_now(),
        )
        if self.spec.target_l0 is not None:
            m["target_l0"] = self.spec.target_l0
        self._reset_sums()
        return m

    def coefficient_now(self) -> float | None:
        if self.controller is not None:
            return self.controller.coefficient
        return self.spec.sparsity_coefficient

    def global_final_acc(self, group: RankGroup) -> ReconstructionAccumulator | None:
        """The final-window accumulator over every rank's shards (a new object: each rank keeps
        adding its own shards to its own)."""
        acc = self.final_acc
        if acc is None or not group.distributed:
            return acc
        dev = acc.sq_err.device
        sum_x = acc.sum_x if acc.sum_x is not None else torch.zeros(self.sae.d_out, device=dev)
        head = torch.stack(
            [torch.tensor(float(acc.n), device=dev, dtype=torch.float64), acc.sq_err, acc.sq_x]
            + [acc.cos, acc.ratio, acc.active]
        )
        flat = group.sum_(torch.cat([head, sum_x.double(), acc.fired.double()]))
        out = ReconstructionAccumulator(acc.d_sae, dev)
        out.n = int(flat[0].item())
        out.sq_err, out.sq_x, out.cos, out.ratio, out.active = flat[1:6].unbind()
        d = sum_x.numel()
        out.sum_x = flat[6 : 6 + d].clone()
        out.fired = flat[6 + d :].round().long()
        return out

    # ---- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": {k: v.detach().clone() for k, v in self.sae.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "since_fired": self.since_fired.clone(),
            "window_counts": self.window_counts.clone(),
            "window_tokens": self.window_tokens,
            "last_density": self.last_density,
            "controller": self.controller.state_dict() if self.controller is not None else None,
            "scale_in": self.scale_in,
            "scale_out": self.scale_out,
            "generator": self.generator.get_state(),
            "history": json.dumps(self.history),
            "last_fvu": self.last_fvu,
            "n_resampled": self.n_resampled,
            "last_density_standard": getattr(self.sae, "last_density", None),
            "final_acc": vars(self.final_acc).copy() if self.final_acc is not None else None,
            "sums": dict(self.sums),
            "sum_steps": self.sum_steps,
        }

    def load_state_dict(self, state: dict[str, Any], main: bool = True) -> None:
        """Restore a checkpoint's (global) state; a rank other than ``main`` starts its share of
        the final-window sums at zero, as rank 0 holds what the checkpoint summed."""
        dev = self.sae.W_enc.device
        self.sae.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.since_fired = state["since_fired"].to(dev)
        self.window_counts = state["window_counts"].to(dev)
        self.window_tokens = int(state["window_tokens"])
        ld = state["last_density"]
        self.last_density = ld.to(dev) if ld is not None else None
        if state["controller"] is not None:
            self.controller = L0Controller.from_state(state["controller"])
        self.scale_in = float(state["scale_in"])
        self.scale_out = float(state["scale_out"])
        self.generator.set_state(state["generator"])
        self.history = json.loads(state["history"])
        self.last_fvu = state["last_fvu"]
        self.n_resampled = int(state["n_resampled"])
        self.sums = {k: v.to(dev) for k, v in state["sums"].items()}
        self.sum_steps = int(state["sum_steps"])
        if state.get("final_acc") is not None:
            acc = ReconstructionAccumulator(self.sae.d_sae, dev)
            if main:
                acc.__dict__.update(state["final_acc"])
            self.final_acc = acc
        if state.get("last_density_standard") is not None and hasattr(self.sae, "last_density"):
            self.sae.last_density = float(state["last_density_standard"])  # type: ignore[assignment]

    def export_sae(self) -> SAE:
        """A copy with the normalisation scales folded in (works on raw activations)."""
        copy = build_sae(self.sae.cfg)
        copy.load_state_dict(self.sae.state_dict())
        copy.fold_activation_scale(self.scale_in, self.scale_out)
        return copy

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"hook_name": self.spec.hook_name}
        if self.spec.hook_name_out is not None:
            meta["hook_name_out"] = self.spec.hook_name_out
        meta.update(self.spec.sae.metadata)
        meta.setdefault("hf_hook_name", None)
        return meta
