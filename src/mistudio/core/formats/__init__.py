"""SAEs from other tools' files: one reader module per format behind one registry.

``read_sae(path)`` turns a folder (or a file inside it, or a .zip of it) into an
:class:`ImportedSAE`: our SAE class computing the source's exact forward on raw activations,
plus what the source says about the hook, the model and where the files came from.
``detect_format(path)`` names the format, or says in one line what the folder holds instead.

Adding a format is one module with ``@register_format(name, marker, matches)`` on its read
function (:mod:`mistudio.core.formats.registry`) plus one import here; importing the modules
below is what registers them, in detection order (a format whose marker files contain another's
comes first). The modules import the registry module, never this package.
"""

from mistudio.core.formats import saelens  # noqa: F401  (registers the reader)
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
