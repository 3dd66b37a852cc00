"""ImageDomain: the identity on images, checking pixels on the way in."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import check_event

__all__ = ['ImageDomain']


class ImageDomain(tfp.bijectors.Bijector):
  """Identity on [H, W, C] images in [0, 1] that rejects bad images.

  ```none
  forward(x) = x,   inverse(y) = y,   log|det J| = 0
  ```

  `inverse` (data -> latent, as `log_prob` runs it) always fails on NaN or
  infinite pixels and, with `validate_args=True`, on pixels outside [0, 1].
  Given `image_shape`, images of another shape are a `ValueError` when the
  shape is known statically, and an assertion under `validate_args` when it
  is not. Models put it first on the data side.
  """

  def __init__(self, image_shape=None, validate_args: bool = False,
               name: str = 'image_domain'):
    parameters = dict(locals())
    self._image_shape = None if image_shape is None else tuple(image_shape)
    with tf.name_scope(name) as scope:
      super().__init__(
          forward_min_event_ndims=3,
          is_constant_jacobian=True,
          validate_args=validate_args,
          parameters=parameters,
          name=scope)

  def _forward(self, x):
    return x

  def _inverse(self, y):
    check_event(y, None, self.name)
    checks = [tf.debugging.assert_all_finite(
        y, 'Images contain NaN or infinite pixels.')]
    if self._image_shape is not None:
      checks += self._shape_checks(y)
    if self.validate_args:
      message = 'Images must lie in [0, 1] (scale 8-bit pixels by 1/256).'
      checks += [
          tf.debugging.assert_greater_equal(
              y, tf.zeros([], y.dtype), message=message),
          tf.debugging.assert_less_equal(
              y, tf.ones([], y.dtype), message=message),
      ]
    with tf.control_dependencies(checks):
      return tf.identity(y)

  def _shape_checks(self, y):
    """Raises unless y's last three dimensions are `image_shape`."""
    message = (f'{self.name} expects images of shape '
               f'[..., {", ".join(map(str, self._image_shape))}]')
    if not y.shape[-3:].is_compatible_with(self._image_shape):
      raise ValueError(f'{message}, got shape {y.shape}.')
    if not self.validate_args or y.shape[-3:].is_fully_defined():
      return []
    return [tf.debugging.assert_equal(
        tf.shape(y)[-3:], tf.constant(self._image_shape),
        message=f'{message}.')]

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], dtype=x.dtype)
