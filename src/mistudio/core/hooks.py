"""Hook points of HuggingFace causal LMs, named both TransformerLens-style and by module path.

We run HuggingFace models directly (no TransformerLens conversion), so every family gets a small
:class:`BlockLayout` that says which module's input or output *is* each hook point:

==============  ==========================================================================
resid_pre L     input of block L
resid_mid L     input of the second norm of block L (absent with a parallel residual)
resid_post L    output of block L
attn_out L      what the attention branch adds to the residual stream
mlp_in L        input of the MLP (the normalised residual)
mlp_out L       what the MLP branch adds to the residual stream
==============  ==========================================================================

Two operations sit on top: :func:`capture` records activations and can stop the forward pass as
soon as the last requested hook has fired (an exception unwinds the rest of the model, which is
how reading layer 6 of a 30-layer model costs 7 layers), and :func:`intervene` replaces an
activation inside any forward or ``generate`` call (SAE splicing, ablation, steering).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mistudio.errors import InvalidInputError

HookKind = Literal["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_in", "mlp_out"]
HOOK_KINDS: tuple[HookKind, ...] = (
    "resid_pre",
    "resid_mid",
    "resid_post",
    "attn_out",
    "mlp_in",
    "mlp_out",
)
# TransformerLens names of each kind, with {L} the layer.
_TL_NAMES: dict[HookKind, str] = {
    "resid_pre": "blocks.{L}.hook_resid_pre",
    "resid_mid": "blocks.{L}.hook_resid_mid",
    "resid_post": "blocks.{L}.hook_resid_post",
    "attn_out": "blocks.{L}.hook_attn_out",
    "mlp_in": "blocks.{L}.hook_mlp_in",
    "mlp_out": "blocks.{L}.hook_mlp_out",
}
_TL_PATTERN = re.compile(
    r"^blocks\.(\d+)\.hook_(resid_pre|resid_mid|resid_post|attn_out|mlp_in|mlp_out)$"
)

Side = Literal["input", "output"]


@dataclass(frozen=True)
class BlockLayout:
    """Where each hook point lives inside one model family."""

    layers: str
    """Path of the ``ModuleList`` of blocks, e.g. ``model.layers``."""
    final_norm: str
    """Path of the norm applied before the unembedding."""
    attn_out: tuple[str, Side]
    """Module (relative to a block) whose output is the attention branch's contribution."""
    mlp_in: tuple[str, Side]
    """Module whose input is the MLP input."""
    mlp_out: tuple[str, Side]
    """Module whose output is the MLP branch's contribution."""
    resid_mid: tuple[str, Side] | None
    """Module whose input is the residual stream between attention and MLP (None if parallel)."""


_LLAMA_LIKE = BlockLayout(
    layers="model.layers",
    final_norm="model.norm",
    attn_out=("self_attn", "output"),
    mlp_in=("mlp", "input"),
    mlp_out=("mlp", "output"),
    resid_mid=("post_attention_layernorm", "input"),
)
_GEMMA2_LIKE = BlockLayout(
    layers="model.layers",
    final_norm="model.norm",
    attn_out=("post_attention_layernorm", "output"),
    mlp_in=("mlp", "input"),
    mlp_out=("post_feedforward_layernorm", "output"),
    resid_mid=("pre_feedforward_layernorm", "input"),
)
LAYOUTS: dict[str, BlockLayout] = {
    "llama": _LLAMA_LIKE,
    "mistral": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "qwen3": _LLAMA_LIKE,
    "gemma": _LLAMA_LIKE,
    "olmo2": _LLAMA_LIKE,
    "gemma2": _GEMMA2_LIKE,
    "gemma3_text": _GEMMA2_LIKE,
    "gpt2": BlockLayout(
        layers="transformer.h",
        final_norm="transformer.ln_f",
        attn_out=("attn", "output"),
        mlp_in=("mlp", "input"),
        mlp_out=("mlp", "output"),
        resid_mid=("ln_2", "input"),
    ),
    "gpt_neox": BlockLayout(
        layers="gpt_neox.layers",
        final_norm="gpt_neox.final_layer_norm",
        attn_out=("post_attention_dropout", "output"),
        mlp_in=("mlp", "input"),
        mlp_out=("mlp", "output"),
        resid_mid=("post_attention_layernorm", "input"),
    ),
}


