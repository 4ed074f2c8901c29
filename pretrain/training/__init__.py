"""Training: a run's configuration, the optimizer and its schedule, the `fit` loop with checkpoints
(`tf.train` on TensorFlow, `.npz` files on JAX), exact resume and distribution, and the lockstep of
multi-worker trainers.

May import: `pretrain.examples`, `pretrain.text`, `pretrain.errors`.
"""
