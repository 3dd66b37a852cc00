"""Invertible1x1Conv: Glow's learned channel mixing."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow.bijectors.events import (
    check_event,
    check_event_ndims,
    num_positions,
)

__all__ = ['Invertible1x1Conv']


def random_rotation(num_channels: int, seed: int | None) -> np.ndarray:
  """A random orthogonal [C, C] matrix (QR of a Gaussian matrix), float64."""
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.standard_normal([num_channels, num_channels]))
  return q


class _PlainKernel(tf.Module):
  """W stored as one unconstrained [C, C] matrix; log|det W| by slogdet."""

  def __init__(self, rotation: np.ndarray, dtype: tf.DType):
    super().__init__(name='plain_kernel')
    self.kernel = tf.Variable(tf.constant(rotation, dtype), name='kernel')

  def matrix(self) -> tf.Tensor:
    return tf.convert_to_tensor(self.kernel)

  def inverse_matrix(self) -> tf.Tensor:
    return tf.linalg.inv(self.kernel)

  def log_abs_det(self) -> tf.Tensor:
    return tf.linalg.slogdet(self.kernel).log_abs_determinant


class _LUKernel(tf.Module):
  """W = P L (U + diag(sign(s) * exp(log|s|))).

  P is a fixed permutation, L unit lower triangular, U strictly upper
  triangular; only L, U and log|s| are trained, so log|det W| = sum(log|s|).
  """

  def __init__(self, rotation: np.ndarray, dtype: tf.DType):
    super().__init__(name='lu_kernel')
    lower_upper, perm = tf.linalg.lu(tf.constant(rotation, tf.float64))
    # tf.linalg.lu factors rotation[perm] = L U, so P is I with rows perm^-1.
    permutation = np.eye(len(rotation))[np.argsort(perm.numpy())]
    diagonal = tf.linalg.diag_part(lower_upper)
    self.permutation = tf.Variable(
        tf.constant(permutation, dtype), trainable=False, name='permutation')
    self.lower = tf.Variable(
        tf.cast(tf.linalg.band_part(lower_upper, -1, 0), dtype), name='lower')
    self.upper = tf.Variable(
        tf.cast(tf.linalg.band_part(lower_upper, 0, -1), dtype), name='upper')
    self.sign_s = tf.Variable(
        tf.cast(tf.sign(diagonal), dtype), trainable=False, name='sign_s')
    self.log_abs_s = tf.Variable(
        tf.cast(tf.math.log(tf.abs(diagonal)), dtype), name='log_abs_s')

  def _factors(self) -> tuple[tf.Tensor, tf.Tensor]:
    """L with a unit diagonal and U with diagonal sign(s) * exp(log|s|)."""
    ones = tf.ones_like(self.log_abs_s)
    lower = tf.linalg.set_diag(tf.linalg.band_part(self.lower, -1, 0), ones)
    upper = tf.linalg.set_diag(
        tf.linalg.band_part(self.upper, 0, -1),
        self.sign_s * tf.exp(self.log_abs_s))
    return lower, upper

  def matrix(self) -> tf.Tensor:
    lower, upper = self._factors()
    return self.permutation @ lower @ upper

  def inverse_matrix(self) -> tf.Tensor:
    """W^-1 = U^-1 L^-1 P^T by two triangular solves."""
    lower, upper = self._factors()
    lower_inv_pt = tf.linalg.triangular_solve(
        lower, tf.transpose(self.permutation), lower=True)
    return tf.linalg.triangular_solve(upper, lower_inv_pt, lower=False)

  def log_abs_det(self) -> tf.Tensor:
    return tf.reduce_sum(self.log_abs_s)


class Invertible1x1Conv(tfp.bijectors.Bijector):
  """A learned invertible linear map of the channels at every pixel.

  ```none
  forward:  y[h, w, :] = W x[h, w, :]          (a 1x1 convolution)
  inverse:  x[h, w, :] = W^-1 y[h, w, :]
  log|det J| = H * W * log|det W|
  ```

  Over vectors (`event_ndims=1`) it is an invertible linear layer,
  y = W x, with log|det J| = log|det W|.

  `W` starts as a random rotation (log|det W| = 0). With `lu_decomposed=True`
  it is parameterised as `W = P L (U + diag(sign(s) * exp(log|s|)))` [1], so
  the log-determinant is `sum(log|s|)` and `W^-1` comes from triangular solves
  in O(C^2) per pixel; with `lu_decomposed=False` `W` is a plain matrix with
  `slogdet` and a general inverse, O(C^3).

  #### Examples

  ```python
  conv = tfp_glow.Invertible1x1Conv(4, seed=0)
  y = conv.forward(tf.random.normal([8, 16, 16, 4]))
  linear = tfp_glow.Invertible1x1Conv(2, event_ndims=1)   # [N, 2] vectors
  ```

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  def __init__(self,
               num_channels: int,
               lu_decomposed: bool = True,
               seed: int | None = None,
               event_ndims: int = 3,
               validate_args: bool = False,
               dtype: tf.DType = tf.float32,
               name: str = 'invertible_1x1_conv'):
    """Builds an Invertible1x1Conv initialised to a random rotation.

    Args:
      num_channels: Python `int`, the C of [H, W, C] images or the D of [D]
        vectors.
      lu_decomposed: Python `bool`, use the LU parameterisation.
        Default value: `True`.
      seed: Python `int` seeding the initial rotation; `None` draws a fresh
        one. The rotation's permutation is saved with checkpoints either way.
        Default value: `None`.
      event_ndims: Python `int`, 3 for images, 1 for vectors.
        Default value: 3.
      validate_args: Python `bool`, passed to the base class.
        Default value: `False`.
      dtype: floating `tf.DType` of the parameters and inputs.
        Default value: `tf.float32`.
      name: Python `str` name prefixed to ops created by this class.
        Default value: 'invertible_1x1_conv'.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as scope:
      self._num_channels = num_channels
      self._event_ndims = check_event_ndims(event_ndims, name)
      kernel_class = _LUKernel if lu_decomposed else _PlainKernel
      self._kernel = kernel_class(random_rotation(num_channels, seed), dtype)
      super().__init__(
          forward_min_event_ndims=event_ndims,
          is_constant_jacobian=True,
          validate_args=validate_args,
          dtype=dtype,
          parameters=parameters,
          name=scope)

  @property
  def num_channels(self) -> int:
    return self._num_channels

  def matrix(self) -> tf.Tensor:
    """The current [C, C] matrix W."""
    return self._kernel.matrix()

  def _forward(self, x):
    check_event(x, self._num_channels, self.name, self._event_ndims)
    return tf.tensordot(x, self._kernel.matrix(), [[-1], [1]])

  def _inverse(self, y):
    check_event(y, self._num_channels, self.name, self._event_ndims)
    return tf.tensordot(y, self._kernel.inverse_matrix(), [[-1], [1]])

  def _forward_log_det_jacobian(self, x):
    check_event(x, self._num_channels, self.name, self._event_ndims)
    return num_positions(x, self._event_ndims) * self._kernel.log_abs_det()
