"""Linguistic analysis (issue 19 part 1): model tokens aligned to words by character offsets for
both kinds of byte tokens, code told from prose, code classed by Python's own tokenizer, and a
whole analysis over a hand-built extraction folder whose latents fire on known words, read back
one latent at a time. spaCy's real English pipeline reads the prose (the ``nlp`` extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mistudio.core.features.config import ExtractionConfig
from mistudio.core.features.result import (
    META_FILE,
    STATS_DIR,
    TOKENIZER_DIR,
    ExtractionMeta,
    ExtractionResult,
)
from mistudio.core.linguistics import (
    LinguisticConfig,
    Linguistics,
    LinguisticSummary,
    SpacyMissing,
    TokenReading,
    align_window,
    analyse_extraction,
    classify_python,
    looks_like_code,
    summarise,
)
from mistudio.core.linguistics.code_tokens import span_class
from tests.unit.test_data_tokenize import byte_bpe_tokenizer
from tests.unit.test_token_labels import byte_fallback_tokenizer

PROSE = [
    "And Moses said unto the people, Fear ye not, stand still.",
    "And the LORD said unto Moses, Wherefore criest thou unto me?",
    "Then Pharaoh said to his servants that they should go.",
    "And Aaron said unto them, Break off the golden earrings.",
]
PLACES = [
    "Yesterday John Smith flew to Paris with his wife.",
    "and the people of London and Paris went",
    "In March the President of France visited Germany.",
]
CODE = [
    "import os\n\ndef join(path, *parts):\n    return os.path.join(path, *parts)\n",
    "class Queue:\n    def put(self, item):\n        self.items.append(item)  # keep it\n",
    "    def get(self, block=True):\n        if not self.items:\n            return None\n",
]


def english_bpe():
    """A GPT-2 style byte-level BPE trained on the texts above with few merges, so words come
    in pieces (``Wherefore`` is several tokens) as they do for a real model."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=330,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator((PROSE + PLACES + CODE) * 5, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )


@pytest.mark.parametrize("make", [byte_bpe_tokenizer, byte_fallback_tokenizer])
def test_spans_cover_the_decoded_text_for_both_kinds_of_byte_tokens(make):
    tokenizer = make()
    text = "the café 😀 sat" if make is byte_bpe_tokenizer else "café café"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    aligned = align_window(tokenizer, ids)
    assert aligned.text == tokenizer.decode(ids)
    assert len(aligned.spans) == len(ids)
    # Spans run left to right without gaps, and whole-character tokens read as themselves.
    assert aligned.spans[0][0] == 0 and aligned.spans[-1][1] == len(aligned.text)
    for (_, end), (start, _) in zip(aligned.spans, aligned.spans[1:], strict=False):
        assert start <= end
    for token_id, (start, end) in zip(ids, aligned.spans, strict=True):
        piece = tokenizer.decode([token_id])
        if "\ufffd" not in piece:  # (SentencePiece drops a piece's space when decoded alone)
            assert aligned.text[start:end].strip() == piece.strip()
        else:  # part of a character: the span covers that whole character
            assert end - start == 1 and ord(aligned.text[start]) > 127


def test_code_is_told_from_prose():
    for text in CODE:
        assert looks_like_code(text), text
    for text in PROSE + ["1:1 In the beginning God created the heaven and the earth."]:
        assert not looks_like_code(text), text


def test_python_classes_and_fragments():
    text = "def size(self, x):\n    return len(x) + 1  # count\n"
    classes = classify_python(text)
    at = {
        word: span_class(classes, text.index(word), text.index(word) + len(word))
        for word in ("def", "size", "self", "return", "len", "+", "1", "# count")
    }
    assert at == {
        "def": "keyword",
        "size": "identifier",
        "self": "identifier",
        "return": "keyword",
        "len": "builtin",
        "+": "operator",
        "1": "number",
        "# count": "comment",
    }
    # A window cut inside a string and ending in an open bracket still classes every word.
    fragment = 'ing value"\n    x = foo(bar, "ba'
    classes = classify_python(fragment)
    assert len(classes) == len(fragment)
    assert span_class(classes, fragment.index("foo"), fragment.index("foo") + 3) == "identifier"
    assert span_class(classes, len(fragment) - 3, len(fragment)) == "string"


