"""The optimizer recipe: Adam, an optional linear warmup, gradient clipping.

The defaults are the command line's, from a sweep on real MNIST digits over
three seeds (BENCHMARKS.md, "Optimizer defaults"): without a warmup Glow
learned more at every step count measured.
"""

import tensorflow as tf
import tf_keras

__all__ = ['DEFAULT_CLIP_NORM', 'DEFAULT_LEARNING_RATE',
           'DEFAULT_WARMUP_STEPS', 'LinearWarmup', 'adam']

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


def adam(learning_rate: float = DEFAULT_LEARNING_RATE,
         warmup_steps: int = DEFAULT_WARMUP_STEPS,
         clip_norm: float | None = DEFAULT_CLIP_NORM
         ) -> tf_keras.optimizers.Adam:
  """Adam with a linear warmup (none for 0 steps) and global-norm clipping.

  The defaults are the command line's, measured on real MNIST digits.
  """
  if warmup_steps:
    learning_rate = LinearWarmup(learning_rate, warmup_steps)
  return tf_keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm)
