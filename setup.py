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
    install_requires=[
        "tensorflow==2.21.0",
        "keras==3.15.1",
        "keras-hub==0.32.0",
        "tensorflow-text==2.21.1",
        "tensorboard==2.21.0",
        "tokenizers==0.23.3",
        "numpy==2.4.6",
        "scipy==1.17.1",
        "gensim==4.4.0",
        "scikit-learn==1.9.1",
        "sacrebleu==2.6.0",
        "psutil==7.2.2",
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",
            "snownlp==0.12.3",
        ],
    },
    entry_points={"console_scripts": ["pretrain = cli:main"]},
)
