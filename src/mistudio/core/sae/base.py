"""The one interface every SAE architecture implements, and its config.

An SAE maps an activation ``x[batch, d_in]`` to latents ``f[batch, d_sae]`` and back to
``x_hat[batch, d_out]`` (``d_out == d_in`` except for transcoders). Conventions follow the SAELens
folder format (FORMATS.md §1) so a saved SAE is the state dict with no renaming:
``W_enc[d_in, d_sae]``, ``b_enc[d_sae]``, ``W_dec[d_sae, d_out]``, ``b_dec[d_out]`` and, for skip
variants, ``W_skip[d_out, d_in]``.

Each architecture lives in its own module and registers itself with ``@register_sae("name")``
(:mod:`mistudio.core.sae.registry`); :func:`build_sae` turns an :class:`SAEConfig` into a module.
The class is the only place that knows its architecture: how sparsity is controlled
(:attr:`SAE.sparsity_control`), which config fields it reads (:attr:`SAE.parameters_used`), what a
training step holds in memory (:meth:`SAE.step_bytes`), its SAELens names and cfg mapping, and
its own config checks (:meth:`SAE.check_config`). Config validation, the trainer, the memory
estimate, the SAELens reader and the API ask the registry, so adding an architecture is one new
module plus its import in ``core/sae/__init__.py``. Two forwards exist:

* :meth:`SAE.forward` is the inference path (dense latents, ``mse`` only) used by evals and
  feature extraction;
* :meth:`SAE.training_forward` adds the architecture's sparsity / auxiliary losses and may keep
  the latents sparse (:class:`SparseCodes`) so that nothing ``[batch, d_sae]``-sized is built
  beyond the encoder GEMM.

Initialisation (Gao et al. 2024; Anthropic April 2024 update): decoder rows are random unit
directions scaled by ``init_decoder_norm``, ``W_enc = W_dec.T`` (when shapes allow), ``b_enc = 0``,
and ``b_dec`` is set from an init batch by :meth:`SAE.init_b_dec` (geometric median or mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import torch
from pydantic import ValidationError, model_validator
from torch import Tensor, nn

from mistudio.core.config import OperationConfig
from mistudio.core.sae.registry import sae_class
from mistudio.core.sae.sparse_ops import SparseCodes, Workspace
from mistudio.errors import InvalidInputError

if TYPE_CHECKING:  # core/training imports this module; the group is only passed through here
    from mistudio.core.training.distributed import RankGroup

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def validation_message(exc: ValidationError) -> str:
    """One readable line from a pydantic error (``field: problem; ...``)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "config"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


