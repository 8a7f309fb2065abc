"""SAEs from other tools' files: one reader module per format behind one registry.

``read_sae(path)`` turns a folder (or a file inside it, or a .zip of it) into an
:class:`ImportedSAE`: our SAE class computing the source's exact forward on raw activations,
plus what the source says about the hook, the model and where the files came from.
``detect_format(path)`` names the format, or says in one line what the folder holds instead.

Adding a format is one module with ``@register_format(name, marker)`` on its read function
(:mod:`mistudio.core.formats.registry`) plus one import here; importing the modules below is what
registers them. Markers are file names (``cfg.json`` + ``sae_weights.safetensors`` for SAELens,
``cfg.json`` + ``sae.safetensors`` for sparsify, ``params.npz``, ``params.safetensors`` +
``config.json``, ``hyperparams.json`` + ``checkpoints/final.safetensors``, ``ae.pt``): a folder
holds a format when it holds its marker's files, and no two formats share theirs. The modules
import the registry module and the shared steps of :mod:`mistudio.core.formats.reading`, never
this package.
"""

# Importing a format module registers its reader. Their marker files do not overlap, so the
# import order (the detection order) does not matter.
from mistudio.core.formats import (  # noqa: F401
    dictionary_learning,
    gemma_scope,
    llama_scope,
    saelens,
    sparsify,
)
from mistudio.core.formats.detect import detect_format, read_sae
from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    register_format,
    registered_formats,
)

__all__ = [
    "ImportedSAE",
    "ReadRequest",
    "detect_format",
    "read_sae",
    "register_format",
    "registered_formats",
]
