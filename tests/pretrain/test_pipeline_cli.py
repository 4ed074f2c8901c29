"""`pretrain vocab` and `pretrain examples` on a corpus generated here, and their error paths."""

import gzip
import json
import random

import numpy as np
import pytest

import cli
from pretrain.examples.tfrecords import read_bert_tfrecords


def invented_corpus(path, documents=60, seed=0):
    """Prose in an invented language: words no vocabulary has seen, sentences with punctuation."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "zu", "ren", "tal", "vo", "shi", "pe", "dra", "nu", "qe"]
    words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(400)]
    with gzip.open(path, "wt", encoding="utf-8") as file:
        for _ in range(documents):
            sentences = [
                " ".join(rng.choices(words, k=rng.randint(4, 18))).capitalize() + rng.choice([".", "!", "?"])
                for _ in range(rng.randint(3, 12))
            ]
            file.write(" ".join(sentences) + "\n\n")
    return str(path)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    corpus = invented_corpus(folder / "invented.txt.gz")
    code = cli.main(["vocab", "--corpus", corpus, "--corpus-format", "prose",
                     "--output", str(folder / "run"), "--vocab-size", "600"])
    assert code == 0
    return folder, corpus


def test_vocab_command_writes_bert_vocab(run_dir, capsys):
    folder, _ = run_dir
    tokens = (folder / "run" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 300 < len(tokens) <= 600 and any(t.startswith("##") for t in tokens)


@pytest.mark.parametrize("masking, nsp", [("whole-word", True), ("span", False)])
def test_examples_command_writes_readable_shards(run_dir, tmp_path, capsys, masking, nsp):
    folder, corpus = run_dir
    arguments = ["examples", "--corpus", corpus, "--corpus-format", "prose", "--vocab",
                 str(folder / "run" / "vocab.txt"), "--output", str(tmp_path), "--masking", masking,
                 "--seq-length", "64", "--max-predictions", "10", "--num-shards", "2", "--seed", "3"]
    assert cli.main(arguments + ([] if nsp else ["--no-nsp"])) == 0
    assert "examples/s" in capsys.readouterr().out
    description = json.loads((tmp_path / "examples.json").read_text())
    assert description["masking"] == masking and description["nsp"] is nsp
    examples = list(read_bert_tfrecords(str(tmp_path / "*.tfrecord"), 64, 10).as_numpy_iterator())
    assert len(examples) == description["examples"] > 50
    unknown = np.mean([(e["input_ids"][e["input_mask"] > 0] == 1).mean() for e in examples])
    assert unknown < 0.01
    assert (np.array([e["masked_lm_weights"].sum() for e in examples]) >= 1).all()
    labels = {int(e["next_sentence_labels"][0]) for e in examples}
    assert labels == ({0, 1} if nsp else {0})


def test_errors_are_one_line_usage_errors(run_dir, tmp_path, capsys):
    folder, corpus = run_dir
    vocab = str(folder / "run" / "vocab.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"A fine line.\n\nAnother \xfe line.\n")
    cases = [
        (["vocab", "--corpus", str(tmp_path / "nothing*.txt"), "--output", str(tmp_path)], "matches no file"),
        (["vocab", "--corpus", corpus, "--output", str(tmp_path), "--vocab-size", "3"], "--vocab-size 3"),
        (["examples", "--corpus", str(bad), "--vocab", vocab, "--output", str(tmp_path / "o")],
         "bad.txt:3: byte 0xfe"),
        (["examples", "--corpus", corpus, "--vocab", str(bad), "--output", str(tmp_path / "o")], "bad.txt"),
        (["examples", "--corpus", corpus, "--vocab", vocab, "--output", str(tmp_path / "o"),
          "--max-predictions", "80", "--seq-length", "64"], "--max-predictions 80"),
    ]
    for arguments, message in cases:
        assert cli.main(arguments) == 2, arguments
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    with pytest.raises(SystemExit):
        cli.main(["examples", "--corpus", corpus, "--vocab", vocab, "--output", "o", "--masking", "words"])
