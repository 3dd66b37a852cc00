"""Cross-replica helpers of the training step (identities without a strategy)."""

import tensorflow as tf

__all__ = ['all_finite', 'all_reduce_sum', 'on_every_replica_if']


def all_reduce_sum(tensors: list) -> list:
  """Sums `tensors` over the replicas (identity without a strategy)."""
  context = tf.distribute.get_replica_context()
  return context.all_reduce(tf.distribute.ReduceOp.SUM, tensors)


def all_finite(tensors: list) -> tf.Tensor:
  """True iff every element of every tensor is finite on every replica."""
  finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(t))
                          for t in tensors])
  context = tf.distribute.get_replica_context()
  not_finite = tf.cast(tf.logical_not(finite), tf.float32)
  return context.all_reduce(tf.distribute.ReduceOp.SUM, not_finite) == 0.


def on_every_replica_if(condition: tf.Tensor, fn, *args) -> None:
  """Runs `fn(*args)` on every replica iff `condition` (alike on all) holds.

  A branch that synchronises replicas (an all-reduce, `apply_gradients`)
  can not sit in a `tf.cond` in the replica context, so the condition is
  taken in the cross-replica context, as Keras's LossScaleOptimizer does.
  """
  def cross_replica(strategy, condition, *args):
    def run():
      strategy.extended.call_for_each_replica(fn, args)

    condition = tf.reduce_all(strategy.experimental_local_results(condition))
    tf.cond(condition, run, lambda: None)

  tf.distribute.get_replica_context().merge_call(
      cross_replica, args=(condition, *args))
