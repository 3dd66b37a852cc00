"""Squeeze: trade spatial resolution for channels (space-to-depth)."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import check_event

__all__ = ['Squeeze']


class Squeeze(tfp.bijectors.Bijector):
  """Rearranges each `f x f` block of pixels into channels.

  ```none
  forward:  [H, W, C] -> [H / f, W / f, C * f * f]
  y[i, j, (a * f + b) * C + c] = x[i * f + a, j * f + b, c]
  log|det J| = 0   (a permutation of the entries)
  ```

  The inverse is depth-to-space. Glow and RealNVP squeeze between levels so
  that later couplings see a larger receptive field.

  #### Examples

  ```python
  squeeze = tfp_glow.Squeeze()
  squeeze.forward_event_shape([28, 28, 1])   # ==> [14, 14, 4]
  ```

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self,
               factor: int = 2,
               validate_args: bool = False,
               name: str = 'squeeze'):
    """Builds a Squeeze bijector.

    Args:
      factor: Python `int` > 0, the side of the pixel blocks.
        Default value: 2.
      validate_args: Python `bool`; when the image shape is only known at run
        time, add assertions that H and W are divisible by `factor`.
        Default value: `False`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'squeeze'.

    Raises:
      ValueError: if `factor` is not a positive integer.
    """
    parameters = dict(locals())
    if not isinstance(factor, int) or factor < 1:
      raise ValueError(f'Squeeze factor must be a positive int, got {factor!r}.')
    self._factor = factor
    with tf.name_scope(name) as scope:
      super().__init__(
          forward_min_event_ndims=3,
          is_constant_jacobian=True,
          validate_args=validate_args,
          parameters=parameters,
          name=scope)

  @property
  def factor(self) -> int:
    return self._factor

  def _check_divisible(self, image_shape: tf.TensorShape) -> None:
    """Raises a ValueError when a known H or W is not divisible by factor."""
    for size in image_shape[-3:-1]:
      if size is not None and size % self._factor:
        raise ValueError(
            f'Squeeze with factor {self._factor} needs H and W divisible by '
            f'{self._factor}, got image shape {image_shape}.')

  def _assert_divisible(self, shape: tf.Tensor) -> list:
    """Run-time assertions for H and W of a dynamic image shape."""
    if not self.validate_args:
      return []
    return [
        tf.debugging.assert_equal(
            shape[-3:-1] % self._factor, 0,
            message=(f'Squeeze with factor {self._factor} needs H and W '
                     'divisible by the factor.'))
    ]

  def _forward(self, x):
    check_event(x, None, 'Squeeze')
    self._check_divisible(x.shape)
    shape = tf.shape(x)
    with tf.control_dependencies(self._assert_divisible(shape)):
      images = tf.reshape(x, tf.concat([[-1], shape[-3:]], axis=0))
      squeezed = tf.nn.space_to_depth(images, self._factor)
    y = tf.reshape(
        squeezed,
        tf.concat([shape[:-3], self._forward_event_shape_tensor(shape[-3:])],
                  axis=0))
    y.set_shape(self._forward_event_shape(x.shape))  # Keep static sizes.
    return y

  def _inverse(self, y):
    check_event(y, None, 'Squeeze')
    self._check_channels(y.shape)
    shape = tf.shape(y)
    images = tf.reshape(y, tf.concat([[-1], shape[-3:]], axis=0))
    unsqueezed = tf.nn.depth_to_space(images, self._factor)
    x = tf.reshape(
        unsqueezed,
        tf.concat([shape[:-3], self._inverse_event_shape_tensor(shape[-3:])],
                  axis=0))
    x.set_shape(self._inverse_event_shape(y.shape))  # Keep static sizes.
    return x

  def _check_channels(self, image_shape: tf.TensorShape) -> None:
    """Raises a ValueError when a known C is not divisible by factor**2."""
    channels = image_shape[-1]
    if channels is not None and channels % self._factor**2:
      raise ValueError(
          f'Squeeze.inverse with factor {self._factor} needs C divisible by '
          f'{self._factor**2}, got image shape {image_shape}.')

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], dtype=x.dtype)

  def _forward_event_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank is None:
      return input_shape
    self._check_divisible(input_shape)
    h, w, c = input_shape[-3:]
    f = self._factor
    return input_shape[:-3].concatenate([
        None if h is None else h // f,
        None if w is None else w // f,
        None if c is None else c * f * f])

  def _forward_event_shape_tensor(self, input_shape):
    f = self._factor
    with tf.control_dependencies(self._assert_divisible(input_shape)):
      return tf.concat(
          [input_shape[:-3], input_shape[-3:-1] // f, input_shape[-1:] * f * f],
          axis=0)

  def _inverse_event_shape(self, output_shape):
    output_shape = tf.TensorShape(output_shape)
    if output_shape.rank is None:
      return output_shape
    self._check_channels(output_shape)
    h, w, c = output_shape[-3:]
    f = self._factor
    return output_shape[:-3].concatenate([
        None if h is None else h * f,
        None if w is None else w * f,
        None if c is None else c // (f * f)])

  def _inverse_event_shape_tensor(self, output_shape):
    f = self._factor
    return tf.concat(
        [output_shape[:-3], output_shape[-3:-1] * f,
         output_shape[-1:] // (f * f)],
        axis=0)