def _write_extraction(folder, tokenizer, windows_per_latent, before=16, after=4):
    """A completed extraction folder holding only what the analysis reads: ``top_tokens`` and
    ``top_locations`` per latent (windows centred on the given character offsets), ``n_top``,
    the tokenizer, and its meta."""
    folder.mkdir(parents=True)
    d, k, c = len(windows_per_latent), 4, before + 1 + after
    tokens = np.full((d, k, c), -1, dtype=np.int32)
    locations = np.full((d, k, 2), -1, dtype=np.int64)
    n_top = np.zeros(d, dtype=np.int64)
    for i, windows in enumerate(windows_per_latent):
        for r, (seq, text, word) in enumerate(windows):
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            at = text.index(word) + len(word) - 1  # the word's last piece fired
            center = next(j for j, (s, e) in enumerate(enc["offset_mapping"]) if s <= at < e)
            for j in range(c):
                src = center - before + j
                if 0 <= src < len(enc["input_ids"]):
                    tokens[i, r, j] = enc["input_ids"][src]
            locations[i, r] = (seq, center)
        n_top[i] = len(windows)
    np.save(folder / "top_tokens.npy", tokens)
    np.save(folder / "top_locations.npy", locations)
    (folder / STATS_DIR).mkdir()
    np.save(folder / STATS_DIR / "n_top.npy", n_top)
    tokenizer.save_pretrained(folder / TOKENIZER_DIR)
    config = ExtractionConfig(n_tokens=100, top_k=k, context_before=before, context_after=after)
    meta = ExtractionMeta(
        sae_folder=None,
        sae_architecture="topk",
        d_in=8,
        d_sae=d,
        hook_name="h",
        hf_hook_name="h",
        model_name="m",
        model_path=".",
        tokenization_folder=".",
        tokenization_name="t",
        tokenizer_fingerprint="f",
        n_tokens=100,
        n_sequences=10,
        config=config,
        coactivation_tokens=0,
        coactivation_pairs=0,
        seconds=1.0,
    )
    (folder / META_FILE).write_text(meta.model_dump_json())
    return ExtractionResult.open(folder)


def test_analysis_of_an_extraction(tmp_path):
    pytest.importorskip("spacy")
    tokenizer = english_bpe()
    said = [(i, text, "said") for i, text in enumerate(PROSE)]
    defs = [(10 + i, text, "def") for i, text in enumerate(CODE) if "def" in text]
    names = [(20, PLACES[0], "Paris"), (21, PLACES[1], "London"), (22, PLACES[2], "Germany")]
    result = _write_extraction(tmp_path / "x", tokenizer, [said, defs, names, [], said[:2]])
    steps = []
    meta = analyse_extraction(result, LinguisticConfig(), lambda s, t, **m: steps.append((s, t)))
    # Windows shared between latents are read once (latent 4 reuses two of latent 0's).
    assert meta.n_windows == len(said) + len(defs) + len(names)
    assert meta.n_code_windows == len(defs)
    assert steps[-1][0] == steps[-1][1] == meta.n_windows
    # Loading spaCy and the tokenizer is counted apart from the analysis, as the extraction's
    # seconds leave its model load out.
    assert meta.seconds >= 0 and meta.load_seconds >= 0
    ling = Linguistics.open(result.folder)
    verbs, code, people, empty, again = (ling.summary(i) for i in range(5))
    assert verbs.top_category == "VERB" and verbs.top_share == 1.0 and verbs.code_share == 0
    assert verbs.top_lemmas[0] == ("say", 1.0)  # the lemma, not the piece that fired
    assert "say" in verbs.text
    assert code.top_category == "code:keyword" and code.code_share == 1.0
    assert code.text == "Python keyword `def` (100%)"
    assert people.top_category == "PROPN"
    assert people.entities == {"GPE": 1.0}
    assert people.text == "GPE entities (100%); lemmas: paris/london/germany"
    assert empty.n_examples == 0 and empty.top_category is None
    assert again.text == verbs.text
    assert [s.index for s in ling.all()] == [0, 1, 2, 3, 4]
    assert json.loads((result.folder / "linguistics" / "meta.json").read_text())["d_sae"] == 5


