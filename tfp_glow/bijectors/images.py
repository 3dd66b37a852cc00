"""Helpers shared by the image bijectors: NHWC events of shape [H, W, C]."""

import tensorflow as tf


def check_image(x: tf.Tensor, num_channels: int | None, owner: str) -> None:
  """Raises if `x` is not a floating batch of [H, W, num_channels] images.

  Only what is known at trace time is checked; unknown ranks and dimensions
  pass through.

  Args:
    x: the tensor handed to a bijector method.
    num_channels: the channel count the bijector was built for, or `None` for
      any channel count.
    owner: the bijector's name, used in the error message.

  Raises:
    TypeError: if `x` is not floating point.
    ValueError: if `x` has rank below 3 or the wrong number of channels.
  """
  if not x.dtype.is_floating:
    raise TypeError(
        f'{owner} expects floating-point images, got dtype {x.dtype.name}.')
  rank = x.shape.rank
  if rank is None:
    return
  if rank < 3:
    raise ValueError(
        f'{owner} expects images of shape [..., H, W, C] (rank >= 3), '
        f'got rank {rank} with shape {x.shape}.')
  channels = x.shape[-1]
  if num_channels is not None and channels is not None and (
      channels != num_channels):
    raise ValueError(
        f'{owner} was built for {num_channels} channels, got {channels} '
        f'channels in shape {x.shape}.')


def num_pixels(x: tf.Tensor) -> tf.Tensor:
  """H * W of a [..., H, W, C] tensor, in the dtype of `x`."""
  return tf.cast(tf.reduce_prod(tf.shape(x)[-3:-1]), x.dtype)


def batch_axes(y: tf.Tensor) -> tf.Tensor:
  """Every axis of `y` but the last (channel) one."""
  return tf.range(tf.rank(y) - 1)


def cross_replica_mean(value: tf.Tensor) -> tf.Tensor:
  """Mean of `value` over the replicas of a distribution strategy."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)
