"""From 8-bit pixels to continuous images, and likelihoods in bits/dim."""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_glow import nets
from tfp_glow.bijectors.coupling import Coupling, TanhLogScale
from tfp_glow.precision import network_dtype

tfb, tfd = tfp.bijectors, tfp.distributions

# Importance samples of the bound on log P(k) that `evaluate` prints and the
# export serves for a model with a variational dequantizer.
BOUND_SAMPLES = 8

__all__ = [
    'BOUND_SAMPLES',
    'VariationalDequantizer',
    'bin_centres',
    'bits_per_dim',
    'log_likelihood_bound',
    'uniform_dequantize',
]


def uniform_dequantize(pixels: tf.Tensor, seed=None, num_bins: int = 256,
                       dtype: tf.DType = tf.float32) -> tf.Tensor:
  """Continuous images in [0, 1) from integer pixels k in [0, num_bins).

  ```none
  x = (k + u) / num_bins,   u ~ U[0, 1)
  ```

  A density p(x) on [0, 1)^D then bounds the discrete likelihood:
  log P(k) >= E_u[log p(x)] - D log(num_bins).

  Args:
    pixels: integer (or integer-valued) tensor of pixel values.
    seed: optional stateless seed, a shape [2] integer tensor; `None` draws
      from the global generator.
      Default value: `None`.
    num_bins: Python `int`, the number of pixel values.
      Default value: 256.
    dtype: floating `tf.DType` of the result.
      Default value: `tf.float32`.
  """
  pixels = tf.cast(pixels, dtype)
  if seed is None:
    noise = tf.random.uniform(tf.shape(pixels), dtype=dtype)
  else:
    noise = tf.random.stateless_uniform(tf.shape(pixels), seed, dtype=dtype)
  return (pixels + noise) / num_bins


def bin_centres(pixels: tf.Tensor, num_bins: int = 256,
                dtype: tf.DType = tf.float32) -> tf.Tensor:
  """The centres of the pixels' bins, deterministic dequantization.

  ```none
  x = (k + 1/2) / num_bins
  ```

  What evaluation, classification and export feed a flow: the same images
  give the same log-likelihoods every time.
  """
  return (tf.cast(pixels, dtype) + 0.5) / num_bins


def bits_per_dim(log_prob: tf.Tensor, image_shape,
                 num_bins: int = 256) -> tf.Tensor:
  """Bits per dimension of a density over images scaled to [0, 1].

  ```none
  bits/dim = -log p(x) / (D ln 2) + log2(num_bins),   D = H * W * C
  ```

  The second term converts the density on [0, 1]^D to one on
  [0, num_bins)^D, the scale on which papers report bits/dim.

  Args:
    log_prob: natural-log densities of images in [0, 1], any shape.
    image_shape: the event shape [H, W, C].
    num_bins: Python `int`, the number of pixel values.
      Default value: 256.
  """
  num_dims = int(np.prod(image_shape))
  return -log_prob / (num_dims * math.log(2.)) + math.log2(num_bins)


class VariationalDequantizer(tf.Module):
  """Learned dequantization noise q(u | k) [1, 2].

  ```none
  eps ~ N(0, I),  u = sigmoid(g(eps; k)),  x = (k + u) / num_bins
  log P(k) >= E_q[log p(x) - log q(u | k)] - D log(num_bins)
  ```

  g is a flow of checkerboard couplings whose `GatedConvNet`s also see the
  image (k / (num_bins - 1) * 2 - 1) as context. q is a
  `tfd.TransformedDistribution`; its couplings get the context through
  TFP's `bijector_kwargs`.

  #### References

  [1]: Jonathan Ho et al. Flow++: Improving Flow-Based Generative Models
       with Variational Dequantization and Architecture Design. In _ICML_,
       2019. https://arxiv.org/abs/1902.00275
  [2]: Phillip Lippe. UvA Deep Learning Tutorial 11: Normalizing Flows for
       image modeling. https://uvadlc-notebooks.readthedocs.io
  """

  def __init__(self, image_shape, num_couplings: int = 4,
               hidden_channels: int = 16, num_bins: int = 256,
               dtype: tf.DType = tf.float32,
               name: str = 'variational_dequantizer'):
    """Builds q(u | k).

    Args:
      image_shape: (H, W, C) of the pixel images.
      num_couplings: Python `int`, checkerboard couplings of alternating
        parity.
        Default value: 4.
      hidden_channels: Python `int`, width of their `GatedConvNet`s.
        Default value: 16.
      num_bins: Python `int`, the number of pixel values.
        Default value: 256.
      dtype: floating `tf.DType` of the parameters and the noise.
        Default value: `tf.float32`.
      name: Python `str`, the module's name.
        Default value: 'variational_dequantizer'.
    """
    super().__init__(name=name)
    self._image_shape = tuple(image_shape)
    channels = image_shape[-1]
    self._num_bins = num_bins
    self._dtype = tf.as_dtype(dtype)
    self.couplings = [
        Coupling(channels, mask='checkerboard', parity=i % 2,
                 network=nets.GatedConvNet(2 * channels, hidden_channels,
                                           dtype=network_dtype(dtype)),
                 log_scale_fn=TanhLogScale(channels, dtype), dtype=dtype,
                 name=f'dequantizer_coupling_{i}')
        for i in range(num_couplings)
    ]
    self._noise = tfd.TransformedDistribution(
        tfd.Sample(tfd.Normal(tf.constant(0., dtype), 1.), image_shape),
        tfb.Chain([tfb.Sigmoid(), *self.couplings]))

  @property
  def num_bins(self) -> int:
    return self._num_bins

  def dequantize(self, pixels: tf.Tensor, seed=None):
    """Samples x = (k + u) / num_bins with u ~ q(u | k); returns x, log q(u | k).

    Args:
      pixels: integer-valued [N, H, W, C] pixels in [0, num_bins).
      seed: optional seed for the noise.

    Raises:
      ValueError: for pixels whose image shape is not the dequantizer's.
    """
    pixels = tf.cast(pixels, self._dtype)
    if not pixels.shape[1:].is_compatible_with(self._image_shape):
      raise ValueError(
          f'{self.name} is built for [N, *{list(self._image_shape)}] pixels, '
          f'got shape {pixels.shape}.')
    context = pixels / (self._num_bins - 1) * 2. - 1.
    kwargs = {c.name: {'context': context} for c in self.couplings}
    noise, log_q = self._noise.experimental_sample_and_log_prob(
        tf.shape(pixels)[:1], seed=seed, bijector_kwargs=kwargs)
    return (pixels + noise) / self._num_bins, log_q


