"""BatchNorm: RealNVP's batch normalisation with its log-determinant."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import (
    batch_axes,
    check_event,
    cross_replica_mean,
    num_positions,
)

__all__ = ['BatchNorm']


class BatchNorm(tfp.bijectors.Bijector):
  """Batch normalisation of [H, W, C] images, per channel [1, 2].

  In the data -> latent direction (`inverse`, as `log_prob` runs it):

  ```none
  z = (y - mean) / sqrt(var + eps)
  log|det dz/dy| = -0.5 * H * W * sum_c log(var[c] + eps)
  forward: y = z * sqrt(var + eps) + mean
  ```

  The bijector kwarg `training` picks the statistics of `inverse` and its
  log-det. `training=False` (the default: evaluation, sampling, export):
  the moving averages, so the flow is one fixed bijection. `training=True`:
  the mean and (biased) variance of the batch over its batch, H and W axes
  (per replica under a `tf.distribute` strategy), and `inverse` updates the
  moving averages with them (averaged over replicas):

  ```none
  moving <- d * moving + (1 - d) * batch,   d = min(momentum, t / (t + 1))
  ```

  with t the number of updates so far (`num_updates`): the first training
  batch sets the averages, the next ones average in until `momentum` takes
  over; a batch whose statistics are not finite updates nothing. `forward`
  always uses the moving averages: the latent side has no data batch. So
  `forward(inverse(y, training=True))` is `y` right after that call only if
  the averages then equal the batch's statistics (the first update does
  that).

  The log-det is written once, for `inverse`: TFP derives the forward one
  as -ildj(y) at y = forward(x), the data-side batch itself when the bijector
  cache holds it (`TransformedDistribution.log_prob` computes the log-det at
  the latent x = inverse(y), so a forward formula from the moving averages
  would replace the batch statistics there).

  The moving averages are non-trainable variables of the bijector, so
  `variables`, checkpoints and exports carry them. A tfp_glow flow takes
  `training` itself and hands it to each of its `BatchNorm`s;
  `tfp_glow.FlowModel` passes `training=True` in its training step only.

  `tfp.bijectors.BatchNormalization` fixes `training` when it is built and
  keeps its statistics in a Keras layer, so one flow could not train with
  batch statistics and evaluate with moving averages; this bijector takes
  the mode per call.

  #### Examples

  ```python
  norm = tfp_glow.BatchNorm(3)
  z = norm.inverse(images, training=True)   # per channel: mean 0, variance 1
  images_again = norm.forward(z)            # with the updated moving averages
  ```

  #### References

  [1]: Sergey Ioffe, Christian Szegedy. Batch Normalization: Accelerating
       Deep Network Training by Reducing Internal Covariate Shift. In
       _ICML_, 2015. https://arxiv.org/abs/1502.03167

  [2]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017, section 3.7.
       https://arxiv.org/abs/1605.08803
  """

  def __init__(self,
               num_channels: int,
               momentum: float = 0.9,
               epsilon: float = 1e-4,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'batch_norm'):
    """Builds a BatchNorm whose moving averages are mean 0, variance 1.

    Args:
      num_channels: Python `int`, the C of the [H, W, C] events.
      momentum: Python `float` in [0, 1), the decay of the moving averages.
        Default value: 0.9.
      epsilon: Python `float` > 0 added to every variance.
        Default value: 1e-4.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      dtype: floating `tf.DType` of the statistics and inputs.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class; the
        flows give each BatchNorm its own, to route `training` by name.
        Default value: 'batch_norm'.

    Raises:
      ValueError: for a momentum outside [0, 1) or epsilon <= 0.
    """
    parameters = dict(locals())
    if not 0. <= momentum < 1.:
      raise ValueError(f'momentum must be in [0, 1), got {momentum}.')
    if epsilon <= 0.:
      raise ValueError(f'epsilon must be > 0, got {epsilon}.')
    with tf.name_scope(name) as scope:
      # ONLY_FIRST_REPLICA lets `inverse` assign inside `strategy.run`;
      # every replica assigns the same cross-replica statistics.
      aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA
      self._num_channels = num_channels
      self._momentum = momentum
      self._epsilon = epsilon
      self._moving_mean = tf.Variable(
          tf.zeros([num_channels], dtype), trainable=False,
          name='moving_mean', aggregation=aggregation)
      self._moving_variance = tf.Variable(
          tf.ones([num_channels], dtype), trainable=False,
          name='moving_variance', aggregation=aggregation)
      self._num_updates = tf.Variable(
          0, dtype=tf.int64, trainable=False, name='num_updates',
          aggregation=aggregation)
      super().__init__(
          forward_min_event_ndims=3,
          validate_args=validate_args,
          dtype=dtype,
          parameters=parameters,
          name=scope)

  @property
  def num_channels(self) -> int:
    return self._num_channels

  @property
  def momentum(self) -> float:
    return self._momentum

  @property
  def epsilon(self) -> float:
    return self._epsilon

  @property
  def moving_mean(self) -> tf.Variable:
    return self._moving_mean

  @property
  def moving_variance(self) -> tf.Variable:
    return self._moving_variance

  @property
  def num_updates(self) -> tf.Variable:
    """int64 variable: how many training batches updated the averages."""
    return self._num_updates

  def _statistics(self, y: tf.Tensor, training: bool) -> tuple:
    """(mean, variance) per channel: the batch's or the moving averages."""
    check_event(y, self._num_channels, self.name)
    if not isinstance(training, bool):
      raise TypeError(f'{self.name} takes `training` as a Python bool, got '
                      f'{training!r}.')
    if not training:
      return self._moving_mean, self._moving_variance
    mean = tf.reduce_mean(y, axis=batch_axes(y))
    return mean, tf.reduce_mean(tf.square(y - mean), axis=batch_axes(y))

  def _update(self, mean: tf.Tensor, variance: tf.Tensor) -> None:
    """Moves the averages towards the batch's (replica-averaged) statistics.

    A batch with non-finite statistics (a NaN image, say) is left out, so
    that it can not poison every later evaluation.
    """
    mean, variance = tf.unstack(cross_replica_mean(
        tf.stop_gradient(tf.stack([mean, variance]))))
    finite = tf.reduce_all(
        tf.math.is_finite(mean) & tf.math.is_finite(variance))
    count = tf.cast(self._num_updates, self.dtype)
    decay = tf.minimum(tf.constant(self._momentum, self.dtype),
                       count / (count + 1.))
    for moving, batch in [(self._moving_mean, mean),
                          (self._moving_variance, variance)]:
      moving.assign(tf.where(finite, decay * moving + (1. - decay) * batch,
                             moving))
    self._num_updates.assign_add(tf.cast(finite, tf.int64))

  def _inverse(self, y, training=False):
    mean, variance = self._statistics(y, training)
    if training:
      self._update(mean, variance)
    return (y - mean) * tf.math.rsqrt(variance + self._epsilon)

  def _inverse_log_det_jacobian(self, y, training=False):
    _, variance = self._statistics(y, training)
    return -0.5 * num_positions(y) * tf.reduce_sum(
        tf.math.log(variance + self._epsilon))

  def _forward(self, x, training=False):
    del training  # The latent side has no batch statistics.
    check_event(x, self._num_channels, self.name)
    return x * tf.sqrt(self._moving_variance + self._epsilon) + (
        self._moving_mean)
