"""BERT pretraining examples from a raw corpus, streaming: NSP pairs (or full sentences) + masked LM.

Pairs follow google-research/bert's `create_pretraining_data.py`: sentences of a
document are packed into chunks of a target length (`seq_length - 3` tokens, or
with probability `short_seq_prob` a random length in [2, seq_length - 3]);
segment A is the first `randint(1, len(chunk) - 1)` sentences of a chunk; with
probability 0.5 (always for a one-sentence chunk) segment B is a random run of
sentences from another document and the unused sentences of the chunk are put
back; `truncate_seq_pair` trims the longer segment from the front or back. The
instance is `[CLS] A [SEP] B [SEP]`, segment ids 0/1, zero padding.
`next_sentence_labels` is 0 when B is the real continuation, 1 when random.

Unlike create_pretraining_data.py, the corpus is never held in memory: documents
stream through a bounded pool (`document_pool_size` documents). Each incoming
document replaces a random document of the full pool, which is then turned into
instances; random next segments are drawn from the pool. This also shuffles the
documents. Masks are drawn in the tf.data graph (`pretrain.examples.masking`), new every
epoch; the pairs are re-drawn every epoch too.

With `nsp=False` instances are RoBERTa's FULL-SENTENCES: `[CLS]` + contiguous
sentences up to `seq_length - 2` tokens + `[SEP]`, crossing document boundaries
with an extra `[SEP]` between documents, segment ids 0.

Features (google-research/bert names): `input_ids`, `input_mask`, `segment_ids`
[seq_length] int32; `masked_lm_positions`, `masked_lm_ids` [max_predictions]
int32; `masked_lm_weights` [max_predictions] float32; `next_sentence_labels` [1]
int32. Under `tf.distribute`, pass `shard_index=context.input_pipeline_id`,
`num_shards=context.num_input_pipelines`.

Example:

>>> import tempfile, os
>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
>>> with open(path, "w") as f:
...     _ = f.write("the cat sat .\\nthe dog ran .\\n\\na bird sang .\\nit flew .\\n")
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + "the cat sat . dog ran a bird sang it flew".split())
>>> dataset = bert_dataset(path, tokenizer, seq_length=16, max_predictions=3, seed=1)
>>> example = next(iter(dataset))
>>> example["input_ids"].shape, example["masked_lm_positions"].shape, example["next_sentence_labels"].shape
(TensorShape([16]), TensorShape([3]), TensorShape([1]))
"""

import itertools
import random

import numpy as np
import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.examples.masking import MaskingConfig, continuation_mask, mask_tokens
from pretrain.text.tokenized_documents import tokenized_documents
from pretrain.text.tokenizer import CLS_ID, SEP_ID

# Instances generated per Python call and masked per graph call.
_BATCH = 64


