"""Coupling networks: shapes, zero start, dtypes, gradients, receptive fields."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tfp_glow import nets

OUTPUT_CHANNELS = 6

# name -> (constructor, keyword arguments, receptive-field radius in pixels).
# Radius: every 3x3 convolution on the path from input to output adds 1.
NETS = {
    # conv3x3, conv1x1, conv3x3.
    'glow': (nets.GlowNet, {'hidden_channels': 8}, 2),
    # conv3x3, one block of two conv3x3, conv3x3.
    'resnet': (nets.ResNet, {'hidden_channels': 8, 'num_blocks': 1}, 4),
    # conv3x3, one GatedConv (conv3x3, conv1x1), conv3x3.
    'gated': (nets.GatedConvNet, {'hidden_channels': 8, 'num_layers': 1}, 3),
    # Default depths: only in the tests that do not need the radius.
    'resnet_deep': (nets.ResNet, {'hidden_channels': 8}, None),
    'gated_deep': (nets.GatedConvNet, {'hidden_channels': 8}, None),
}


def make_net(name, **kwargs):
  constructor, options, _ = NETS[name]
  return constructor(OUTPUT_CHANNELS, **options, **kwargs)


def images(shape=(2, 8, 8, 3), dtype=tf.float32, seed=(1, 2)):
  return tf.random.stateless_normal(shape, seed, dtype=dtype)


def randomise_last_layer(net):
  """Replaces the zero-initialised last convolution by random weights."""
  for variable in (net.conv_out.kernel, net.conv_out.bias):
    variable.assign(tf.random.normal(variable.shape, dtype=variable.dtype))


@pytest.mark.parametrize('name', sorted(NETS))
@pytest.mark.parametrize('shape', [(2, 8, 8, 3), (1, 5, 7, 2)])
def test_output_shape(name, shape):
  output = make_net(name)(images(shape))
  assert output.shape == (*shape[:-1], OUTPUT_CHANNELS)
  assert output.dtype == tf.float32


@pytest.mark.parametrize('name', sorted(NETS))
def test_output_is_zero_at_construction(name):
  output = make_net(name)(images())
  np.testing.assert_array_equal(output, np.zeros([2, 8, 8, OUTPUT_CHANNELS]))


@pytest.mark.parametrize('name', sorted(NETS))
def test_float64(name):
  net = make_net(name, dtype='float64')
  x = images(dtype=tf.float64)
  net(x)
  randomise_last_layer(net)
  output = net(x)
  assert output.dtype == tf.float64
  assert np.all(np.isfinite(output))
  assert np.abs(output).max() > 0
  assert net.trainable_variables
  assert {v.dtype for v in net.trainable_variables} == {tf.float64}


@pytest.mark.parametrize('name', sorted(NETS))
def test_all_created_variables_are_tracked(name):
  """Every trainable variable the network creates is in trainable_variables."""
  created = []

  def record(next_creator, **kwargs):
    variable = next_creator(**kwargs)
    created.append(variable)
    return variable

  with tf.variable_creator_scope(record):
    net = make_net(name)
    net(images())
  expected = {v.ref() for v in created if v.trainable}
  assert expected
  assert {v.ref() for v in net.trainable_variables} == expected


@pytest.mark.parametrize('name', sorted(NETS))
def test_output_depends_on_input_and_gradients_reach_all_variables(name):
  net = make_net(name)
  x = images()
  net(x)
  randomise_last_layer(net)
  output = net(x)
  assert np.abs(output).max() > 1e-3
  other = net(x + images(seed=(3, 4)))
  assert np.abs(other - output).max() > 1e-3

  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(net(x) ** 2)
  variables = net.trainable_variables
  gradients = tape.gradient(loss, variables)
  for variable, gradient in zip(variables, gradients, strict=True):
    assert gradient is not None, variable.name
    assert np.abs(gradient).max() > 0, variable.name


@pytest.mark.parametrize('name', ['glow', 'resnet', 'gated'])
def test_receptive_field(name):
  """Output [7, 7] of an 8x8 image sees exactly the inputs within `radius`.

  With a receptive-field radius r, output pixel (7, 7) depends on the input
  pixels (i, j) with i, j >= 7 - r: perturbing (7 - r, 7 - r) changes it,
  perturbing (6 - r, 7), (7, 6 - r) or (0, 0) leaves it bit-for-bit alone.
  """
  radius = NETS[name][2]
  net = make_net(name)
  x = images(shape=(1, 8, 8, 3))
  net(x)
  randomise_last_layer(net)
  corner = net(x)[0, 7, 7]

  def corner_after_perturbing(i, j):
    delta = tf.scatter_nd([[0, i, j]], [[1., -2., 3.]], x.shape)
    return net(x + delta)[0, 7, 7]

  edge = 7 - radius
  assert np.abs(corner_after_perturbing(edge, edge) - corner).max() > 1e-4
  for i, j in [(edge - 1, 7), (7, edge - 1), (edge - 1, edge - 1), (0, 0)]:
    np.testing.assert_array_equal(corner_after_perturbing(i, j), corner)
  # Inside the field, the output changes; elsewhere in the image it may not.
  assert np.abs(corner_after_perturbing(7, 7) - corner).max() > 1e-4


def layer_norm(norm, x):
  """Layer norm over the channels, in NumPy, with `norm`'s parameters."""
  x = np.asarray(x)
  mean = x.mean(axis=-1, keepdims=True)
  variance = x.var(axis=-1, keepdims=True)
  normalised = (x - mean) / np.sqrt(variance + norm.epsilon)
  return normalised * norm.gamma.numpy() + norm.beta.numpy()


