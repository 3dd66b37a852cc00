"""Whole-model checks: Glow as one bijector inside a TransformedDistribution."""

import collections

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_glow
from tests import registry
from tests.bijector_checks import check_bijector
from tfp_glow.nets import ResNet

tfd = tfp.distributions


models = pytest.mark.parametrize('name', sorted(registry.MODELS))
image_models = pytest.mark.parametrize('name', registry.IMAGES)


def latents(flow, batch=2, dtype=tf.float64):
  return tf.random.stateless_normal([batch, sum(flow.level_sizes)], [3, 4],
                                    dtype=dtype)


@models
def test_model_invariants(name):
  flow = registry.build(name, dtype=tf.float64)
  data = registry.data(name, [2], seed=5, dtype=tf.float64)
  # Adam at 0.05 makes RealNVP's logits reach 1e2 in 3 steps on 2 images,
  # where the sigmoid saturates; 0.005 still moves every layer.
  check_bijector(flow, latents(flow), atol=1e-7, data=data,
                 learning_rate=0.005,
                 kwargs=registry.bijector_kwargs(name, [2]))


@models
def test_log_prob_sample_encode_and_decode_shapes(name):
  flow = registry.build(name)
  dist = tfp_glow.flow_distribution(flow)
  shape = list(registry.event_shape(name))
  data = registry.data(name, [3])
  kwargs = registry.bijector_kwargs(name, [3])
  size = int(np.prod(shape))
  assert sum(flow.level_sizes) == size
  assert dist.event_shape == shape
  assert dist.log_prob(data, bijector_kwargs=kwargs).shape == [3]
  assert dist.sample([2, 3], seed=1, bijector_kwargs=kwargs).shape == [
      2, 3, *shape]
  assert flow.encode(data, **kwargs).shape == [3, size]
  assert flow.decode(tf.zeros([3, size]), **kwargs).shape == [3, *shape]


def test_glow_shapes_and_level_sizes():
  flow = tfp_glow.Glow((28, 28, 1), num_levels=2, num_steps_per_level=1,
                       hidden_channels=8)
  # Level 1 factors out half of [14, 14, 4]; the top keeps [7, 7, 8].
  assert flow.level_sizes == [14 * 14 * 2, 7 * 7 * 8]
  dist = tfp_glow.flow_distribution(flow)
  assert dist.event_shape == [28, 28, 1]
  assert flow.inverse_event_shape([28, 28, 1]) == [784]
  assert dist.log_prob(tf.random.uniform([3, 28, 28, 1])).shape == [3]
  assert dist.sample([2, 3], seed=1).shape == [2, 3, 28, 28, 1]


@pytest.mark.parametrize('multi_scale', [False, True])
@pytest.mark.parametrize('num_layers', [1, 3])
def test_simple_flow_num_layers_is_the_depth_of_every_network(multi_scale,
                                                              num_layers):
  flow = tfp_glow.SimpleFlow((8, 8, 1), multi_scale=multi_scale,
                             hidden_channels=4, num_layers=num_layers)
  networks = [m for m in flow.submodules
              if isinstance(m, tfp_glow.nets.GatedConvNet)]
  assert len(networks) == 8
  assert all(len(network.gated) == num_layers for network in networks)


def test_every_glow_variable_gets_a_gradient_of_log_prob():
  flow = registry.build('glow')
  dist = tfp_glow.flow_distribution(flow)
  images = tf.random.stateless_uniform([8, 8, 8, 1], [0, 1])
  with tfp_glow.data_dependent_init():
    dist.log_prob(images)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(tf.identity(images)))
  gradients = tape.gradient(loss, flow.trainable_variables)
  names = {v.name for v in flow.trainable_variables}
  assert any('prior_mean' in n for n in names)
  assert any('split_prior_net' in n for n in names)
  assert all(g is not None for g in gradients)


@models
def test_checkpoint_restores_identical_log_prob(name, tmp_path):
  flow = registry.build(name)
  dist = tfp_glow.flow_distribution(flow)
  images = registry.data(name, [4], seed=2)
  kwargs = {'bijector_kwargs': registry.bijector_kwargs(name, [4])}
  with tfp_glow.data_dependent_init():
    dist.log_prob(images, **kwargs)
  for variable in flow.trainable_variables:  # Moves zero-initialised layers.
    variable.assign_add(tf.random.normal(variable.shape, stddev=0.01))
  path = tf.train.Checkpoint(flow=flow).write(str(tmp_path / 'flow'))
  restored = registry.build(name)
  restored_dist = tfp_glow.flow_distribution(restored)
  restored_dist.log_prob(images, **kwargs)  # Builds the networks.
  assert not np.array_equal(
      restored_dist.log_prob(tf.identity(images), **kwargs),
      dist.log_prob(tf.identity(images), **kwargs))
  tf.train.Checkpoint(flow=restored).read(path).assert_consumed()
  np.testing.assert_array_equal(
      restored_dist.log_prob(tf.identity(images), **kwargs),
      dist.log_prob(tf.identity(images), **kwargs))


def test_temperature_scales_the_base_per_level():
  flow = registry.build('glow')
  cold = tfp_glow.flow_distribution(flow, temperature=[0.5, 0.25])
  scale = cold.distribution.distribution.scale.numpy()
  np.testing.assert_array_equal(
      scale, np.repeat([0.5, 0.25], flow.level_sizes).astype(np.float32))
  latent = cold.distribution.sample(2000, seed=5)
  np.testing.assert_allclose(
      tf.math.reduce_std(latent[:, :flow.level_sizes[0]]), 0.5, rtol=0.02)
  assert cold.sample(3, seed=1).shape == [3, 8, 8, 1]
  with pytest.raises(ValueError, match='one per level'):
    tfp_glow.flow_distribution(flow, temperature=[0.5, 0.5, 0.5])
  with pytest.raises(ValueError, match='positive'):
    tfp_glow.flow_distribution(flow, temperature=0.)


