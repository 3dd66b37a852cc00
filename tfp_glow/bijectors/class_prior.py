"""ClassPrior: a Gaussian prior whose mean and scale depend on a class label."""

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ['ClassPrior']


class ClassPrior(tfp.bijectors.Bijector):
  """Class-conditional prior over [H, W, C] latents, as openai/glow's `ycond`.

  ```none
  z = mean[y] + exp(log_scale[y]) * eps,   eps ~ N(0, I)
  log|det dz/deps| = sum(log_scale[y])
  ```

  `mean` and `log_scale` are zero-initialised [num_classes, H, W, C]
  variables: a learned linear map of the one-hot label y (openai/glow maps
  it to one mean and scale per channel; here each element has its own).
  Every method takes the integer labels as the keyword `labels`, whose shape
  broadcasts against the batch shape (a scalar labels the whole batch); a
  call without them is a `ValueError`. Through a chain or a distribution
  they arrive as TFP's bijector kwargs, e.g.
  `dist.log_prob(x, bijector_kwargs={'labels': y})` on a flow built with
  `num_classes`.
  """

  def __init__(self, event_shape, num_classes: int,
               validate_args: bool = False, dtype: tf.DType = tf.float32,
               name: str = 'class_prior'):
    """Builds the prior.

    Args:
      event_shape: [H, W, C] of the latents.
      num_classes: Python `int` >= 2, the number of labels.
      validate_args: Python `bool`; also checks that labels lie in
        [0, num_classes).
        Default value: `False`.
      dtype: floating `tf.DType` of the latents and variables.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'class_prior'.

    Raises:
      ValueError: for fewer than two classes.
    """
    parameters = dict(locals())
    if num_classes < 2:
      raise ValueError(f'num_classes must be >= 2, got {num_classes}.')
    self._num_classes = num_classes
    self._event_shape = tuple(event_shape)
    shape = [num_classes, *event_shape]
    with tf.name_scope(name) as scope:
      self._mean = tf.Variable(tf.zeros(shape, dtype), name='class_mean')
      self._log_scale = tf.Variable(tf.zeros(shape, dtype),
                                    name='class_log_scale')
      super().__init__(forward_min_event_ndims=3, dtype=dtype,
                       validate_args=validate_args, parameters=parameters,
                       name=scope)

  @property
  def num_classes(self) -> int:
    return self._num_classes

  @property
  def event_shape(self) -> tuple:
    """[H, W, C] of the latents."""
    return self._event_shape

  def _mean_and_log_scale(self, labels):
    """mean[labels] and log_scale[labels], of shape labels.shape + [H, W, C]."""
    if labels is None:
      raise ValueError(
          f'{self.name} is class-conditional ({self._num_classes} classes) '
          'and needs integer labels: pass them as the bijector kwarg '
          "`labels`, e.g. dist.log_prob(x, bijector_kwargs={'labels': y}) "
          "or dist.sample(n, bijector_kwargs={'labels': y}).")
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
      raise TypeError(f'{self.name} takes integer class labels, got dtype '
                      f'{labels.dtype.name}.')
    if self.validate_args:
      message = f'Labels must lie in [0, {self._num_classes}).'
      with tf.control_dependencies([
          tf.debugging.assert_non_negative(labels, message=message),
          tf.debugging.assert_less(
              labels, tf.cast(self._num_classes, labels.dtype),
              message=message)]):
        labels = tf.identity(labels)
    return (tf.gather(self._mean, labels),
            tf.gather(self._log_scale, labels))

  def _forward(self, x, labels=None):
    mean, log_scale = self._mean_and_log_scale(labels)
    return mean + tf.exp(log_scale) * x

  def _inverse(self, y, labels=None):
    mean, log_scale = self._mean_and_log_scale(labels)
    return (y - mean) * tf.exp(-log_scale)

  def _forward_log_det_jacobian(self, x, labels=None):
    _, log_scale = self._mean_and_log_scale(labels)
    return tf.broadcast_to(
        tf.reduce_sum(log_scale, axis=[-3, -2, -1]),
        tf.broadcast_dynamic_shape(tf.shape(x)[:-3],
                                   tf.shape(log_scale)[:-3]))