def test_a_missing_pipeline_is_one_line(tmp_path):
    result = _write_extraction(tmp_path / "x", english_bpe(), [[(0, PROSE[0], "said")]])
    with pytest.raises(SpacyMissing, match="pip install mistudio\\[nlp\\]"):
        analyse_extraction(result, LinguisticConfig(spacy_pipeline="xx_not_a_pipeline"))


def test_summary_lines():
    verb = TokenReading(code=False, category="VERB", lemma="say")
    tell = TokenReading(code=False, category="VERB", lemma="tell")
    noun = TokenReading(code=False, category="NOUN", lemma="day")
    s = summarise(3, [verb, tell, tell, noun, verb, tell, verb, tell, tell, noun])
    assert (s.top_category, s.top_share) == ("VERB", 0.8)
    assert s.text == "the word 'tell' (50%, verbs)"
    s = summarise(3, [verb, tell, noun, verb, tell, noun, TokenReading(False, "VERB", "ask")])
    assert s.text == "71% verbs; lemmas: say/tell/ask"
    person = TokenReading(code=False, category="PROPN", lemma="moses", entity="PERSON")
    aaron = TokenReading(code=False, category="PROPN", lemma="aaron", entity="PERSON")
    s = summarise(0, [person, aaron, person, aaron, verb])
    assert s.text == "PERSON entities (80%); lemmas: moses/aaron/say"
    assert LinguisticSummary.from_json(json.loads(json.dumps(s.as_json()))) == s


def test_overlapping_windows_of_a_sequence_are_read_as_one_passage():
    from mistudio.core.linguistics.analyze import _passages, _Window

    windows = {
        (0, 5): _Window(ids=[3, 4, 5, 6, 7], center=2),  # positions 3..7
        (0, 8): _Window(ids=[6, 7, 8, 9], center=2),  # positions 6..9: overlaps
        (0, 12): _Window(ids=[10, 11, 12], center=2),  # positions 10..12: touches
        (0, 30): _Window(ids=[28, 29, 30], center=2),  # apart
        (1, 5): _Window(ids=[103, 104, 105], center=2),  # another sequence
    }
    passages = sorted(_passages(windows), key=lambda p: (p.keys[0][0], p.start))
    assert [(p.start, p.ids, p.keys) for p in passages] == [
        (3, list(range(3, 13)), [(0, 5), (0, 8), (0, 12)]),
        (28, [28, 29, 30], [(0, 30)]),
        (3, [103, 104, 105], [(1, 5)]),
    ]


def test_labellers_see_the_summary_when_the_extraction_was_analysed(tmp_path):
    pytest.importorskip("spacy")
    from mistudio.core.labeling.context import FeatureContext
    from mistudio.core.labeling.prompts import PromptTemplate, linguistics_line

    tokenizer = english_bpe()
    said = [(i, text, "said") for i, text in enumerate(PROSE)]
    result = _write_extraction(tmp_path / "x", tokenizer, [said])
    analyse_extraction(result, LinguisticConfig())
    summary = Linguistics.open(result.folder).summary(0)
    line = linguistics_line(FeatureContext(index=0, examples=[], linguistics=summary))
    assert line == (
        "Linguistic analysis of the activating tokens: the word 'say' (100%, verbs) (verbs 100%)\n"
    )
    ctx = FeatureContext(index=0, examples=[], top_tokens=[(" said", 1.0)], linguistics=summary)
    rendered = PromptTemplate().render(ctx)[-1]["content"]
    assert line.strip() in rendered
    off = PromptTemplate(use_linguistics=False).render(ctx)[-1]["content"]
    assert "Linguistic analysis" not in off
    bare = FeatureContext(index=0, examples=[], top_tokens=[(" said", 1.0)])
    assert PromptTemplate().render(bare)[-1]["content"] == off  # nothing without an analysis
