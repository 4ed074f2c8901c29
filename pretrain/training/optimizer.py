"""The pretraining optimizer: AdamW or LAMB with warmup then linear decay.

As google-research/bert: Adam with decoupled weight decay 0.01 that skips
LayerNorm parameters and biases, epsilon 1e-6, the gradient clipped to global
norm 1.0, the learning rate rising linearly over the warmup and then falling
linearly to zero at the last update. Gradient accumulation averages the
gradients of several batches into one update, so a small machine trains with
the batch size of a large one.

Example:

>>> import keras
>>> from pretrain.training.pretrain_config import TrainingConfig
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
>>> optimizer = create_optimizer(TrainingConfig(steps=100), model)
>>> round(float(warmup_linear_decay(5, 1e-3, warmup_steps=10, total_steps=100)), 6)
0.0006
"""

import keras
from keras import ops

# The names Keras gives a LayerNormalization's scale and offset.
LAYER_NORM_VARIABLES = ("gamma", "beta")


def warmup_linear_decay(step, peak_learning_rate, warmup_steps, total_steps):
    """The learning rate at update `step` (0-based).

    Rises linearly to `peak_learning_rate` at `warmup_steps` (the first update
    uses `peak / warmup_steps`), then falls linearly to zero at `total_steps`.
    """
    step = ops.cast(step, "float32")
    warmup = ops.maximum(float(warmup_steps), 1.0)
    rising = peak_learning_rate * (step + 1.0) / warmup
    # The decay starts at the peak on the last warmup update.
    decay_span = max(float(total_steps - max(warmup_steps - 1, 0)), 1.0)
    falling = peak_learning_rate * (float(total_steps) - step) / decay_span
    return ops.maximum(ops.where(step < warmup_steps, rising, falling), 0.0)


@keras.saving.register_keras_serializable(package="pretraining_toolkit")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`warmup_linear_decay` as a Keras schedule over optimizer updates.

    Keras calls a schedule with the count of batches seen; with gradient
    accumulation an update happens every `accumulation_steps` batches, so the
    count is divided by it.

    Args:
        peak_learning_rate: float. The rate reached at the end of the warmup.
        warmup_steps: int. Updates of linear warmup.
        total_steps: int. Updates in the whole run; the rate is 0 after it.
        accumulation_steps: int. Batches per update. Defaults to 1.

    Example:

    >>> schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
    >>> [round(float(schedule(s)), 6) for s in (0, 9, 100)]
    [0.0001, 0.001, 0.0]
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, accumulation_steps=1):
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.accumulation_steps = accumulation_steps

    def __call__(self, step):
        # int32: JAX has no int64 unless x64 is switched on (2**31 batches are far off).
        update = ops.floor_divide(ops.cast(step, "int32"), self.accumulation_steps)
        return warmup_linear_decay(
            update, self.peak_learning_rate, self.warmup_steps, self.total_steps
        )

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "accumulation_steps": self.accumulation_steps,
        }


def variables_without_weight_decay(model):
    """LayerNorm parameters (`gamma`, `beta`) and biases: google-research/bert does not decay them."""
    return [variable for variable in model.weights
            if variable.name in LAYER_NORM_VARIABLES or variable.name.endswith("bias")]


def warmup_updates(training):
    """Updates of linear warmup: `warmup_fraction` of `steps`, rounded down."""
    return int(training.warmup_fraction * training.steps + 1e-9)


def resumed_schedule(training, saved):
    """`training` for a run that resumes one trained with `saved` (both `TrainingConfig`s).

    The warmup keeps the saved run's length in updates, so training longer (a larger `steps`) does
    not warm up a second time; the linear decay then ends at the new `steps`. At the update the run
    resumes from, the rate jumps from the old schedule's value to the new one's.
    """
    warmup = warmup_updates(saved)
    if warmup_updates(training) == warmup:
        return training
    return training.replace(warmup_fraction=warmup / training.steps)


def create_optimizer(training, model):
    """The optimizer `training` (a `TrainingConfig`) asks for, for `model`.

    Call it inside the distribution strategy's scope, before the optimizer is
    built (weight-decay exclusions must be set first).
    """
    schedule = WarmupLinearDecay(
        training.learning_rate,
        warmup_steps=warmup_updates(training),
        total_steps=training.steps,
        accumulation_steps=training.accumulation_steps,
    )
    optimizer_class = {"adamw": keras.optimizers.AdamW, "lamb": keras.optimizers.Lamb}[
        training.optimizer
    ]
    optimizer = optimizer_class(
        learning_rate=schedule,
        weight_decay=training.weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        global_clipnorm=training.clip_norm,
        gradient_accumulation_steps=(
            training.accumulation_steps if training.accumulation_steps > 1 else None
        ),
    )
    optimizer.exclude_from_weight_decay(var_list=variables_without_weight_decay(model))
    return optimizer


def compile_pretrainer(model, training):
    """Compiles `model` with the optimizer of `training` (a `TrainingConfig`); its `compute_loss` is the loss.

    The step is XLA-compiled with `--xla` on TensorFlow, and always on JAX (`jax.jit`: uncompiled, JAX
    runs op by op).
    """
    jit_compile = training.jit_compile or keras.backend.backend() == "jax"
    model.compile(optimizer=create_optimizer(training, model), jit_compile=jit_compile)