def relu(x):
  return np.maximum(x, 0.)


def randomised(net, x):
  """Builds `net` on `x` and gives every trainable variable random values."""
  net(x)
  for variable in net.trainable_variables:
    variable.assign(0.5 * tf.random.normal(variable.shape))
  return net


def test_resnet_architecture():
  """conv3x3 -> residual blocks -> norm -> relu -> conv3x3, norms per pixel."""
  x = images()
  net = randomised(nets.ResNet(OUTPUT_CHANNELS, 8, num_blocks=2), x)
  hidden = net.conv_in(x).numpy()
  for block in net.blocks:
    inner = block.conv_in(relu(layer_norm(block.norm_in, hidden)))
    hidden = hidden + block.conv_out(relu(layer_norm(block.norm_out, inner)))
  expected = net.conv_out(relu(layer_norm(net.norm_out, hidden)))
  assert len(net.blocks) == 2
  np.testing.assert_allclose(net(x), expected, rtol=1e-4, atol=1e-4)


def test_gated_conv_net_architecture():
  """conv3x3 -> [GatedConv -> norm] x num_layers -> concat_elu -> conv3x3."""
  x = images()
  net = randomised(nets.GatedConvNet(OUTPUT_CHANNELS, 8, num_layers=2), x)
  hidden = net.conv_in(x)
  for gated, norm in zip(net.gated, net.norms, strict=True):
    hidden = layer_norm(norm, gated(hidden))
  expected = net.conv_out(nets.concat_elu(hidden))
  assert len(net.gated) == 2
  np.testing.assert_allclose(net(x), expected, rtol=1e-4, atol=1e-4)


def test_concat_elu():
  x = np.array([[-2., -0.5, 0., 1.5]])
  elu = np.where(x > 0, x, np.expm1(x))
  neg_elu = np.where(-x > 0, -x, np.expm1(-x))
  np.testing.assert_allclose(nets.concat_elu(tf.constant(x)),
                             np.concatenate([elu, neg_elu], axis=-1))


def test_gated_conv_is_residual_gate():
  """y = x + val * sigmoid(gate), [val, gate] = conv1x1(elu(conv3x3(elu(x))))."""
  layer = nets.GatedConv(4, hidden_channels=5)
  x = images(shape=(2, 6, 6, 4))
  output = layer(x)
  assert output.shape == x.shape
  assert layer.conv_hidden.kernel.shape == (3, 3, 8, 5)
  assert layer.conv_gate.kernel.shape == (1, 1, 10, 8)
  params = layer.conv_gate(
      nets.concat_elu(layer.conv_hidden(nets.concat_elu(x)))).numpy()
  val, gate = params[..., :4], params[..., 4:]
  np.testing.assert_allclose(output, x + val / (1. + np.exp(-gate)),
                             rtol=1e-5, atol=1e-5)


def test_glow_net_architecture_and_folded_actnorms():
  """conv3x3 -> ActNorm -> relu -> conv1x1 -> ActNorm -> relu -> conv3x3.

  The ActNorms run folded into the convolutions; output and gradients match
  the layer-by-layer composition, which also runs inside
  `data_dependent_init()` (the ActNorms here are already initialised).
  """
  x = images()
  net = randomised(nets.GlowNet(OUTPUT_CHANNELS, 8), x)
  for norm in (net.norm_in, net.norm_hidden):
    assert norm.log_scale.trainable_variables and norm.shift.trainable
    norm.initialized.assign(True)

  def unfolded(x):
    hidden = tf.nn.relu(net.norm_in.inverse(net.conv_in(x)))
    hidden = tf.nn.relu(net.norm_hidden.inverse(net.conv_hidden(hidden)))
    return net.conv_out(hidden)

  def value_and_gradients(fn):
    with tf.GradientTape() as tape:
      output = fn(x)
      loss = tf.reduce_sum(output ** 2)
    return output, tape.gradient(loss, net.trainable_variables)

  output, gradients = value_and_gradients(net)
  expected, expected_gradients = value_and_gradients(unfolded)
  np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)
  for gradient, reference in zip(gradients, expected_gradients, strict=True):
    np.testing.assert_allclose(gradient, reference, rtol=1e-4, atol=1e-4)
  with tfp_glow.data_dependent_init():
    np.testing.assert_allclose(net(x), expected, rtol=1e-4, atol=1e-4)
