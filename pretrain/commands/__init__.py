"""Commands: each `pretrain` subcommand's options (`add_arguments`) and `run(args)`; `cli.py` imports one
only when it runs, so `pretrain --help` answers without starting TensorFlow.

May import: everything but `cli` and `demo`.
"""
