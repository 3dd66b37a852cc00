"""Coupling masks: which entries condition the network, which are transformed.

A mask splits an event x (an image, or a vector) into a conditioning part
(the network's input) and an active part (transformed elementwise),
restricts the network's shift and log-scale to the active entries, and
merges the two parts back.
"""

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

__all__ = [
  'MASK_NAMES',
  'BinaryMask',
  'ChannelMask',
  'CheckerboardMask',
  'make_mask',
]


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


class _MultiplyingMask:
  """A mask b that multiplies: x_cond = b * x, x_active = x, and the shift
  and log-scale are multiplied by 1 - b. Subclasses give b."""

  def _conditioning_mask(self, x: tf.Tensor) -> tf.Tensor:
    raise NotImplementedError

  def split(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return x * self._conditioning_mask(x), x

  def restrict(self, params: tf.Tensor) -> tf.Tensor:
    return params * (1. - self._conditioning_mask(params))

  def merge(self, conditioning: tf.Tensor, active: tf.Tensor) -> tf.Tensor:
    del conditioning  # Already passed through `active` unchanged.
    return active


class CheckerboardMask(_MultiplyingMask):
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



class BinaryMask(_MultiplyingMask):
  """A given binary mask over the last axis (a vector's entries, or an
  image's channels), as RealNVP writes its masks.

  ```none
  b[d] = mask[d]  (parity 0),  1 - mask[d]  (parity 1)   (1: conditions)
  x_cond = b * x,   x_active = x,   shift and log-scale multiplied by 1 - b
  ```
  """

  def __init__(self, mask: Sequence[int], parity: int):
    self.parity = parity
    bits = np.asarray(mask)
    self.mask = bits if parity == 0 else 1 - bits
    self.conditioning_channels = len(bits)
    self.active_channels = len(bits)

  def _conditioning_mask(self, x: tf.Tensor) -> tf.Tensor:
    return tf.constant(self.mask, x.dtype)



MASK_NAMES = ('channel', 'checkerboard')


def make_mask(mask: str | Sequence[int], num_channels: int, parity: int,
              event_ndims: int = 3):
  """The mask `mask` names for `num_channels` channels (a vector's length).

  Args:
    mask: `'channel'` (halves of the last axis), `'checkerboard'` (images
      only) or a binary sequence of `num_channels` 0s and 1s (1: conditions).
    num_channels: the length of the last axis.
    parity: 0 or 1, which half conditions.
    event_ndims: 3 for images, 1 for vectors.

  Raises:
    ValueError: for an unknown name, a checkerboard over vectors, or a
      binary mask of another length, with values other than 0 and 1, or
      without both.
  """
  if parity not in (0, 1):
    raise ValueError(f'parity must be 0 or 1, got {parity!r}.')
  if isinstance(mask, str):
    if mask not in MASK_NAMES:
      raise ValueError(f'mask must be one of {list(MASK_NAMES)} or a binary '
                       f'sequence, got {mask!r}.')
    if mask == 'checkerboard' and event_ndims != 3:
      raise ValueError('The checkerboard mask is spatial and needs images '
                       '(event_ndims 3); mask vectors by halves (`channel`) '
                       'or a binary sequence.')
    return (ChannelMask if mask == 'channel' else CheckerboardMask)(
        num_channels, parity)
  bits = np.asarray(mask)
  if bits.shape != (num_channels,) or not np.isin(bits, (0, 1)).all() or (
      len(np.unique(bits)) < 2):
    raise ValueError(
        f'A binary mask needs {num_channels} entries (one per channel), each '
        f'0 or 1, with both values present, got {mask!r}.')
  return BinaryMask(bits, parity)
