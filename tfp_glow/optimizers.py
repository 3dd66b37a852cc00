"""The optimizer recipe: Adam, an optional linear warmup, gradient clipping.

The defaults are the command line's, from a sweep on real MNIST digits over
three seeds (BENCHMARKS.md, "Optimizer defaults"): without a warmup Glow
learned more at every step count measured.
"""

import tensorflow as tf
import tf_keras

__all__ = ['DEFAULT_CLIP_NORM', 'DEFAULT_LEARNING_RATE',
           'DEFAULT_WARMUP_STEPS', 'LinearWarmup', 'adam', 'schedule']

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


def adam(learning_rate: float = DEFAULT_LEARNING_RATE,
         warmup_steps: int = DEFAULT_WARMUP_STEPS,
         clip_norm: float | None = DEFAULT_CLIP_NORM,
         decay_steps: int = 0) -> tf_keras.optimizers.Adam:
  """Adam on `schedule(learning_rate, warmup_steps, decay_steps)` with
  global-norm clipping (none for `None`).

  The defaults are the command line's, measured on real MNIST digits.
  """
  return tf_keras.optimizers.Adam(
      schedule(learning_rate, warmup_steps, decay_steps),
      global_clipnorm=clip_norm)
