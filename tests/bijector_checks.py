"""Property checks that every tfp_glow bijector must pass.

`check_bijector` runs `check_invariants` three times: on the new bijector,
after data-dependent initialisation, and after a few Adam steps on a
maximum-likelihood loss (a zero-initialised coupling is the identity and
would hide a wrong log-determinant).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_glow

tfb, tfd = tfp.bijectors, tfp.distributions

def tiny_images(shape=(3, 4, 4, 4), seed=0, scale=1.0, offset=0.0):
  """Float64 images, channels correlated, mean `offset`."""
  rng = np.random.default_rng(seed)
  mixing = np.eye(shape[-1]) + 0.5 * rng.standard_normal([shape[-1]] * 2)
  return tf.constant(
      offset + scale * rng.standard_normal(shape) @ mixing, tf.float64)


def check_invariants(bijector, x, atol=1e-8, kwargs=None):
  """Round trips, finiteness, fldj = -ildj and fldj = log|det dy/dx|.

  Every call gets a `tf.identity` copy of its input, so the bijector cache
  can not return a stored value instead of computing it, and the bijector
  kwargs `kwargs` (e.g. labels of a class-conditional flow).
  """
  kwargs = kwargs or {}
  y = bijector.forward(tf.identity(x), **kwargs)
  np.testing.assert_allclose(
      bijector.inverse(tf.identity(y), **kwargs), x, atol=atol,
      err_msg='inverse(forward(x)) != x')

  batch_shape = x.shape[:1]
  fldj = tf.broadcast_to(
      bijector.forward_log_det_jacobian(tf.identity(x), x.shape.rank - 1,
                                        **kwargs),
      batch_shape)
  ildj = tf.broadcast_to(
      bijector.inverse_log_det_jacobian(tf.identity(y), y.shape.rank - 1,
                                        **kwargs),
      batch_shape)
  for name, value in [('forward', y), ('fldj', fldj), ('ildj', ildj)]:
    assert np.all(np.isfinite(value)), f'{name} is not finite'
  np.testing.assert_allclose(fldj, -ildj, atol=atol, err_msg='fldj != -ildj')

  x_watched = tf.identity(x)
  with tf.GradientTape() as tape:
    tape.watch(x_watched)
    y_watched = bijector.forward(x_watched, **kwargs)
  jacobian = tape.batch_jacobian(y_watched, x_watched)
  size = int(np.prod(x.shape[1:]))
  _, log_abs_det = tf.linalg.slogdet(tf.reshape(jacobian, [-1, size, size]))
  np.testing.assert_allclose(
      fldj, log_abs_det, atol=atol, err_msg='fldj != log|det(batch_jacobian)|')

  # Fresh data-side points in the range the flow maps typical latents to:
  # far from it, the inverse of a trained affine flow amplifies without bound.
  # Last, as their inverse may change a bijector's state (BatchNorm's
  # training mode sets its moving averages to their statistics).
  y_fresh = bijector.forward(
      tf.random.stateless_normal(x.shape, [1, 2], dtype=x.dtype), **kwargs)
  np.testing.assert_allclose(
      bijector.forward(tf.identity(bijector.inverse(tf.identity(y_fresh),
                                                    **kwargs)), **kwargs),
      y_fresh, atol=atol, err_msg='forward(inverse(y)) != y')


def transformed_distribution(bijector, latent_shape):
  """The bijector pushing a float64 standard normal forward."""
  base = tfd.Sample(tfd.Normal(tf.constant(0., tf.float64), 1.), latent_shape)
  return tfd.TransformedDistribution(base, bijector)


def train(bijector, data, latent_shape, steps=3, learning_rate=0.05,
          kwargs=None):
  """A few Adam steps on -mean(log_prob(data)); returns the first gradients."""
  dist = transformed_distribution(bijector, latent_shape)
  optimizer = tf_keras.optimizers.Adam(learning_rate)
  first_gradients = None
  for _ in range(steps):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(tf.identity(data),
                                           bijector_kwargs=kwargs or {}))
    variables = bijector.trainable_variables
    gradients = tape.gradient(loss, variables)
    first_gradients = first_gradients or gradients
    optimizer.apply_gradients(zip(gradients, variables))
  return first_gradients


def check_bijector(bijector, x, atol=1e-8, data=None, learning_rate=0.05,
                   kwargs=None):
  """`check_invariants` when new, after init, and after training.

  Also checks that every trainable variable gets a gradient through
  `TransformedDistribution.log_prob` and is moved by the optimiser.

  Args:
    bijector: a float64 tfp_glow bijector, chain or model.
    x: float64 latent-side batch [B, *latent_event_shape].
    atol: absolute tolerance of every comparison.
    data: float64 data-side batch for initialisation and training; by
      default correlated Gaussian images with mean 0.5 and scale 2.
    learning_rate: of the Adam steps; small enough that the trained flow
      still maps typical latents into its numerically invertible range.
    kwargs: bijector kwargs of every call (a batch of labels, say).
  """
  check_invariants(bijector, x, atol, kwargs)
  latent_shape = x.shape[1:]
  if data is None:
    data_shape = [x.shape[0], *bijector.forward_event_shape(latent_shape)]
    data = tiny_images(data_shape, seed=1, scale=2.0, offset=0.5)
  with tfp_glow.data_dependent_init():
    transformed_distribution(bijector, latent_shape).log_prob(
        data, bijector_kwargs=kwargs or {})
  check_invariants(bijector, x, atol, kwargs)
  if not bijector.trainable_variables:
    return

  before = [v.numpy() for v in bijector.trainable_variables]
  gradients = train(bijector, data, latent_shape,
                    learning_rate=learning_rate, kwargs=kwargs)
  missing = [v.name for v, g in zip(bijector.trainable_variables, gradients)
             if g is None]
  assert not missing, f'no gradient reaches {missing}'
  unchanged = [v.name for v, b in zip(bijector.trainable_variables, before)
               if np.array_equal(v.numpy(), b)]
  assert not unchanged, f'training did not change {unchanged}'
  check_invariants(bijector, x, atol, kwargs)
