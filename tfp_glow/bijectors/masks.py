"""Coupling masks: which entries condition the network, which are transformed.

A mask splits an image x into a conditioning part (the network's input) and
an active part (transformed elementwise), restricts the network's shift and
log-scale to the active entries, and merges the two parts back.
"""

import tensorflow as tf

__all__ = ['ChannelMask', 'CheckerboardMask']


class ChannelMask:
  """Glow's channel split, i.e. RealNVP's channel-wise mask.

  ```none
  parity 0:  x = [x_cond, x_active]     (first half of the channels conditions)
  parity 1:  x = [x_active, x_cond]
  ```

  RealNVP writes this as a binary mask over channels; splitting the tensor
  instead halves the network's input and output.
  """

  def __init__(self, num_channels: int, parity: int):
    if num_channels % 2:
      raise ValueError(
          'A channel mask splits the channels in halves and needs an even '
          f'channel count, got {num_channels} channels.')
    self.parity = parity
    self.conditioning_channels = num_channels // 2
    self.active_channels = num_channels // 2

  def split(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    halves = tf.split(x, 2, axis=-1)
    return halves[self.parity], halves[1 - self.parity]

  def restrict(self, params: tf.Tensor) -> tf.Tensor:
    return params

  def merge(self, conditioning: tf.Tensor, active: tf.Tensor) -> tf.Tensor:
    halves = [active, active]
    halves[self.parity] = conditioning
    return tf.concat(halves, axis=-1)


class CheckerboardMask:
  """RealNVP's spatial checkerboard mask.

  ```none
  b[h, w] = 1 if (h + w) % 2 == parity else 0      (1: conditioning pixel)
  x_cond = b * x,   x_active = x
  ```

  The shift and log-scale are multiplied by (1 - b), so conditioning pixels
  pass through the elementwise transform unchanged (shift 0, log-scale 0).
  """

  def __init__(self, num_channels: int, parity: int):
    self.parity = parity
    self.conditioning_channels = num_channels
    self.active_channels = num_channels

  def _conditioning_mask(self, x: tf.Tensor) -> tf.Tensor:
    """b as a [H, W, 1] tensor in the dtype of x."""
    shape = tf.shape(x)
    rows = tf.range(shape[-3])[:, tf.newaxis]
    cols = tf.range(shape[-2])[tf.newaxis, :]
    mask = tf.equal((rows + cols) % 2, self.parity)
    return tf.cast(mask, x.dtype)[..., tf.newaxis]

  def split(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return x * self._conditioning_mask(x), x

  def restrict(self, params: tf.Tensor) -> tf.Tensor:
    return params * (1. - self._conditioning_mask(params))

  def merge(self, conditioning: tf.Tensor, active: tf.Tensor) -> tf.Tensor:
    del conditioning  # Already passed through `active` unchanged.
    return active
