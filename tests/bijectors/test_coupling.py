import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_glow
from tests.bijector_checks import tiny_images
from tests.bijectors.registry import coupling as float64_coupling
from tfp_glow.bijectors import network_outputs

OPTIONS = list(itertools.product(['channel', 'checkerboard'], [0, 1],
                                 [False, True]))


def glow_coupling(channels=4, mask='channel', additive=False):
  """A float32 coupling with a width-8 GlowNet."""
  network = tfp_glow.GlowNet(network_outputs(channels, mask, additive), 8)
  return tfp_glow.Coupling(channels, network, mask=mask, additive=additive)


def test_the_network_is_required():
  with pytest.raises(TypeError, match="missing.*'network'"):
    tfp_glow.Coupling(4)


@pytest.mark.parametrize('mask, additive', itertools.product(
    ['channel', 'checkerboard'], [False, True]))
def test_a_zero_initialised_network_makes_the_identity(mask, additive):
  """GlowNet's last layer starts at zero: a new coupling is the identity."""
  coupling = glow_coupling(6, mask, additive)
  x = tf.random.normal([2, 4, 4, 6])
  np.testing.assert_array_equal(coupling.forward(x), x)
  np.testing.assert_array_equal(coupling.forward_log_det_jacobian(x, 3), 0.)


def conditioning_entries(mask, parity):
  """Boolean [4, 4, 4]: where a coupling on 4x4x4 images must keep x."""
  if mask == 'channel':
    kept = np.zeros([4, 4, 4], bool)
    kept[..., 2 * parity:2 * parity + 2] = True
    return kept
  rows, cols = np.meshgrid(range(4), range(4), indexing='ij')
  return np.broadcast_to(((rows + cols) % 2 == parity)[..., None], [4, 4, 4])


def randomise(bijector, seed=0):
  for i, variable in enumerate(bijector.trainable_variables):
    variable.assign(tf.random.stateless_normal(
        variable.shape, [seed, i], stddev=0.3, dtype=variable.dtype))


@pytest.mark.parametrize('mask, parity, additive', OPTIONS)
def test_only_the_active_part_changes(mask, parity, additive):
  coupling = float64_coupling(mask, parity, additive)()
  x = tiny_images()
  coupling.forward(x)  # Builds the network.
  randomise(coupling)
  y = coupling.forward(tf.identity(x)).numpy()
  kept = conditioning_entries(mask, parity)
  np.testing.assert_array_equal(y[:, kept], x.numpy()[:, kept])
  assert np.all(y[:, ~kept] != x.numpy()[:, ~kept])


SIGMOID_BOUND = np.logaddexp(0., -2.)   # log(1 / sigmoid(2)) = 0.127


@pytest.mark.parametrize('log_scale_fn, log_scale, low, high, slope', [
    (tfp_glow.tanh_log_scale, np.tanh, -1., 1., 1.),
    (tfp_glow.glow_log_scale,
     lambda h: SIGMOID_BOUND - np.logaddexp(0., -(h + 2.)),
     -np.inf, SIGMOID_BOUND, 1. / (1. + np.exp(2.))),
])
def test_scale_multiplies_in_the_data_to_latent_direction(
    log_scale_fn, log_scale, low, high, slope):
  """inverse: z_b = (x_b + t) * s(h), as log_prob runs.

  The log-det that log_prob adds (ildj) is log s per element, within the
  scale's bounds whatever the network says: tanh's (1/e, e) bounds both the
  expansion and the contraction; openai/glow's sigmoid only the expansion,
  and it starts 8x less steep (slope 0.12 at h = 0).
  """
  # Channel 0 conditions and is fed back as h; shift is 0.
  coupling = tfp_glow.Coupling(
      2, log_scale_fn=log_scale_fn, dtype=tf.float64,
      network=lambda c: tf.concat([tf.zeros_like(c), c], -1))
  h = tf.constant([-1e4, -1., 0., 1e-6, 1., 1e4], tf.float64)
  y = tf.reshape(tf.stack([h, tf.ones_like(h)], -1), [6, 1, 1, 2])
  np.testing.assert_allclose(
      coupling.inverse(y)[:, 0, 0, 1], np.exp(log_scale(h.numpy())),
      rtol=1e-6)
  ildj = coupling.inverse_log_det_jacobian(y, 3).numpy()
  np.testing.assert_allclose(ildj, log_scale(h.numpy()), rtol=1e-6, atol=1e-9)
  assert ildj[2] == 0.
  np.testing.assert_allclose((ildj[3] - ildj[2]) / 1e-6, slope, rtol=1e-5)
  assert np.all((ildj >= low - 1e-9) & (ildj <= high + 1e-9))
  np.testing.assert_allclose(ildj[-1], high, rtol=1e-6)   # saturated


