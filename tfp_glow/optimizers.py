"""The optimizer recipe: Adam, an optional linear warmup, gradient clipping.

The defaults are the command line's, from a sweep on real MNIST digits over
three seeds (BENCHMARKS.md, "Optimizer defaults"): without a warmup Glow
learned more at every step count measured.
"""

import tensorflow as tf
import tf_keras

__all__ = [
  'DEFAULT_CLIP_NORM',
  'DEFAULT_LEARNING_RATE',
  'DEFAULT_WARMUP_STEPS',
  'AveragingAdam',
  'LinearWarmup',
  'adam',
  'schedule',
]

DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_WARMUP_STEPS = 0
DEFAULT_CLIP_NORM = 50.


class LinearWarmup(tf_keras.optimizers.schedules.LearningRateSchedule):
  """Glow's learning-rate warmup: lr(step) = lr * min(1, (step + 1) / steps)."""

  def __init__(self, learning_rate: float, warmup_steps: int):
    if warmup_steps < 1:
      raise ValueError(f'warmup_steps must be >= 1, got {warmup_steps}.')
    self.learning_rate = learning_rate
    self.warmup_steps = warmup_steps

  def __call__(self, step):
    fraction = (tf.cast(step, tf.float32) + 1.) / self.warmup_steps
    return self.learning_rate * tf.minimum(1., fraction)

  def get_config(self) -> dict:
    return {'learning_rate': self.learning_rate,
            'warmup_steps': self.warmup_steps}


def schedule(learning_rate: float, warmup_steps: int = 0, decay_steps: int = 0):
  """The learning rate: constant, after a linear warmup of `warmup_steps`,
  then (`decay_steps` > 0) decayed to 0 over `decay_steps` on a cosine:

  ```none
  lr(t) = lr * (1 + cos(pi * min(t, decay_steps) / decay_steps)) / 2
  ```

  with t counted from the end of the warmup. A float when constant.
  """
  if decay_steps:
    return tf_keras.optimizers.schedules.CosineDecay(
        0. if warmup_steps else learning_rate, decay_steps,
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps)
  if warmup_steps:
    return LinearWarmup(learning_rate, warmup_steps)
  return learning_rate


class AveragingAdam(tf_keras.optimizers.Adam):
  """Adam that keeps a moving average of the weights (Polyak averaging, which
  openai/glow evaluates and samples with), ramped up from the first step:

  ```none
  average <- m_t * average + (1 - m_t) * w,  m_t = min(m, (1 + t) / (10 + t))
  ```

  after step t (`tf.train.ExponentialMovingAverage`'s `num_updates` rule).
  Keras's `use_ema=True` with a constant m = 0.999 would remember the weights
  it was built with, before ActNorm's data-dependent initialisation, for
  thousands of steps; the ramp forgets them within a few.
  """

  def __init__(self, learning_rate, average_momentum: float, **kwargs):
    if not 0. < average_momentum < 1.:
      raise ValueError(
          f'average_momentum must be in (0, 1), got {average_momentum}.')
    super().__init__(learning_rate, use_ema=True,
                     ema_momentum=average_momentum, **kwargs)

  def _update_model_variables_moving_average(self, var_list):
    momentum = self.ema_momentum
    step = tf.cast(self.iterations, tf.float32)
    self.ema_momentum = tf.minimum(momentum, (1. + step) / (10. + step))
    try:
      super()._update_model_variables_moving_average(var_list)
    finally:
      self.ema_momentum = momentum

  def averages(self, variables) -> list:
    """The moving average of each of `variables` (the trainable weights)."""
    return [self._model_variables_moving_average[
        self._index_dict[self._var_key(variable)]] for variable in variables]

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config, average_momentum=config.pop('ema_momentum'))
    config.pop('use_ema')
    return super().from_config(config, custom_objects)


def adam(learning_rate: float = DEFAULT_LEARNING_RATE,
         warmup_steps: int = DEFAULT_WARMUP_STEPS,
         clip_norm: float | None = DEFAULT_CLIP_NORM,
         decay_steps: int = 0,
         average_momentum: float | None = None) -> tf_keras.optimizers.Adam:
  """Adam on `schedule(learning_rate, warmup_steps, decay_steps)` with
  global-norm clipping (none for `None`); an `AveragingAdam` when
  `average_momentum` is given.

  The defaults are the command line's, measured on real MNIST digits.
  """
  rate = schedule(learning_rate, warmup_steps, decay_steps)
  if average_momentum:
    return AveragingAdam(rate, average_momentum, global_clipnorm=clip_norm)
  return tf_keras.optimizers.Adam(rate, global_clipnorm=clip_norm)
