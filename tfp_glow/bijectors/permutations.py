"""ChannelPermutation: a fixed reordering of the channels (reverse, shuffle)."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import check_event, check_event_ndims

__all__ = ['ChannelPermutation']


class ChannelPermutation(tfp.bijectors.Bijector):
  """Reorders the channels of every pixel by a fixed permutation.

  ```none
  forward:  y[..., c] = x[..., permutation[c]]
  log|det J| = 0
  ```

  Over vectors (`event_ndims=1`) it reorders the entries. Glow's alternatives to a learned 1x1 convolution are `reverse` (RealNVP's
  channel reversal) and `shuffle` (a fixed random permutation). The
  permutation is a non-trainable variable, so checkpoints save it.

  #### Examples

  ```python
  tfp_glow.ChannelPermutation.reverse(4).forward(x)     # x[..., ::-1]
  tfp_glow.ChannelPermutation.shuffle(4, seed=1)
  ```
  """

  def __init__(self,
               permutation,
               event_ndims: int = 3,
               validate_args: bool = False,
               name: str = 'channel_permutation'):
    """Builds a ChannelPermutation.

    Args:
      permutation: 1-D integer array-like, a permutation of `range(C)`.
      event_ndims: Python `int`, 3 for images, 1 for vectors.
        Default value: 3.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'channel_permutation'.

    Raises:
      ValueError: if `permutation` is not a permutation of `range(C)`.
    """
    parameters = dict(locals())
    permutation = np.asarray(permutation)
    if permutation.ndim != 1 or not np.array_equal(
        np.sort(permutation), np.arange(len(permutation))):
      raise ValueError(
          f'permutation must be a permutation of range(C), got {permutation}.')
    with tf.name_scope(name) as scope:
      self._event_ndims = check_event_ndims(event_ndims, name)
      self._permutation = tf.Variable(
          permutation, dtype=tf.int32, trainable=False, name='permutation')
      super().__init__(
          forward_min_event_ndims=event_ndims,
          is_constant_jacobian=True,
          validate_args=validate_args,
          parameters=parameters,
          name=scope)

  @classmethod
  def reverse(cls, num_channels: int, **kwargs) -> 'ChannelPermutation':
    """Reverses the channel order."""
    kwargs.setdefault('name', 'reverse_channels')
    return cls(np.arange(num_channels)[::-1], **kwargs)

  @classmethod
  def shuffle(cls, num_channels: int, seed: int | None = None,
              **kwargs) -> 'ChannelPermutation':
    """A fixed random channel order drawn with `seed`."""
    permutation = np.random.default_rng(seed).permutation(num_channels)
    kwargs.setdefault('name', 'shuffle_channels')
    return cls(permutation, **kwargs)

  @property
  def permutation(self) -> tf.Variable:
    return self._permutation

  def _forward(self, x):
    check_event(x, self._permutation.shape[0], self.name,
                self._event_ndims)
    return tf.gather(x, self._permutation, axis=-1)

  def _inverse(self, y):
    check_event(y, self._permutation.shape[0], self.name,
                self._event_ndims)
    return tf.gather(y, tf.math.invert_permutation(self._permutation), axis=-1)

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], dtype=x.dtype)