def test_real_nvp_doubles_its_width_per_scale_on_request():
  """The paper's schedule: 6 networks at scale 0 (3 checkerboard, 3
  channel-wise couplings), 4 at the last scale, twice as wide there."""
  def widths(**kwargs):
    flow = tfp_glow.RealNVP((8, 8, 1), hidden_channels=4, num_blocks=1,
                            **kwargs)
    return collections.Counter(module.conv_in.filters
                               for module in flow.submodules
                               if isinstance(module, ResNet))
  assert widths() == {4: 10}
  assert widths(double_width_per_scale=True) == {4: 6, 8: 4}


@pytest.mark.parametrize('model, kwargs, match', [
    (tfp_glow.Glow, {'image_shape': (28, 28, 1), 'num_levels': 3},
     r'squeezes H and W by 8.*\(28, 28, 1\)'),
    (tfp_glow.Glow, {'image_shape': (8, 8, 1), 'num_levels': 0},
     'num_levels >= 1'),
    (tfp_glow.Glow, {'image_shape': (8, 8, 1), 'permutation': 'random'},
     "permutation must be one of.*'random'"),
    (tfp_glow.RealNVP, {'image_shape': (28, 28, 1), 'num_scales': 4},
     r'squeezes H and W by 8.*\(28, 28, 1\)'),
    (tfp_glow.RealNVP, {'image_shape': (8, 8, 1), 'num_scales': 0},
     'num_scales >= 1'),
    (tfp_glow.RealNVP, {'image_shape': (8, 8, 1), 'alpha': 0.5},
     r'alpha must lie in \(0, 0.5\)'),
    (tfp_glow.SimpleFlow, {'image_shape': (6, 6, 1), 'multi_scale': True},
     r'squeezes H and W by 4.*\(6, 6, 1\)'),
    (tfp_glow.VectorRealNVP, {'num_dims': 1}, 'at least 2 entries'),
    (tfp_glow.VectorRealNVP, {'num_dims': 2, 'num_couplings': 0},
     'num_couplings >= 1'),
    (tfp_glow.VectorRealNVP, {'num_dims': 3, 'mask': 'halves'},
     'even channel count'),
    (tfp_glow.VectorRealNVP, {'num_dims': 2, 'mask': 'stripes'},
     "mask must be one of.*'stripes'"),
    (tfp_glow.VectorRealNVP, {'num_dims': 3, 'mask': [1, 0]},
     'binary mask needs 3 entries'),
])
def test_bad_model_arguments(model, kwargs, match):
  with pytest.raises(ValueError, match=match):
    model(**kwargs)


@image_models
@pytest.mark.parametrize('shape', [(1, 7, 8, 1), (1, 8, 8, 3), (8, 8)])
def test_wrong_image_shape_is_named(name, shape):
  dist = tfp_glow.flow_distribution(registry.build(name))
  with pytest.raises(ValueError, match=r'shape \[\.\.\., 8, 8, 1\]|rank 2'):
    dist.log_prob(tf.zeros(shape), bijector_kwargs=registry.bijector_kwargs(
        name, shape[:1]))


@models
def test_unknown_batch_size_keeps_the_static_image_shape(name):
  flow = registry.build(name)
  dist = tfp_glow.flow_distribution(flow)
  kwargs = registry.bijector_kwargs(name)  # Labels broadcast to any batch.
  shape = list(registry.event_shape(name))

  @tf.function(input_signature=[tf.TensorSpec([None, *shape])])
  def trace(images):
    latents = flow.encode(images, **kwargs)
    return (dist.log_prob(images, bijector_kwargs=kwargs), latents,
            flow.decode(latents, **kwargs),
            dist.sample(tf.shape(images)[0], bijector_kwargs=kwargs))

  log_prob, latents, decoded, samples = (
      trace.get_concrete_function().structured_outputs)
  assert log_prob.shape.as_list() == [None]
  assert latents.shape.as_list() == [None, sum(flow.level_sizes)]
  assert decoded.shape.as_list() == samples.shape.as_list() == [None, *shape]


@pytest.mark.parametrize('shape', [(2, 3), (5,)])
def test_wrong_vector_length_is_named(shape):
  dist = tfp_glow.flow_distribution(registry.build('realnvp_vector'))
  with pytest.raises(ValueError, match=r'built for 4 entries, got [35] entries'):
    dist.log_prob(tf.zeros(shape))


@image_models
def test_nan_pixels_are_rejected(name):
  dist = tfp_glow.flow_distribution(registry.build(name))
  images = tf.tensor_scatter_nd_update(
      tf.fill([2, 8, 8, 1], 0.5), [[1, 3, 4, 0]], [np.nan])
  with pytest.raises(tf.errors.InvalidArgumentError, match='NaN'):
    dist.log_prob(images,
                  bijector_kwargs=registry.bijector_kwargs(name, [2]))


@image_models
def test_pixels_outside_the_unit_interval_fail_under_validate_args(name):
  dist = tfp_glow.flow_distribution(registry.build(name, validate_args=True))
  kwargs = registry.bijector_kwargs(name, [1])
  assert dist.log_prob(tf.fill([1, 8, 8, 1], 1.),
                       bijector_kwargs=kwargs).shape == [1]
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'in \[0, 1\]'):
    dist.log_prob(tf.fill([1, 8, 8, 1], 255.), bijector_kwargs=kwargs)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'in \[0, 1\]'):
    dist.log_prob(tf.fill([1, 8, 8, 1], -0.1), bijector_kwargs=kwargs)
