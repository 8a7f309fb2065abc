"""Datasets and tokenizations: import text, tokenize it into fixed-length sequences, inspect it.

``import_dataset(DatasetSource, folder)`` writes a dataset folder (``data.parquet`` +
``dataset.json``) from the Hub, local files or a built-in corpus; ``tokenize_dataset`` turns it
into a :class:`Tokenization` folder (flat token array + windows) that ``get_batch`` reads back as
padded ``[n, max_length]`` batches. See each module's docstring for the decisions behind it.
"""

from mistudio.core.data.builtin_corpora import BUILTIN_CORPORA, BuiltinCorpus, load_builtin
from mistudio.core.data.dataset import (
    DatasetInfo,
    choose_text_column,
    compute_dataset_stats,
    iter_texts,
    load_dataset_stats,
    open_dataset,
)
from mistudio.core.data.decoding import convert_ids_to_tokens, decode, decode_each
from mistudio.core.data.fingerprint import check_compatible, tokenizer_fingerprint
from mistudio.core.data.local_files import SUPPORTED_SUFFIXES
from mistudio.core.data.samples import dataset_samples, tokenization_samples
from mistudio.core.data.sources import DatasetSource, import_dataset
from mistudio.core.data.stats import (
    DatasetStats,
    Histogram,
    TokenCount,
    TokenizationStats,
    compute_stats,
    load_stats,
)
from mistudio.core.data.tokenize import compute_windows, tokenize_dataset
from mistudio.core.data.tokenize_config import TokenizeConfig
from mistudio.core.data.tokenized_folder import (
    TokenBatch,
    Tokenization,
    TokenizationMeta,
)

__all__ = [
    "BUILTIN_CORPORA",
    "SUPPORTED_SUFFIXES",
    "BuiltinCorpus",
    "DatasetInfo",
    "DatasetSource",
    "DatasetStats",
    "Histogram",
    "TokenBatch",
    "TokenCount",
    "Tokenization",
    "TokenizationMeta",
    "TokenizationStats",
    "TokenizeConfig",
    "check_compatible",
    "choose_text_column",
    "compute_dataset_stats",
    "compute_stats",
    "compute_windows",
    "convert_ids_to_tokens",
    "dataset_samples",
    "decode",
    "decode_each",
    "import_dataset",
    "iter_texts",
    "load_builtin",
    "load_dataset_stats",
    "load_stats",
    "open_dataset",
    "tokenization_samples",
    "tokenize_dataset",
    "tokenizer_fingerprint",
]
