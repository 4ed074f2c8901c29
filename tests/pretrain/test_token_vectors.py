"""Skip-gram token vectors: they learn which tokens share contexts, keep the embedding's scale, and start new runs."""

import os

import numpy as np
import pytest

import cli
from pretrain.embeddings.token_vectors import initial_token_embedding, train_token_vectors
from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

ANIMALS = ["cat", "dog", "horse", "cow"]
TOOLS = ["hammer", "saw", "drill", "wrench"]


def _corpus(path, seed=0):
    """Animals and tools each in their own contexts: 'the cat eats grass .' / 'a hammer hits nails .'

    3,000 pairs of lines (66k tokens, about four 16,384-token skip-gram calls an epoch): with half of that,
    an epoch was about two calls, all in flight together (the fused op keeps three), and the Hogwild races
    on its 20 rows left the score under the bound in 2 of 6 runs."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as file:
        for _ in range(3000):
            file.write(f"the {rng.choice(ANIMALS)} eats grass and the {rng.choice(ANIMALS)} sleeps .\n")
            file.write(f"a {rng.choice(TOOLS)} hits nails and a {rng.choice(TOOLS)} cuts wood .\n\n")
    return str(path)


def _centred(vectors, tokens, index):
    """The rows of `tokens`, less their mean (the direction every word2vec vector shares)."""
    rows = np.stack([vectors[index[token]] for token in tokens])
    return dict(zip(tokens, rows - rows.mean(axis=0)))


def _cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _same_minus_across(rows):
    """Mean cosine of two animals' vectors less that of an animal's and a tool's."""
    same = np.mean([_cosine(rows[a], rows[b]) for a in ANIMALS for b in ANIMALS if a < b])
    across = np.mean([_cosine(rows[a], rows[t]) for a in ANIMALS for t in TOOLS])
    return same - across


def test_tokens_of_the_same_contexts_get_close_vectors_and_unseen_tokens_none(tmp_path):
    vocabulary = list(SPECIAL_TOKENS) + ANIMALS + TOOLS + "the eats grass and sleeps a hits nails cuts wood . never".split()
    tokenizer = WordPieceTokenizer(vocabulary)
    vectors = train_token_vectors(_corpus(tmp_path / "train.txt"), tokenizer, dim=16, directory=str(tmp_path / "w"),
                                  epochs=3)
    index = {token: i for i, token in enumerate(vocabulary)}
    assert _same_minus_across(_centred(vectors, ANIMALS + TOOLS, index)) > 0.5
    assert np.isnan(vectors[index["never"]]).all() and np.isnan(vectors[index["[MASK]"]]).all()


def test_initial_embedding_keeps_the_random_scale_and_the_rows_of_unseen_tokens():
    rng = np.random.default_rng(0)
    random_embedding = rng.normal(0, 0.02, (6, 4)).astype(np.float32)
    vectors = rng.normal(0, 0.5, (6, 4)).astype(np.float32)
    vectors[2] = np.nan
    initial = initial_token_embedding(vectors, random_embedding)
    np.testing.assert_array_equal(initial[2], random_embedding[2])
    seen = [0, 1, 3, 4, 5]
    assert np.std(initial[seen]) == pytest.approx(np.std(random_embedding), rel=1e-5)
    np.testing.assert_allclose(initial[seen] / vectors[seen], initial[0, 0] / vectors[0, 0], rtol=1e-5)


def _pretrain(corpus, output, *extra):
    return cli.main(["bert", "--corpus", corpus, "--output", str(output), "--steps", "1", "--batch-size", "4",
                     "--seq-length", "16", "--vocab-size", "200", "--no-nsp", "--eval-batches", "0", *extra])


def test_a_new_run_starts_from_the_vectors_and_none_starts_random(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    assert _pretrain(corpus, tmp_path / "skipgram") == 0
    initial = np.load(tmp_path / "skipgram" / "initial_token_embedding.npy")
    from pretrain.objectives.pretrained import load_pretrained

    pretrained = load_pretrained(str(tmp_path / "skipgram"))
    index = {token: i for i, token in enumerate(pretrained.tokenizer().vocabulary)}
    # The run's embedding started from vectors that know the contexts: animals near animals, not tools (random
    # vectors give about 0; Hogwild threads make each run differ, 0.59-0.64 in three runs on a busy machine).
    assert _same_minus_across(_centred(initial, ANIMALS + TOOLS, index)) > 0.3
    trained = np.asarray(pretrained.backbone.token_embedding.embeddings)
    assert np.abs(trained - initial).max() < 0.01  # one update of 1e-4 moved it only a little
    before = {name: (tmp_path / "skipgram" / name).read_bytes() for name in ("metrics.json", "initial_token_embedding.npy")}
    assert _pretrain(corpus, tmp_path / "skipgram") == 0  # a finished run: nothing is retrained or rewritten
    assert before == {name: (tmp_path / "skipgram" / name).read_bytes() for name in before}
    assert _pretrain(corpus, tmp_path / "random", "--token-vectors", "none") == 0
    assert not os.path.exists(tmp_path / "random" / "initial_token_embedding.npy")
