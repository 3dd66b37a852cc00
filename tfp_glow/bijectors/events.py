"""Helpers shared by the bijectors: events are NHWC images [H, W, C]
(event_ndims 3) or vectors [D] (event_ndims 1); the last axis is the
channels (a vector's D entries)."""

import tensorflow as tf

# The event shape a bijector works on, by its event_ndims.
EVENT_NAMES = {3: 'images of shape [..., H, W, C]', 1: 'vectors of shape [..., D]'}


def check_event_ndims(event_ndims: int, owner: str) -> int:
  """Raises a ValueError unless `event_ndims` is 3 (images) or 1 (vectors)."""
  if event_ndims not in EVENT_NAMES:
    raise ValueError(f'{owner} takes event_ndims 3 (images [H, W, C]) or 1 '
                     f'(vectors [D]), got {event_ndims!r}.')
  return event_ndims


def check_event(x: tf.Tensor, num_channels: int | None, owner: str,
                event_ndims: int = 3) -> None:
  """Raises if `x` is not a floating batch of events with `num_channels`.

  Only what is known at trace time is checked; unknown ranks and dimensions
  pass through.

  Args:
    x: the tensor handed to a bijector method.
    num_channels: the channel count (a vector's length) the bijector was
      built for, or `None` for any.
    owner: the bijector's name, used in the error message.
    event_ndims: 3 for [H, W, C] images, 1 for [D] vectors.

  Raises:
    TypeError: if `x` is not floating point.
    ValueError: if `x` has rank below `event_ndims` or the wrong number of
      channels.
  """
  kind = EVENT_NAMES[event_ndims]
  if not x.dtype.is_floating:
    raise TypeError(
        f'{owner} expects floating-point {kind.split()[0]}, got dtype '
        f'{x.dtype.name}.')
  rank = x.shape.rank
  if rank is None:
    return
  if rank < event_ndims:
    raise ValueError(
        f'{owner} expects {kind} (rank >= {event_ndims}), got rank {rank} '
        f'with shape {x.shape}.')
  channels = x.shape[-1]
  if num_channels is not None and channels is not None and (
      channels != num_channels):
    unit = 'channels' if event_ndims == 3 else 'entries'
    raise ValueError(
        f'{owner} was built for {num_channels} {unit}, got {channels} '
        f'{unit} in shape {x.shape}.')


def num_positions(x: tf.Tensor, event_ndims: int = 3) -> tf.Tensor:
  """Positions sharing one channel map, in the dtype of `x`: H * W of an
  image, 1 for a vector."""
  return tf.cast(tf.reduce_prod(tf.shape(x)[-event_ndims:-1]), x.dtype)


def batch_axes(y: tf.Tensor) -> tf.Tensor:
  """Every axis of `y` but the last (channel) one."""
  return tf.range(tf.rank(y) - 1)


def cross_replica_mean(value: tf.Tensor) -> tf.Tensor:
  """Mean of `value` over the replicas of a distribution strategy."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)