class StrictModel(OperationConfig):
    """An operation config raising :class:`InvalidInputError` (one line) instead of a traceback."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInputError(
                f"invalid {type(self).__name__}: {validation_message(exc)}"
            ) from None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Any:
        """Build from a plain dict (as read from JSON/YAML), with the same one-line errors."""
        return cls(**data)


class SAEConfig(StrictModel):
    """Shape and architecture of one SAE (all that is needed to rebuild it before loading)."""

    architecture: str = "topk"
    """Which architecture: a name in the SAE registry (``GET /saes/architectures`` lists them)."""
    d_in: int
    """Width of the activation read (input hook point)."""
    d_sae: int
    """Number of latents (dictionary size)."""
    d_out: int | None = None
    """Width of the reconstruction; only transcoders differ from ``d_in`` (None means d_in)."""
    k: int | None = None
    """Active latents per token for ``topk`` and (on average) for ``batchtopk``."""
    matryoshka_widths: list[int] | None = None
    """``matryoshka_batchtopk``: the nested prefix widths, strictly increasing, the last = d_sae
    (added when missing); each prefix of the dictionary gets its own reconstruction loss. None:
    d_sae/16, d_sae/4, d_sae (Bussmann et al. 2025 use a few prefixes growing ~4x)."""
    apply_b_dec_to_input: bool | None = None
    """Subtract ``b_dec`` from the input before encoding; None picks the architecture default."""
    input_normalization: Literal["none", "constant_norm_rescale", "layer_norm"] = "none"
    """Per-input normalisation at inference, for imported SAEs (SAELens ``normalize_activations``):
    ``constant_norm_rescale`` scales each input to norm sqrt(d_in), ``layer_norm`` standardises
    it; decode undoes it. Training folds a dataset-wide scale into the weights instead."""
    skip: bool = False
    """Transcoders only: add a learned linear skip path ``x @ W_skip.T``."""
    jumprelu_init_threshold: float = 0.01
    """JumpReLU: initial threshold of every latent (SAELens default); training with a
    ``target_l0`` starts each threshold at the quantile that gives the target instead."""
    jumprelu_bandwidth: float = 0.05
    """JumpReLU: rectangle-kernel width of the straight-through estimator. The paper's 0.001 is
    for activations of unit mean norm; ours are scaled to norm sqrt(d), hence SAELens' 0.05."""
    init_decoder_norm: float | None = None
    """Norm of decoder rows at init; None: 1 (unit norm), 0.1 for L1-penalised ReLU SAEs."""
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    """Parameter dtype (training keeps float32 master weights; see TrainConfig.autocast)."""
    device: str = "cpu"
    """Device the parameters live on ("cpu", "cuda", "cuda:1", ...)."""
    metadata: dict[str, Any] = {}
    """Free lineage written to cfg.json ``metadata`` (hook_name, hf_hook_name, model_name, ...)."""

    @model_validator(mode="after")
    def _check(self) -> SAEConfig:
        if self.d_in <= 0:
            raise InvalidInputError(f"d_in must be > 0, got {self.d_in}")
        if self.d_sae <= 0:
            raise InvalidInputError(f"d_sae must be > 0, got {self.d_sae}")
        if self.d_out is not None and self.d_out <= 0:
            raise InvalidInputError(f"d_out must be > 0, got {self.d_out}")
        cls = sae_class(self.architecture)
        cls.check_config(self)
        if not cls.reconstructs_other_hook and self.d_out not in (None, self.d_in):
            raise InvalidInputError(
                f"d_out ({self.d_out}) differs from d_in ({self.d_in}); only transcoders allow that"
            )
        if self.jumprelu_init_threshold <= 0 or self.jumprelu_bandwidth <= 0:
            raise InvalidInputError("jumprelu_init_threshold and jumprelu_bandwidth must be > 0")
        if self.init_decoder_norm is not None and self.init_decoder_norm <= 0:
            raise InvalidInputError("init_decoder_norm must be > 0")
        return self

    @property
    def out_dim(self) -> int:
        return self.d_out if self.d_out is not None else self.d_in


class SAEOutput(NamedTuple):
    """What a forward pass returns."""

    x_hat: Tensor
    """[batch, d_out] reconstruction."""
    latents: Tensor | None
    """[batch, d_sae] dense latents; None from training forwards that keep them sparse (``codes``)
    or in a reused workspace (use :meth:`SAE.encode` to get them)."""
    loss: Tensor
    """Scalar the optimiser minimises (mse + sparsity + aux)."""
    losses: dict[str, Tensor]
    """Named scalar parts: ``mse`` always; ``sparsity``, ``aux`` when the architecture has them."""
    l0: Tensor
    """Scalar: mean number of latents > 0 per token."""
    fired: Tensor
    """[d_sae] int64: tokens in this batch where each latent was > 0."""
    codes: SparseCodes | None = None
    """Active latents in CSR form when the forward was sparse."""


@dataclass
class TrainContext:
    """Per-step knobs the trainer hands to :meth:`SAE.training_forward`."""

    sparsity_coefficient: float = 0.0
    """Weight of the L1 (standard) or L0 (jumprelu) penalty at this step."""
    dead_mask: Tensor | None = None
    """[d_sae] bool: latents that have not fired over the dead window (AuxK uses it)."""
    aux_k: int = 256
    """AuxK: how many dead latents reconstruct the residual (Gao et al. use d_in / 2)."""
    aux_coefficient: float = 1 / 32
    """AuxK weight (Gao et al. 2024)."""
    update_threshold: bool = True
    """BatchTopK: update the running inference threshold from this batch."""
    group: RankGroup | None = None
    """Data-parallel ranks this batch is a shard of (None: one process). Architectures whose
    training forward reads a statistic of the whole batch reduce it through the group (TopK's
    AuxK variances, BatchTopK's batch threshold)."""


DENSE_TEMPORARIES = 4
"""[batch, d_sae] float32 tensors alive at the peak of a dense step (pre, latents, two grads)."""


def mse_loss(x_hat: Tensor, target: Tensor) -> Tensor:
    """Squared error summed over features, averaged over tokens (Anthropic / SAELens convention)."""
    return (x_hat.float() - target.float()).pow(2).sum(-1).mean()


