"""``mistudio label`` on a constructed extraction (rules), and its one-line errors."""

from __future__ import annotations

import json

import pytest

from mistudio.cli import main
from tests.unit.labeling_fixtures import FeatureSpec, build_extraction


def save_tokenizer(folder, vocab: list[str]) -> None:
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(vocab)}, unk_token=vocab[0]))
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(folder / "tokenizer")


def test_label_command_rules_then_resume(tmp_path, tmp_home, capsys) -> None:
    fire = [([",", " a", " b"], [5.0, 0.0, 0.0]), ([" c", ","], [0.0, 4.0])] * 3
    result, tok = build_extraction(
        tmp_path / "ex", [FeatureSpec(fire, fire), FeatureSpec([])], [[" a", " b", " c"]] * 4
    )
    save_tokenizer(result.folder, tok.vocab)
    out = tmp_path / "labels"
    main(["label", str(result.folder), "--method", "rules", "--score", "--out", str(out)])
    text = capsys.readouterr().out
    assert "1 labelled, 0 unclear, 0 failed" in text and 'the token ","' in text
    assert "score histogram" in text
    record = json.loads((out / "labels.jsonl").read_text().splitlines()[0])
    assert record["index"] == 0 and record["category"] == "Syntax > Punctuation"
    main(["label", str(result.folder), "--indices", "0", "--out", str(out)])
    assert "1 already done" in capsys.readouterr().out


def test_label_command_errors_are_one_line(tmp_path, tmp_home, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["label", str(tmp_path / "missing")])
    assert info.value.code == 1
    assert "no extraction named" in capsys.readouterr().err
    fire = [([",", " a"], [5.0, 0.0])]
    result, tok = build_extraction(tmp_path / "ex", [FeatureSpec(fire)], [[" a", ","]])
    save_tokenizer(result.folder, tok.vocab)
    with pytest.raises(SystemExit):
        main(["label", str(result.folder), "--method", "nope"])
    assert "unknown labelling method 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["label", str(result.folder), "--indices", "0-5"])
    assert "indices must lie in 0..0" in capsys.readouterr().err
