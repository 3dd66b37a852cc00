"""Multi-scale factor-out with Glow's learned priors, built from TFP parts.

A multi-scale flow maps one flat standard-normal latent to an image. At each
level half of the channels leave the flow ("factor out"); their prior is a
Gaussian whose mean and log-scale come from the kept half, written as an
affine coupling so that the base distribution stays N(0, I).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

from tfp_glow.bijectors.coupling import Coupling
from tfp_glow.precision import network_dtype

tfb = tfp.bijectors

__all__ = ['factor_out', 'learned_prior', 'split_prior']


def split_prior(num_channels: int, dtype: tf.DType = tf.float32) -> Coupling:
  """Glow's conditional prior of the factored-out half as a bijector.

  ```none
  image channels [z, kept]  (num_channels / 2 each)
  z = mean(kept) + exp(log_scale(kept)) * eps,  [mean, log_scale] = conv3x3(kept)
  ```

  The 3x3 convolution is zero-initialised, so the prior starts as N(0, I).
  """
  network = tf_keras.layers.Conv2D(
      num_channels, 3, padding='same', kernel_initializer='zeros',
      dtype=network_dtype(dtype), name='split_prior_net')
  return Coupling(num_channels, network, parity=1,
                  log_scale_fn=tf.identity, dtype=dtype, name='split_prior')


def learned_prior(event_shape, dtype: tf.DType = tf.float32) -> tfb.Bijector:
  """Glow's `learn_top`: z = mean + exp(log_scale) * eps, per element.

  Both parameters are zero-initialised variables of shape `event_shape`.
  """
  mean = tf.Variable(tf.zeros(event_shape, dtype), name='prior_mean')
  log_scale = tf.Variable(tf.zeros(event_shape, dtype), name='prior_log_scale')
  return tfb.Chain([tfb.Shift(mean), tfb.Scale(log_scale=log_scale)],
                   name='learned_prior')


def factor_out(kept_flow: tfb.Bijector, image_shape,
               prior: tfb.Bijector | None = None) -> tfb.Bijector:
  """latent [D_out + D_kept] -> image [h, w, c] with half the channels out.

  ```none
  [eps, latent_kept] = split(latent)
  z = reshape(eps, [h, w, c / 2]),  kept = kept_flow(latent_kept)
  image = prior(concat([z, kept], channels))
  ```

  Args:
    kept_flow: bijector from a flat latent to the kept [h, w, c / 2] half.
    image_shape: [h, w, c] of the image this returns.
    prior: bijector over [h, w, c] that transforms the first half given the
      second (e.g. `split_prior`); `None` keeps N(0, I) for the first half.

  Returns:
    A `tfb.Chain` from a flat latent to [h, w, c].
  """
  height, width, channels = image_shape
  half = channels // 2
  size_out = height * width * half
  size_kept = int(np.prod(kept_flow.inverse_event_shape([height, width, half])))
  return tfb.Chain([
      *([prior] if prior is not None else []),
      tfb.Invert(tfb.Split([half, half], axis=-1)),
      tfb.JointMap([tfb.Reshape([height, width, half], [size_out]), kept_flow]),
      tfb.Split([size_out, size_kept]),
  ], name='factor_out')