def layout_for(model: nn.Module) -> BlockLayout:
    """The layout of ``model``'s family, or a clear error naming the supported families."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in LAYOUTS:
        raise InvalidInputError(
            f"model family {model_type!r} has no hook layout yet; "
            f"supported: {', '.join(sorted(LAYOUTS))}"
        )
    layout = LAYOUTS[model_type]
    if model_type == "gpt_neox" and getattr(model.config, "use_parallel_residual", False):
        # Attention and MLP both read resid_pre, so no residual state exists between them.
        layout = BlockLayout(**{**layout.__dict__, "resid_mid": None})
    return layout


@dataclass(frozen=True)
class HookPoint:
    """One place in the model where activations are read or replaced."""

    name: str
    """TransformerLens-style name, e.g. ``blocks.6.hook_resid_post``."""
    layer: int
    """Block index."""
    kind: HookKind
    """Which activation of the block."""
    module: str
    """Full HuggingFace module path the hook attaches to."""
    side: Side
    """Whether the activation is that module's input or its output."""
    d: int
    """Width of the activation."""

    @property
    def hf_name(self) -> str:
        """HuggingFace-style name: the module path, plus ``.input`` for a module's input."""
        if self.kind == "resid_post":
            return self.module
        return self.module if self.side == "output" else f"{self.module}.input"


def _n_layers(model: nn.Module, layout: BlockLayout) -> int:
    return len(model.get_submodule(layout.layers))  # type: ignore[arg-type]


def _d_model(model: nn.Module) -> int:
    cfg: Any = model.config
    return int(getattr(cfg, "hidden_size", None) or cfg.n_embd)


def _d_mlp(model: nn.Module) -> int:
    cfg: Any = model.config
    value = getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None)
    return int(value or 4 * _d_model(model))


def hook_point(model: nn.Module, layout: BlockLayout, layer: int, kind: HookKind) -> HookPoint:
    """The hook point of ``kind`` in block ``layer``."""
    side: Side
    n_layers = _n_layers(model, layout)
    if not 0 <= layer < n_layers:
        raise InvalidInputError(
            f"layer {layer} does not exist; the model has layers 0..{n_layers - 1}"
        )
    block = f"{layout.layers}.{layer}"
    d = _d_model(model)
    if kind == "resid_pre":
        module, side = block, "input"
    elif kind == "resid_post":
        module, side = block, "output"
    else:
        spec = getattr(layout, kind)
        if spec is None:
            raise InvalidInputError(
                f"{kind} does not exist in this model (parallel residual stream)"
            )
        rel, side = spec
        module = f"{block}.{rel}"
    if kind == "mlp_in":
        d = _d_model(model)
    return HookPoint(_TL_NAMES[kind].format(L=layer), layer, kind, module, side, d)


def all_hook_points(model: nn.Module, layout: BlockLayout | None = None) -> list[HookPoint]:
    """Every hook point of every block, in forward order."""
    layout = layout or layout_for(model)
    points = []
    for layer in range(_n_layers(model, layout)):
        for kind in ("resid_pre", "attn_out", "resid_mid", "mlp_in", "mlp_out", "resid_post"):
            if kind == "resid_mid" and layout.resid_mid is None:
                continue
            points.append(hook_point(model, layout, layer, kind))
    return points


def resolve_hook_points(
    model: nn.Module, names: Sequence[str], layout: BlockLayout | None = None
) -> list[HookPoint]:
    """Hook points for TransformerLens-style or HuggingFace names; lists the valid ones on error."""
    layout = layout or layout_for(model)
    points = all_hook_points(model, layout)
    by_name = {p.name: p for p in points} | {p.hf_name: p for p in points}
    resolved = []
    last = _n_layers(model, layout) - 1
    for name in names:
        if name in by_name:
            resolved.append(by_name[name])
            continue
        match = _TL_PATTERN.match(name)
        if match and int(match.group(1)) > last:
            raise InvalidInputError(
                f"hook point {name!r} does not exist: the model has layers 0..{last}"
            )
        kinds = ", ".join(f"hook_{k}" for k in HOOK_KINDS if k != "resid_mid" or layout.resid_mid)
        raise InvalidInputError(
            f"hook point {name!r} does not exist; valid names are blocks.<0..{last}>."
            f"<{kinds}> or their HuggingFace module paths (e.g. {points[-1].hf_name})"
        )
    return resolved


