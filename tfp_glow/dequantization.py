"""From 8-bit pixels to continuous images, and likelihoods in bits/dim."""

import math

import numpy as np
import tensorflow as tf

__all__ = ['bits_per_dim', 'uniform_dequantize']


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