def check_num_bins(dequantizer: VariationalDequantizer | None,
                   num_bins: int) -> None:
  """Raises ValueError if `dequantizer` is built for another `num_bins`."""
  if dequantizer is not None and dequantizer.num_bins != num_bins:
    raise ValueError(
        f'the dequantizer is built for {dequantizer.num_bins} pixel values, '
        f'the likelihood for num_bins={num_bins}.')


def dequantize(pixels: tf.Tensor,
               dequantizer: VariationalDequantizer | None = None,
               seed=None, num_bins: int = 256) -> tuple:
  """x = (k + u) / num_bins and log q(u | k): u from `dequantizer`, or
  uniform (log q = 0) when it is `None`."""
  if dequantizer is None:
    return uniform_dequantize(pixels, seed, num_bins), 0.
  return dequantizer.dequantize(pixels, seed)


def log_likelihood_bound(dist: tfd.Distribution, pixels: tf.Tensor,
                         dequantizer: VariationalDequantizer | None = None,
                         num_samples: int = 1, seed=None,
                         num_bins: int = 256, labels=None) -> tf.Tensor:
  """Importance-weighted bound on log P(k), as a density on [0, 1]^D.

  ```none
  bound = log mean_n exp(log p(x_n) - log q(u_n | k)),
  x_n = (k + u_n) / num_bins
  ```

  with u uniform (log q = 0) when `dequantizer` is `None`. One sample is the
  usual variational bound; more samples tighten it. `bits_per_dim(bound)` is
  then an upper bound on the discrete model's bits/dim.

  Args:
    dist: distribution over images in [0, 1].
    pixels: integer-valued [N, H, W, C] pixels.
    dequantizer: a `VariationalDequantizer`, or `None` for uniform noise.
      Default value: `None`.
    num_samples: Python `int`, importance samples per image.
      Default value: 1.
    seed: optional stateless seed, a shape [2] integer tensor.
      Default value: `None`.
    num_bins: Python `int`, the number of pixel values; a `dequantizer`
      must have the same.
      Default value: 256.
    labels: integer [N] labels of a class-conditional flow's images (the
      bound is then on log P(k | y)); `None` for other flows.
      Default value: `None`.

  Returns:
    [N] tensor of bounds.

  Raises:
    ValueError: for `num_samples` < 1, or a dequantizer built for another
      number of pixel values.
  """
  if not isinstance(num_samples, int) or num_samples < 1:
    raise ValueError(f'num_samples must be a positive int, got {num_samples!r}.')
  check_num_bins(dequantizer, num_bins)
  pixels = tf.convert_to_tensor(pixels)
  # All samples in one batch, sample-major: [num_samples * N, H, W, C].
  repeated = tf.tile(pixels, [num_samples] + [1] * (pixels.shape.rank - 1))
  images, log_q = dequantize(repeated, dequantizer, seed, num_bins)
  kwargs = ({} if labels is None else
            {'bijector_kwargs': {'labels': tf.tile(labels, [num_samples])}})
  log_weights = tf.reshape(dist.log_prob(images, **kwargs) - log_q,
                           [num_samples, -1])
  return tf.reduce_logsumexp(log_weights, axis=0) - math.log(num_samples)
