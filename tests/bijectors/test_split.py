"""factor_out, split_prior and learned_prior: their own behaviour; their
invariants are the registry's."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tests.bijector_checks import tiny_images
from tfp_glow.bijectors.split import factor_out, learned_prior, split_prior

tfb = tfp.bijectors


def test_factor_out_puts_the_first_slice_of_the_latent_in_the_first_half():
  """latent [out, kept] -> image channels [reshape(out), kept_flow(kept)],
  the latent's sizes first factored-out level first."""
  kept_flow = tfb.Chain([tfb.Scale(tf.constant(3., tf.float64)),
                         tfb.Reshape([4, 2, 3], [24])])
  flow = factor_out(kept_flow, (4, 2, 6))
  assert flow.forward_event_shape([48]) == [4, 2, 6]
  assert flow.inverse_event_shape([4, 2, 6]) == [48]
  latent = tiny_images((5, 48))
  image = flow.forward(latent)
  np.testing.assert_array_equal(image[..., :3],
                                tf.reshape(latent[:, :24], [5, 4, 2, 3]))
  np.testing.assert_allclose(image[..., 3:],
                             3. * tf.reshape(latent[:, 24:], [5, 4, 2, 3]))
  np.testing.assert_allclose(flow.forward_log_det_jacobian(latent, 1),
                             24 * np.log(3.))


def test_split_prior_starts_as_n01_and_conditions_the_first_half():
  prior = split_prior(4, tf.float64)
  x = tiny_images((2, 4, 4, 4))
  np.testing.assert_array_equal(prior.forward(x), x)
  for i, variable in enumerate(prior.trainable_variables):
    variable.assign(tf.random.stateless_normal(
        variable.shape, [i, 0], stddev=0.3, dtype=tf.float64))
  y = prior.forward(tf.identity(x)).numpy()
  np.testing.assert_array_equal(y[..., 2:], x[..., 2:])   # kept
  assert np.all(y[..., :2] != x[..., :2])
  # The first half's mean and scale are the kept half's: changing only the
  # kept half changes the first.
  shifted = tf.concat([x[..., :2], x[..., 2:] + 1.], -1)
  assert np.all(prior.forward(shifted)[..., :2] != y[..., :2])


def test_learned_prior_is_a_per_element_affine_map():
  prior = learned_prior([2, 2, 1], tf.float64)
  eps = tiny_images((3, 2, 2, 1))
  np.testing.assert_array_equal(prior.forward(eps), eps)    # zero-initialised
  mean, log_scale = tiny_images((2, 2, 1), 1), tiny_images((2, 2, 1), 2)
  for variable in prior.trainable_variables:
    variable.assign(mean if 'mean' in variable.name else log_scale)
  np.testing.assert_allclose(prior.forward(eps),
                             mean + np.exp(log_scale) * eps, rtol=1e-12)
  np.testing.assert_allclose(prior.forward_log_det_jacobian(eps, 3),
                             np.sum(log_scale), rtol=1e-12)