def bert_dataset(
    paths,
    tokenizer,
    seq_length=128,
    max_predictions=20,
    masking="token",
    nsp=True,
    corpus_format="lines",
    errors="strict",
    seed=None,
    short_seq_prob=0.1,
    masked_lm_prob=0.15,
    max_ngram=3,
    document_pool_size=1000,
    shuffle_buffer=1000,
    shard_index=0,
    num_shards=1,
):
    """Unbatched `tf.data.Dataset` of masked BERT examples read from `paths`.

    Args:
        paths: corpus files, directories or globs (see `pretrain.text.corpus`).
        tokenizer: `pretrain.text.tokenizer.WordPieceTokenizer`.
        seq_length: int. Tokens per example, `[CLS]`/`[SEP]` included.
        max_predictions: int. Masked positions per example (padded).
        masking: str. `"token"`, `"whole-word"`, `"ngram"` or `"span"`.
        nsp: bool. Sentence pairs with next-sentence labels; False for
            single-segment full-sentence examples.
        corpus_format, errors: as in `pretrain.text.corpus.read_documents`.
        seed: int or None. The same seed gives the same examples.
        short_seq_prob: float. Probability of a shorter target length.
        masked_lm_prob: float. Fraction of tokens predicted.
        max_ngram: int. Longest n-gram in `"ngram"` masking.
        document_pool_size: int. Documents held for random next segments.
        shuffle_buffer: int. Instances shuffled in a buffer of this size
            (0 to keep generation order).
        shard_index, num_shards: this worker's shard of the corpus.
    """
    if seq_length < 8:
        raise UsageError(f"--seq-length {seq_length} is too short; use at least 8")
    if not 0 <= short_seq_prob <= 1:
        raise UsageError(f"--short-seq-prob {short_seq_prob} must be in [0, 1]")
    try:
        config = MaskingConfig(
            mode=masking, masked_lm_prob=masked_lm_prob, max_predictions=max_predictions, max_ngram=max_ngram
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    epochs = itertools.count()

    def generate():
        rng = random.Random(None if seed is None else f"{seed}/{next(epochs)}")
        documents = tokenized_documents(paths, tokenizer, corpus_format, errors, shard_index, num_shards)
        if nsp:
            instances = pair_instances(documents, rng, seq_length, short_seq_prob, document_pool_size)
        else:
            instances = full_sentence_instances(pooled(documents, rng, document_pool_size), seq_length)
        while batch := list(itertools.islice(instances, _BATCH)):
            yield {name: np.stack([row[name] for row in batch]) for name in batch[0]}

    spec = tf.TensorSpec([None, seq_length], tf.int32)
    instances = tf.data.Dataset.from_generator(
        generate,
        output_signature={
            "input_ids": spec,
            "input_mask": spec,
            "segment_ids": spec,
            "next_sentence_labels": tf.TensorSpec([None, 1], tf.int32),
        },
    )
    is_continuation = continuation_mask(tokenizer.vocabulary)
    vocabulary_size = tokenizer.vocabulary_size

    def add_masks(features, mask_seed):
        masked = mask_tokens(features["input_ids"], is_continuation, vocabulary_size, config, mask_seed)
        return {**features, **masked}

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    dataset = tf.data.Dataset.zip(instances.prefetch(2), seeds).map(add_masks).prefetch(2).unbatch()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    return dataset.with_options(_single_threaded_ops())


def _single_threaded_ops():
    """Pipeline ops run on one thread each, leaving the other cores to the training step."""
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    return options


def pooled(documents, rng, pool_size):
    """Yields `(document, pool)` in shuffled order; `pool` holds other documents."""
    pool = []
    for document in documents:
        if len(pool) < pool_size:
            pool.append(document)
            continue
        index = rng.randrange(pool_size)
        chosen, pool[index] = pool[index], document
        yield chosen, pool
    rng.shuffle(pool)
    while pool:
        chosen = pool.pop()
        yield chosen, pool or [chosen]


def pair_instances(documents, rng, seq_length, short_seq_prob, pool_size):
    """Yields NSP instances (dicts of int32 arrays) from tokenized documents."""
    max_num_tokens = seq_length - 3  # [CLS] A [SEP] B [SEP]
    for document, pool in pooled(documents, rng, pool_size):
        pairs = document_pairs(document, pool, rng, max_num_tokens, short_seq_prob)
        for tokens_a, tokens_b, is_random_next in pairs:
            tokens = [CLS_ID, *tokens_a, SEP_ID, *tokens_b, SEP_ID]
            segments = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
            yield padded(tokens, segments, int(is_random_next), seq_length)


def document_pairs(document, pool, rng, max_num_tokens, short_seq_prob):
    """Yields `(tokens_a, tokens_b, is_random_next)` for one document (google-research/bert's logic)."""
    target_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_length = rng.randint(2, max_num_tokens)
    chunk, chunk_length, i = [], 0, 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_length:
            a_end = 1 if len(chunk) < 2 else rng.randint(1, len(chunk) - 1)
            tokens_a = np.concatenate(chunk[:a_end]).tolist()
            is_random_next = len(chunk) == 1 or rng.random() < 0.5
            if is_random_next:
                tokens_b = random_segment(document, pool, rng, target_length - len(tokens_a))
                i -= len(chunk) - a_end  # put the unused sentences back
            else:
                tokens_b = np.concatenate(chunk[a_end:]).tolist()
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            yield tokens_a, tokens_b, is_random_next
            chunk, chunk_length = [], 0
        i += 1


def random_segment(document, pool, rng, target_length):
    """Sentences from a random start in another pooled document, at least `target_length` tokens."""
    for _ in range(10):
        other = pool[rng.randrange(len(pool))]
        if other is not document:
            break
    start = rng.randrange(len(other))
    tokens = []
    for sentence in other[start:]:
        tokens.extend(sentence.tolist())
        if len(tokens) >= target_length:
            break
    return tokens


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Trims the longer list, from the front or back at random, to fit `max_num_tokens`."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def full_sentence_instances(pooled_documents, seq_length):
    """Yields single-segment instances packing contiguous sentences (RoBERTa FULL-SENTENCES)."""
    capacity = seq_length - 2  # [CLS] ... [SEP]
    current = []
    for document, _ in pooled_documents:
        for sentence in document:
            for start in range(0, len(sentence), capacity):
                piece = sentence[start : start + capacity].tolist()
                if len(current) + len(piece) > capacity:
                    yield _single_segment(current, seq_length)
                    current = []
                current.extend(piece)
        if current and len(current) < capacity:
            current.append(SEP_ID)  # document boundary
    if current:
        yield _single_segment(current, seq_length)


def _single_segment(tokens, seq_length):
    tokens = [CLS_ID, *tokens, SEP_ID]
    return padded(tokens, [0] * len(tokens), 0, seq_length)


def padded(tokens, segments, next_sentence_label, seq_length):
    """One instance as int32 arrays, zero-padded to `seq_length`."""
    input_ids = np.zeros(seq_length, np.int32)
    segment_ids = np.zeros(seq_length, np.int32)
    input_mask = np.zeros(seq_length, np.int32)
    input_ids[: len(tokens)] = tokens
    segment_ids[: len(segments)] = segments
    input_mask[: len(tokens)] = 1
    return {
        "input_ids": input_ids,
        "input_mask": input_mask,
        "segment_ids": segment_ids,
        "next_sentence_labels": np.array([next_sentence_label], np.int32),
    }
