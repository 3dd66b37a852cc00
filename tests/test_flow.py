"""Flow-level checks: the four bijectors chained into a TransformedDistribution."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_glow
from tests.bijector_checks import check_bijector, tiny_images
from tfp_glow.bijectors import network_outputs
from tfp_glow.precision import network_dtype

tfb, tfd = tfp.bijectors, tfp.distributions


def coupling(channels, dtype, mask='channel', additive=False):
  """A coupling with a width-8 GlowNet."""
  network = tfp_glow.GlowNet(network_outputs(channels, mask, additive), 8,
                             dtype=network_dtype(dtype))
  return tfp_glow.Coupling(channels, network, mask=mask, additive=additive,
                           dtype=dtype)


def glow_step(channels, dtype, seed=0):
  """ActNorm -> 1x1 conv -> affine coupling, in the data -> latent order."""
  return [
      coupling(channels, dtype),
      tfp_glow.Invertible1x1Conv(channels, seed=seed, dtype=dtype),
      tfp_glow.ActNorm(channels, dtype=dtype),
  ]


def small_flow(dtype=tf.float32):
  """Latent [2, 2, 16] -> data [4, 4, 4] -> data [8, 8, 1]."""
  return tfb.Chain([
      tfb.Invert(tfp_glow.Squeeze()),
      *glow_step(4, dtype, seed=0),
      tfp_glow.ChannelPermutation.reverse(4),
      coupling(4, dtype, mask='checkerboard', additive=True),
      tfb.Invert(tfp_glow.Squeeze()),
      *glow_step(16, dtype, seed=1),
  ])


def distribution(flow, dtype=tf.float32):
  base = tfd.Sample(tfd.Normal(tf.constant(0., dtype), 1.),
                    flow.inverse_event_shape([8, 8, 1]))
  return tfd.TransformedDistribution(base, flow)


def images(seed=0):
  return tf.random.stateless_uniform([16, 8, 8, 1], [seed, 0])


def test_chained_flow_invariants():
  flow = small_flow(tf.float64)
  check_bijector(flow, tiny_images((2, 2, 2, 16)), atol=1e-7)


def test_log_prob_and_sample_shapes():
  dist = distribution(small_flow())
  assert dist.event_shape == [8, 8, 1]
  assert dist.log_prob(images()).shape == [16]
  assert dist.sample([2, 3], seed=1).shape == [2, 3, 8, 8, 1]


def test_every_trainable_variable_gets_a_gradient():
  flow = small_flow()
  dist = distribution(flow)
  with tfp_glow.data_dependent_init():
    dist.log_prob(images(seed=1))
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(images()))
  gradients = tape.gradient(loss, flow.trainable_variables)
  # Per coupling 8 (3 kernels, 1 bias, 2 ActNorms), per conv 3, per ActNorm 2.
  assert len(flow.trainable_variables) == 3 * 8 + 2 * 3 + 2 * 2
  missing = [v.name for v, g in zip(flow.trainable_variables, gradients)
             if g is None]
  assert not missing


def test_checkpoint_round_trip_keeps_log_prob(tmp_path):
  flow = small_flow()
  dist = distribution(flow)
  with tfp_glow.data_dependent_init():
    dist.log_prob(images(seed=1))
  path = tf.train.Checkpoint(flow=flow).write(str(tmp_path / 'ckpt'))
  restored = small_flow()
  restored_dist = distribution(restored)
  restored_dist.log_prob(images(seed=2))  # Builds the networks.
  tf.train.Checkpoint(flow=restored).read(path).assert_consumed()
  with tfp_glow.data_dependent_init():  # Must not re-initialise.
    np.testing.assert_allclose(
        restored_dist.log_prob(images()), dist.log_prob(images()), rtol=1e-6)