class StopForward(Exception):
    """Raised inside a hook to end a forward pass once every requested activation is captured."""


def _first(output: Any) -> Tensor:
    return output[0] if isinstance(output, tuple) else output


def _input_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
    if args:
        return args[0]
    return kwargs["hidden_states"]


class Capture:
    """Runs forward passes that record the requested hook points (see :func:`capture`)."""

    def __init__(self, model: nn.Module, hook_points: Sequence[HookPoint], stop_early: bool):
        self.model = model
        self.hook_points = list(hook_points)
        self.stop_early = stop_early
        self.store: dict[str, Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _record(self, point: HookPoint, value: Tensor) -> None:
        self.store[point.name] = value.detach()
        if self.stop_early and len(self.store) == len(self.hook_points):
            raise StopForward

    def _attach(self) -> None:
        for point in self.hook_points:
            module = self.model.get_submodule(point.module)
            if point.side == "input":

                def pre_hook(
                    _m: nn.Module,
                    args: tuple[Any, ...],
                    kwargs: dict[str, Any],
                    point: HookPoint = point,
                ) -> None:
                    self._record(point, _input_of(args, kwargs))

                self._handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
            else:

                def hook(_m: nn.Module, _args: Any, output: Any, point: HookPoint = point) -> None:
                    self._record(point, _first(output))

                self._handles.append(module.register_forward_hook(hook))

    def _detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @torch.no_grad()
    def run(self, **forward_kwargs: Any) -> dict[str, Tensor]:
        """One forward pass; returns ``{hook name: Tensor[batch, seq, d]}``.

        Hooks are attached for this call only, so a capture held open by a suspended generator
        (a training data stream, say) never fires inside another forward pass.
        """
        self.store = {}
        self._attach()
        try:
            with contextlib.suppress(StopForward):
                self.model(**forward_kwargs, use_cache=False)
        finally:
            self._detach()
        missing = [p.name for p in self.hook_points if p.name not in self.store]
        if missing:
            raise RuntimeError(f"hook points never fired: {missing}")
        return self.store


@contextmanager
def capture(
    model: nn.Module, hook_points: Sequence[HookPoint], stop_early: bool = True
) -> Iterator[Capture]:
    """A :class:`Capture` whose ``run`` records the hook points.

    With ``stop_early`` the forward pass ends right after the last requested hook fires, so the
    layers above the deepest hook point, the final norm and the unembedding never run.
    """
    yield Capture(model, hook_points, stop_early)


ActivationFn = Callable[[Tensor], Tensor]


@contextmanager
def intervene(
    model: nn.Module,
    edits: dict[str, ActivationFn],
    layout: BlockLayout | None = None,
) -> Iterator[None]:
    """Replace activations during every forward pass (and ``generate`` step) inside the block.

    ``edits`` maps a hook name (either style) to a function from the activation
    ``Tensor[batch, seq, d]`` to its replacement of the same shape. ``resid_mid`` cannot be
    replaced (the block adds its residual internally); every other kind can.
    """
    points = resolve_hook_points(model, list(edits), layout)
    handles = []
    try:
        for point, fn in zip(points, edits.values(), strict=True):
            if point.kind == "resid_mid":
                raise InvalidInputError(
                    "resid_mid can be read but not replaced; use resid_pre/post"
                )
            module = model.get_submodule(point.module)
            if point.side == "input":

                def pre_hook(
                    _m: nn.Module,
                    args: tuple[Any, ...],
                    kwargs: dict[str, Any],
                    fn: ActivationFn = fn,
                ) -> tuple[tuple[Any, ...], dict[str, Any]]:
                    if args:
                        return (fn(args[0]), *args[1:]), kwargs
                    return args, {**kwargs, "hidden_states": fn(kwargs["hidden_states"])}

                handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
            else:

                def hook(_m: nn.Module, _args: Any, output: Any, fn: ActivationFn = fn) -> Any:
                    if isinstance(output, tuple):
                        return (fn(output[0]), *output[1:])
                    return fn(output)

                handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()
