"""Validation, samples and the best checkpoint from the averaged weights.

An `optimizers.AveragingAdam` keeps a moving average of the weights, whose
test bits/dim are lower and steadier than the last step's (BENCHMARKS.md).
`AveragedWeights` lends it to each epoch's validation and end-of-epoch
callbacks, then gives the training weights back before the backup.
"""

import tensorflow as tf
import tf_keras

from tfp_glow.optimizers import AveragingAdam

__all__ = ['AveragedWeights', 'swap_averages']


def swap_averages(optimizer: AveragingAdam, variables) -> None:
  """Exchanges the values of `variables` and their averages (its own
  inverse: a second call restores both)."""
  for variable, average in zip(variables, optimizer.averages(variables)):
    value = tf.identity(variable)
    variable.assign(average)
    average.assign(value)


class AveragedWeights(tf_keras.callbacks.Callback):
  """During `fit`, the model holds the averaged weights from the start of
  each epoch's validation to this callback's `on_epoch_end`.

  Placed in the callback list after those that should see the averages
  (`ModelCheckpoint`, sample grids and scores) and before those that should
  see the training weights (`BackupAndRestore`). Without an `AveragingAdam`
  (or outside `fit`) it does nothing.
  """

  def __init__(self):
    super().__init__()
    self._fitting = False
    self._swapped = False

  def _optimizer(self) -> AveragingAdam | None:
    optimizer = self.model.optimizer
    optimizer = getattr(optimizer, 'inner_optimizer', optimizer)  # loss scale
    return optimizer if isinstance(optimizer, AveragingAdam) else None

  def _swap(self) -> None:
    swap_averages(self._optimizer(), self.model.trainable_variables)
    self._swapped = not self._swapped

  def on_train_begin(self, logs=None):
    self._fitting = self._optimizer() is not None

  def on_test_begin(self, logs=None):
    if self._fitting and not self._swapped:
      self._swap()

  def on_epoch_end(self, epoch, logs=None):
    if self._swapped:
      self._swap()

  def on_train_end(self, logs=None):
    self._fitting = False