def test_a_keras_layer_is_used_and_its_variables_tracked():
  network = tf_keras.layers.Conv2D(4, 3, padding='same', dtype='float64')
  coupling = tfp_glow.Coupling(4, network, dtype=tf.float64)
  x = tiny_images()
  assert not np.allclose(coupling.forward(x), x)
  assert {v.ref() for v in coupling.trainable_variables} == {
      v.ref() for v in network.trainable_variables}


def test_network_with_wrong_output_channels_is_named():
  coupling = tfp_glow.Coupling(4, network=lambda x: x)
  with pytest.raises(ValueError, match='must return 4 channels.*got shape'):
    coupling.forward(tf.zeros([1, 4, 4, 4]))


def test_log_prob_runs_the_network_once():
  coupling = glow_coupling()
  dist = tfp.distributions.TransformedDistribution(
      tfp.distributions.Sample(tfp.distributions.Normal(0., 1.), [4, 4, 4]),
      coupling)
  layer_types = ('Conv2D', 'MatMul', 'Conv2DBackpropInput',
                 'DepthwiseConv2dNative')

  def layers(fn, shape):
    graph = tf.function(fn).get_concrete_function(tf.TensorSpec(shape)).graph
    return sorted(op.type for op in graph.get_operations()
                  if op.type in layer_types)

  # GlowNet: the first 3x3 convolution, the 1x1 layer as a matmul and the
  # last 3x3 convolution (8 -> 4 channels) as a matmul and a depthwise
  # convolution, or a transposed convolution (convolutions.py's routes).
  network = layers(coupling.network, [None, 4, 4, 2])
  assert network.count('Conv2D') == 1 and 'MatMul' in network
  assert layers(dist.log_prob, [None, 4, 4, 4]) == network


@pytest.mark.parametrize('kwargs, match', [
    ({'num_channels': 3}, 'even channel count, got 3'),
    ({'num_channels': 4, 'mask': 'stripes'}, "mask must be one of.*'stripes'"),
    ({'num_channels': 4, 'parity': 2}, 'parity must be 0 or 1, got 2'),
])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tfp_glow.Coupling(network=lambda x: x, **kwargs)


def test_tanh_log_scale_bound_is_a_coupling_variable():
  """So that the registry's training check reaches and moves it."""
  log_scale = tfp_glow.TanhLogScale(2)
  coupling = tfp_glow.Coupling(4, lambda x: x, log_scale_fn=log_scale)
  assert [v.ref() for v in coupling.trainable_variables] == [
      log_scale.log_bound.ref()]


def test_tanh_log_scale_is_bounded_by_its_learned_bound():
  log_scale = tfp_glow.TanhLogScale(2)
  log_scale.log_bound.assign([0., np.log(3.)])
  h = tf.constant([[-1e4, 1e4], [0.5, 0.5]])
  np.testing.assert_allclose(log_scale(h)[0], [-1., 3.])
  np.testing.assert_allclose(log_scale(h)[1], [np.tanh(0.5), 3 * np.tanh(0.5 / 3)],
                             rtol=1e-6)


def test_context_conditions_the_network():
  """Its invariants are the registry's (`coupling-context`)."""
  coupling = float64_coupling('checkerboard', channels=2)()
  x = tiny_images((2, 4, 4, 2))
  context = tiny_images((2, 4, 4, 1), seed=3)
  coupling.forward(x, context=context)  # Builds the network.
  randomise(coupling)

  def forward(context):
    return coupling.forward(tf.identity(x), context=context)

  assert not np.allclose(forward(context), forward(2. * context))
