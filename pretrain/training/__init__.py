"""Training: a run's configuration, the optimizer and its schedule, the `fit` loop with checkpoints,
exact resume and distribution, and the lockstep of multi-worker trainers.

May import: `pretrain.examples`, `pretrain.text`, `pretrain.errors`.
"""
