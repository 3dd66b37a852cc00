"""The bijectors over [D] vectors: the coupling Jacobian worked by hand."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow


def test_a_four_variable_coupling_has_a_triangular_jacobian_with_log_det_sum_s():
  """The coupling note's example: x = (x1, x2, x3, x4), mask b = (1, 0, 1, 0)
  (x1, x3 condition). After the permutation (x1, x3, x2, x4) the Jacobian
  dz/dx is lower triangular with diagonal (1, 1, s2, s4), so
  log|det| = log s2 + log s4 = sum(log s)."""
  network = tfp_glow.MLP(8, 16, dtype='float64')
  coupling = tfp_glow.Coupling(4, network, mask=[1, 0, 1, 0], event_ndims=1,
                               dtype=tf.float64)
  x = tf.constant([[0.3, -1.2, 0.7, 2.0]], tf.float64)
  coupling.inverse(x)  # Builds the network, then moves it off the identity.
  for variable in network.trainable_variables:
    variable.assign(tf.random.stateless_normal(variable.shape, [0, 1],
                                               dtype=tf.float64))
  with tf.GradientTape() as tape:
    tape.watch(x)
    z = coupling.inverse(x)      # data -> latent, as log_prob runs it
  jacobian = tape.batch_jacobian(z, x)[0].numpy()
  order = [0, 2, 1, 3]
  permuted = jacobian[order][:, order]
  np.testing.assert_allclose(np.triu(permuted, 1), 0., atol=1e-12)
  np.testing.assert_allclose(np.diag(permuted)[:2], 1.)
  # s from the network by hand: z_b = (x_b + t) * s with log s = tanh(h).
  params = network(x * [1., 0., 1., 0.]).numpy()[0]
  log_s = np.tanh(params[4:])[[1, 3]]
  np.testing.assert_allclose(np.diag(permuted)[2:], np.exp(log_s))
  log_det = coupling.inverse_log_det_jacobian(tf.identity(x), event_ndims=1)
  np.testing.assert_allclose(log_det, [log_s.sum()], rtol=1e-12)
  np.testing.assert_allclose(log_det,
                             [np.linalg.slogdet(jacobian)[1]], rtol=1e-12)


def test_vector_and_image_forms_agree_on_one_pixel():
  """A [D] vector is a 1x1 image with D channels: ActNorm, the LU linear
  layer and a channel coupling give the same values and log-dets."""
  x = tf.random.stateless_normal([3, 4], [2, 3])
  pairs = [
      (tfp_glow.ActNorm(4, event_ndims=1), tfp_glow.ActNorm(4)),
      (tfp_glow.Invertible1x1Conv(4, seed=1, event_ndims=1),
       tfp_glow.Invertible1x1Conv(4, seed=1)),
      (tfp_glow.ChannelPermutation.shuffle(4, seed=2, event_ndims=1),
       tfp_glow.ChannelPermutation.shuffle(4, seed=2)),
  ]
  for vector, image in pairs:
    if isinstance(vector, tfp_glow.ActNorm):
      vector.initialize(x * 2. + 1.)
      image.initialize(tf.reshape(x * 2. + 1., [3, 1, 1, 4]))
    pixel = tf.reshape(x, [3, 1, 1, 4])
    np.testing.assert_allclose(
        tf.reshape(vector.forward(x), [3, 1, 1, 4]), image.forward(pixel),
        rtol=1e-6)
    np.testing.assert_allclose(
        vector.forward_log_det_jacobian(x, 1),
        image.forward_log_det_jacobian(pixel, 3), rtol=1e-6)


@pytest.mark.parametrize('kwargs, match', [
    ({'mask': 'checkerboard'}, 'checkerboard mask is spatial'),
    ({'mask': [1, 0, 1]}, 'binary mask needs 4 entries'),
    ({'mask': [1, 1, 1, 1]}, 'both values present'),
    ({'mask': [1, 0, 2, 0]}, 'each 0 or 1'),
    ({'event_ndims': 2}, r'event_ndims 3 \(images .*\) or 1'),
])
def test_bad_vector_couplings_are_named(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tfp_glow.Coupling(4, tfp_glow.MLP(8), **{'event_ndims': 1, **kwargs})


def test_mlp_takes_a_width_or_the_widths():
  assert [layer.units for layer in tfp_glow.MLP(2, [32, 16]).hidden] == [32,
                                                                          16]
  assert [layer.units for layer in tfp_glow.MLP(2, 8, num_layers=3).hidden
          ] == [8, 8, 8]
  with pytest.raises(ValueError, match='at least one hidden layer'):
    tfp_glow.MLP(2, [])
