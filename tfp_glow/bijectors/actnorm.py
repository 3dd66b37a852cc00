"""ActNorm: per-channel affine map with data-dependent initialisation."""

import contextlib

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.images import check_image, num_pixels

__all__ = ['ActNorm', 'data_dependent_init', 'initializing']

_EPSILON = 1e-6
_init_depth = 0  # > 0 while inside `data_dependent_init()`.


@contextlib.contextmanager
def data_dependent_init():
  """Context in which every uninitialised ActNorm initialises from data.

  Inside the context, `ActNorm.inverse(y)` (the data -> latent direction, as
  run by `log_prob`) first calls `initialize(y)` on each ActNorm whose
  `initialized` flag is still `False`. Already initialised ActNorms (for
  example restored from a checkpoint) are left alone. Works eagerly, inside
  `tf.function` (trace the function inside the context) and inside
  `strategy.run` (statistics are averaged over replicas).

  The context only affects new computations: a batch whose inverse the
  bijector cache already holds is not recomputed, so pass a fresh tensor.

  #### Examples

  ```python
  with tfp_glow.data_dependent_init():
    dist.log_prob(first_batch)
  ```
  """
  global _init_depth
  _init_depth += 1
  try:
    yield
  finally:
    _init_depth -= 1


def initializing() -> bool:
  """True inside `data_dependent_init()`."""
  return _init_depth > 0


class ActNorm(tfp.bijectors.Bijector):
  """Activation normalisation: a learned per-channel scale and shift.

  ```none
  forward:  y[..., c] = x[..., c] * exp(log_scale[c]) + shift[c]
  inverse:  x[..., c] = (y[..., c] - shift[c]) * exp(-log_scale[c])
  log|det J| = H * W * sum_c log_scale[c]
  ```

  `initialize(y)` sets `shift` and `log_scale` from a data-side batch so that
  `inverse(y)` is zero-mean with unit variance per channel [1], and sets the
  non-trainable `initialized` flag, which checkpoints save. A new ActNorm is
  the identity; nothing initialises it implicitly: run `initialize` or a
  `log_prob` inside `data_dependent_init()`. `forward` and `sample` never
  initialise, so latents can not leak into the parameters.

  #### Examples

  ```python
  actnorm = tfp_glow.ActNorm(3)
  actnorm.initialize(images)          # images: [N, H, W, 3]
  z = actnorm.inverse(images)         # per channel: mean 0, variance 1
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  def __init__(self,
               num_channels: int,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'act_norm'):
    """Builds an identity ActNorm.

    Args:
      num_channels: Python `int`, the C of the [H, W, C] events.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and inputs.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'act_norm'.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as scope:
      # ONLY_FIRST_REPLICA lets `initialize` assign inside `strategy.run`;
      # every replica computes the same cross-replica statistics.
      aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA
      self._num_channels = num_channels
      self._shift = tf.Variable(
          tf.zeros([num_channels], dtype), name='shift',
          aggregation=aggregation)
      self._log_scale = tf.Variable(
          tf.zeros([num_channels], dtype), name='log_scale',
          aggregation=aggregation)
      self._initialized = tf.Variable(
          False, trainable=False, name='initialized', aggregation=aggregation)
      super().__init__(
          forward_min_event_ndims=3,
          is_constant_jacobian=True,
          validate_args=validate_args,
          dtype=dtype,
          parameters=parameters,
          name=scope)

  @property
  def num_channels(self) -> int:
    return self._num_channels

  @property
  def shift(self) -> tf.Variable:
    return self._shift

  @property
  def log_scale(self) -> tf.Variable:
    return self._log_scale

  @property
  def initialized(self) -> tf.Variable:
    """Boolean variable: `True` once data-dependent init has run."""
    return self._initialized

  def initialize(self, y: tf.Tensor, force: bool = False) -> None:
    """Sets shift and log-scale so that `inverse(y)` is standardised.

    ```none
    shift = mean(y),  log_scale = log(std(y) + 1e-6)   per channel
    ```

    Moments are taken over every axis but the channels and, inside
    `strategy.run`, averaged over replicas.

    Args:
      y: data-side batch of shape [..., H, W, C].
      force: Python `bool`; re-initialise even if `initialized` is `True`.
        Default value: `False`.
    """
    y = tf.convert_to_tensor(y, dtype=self.dtype)
    check_image(y, self._num_channels, self.name)
    mean = _cross_replica_mean(tf.reduce_mean(y, axis=_batch_axes(y)))
    variance = _cross_replica_mean(
        tf.reduce_mean(tf.square(y - mean), axis=_batch_axes(y)))
    log_scale = tf.math.log(tf.sqrt(variance) + _EPSILON)
    keep = tf.logical_and(self._initialized, not force)
    self._shift.assign(tf.where(keep, self._shift, mean))
    self._log_scale.assign(tf.where(keep, self._log_scale, log_scale))
    self._initialized.assign(True)

  def _forward(self, x):
    check_image(x, self._num_channels, self.name)
    return x * tf.exp(self._log_scale) + self._shift

  def _inverse(self, y):
    check_image(y, self._num_channels, self.name)
    if initializing():
      self.initialize(y)
    return (y - self._shift) * tf.exp(-self._log_scale)

  def _forward_log_det_jacobian(self, x):
    check_image(x, self._num_channels, self.name)
    return num_pixels(x) * tf.reduce_sum(self._log_scale)


def _batch_axes(y: tf.Tensor) -> tf.Tensor:
  """Every axis of `y` but the last (channel) one."""
  return tf.range(tf.rank(y) - 1)


def _cross_replica_mean(value: tf.Tensor) -> tf.Tensor:
  """Mean of `value` over the replicas of a distribution strategy."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)
