"""miStudio: a workbench for mechanistic interpretability with sparse autoencoders."""

__version__ = "0.1.0"
