"""A small logistic-regression probe in torch (full batch, L-BFGS, L2 penalty).

scikit-learn is not a dependency of the product. A binary probe on a few features (the k-sparse
probes: k <= 64) is fitted by Newton's method (IRLS, a handful of small solves, far fewer torch
calls than L-BFGS, which matters on a loaded CPU); wider or multi-class probes by L-BFGS. Inputs
are standardised with the training set's mean and std (as SAEBench's probes are trained on
normalised activations).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class LinearProbe:
    """A fitted multinomial (or binary, as two classes) logistic regression."""

    weight: Tensor
    """[n_classes, d] on standardised inputs."""
    bias: Tensor
    """[n_classes]."""
    mean: Tensor
    """[d] training mean."""
    std: Tensor
    """[d] training std (1 where constant)."""

    def logits(self, x: Tensor) -> Tensor:
        """x: [n, d] -> [n, n_classes]."""
        return ((x.float() - self.mean) / self.std) @ self.weight.T + self.bias

    def predict(self, x: Tensor) -> Tensor:
        """[n] class indices."""
        return self.logits(x).argmax(-1)

    def accuracy(self, x: Tensor, y: Tensor) -> float:
        return float((self.predict(x) == y).float().mean()) if len(y) else float("nan")

    def directions(self) -> Tensor:
        """[n_classes, d] each class's direction in the raw (unstandardised) input space."""
        return self.weight / self.std


NEWTON_MAX_FEATURES = 64
"""Binary probes on at most this many features are fitted by Newton's method."""


def _fit_newton(z: Tensor, y: Tensor, l2: float, mean: Tensor, std: Tensor) -> LinearProbe:
    """Binary logistic regression by IRLS on standardised ``z[n, d]``, same penalty as L-BFGS
    (``l2 * ||w||^2`` added to the mean loss), as two-class logits ``[0, w.z + b]``."""
    n, d = z.shape
    X = torch.cat([z.double(), torch.ones(n, 1, dtype=torch.float64)], 1)  # [n, d+1]
    t = y.double()
    reg = torch.full((d + 1,), 2 * l2 * n, dtype=torch.float64)
    reg[-1] = 1e-9  # the bias is not penalised
    w = torch.zeros(d + 1, dtype=torch.float64)
    for _ in range(25):
        p = torch.sigmoid(X @ w)
        grad = X.T @ (p - t) + reg * w
        hess = (X.T * (p * (1 - p))) @ X + torch.diag(reg)
        step = torch.linalg.solve(hess, grad)
        w = w - step
        if float(step.abs().max()) < 1e-7:
            break
    weight = torch.stack([torch.zeros(d), w[:-1].float()])
    bias = torch.stack([torch.zeros(()), w[-1].float()])
    return LinearProbe(weight, bias, mean, std)


def fit_probe(
    x: Tensor, y: Tensor, n_classes: int | None = None, l2: float = 1e-3, steps: int = 100
) -> LinearProbe:
    """Fit on ``x[n, d]``, integer labels ``y[n]``."""
    x = x.float()
    k = int(n_classes if n_classes is not None else int(y.max()) + 1)
    mean = x.mean(0)
    std = x.std(0, unbiased=False)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    z = (x - mean) / std  # [n, d]
    if k == 2 and x.shape[1] <= NEWTON_MAX_FEATURES:
        return _fit_newton(z, y, l2, mean, std)
    weight = torch.zeros(k, x.shape[1], requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight.T + bias, y.long())
        loss = loss + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return LinearProbe(weight.detach(), bias.detach(), mean, std)
