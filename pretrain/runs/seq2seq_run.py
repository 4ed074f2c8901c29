"""One encoder–decoder pretraining run: T5 span corruption from a corpus to a serving SavedModel.

`run_seq2seq_pretraining(config, output_dir)` is `pretrain seq2seq`: it trains
(or reuses) the WordPiece vocabulary, appends the sentinels `[unused0..]`,
trains with AdamW (warmup then linear decay) through `pretrain.training.loop.fit`
(checkpoints, resume, TensorBoard logs, held-out evaluation) and writes

    vocab.txt       the vocabulary, sentinels at the end
    config.json     the `Seq2SeqPretrainConfig` ("model": "seq2seq")
    data/           the corpus split into train.txt and heldout.txt (lines format)
    checkpoints/    tf.train checkpoints, named by optimizer update
    logs/           TensorBoard logs
    model.keras     the pretrainer; its sub-layer "backbone" is the Seq2SeqTransformer
    serving/        SavedModel: strings in, decoded strings out (saved_models.seq2seq_export)
    metrics.json    the final training and held-out metrics
"""

import os

import keras
import tensorflow as tf

from pretrain.atomic_files import atomic_file
from pretrain.examples.span_corruption import add_sentinels, span_corruption_dataset
from pretrain.objectives.seq2seq_pretrainer import Seq2SeqPretrainer, build_backbone, features_to_inputs
from pretrain.runs.model_run import finish_run, prepare_corpus, train_with_resume
from pretrain.runs.pretrain_run import prepare_vocabulary
from pretrain.text.corpus import read_documents
from pretrain.text.tokenizer import WordPieceTokenizer, save_vocabulary
from saved_models.seq2seq_export import export_seq2seq


def build_datasets(config, tokenizer, data_dir, counts, seed):
    """Endless training batches and a fixed set of held-out batches (or None).

    `data_dir` holds the corpus split by `pretrain.text.corpus_split.split_corpus`.
    """
    batch_size = config.training.batch_size
    train_path, heldout_path = os.path.join(data_dir, "train.txt"), os.path.join(data_dir, "heldout.txt")
    train = span_corruption_dataset(lambda: read_documents(train_path), tokenizer, config.data, seed)
    train = train.repeat().batch(batch_size, drop_remainder=True).map(features_to_inputs)
    heldout = None
    if config.training.eval_batches and counts["heldout_documents"]:
        heldout = span_corruption_dataset(lambda: read_documents(heldout_path), tokenizer, config.data)
        heldout = heldout.batch(batch_size).map(features_to_inputs)
        heldout = heldout.take(config.training.eval_batches).cache()
    return train.prefetch(tf.data.AUTOTUNE), heldout


def run_seq2seq_pretraining(config, output_dir, vocab_file=None):
    """Pretrains a `Seq2SeqTransformer` on `config.data.corpus` into `output_dir`.

    Returns:
        dict. The last round's metrics (training, and `val_*` held-out ones).
    """
    config, data_dir, counts, resuming = prepare_corpus(config, output_dir)
    tokens = add_sentinels(
        prepare_vocabulary(config, output_dir, data_dir, vocab_file, resuming, chief=True),
        config.data.num_sentinels,
    )
    vocabulary_path = os.path.join(output_dir, "vocab.txt")
    save_vocabulary(tokens, vocabulary_path)
    tokenizer = WordPieceTokenizer(
        tokens, lowercase=config.tokenizer.lowercase, strip_accents=config.tokenizer.strip_accents
    )
    keras.utils.set_random_seed(config.training.seed)
    model = Seq2SeqPretrainer(build_backbone(config, len(tokens)), name="seq2seq_pretrainer")
    config, metrics, final_step = train_with_resume(
        model,
        config,
        output_dir,
        lambda: build_datasets(config, tokenizer, data_dir, counts, config.data.seed),
    )
    with atomic_file(os.path.join(output_dir, "model.keras")) as staging:
        model.save(staging)
    export_seq2seq(
        model.backbone,
        os.path.join(output_dir, "serving"),
        vocabulary_path,
        {"lowercase": config.tokenizer.lowercase, "strip_accents": config.tokenizer.strip_accents},
        input_length=config.data.input_length,
        num_beams=config.decoding.num_beams,
        max_length=config.decoding.max_length,
        length_penalty=config.decoding.length_penalty,
    )
    return finish_run(metrics, final_step, output_dir)
