"""GPT (causal LM) examples: documents joined by an end-of-text token, cut into fixed windows.

Each document's tokens are followed by `[SEP]`, our end-of-text token (GPT-2's
`<|endoftext|>`), and the stream is cut into windows of `seq_length + 1`
tokens that overlap by one: `input_ids` is a window without its last token,
`labels` the same window without its first, so every token is a target exactly
once. The final partial window is dropped. Streaming: only the current
document and one window are held in memory.

Example:

>>> import tempfile, os
>>> from pretrain.text.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
>>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
>>> with open(path, "w") as f:
...     _ = f.write("a b c d\\n\\ne f g\\n")
>>> tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + list("abcdefg"))
>>> [{k: v.numpy().tolist() for k, v in x.items()} for x in gpt_dataset(path, tokenizer, seq_length=4)]
[{'input_ids': [5, 6, 7, 8], 'labels': [6, 7, 8, 3]}, {'input_ids': [3, 9, 10, 11], 'labels': [9, 10, 11, 3]}]
"""

import numpy as np
import tensorflow as tf

from pretrain.errors import UsageError
from pretrain.text.tokenized_documents import tokenized_documents
from pretrain.text.tokenizer import SEP_ID


def gpt_dataset(
    paths,
    tokenizer,
    seq_length=128,
    corpus_format="lines",
    errors="strict",
    seed=None,
    shuffle_buffer=0,
    shard_index=0,
    num_shards=1,
):
    """Unbatched dataset of `{"input_ids": [seq_length], "labels": [seq_length]}` int32.

    Args:
        paths: corpus files, directories or globs (see `pretrain.text.corpus`).
        tokenizer: `pretrain.text.tokenizer.WordPieceTokenizer`.
        seq_length: int. Tokens per window.
        corpus_format, errors: as in `pretrain.text.corpus.read_documents`.
        seed: int or None. Seed of the window shuffle.
        shuffle_buffer: int. Windows shuffled in a buffer of this size
            (0, the default, keeps corpus order).
        shard_index, num_shards: this worker's shard of the corpus.
    """
    if seq_length < 2:
        raise UsageError(f"--seq-length {seq_length} is too short; use at least 2")

    def generate():
        stream = np.zeros(0, np.int32)
        documents = tokenized_documents(paths, tokenizer, corpus_format, errors, shard_index, num_shards)
        for document in documents:
            stream = np.concatenate([stream, *document, [SEP_ID]]).astype(np.int32)
            while len(stream) > seq_length:
                yield {"input_ids": stream[:seq_length], "labels": stream[1 : seq_length + 1]}
                stream = stream[seq_length:]

    spec = tf.TensorSpec([seq_length], tf.int32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature={"input_ids": spec, "labels": spec})
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    return dataset