def geometric_median(points: Tensor, iters: int = 50, eps: float = 1e-6) -> Tensor:
    """[d] Weiszfeld's geometric median of [n, d] points (robust b_dec init, Bricken et al.)."""
    pts = points.double()
    guess = pts.mean(0)
    for _ in range(iters):
        dist = (pts - guess).norm(dim=-1).clamp_min(eps)
        weights = 1.0 / dist
        new = (weights[:, None] * pts).sum(0) / weights.sum()
        if (new - guess).norm() < eps * max(1.0, float(guess.norm())):
            guess = new
            break
        guess = new
    return guess.to(points.dtype)


SparsityControl = Literal["penalty", "k", "threshold"]
"""How an architecture's L0 is set: ``penalty`` (a coefficient, or a target L0 the controller
finds it for), ``k`` (active latents per token, structural), ``threshold`` (a fixed rule that
needs neither)."""


class SAE(nn.Module):
    """Base class: parameters, init, dense encode/decode, decoder constraint, scale folding.

    The class attributes below are the architecture's facts; the registry serves them (see
    :func:`~mistudio.core.sae.catalog.architecture_info`) so no other module names an architecture.
    """

    architecture: ClassVar[str] = ""
    sparsity_control: ClassVar[SparsityControl] = "penalty"
    """How L0 is set (see :data:`SparsityControl`)."""
    parameters_used: ClassVar[tuple[str, ...]] = ()
    """SAEConfig fields beyond the shape that this architecture reads (``k``, ``skip``, ...)."""
    reconstructs_other_hook: ClassVar[bool] = False
    """Reads one hook point and reconstructs another (transcoders: needs ``hook_name_out``)."""
    supports_resampling: ClassVar[bool] = False
    """Dead latents may be re-initialised at ``resample_steps`` (Bricken et al. 2023)."""
    uses_dead_mask: ClassVar[bool] = False
    """The training forward needs the dead-latent mask (AuxK)."""
    saelens_names: ClassVar[tuple[str, ...]] = ()
    """SAELens cfg.json architectures this class is saved as (default: its own name)."""
    saelens_reader: ClassVar[bool] = True
    """Whether a cfg.json with one of :attr:`saelens_names` loads back as this class by default
    (False where another class reads the file, e.g. BatchTopK is read back as a JumpReLU)."""
    unit_norm_decoder: ClassVar[bool] = True
    """Keep decoder rows at unit norm (False where the penalty is norm-weighted instead)."""
    sparsity_penalty: ClassVar[str | None] = None
    """"l1" or "l0": what ``sparsity_coefficient`` weighs (None: sparsity is structural)."""
    default_apply_b_dec_to_input: ClassVar[bool] = True
    default_init_decoder_norm: ClassVar[float] = 1.0
    denormalizes_output: ClassVar[bool] = True
    """Whether decode undoes ``input_normalization`` (SAELens' transcoders do not)."""
    trainable: ClassVar[bool] = True
    """Whether the trainer can train it (False: read from other tools' files for inference only;
    the architecture catalog then leaves it out)."""

    W_skip: nn.Parameter | None
    _norm_stats: tuple[Tensor, Tensor] | None

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.d_in = cfg.d_in
        self.d_sae = cfg.d_sae
        self.d_out = cfg.out_dim
        self.apply_b_dec_to_input = (
            cfg.apply_b_dec_to_input
            if cfg.apply_b_dec_to_input is not None
            else self.default_apply_b_dec_to_input
        )
        kw: dict[str, Any] = {"dtype": DTYPES[cfg.dtype], "device": torch.device(cfg.device)}
        # [d_in, d_sae], stored column-major: the sparse kernels produce W_enc's gradient as
        # [d_sae, d_in] rows, and with this layout it is accumulated without a transposing copy.
        self.W_enc = nn.Parameter(torch.empty(self.d_sae, self.d_in, **kw).T)
        self.b_enc = nn.Parameter(torch.zeros(self.d_sae, **kw))  # [d_sae]
        self.W_dec = nn.Parameter(torch.empty(self.d_sae, self.d_out, **kw))  # [d_sae, d_out]
        self.b_dec = nn.Parameter(torch.zeros(self.d_out, **kw))  # [d_out]
        self.W_skip = None
        if self.has_skip:
            self.W_skip = nn.Parameter(torch.zeros(self.d_out, self.d_in, **kw))  # [d_out, d_in]
        self.workspace = Workspace()
        self._norm_stats = None  # (shift, scale) of the last encoded input (input_normalization)
        if kw["device"].type != "meta":  # meta: counting parameters only
            self.reset_parameters()

    # ---- construction -------------------------------------------------------------------
    @property
    def has_skip(self) -> bool:
        return self.skip_in(self.cfg)

    def output_hook(self, override: str | None = None) -> str:
        """Where the decoder writes, the activation a steering intervention or a latent's
        ablation edits: ``override`` when given, else the recorded ``hook_name_out``
        (transcoders), else the hook it reads."""
        meta = self.cfg.metadata
        name = (
            override
            or meta.get("hook_name_out")
            or meta.get("hook_name")
            or meta.get("hf_hook_name")
        )
        if not name:
            raise InvalidInputError("the SAE records no hook_name; give the hook point explicitly")
        return str(name)

    # ---- architecture facts (asked of the class, before anything is built) ------------
    @classmethod
    def description(cls) -> str:
        """One line for the UI: the first line of the class docstring."""
        return (cls.__doc__ or cls.architecture).strip().splitlines()[0]

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        """Whether an SAE of this config has a learned linear skip ``W_skip``."""
        return False

    @classmethod
    def check_config(cls, cfg: SAEConfig) -> None:
        """Architecture-specific checks of ``cfg``; raise :class:`InvalidInputError` (one line)."""

    @classmethod
    def check_trainable(cls, cfg: SAEConfig) -> None:
        """Refuse (one line) a config the trainer cannot train: an inference-only architecture or a
        per-input normalisation (the training paths apply neither)."""
        if not cls.trainable:
            raise InvalidInputError(
                f"{cls.architecture} SAEs are imported for inference only; they cannot be trained"
            )
        if cfg.input_normalization != "none":
            raise InvalidInputError(
                f"input_normalization={cfg.input_normalization!r} is for imported SAEs; training "
                "normalises with TrainConfig.normalize_activations instead"
            )

    @classmethod
    def n_params(cls, cfg: SAEConfig) -> int:
        """Number of trainable parameters, counted on the meta device (nothing is allocated)."""
        meta = cls(cfg.model_copy(update={"device": "meta"}))
        return sum(p.numel() for p in meta.parameters())

    @classmethod
    def step_bytes(cls, cfg: SAEConfig, batch_tokens: int, aux_k: int) -> int:
        """Transient bytes of one training step beyond the batch: a dense step holds
        :data:`DENSE_TEMPORARIES` ``[batch, d_sae]`` float32 tensors (pre-activations, latents,
        their gradients); sparse architectures override this."""
        return DENSE_TEMPORARIES * batch_tokens * cfg.d_sae * 4

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        """SAEConfig fields beyond the shape read from a SAELens cfg.json (``k``, ``d_out``...),
        or None when this class cannot rebuild that file."""
        return {"architecture": cls.architecture}

    @property
    def init_decoder_norm(self) -> float:
        if self.cfg.init_decoder_norm is not None:
            return self.cfg.init_decoder_norm
        return self.default_init_decoder_norm

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Random unit decoder directions (scaled), tied encoder, zero biases."""
        # Drawn on CPU so that a seed gives the same SAE on every device.
        w = torch.randn(self.d_sae, self.d_out, generator=generator)
        w = w / w.norm(dim=-1, keepdim=True) * self.init_decoder_norm
        self.W_dec.copy_(w)
        if self.d_out == self.d_in:
            self.W_enc.copy_(w.T)
        else:
            e = torch.randn(self.d_in, self.d_sae, generator=generator)
            self.W_enc.copy_(e / e.norm(dim=0, keepdim=True) * self.init_decoder_norm)
        self.b_enc.zero_()
        self.b_dec.zero_()
        if self.W_skip is not None:
            self.W_skip.zero_()

    @torch.no_grad()
    def init_b_dec(
        self,
        batch: Tensor,
        method: Literal["geometric_median", "mean", "zeros"] = "geometric_median",
    ) -> None:
        """Set ``b_dec`` from a [n, d_out] batch of (normalised) targets."""
        if method == "zeros":
            self.b_dec.zero_()
            return
        pts = batch.reshape(-1, batch.shape[-1]).to(self.b_dec.device)
        if pts.shape[-1] != self.d_out:
            raise InvalidInputError(f"init batch has width {pts.shape[-1]}, expected {self.d_out}")
        center = (
            geometric_median(pts.float()) if method == "geometric_median" else pts.float().mean(0)
        )
        self.b_dec.copy_(center.to(self.b_dec.dtype))

    # ---- inference ----------------------------------------------------------------------
    def input_bias(self) -> Tensor | None:
        """[d_in] subtracted from the input before encoding, or None."""
        return self.b_dec if self.apply_b_dec_to_input else None

    def input_stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The [batch, 1] statistics of ``input_normalization`` for inputs ``x``, as SAELens
        computes them (``SAE._setup_activation_normalization``): ``constant_norm_rescale``:
        (0, ``sqrt(d_in) / ||x||``), the input is multiplied by it and the output divided;
        ``layer_norm``: (mean, unbiased std of the centred input), the input becomes
        ``(x - mean) / (std + 1e-5)`` and the output ``out * std + mean`` (SAELens' asymmetry,
        kept so outputs are exact)."""
        if self.cfg.input_normalization == "constant_norm_rescale":
            coeff = (self.d_in**0.5) / x.norm(dim=-1, keepdim=True)  # [batch, 1]
            return torch.zeros_like(coeff), coeff
        mu = x.mean(dim=-1, keepdim=True)  # [batch, 1]
        std = (x - mu).std(dim=-1, keepdim=True)
        return mu, std

    def normalize_input(self, x: Tensor) -> Tensor:
        """[batch, d_in] the input as the SAE's weights expect it (``input_normalization``);
        remembers the statistics for a later :meth:`decode` without ``x`` (as SAELens does)."""
        kind = self.cfg.input_normalization
        if kind == "none":
            return x
        shift, scale = self.input_stats(x)
        self._norm_stats = (shift, scale)
        if kind == "constant_norm_rescale":
            return x * scale
        return (x - shift) / (scale + 1e-5)

    def denormalize_output(self, out: Tensor, x: Tensor | None) -> Tensor:
        """Undo ``input_normalization`` on a [batch, d_out] output, with the statistics of ``x``
        (or of the last encoded input when ``x`` is None)."""
        kind = self.cfg.input_normalization
        if kind == "none" or not self.denormalizes_output:
            return out
        if x is not None:
            shift, scale = self.input_stats(x)
        elif self._norm_stats is not None:
            shift, scale = self._norm_stats
        else:
            raise InvalidInputError(
                f"decode of an SAE with input_normalization={kind!r} needs the input x "
                "(or a preceding encode)"
            )
        if kind == "constant_norm_rescale":
            return out / scale.to(out.dtype)
        return out * scale.to(out.dtype) + shift.to(out.dtype)

    def pre_activation(self, x: Tensor) -> Tensor:
        """[batch, d_sae] = (norm(x) - b_dec?) @ W_enc + b_enc."""
        x = self.normalize_input(x)
        bias = self.input_bias()
        x_in = (x - bias if bias is not None else x).to(self.W_enc.dtype)
        return torch.addmm(self.b_enc, x_in, self.W_enc)

    def activate(self, pre: Tensor) -> Tensor:
        """[batch, d_sae] latents from pre-activations (the architecture's nonlinearity)."""
        raise NotImplementedError

    def encode(self, x: Tensor) -> Tensor:
        """x [batch, d_in] -> latents [batch, d_sae]."""
        return self.activate(self.pre_activation(x))

    def decode(self, latents: Tensor, x: Tensor | None = None) -> Tensor:
        """latents [batch, d_sae] -> x_hat [batch, d_out]; skip variants also need the input x."""
        out = torch.addmm(self.b_dec, latents.to(self.W_dec.dtype), self.W_dec)
        return self._add_skip(self.denormalize_output(out, x), x)

    def _add_skip(self, out: Tensor, x: Tensor | None) -> Tensor:
        if self.W_skip is None:
            return out
        if x is None:
            raise InvalidInputError(f"{self.architecture} decode needs the input x (skip path)")
        return out + x.to(self.W_skip.dtype) @ self.W_skip.T

    def forward(self, x: Tensor, target: Tensor | None = None) -> SAEOutput:
        """Inference forward: dense latents and the reconstruction error."""
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        latents = self.encode(x2)
        x_hat = self.decode(latents, x2)
        if target is None and self.d_out != self.d_in:
            mse = x_hat.new_full((), float("nan"))  # a transcoder needs its target
        else:
            tgt = (target if target is not None else x).reshape(-1, self.d_out)
            mse = mse_loss(x_hat, tgt)
        active = latents > 0
        return SAEOutput(
            x_hat=x_hat.reshape(*lead, self.d_out),
            latents=latents.reshape(*lead, self.d_sae),
            loss=mse,
            losses={"mse": mse},
            l0=active.sum(-1).float().mean(),
            fired=active.sum(0),
        )

    # ---- training -----------------------------------------------------------------------
    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        """Forward with the training losses. x [batch, d_in], target [batch, d_out]."""
        raise NotImplementedError

    def decoder_norms(self) -> Tensor:
        """[d_sae] L2 norm of each decoder row."""
        return self.W_dec.norm(dim=-1)

    @torch.no_grad()
    def remove_parallel_decoder_grad(self) -> None:
        """Project out the gradient component along each (unit) decoder row (Bricken et al.)."""
        if not self.unit_norm_decoder or self.W_dec.grad is None:
            return
        w, g = self.W_dec, self.W_dec.grad
        parallel = (g * w).sum(-1, keepdim=True)  # [d_sae, 1]
        g.addcmul_(w, parallel, value=-1.0)

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Rescale decoder rows to unit norm (no-op for norm-weighted L1 architectures)."""
        if self.unit_norm_decoder:
            self.W_dec.div_(self.W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8))

    @torch.no_grad()
    def fold_activation_scale(self, scale_in: float, scale_out: float | None = None) -> None:
        """Make an SAE trained on ``x * scale_in`` (target ``* scale_out``) work on raw activations.

        ``W_enc *= s_in; W_dec /= s_out; b_dec /= s_out; W_skip *= s_in / s_out`` and the input
        bias becomes ``b_dec / s_in`` (FORMATS §1, expected_average_only_in). Pre-activations are
        unchanged, so thresholds stay as they are.
        """
        s_out = scale_in if scale_out is None else scale_out
        if self.apply_b_dec_to_input and s_out != scale_in:
            raise InvalidInputError("input and output scales must match when b_dec is subtracted")
        self.W_enc.mul_(scale_in)
        self.W_dec.div_(s_out)
        self.b_dec.div_(s_out)
        if self.W_skip is not None:
            self.W_skip.mul_(scale_in / s_out)

    # ---- SAELens format -----------------------------------------------------------------
    def saelens_architecture(self) -> str:
        """The ``architecture`` written to cfg.json."""
        return self.saelens_names[0] if self.saelens_names else self.architecture

    def saelens_extra_cfg(self) -> dict[str, Any]:
        """Architecture-specific cfg.json keys (``k``, ``d_out``, ...)."""
        return {}

    def saelens_tensors(self) -> dict[str, Tensor]:
        """Tensors for sae_weights.safetensors, named and shaped as SAELens expects."""
        return self._base_tensors()

    def _base_tensors(self) -> dict[str, Tensor]:
        out = {
            "W_enc": self.W_enc.detach(),
            "b_enc": self.b_enc.detach(),
            "W_dec": self.W_dec.detach(),
            "b_dec": self.b_dec.detach(),
        }
        if self.W_skip is not None:
            out["W_skip"] = self.W_skip.detach()
        return out

    def load_saelens_tensors(self, tensors: dict[str, Tensor]) -> None:
        """Inverse of :meth:`saelens_tensors`."""
        own = self._base_tensors()
        missing = sorted(set(own) - set(tensors))
        if missing:
            raise InvalidInputError(f"sae_weights.safetensors lacks {', '.join(missing)}")
        with torch.no_grad():
            for name, dest in own.items():
                src = tensors[name]
                if tuple(src.shape) != tuple(dest.shape):
                    raise InvalidInputError(
                        f"tensor {name} has shape {tuple(src.shape)}, expected {tuple(dest.shape)}"
                    )
                dest.copy_(src.to(dest.dtype))


def build_sae(cfg: SAEConfig | dict[str, Any]) -> SAE:
    """A freshly initialised SAE for ``cfg``."""
    if isinstance(cfg, dict):
        cfg = SAEConfig(**cfg)
    return sae_class(cfg.architecture)(cfg)
