"""Keep the workers of a multi-worker strategy stepping together.

Collective all-reduces need every worker in every step, but workers' shares
of a corpus differ in length. Before each step the workers sum an "out of
data" flag; a worker that is done feeds `empty` (a batch that changes
nothing) until all are done.
"""

import tensorflow as tf


def lockstep(strategy, batches, empty):
    """Yield `batches`, then `empty`, until every worker has run out."""
    if strategy.num_replicas_in_sync == 1:
        yield from batches
        return
    batches = iter(batches)
    exhausted = False
    while True:
        batch = None if exhausted else next(batches, None)
        exhausted = batch is None
        if _all_exhausted(strategy, exhausted):
            return
        yield empty if exhausted else batch


def _all_exhausted(strategy, exhausted):
    flag = tf.constant(1.0 if exhausted else 0.0)
    done = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda value: value, args=(flag,)), None)
    return float(done) == strategy.num_replicas_in_sync
