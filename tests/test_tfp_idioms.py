"""TFP and Keras idioms that every model of the registry must support.

One test per idiom, over every entry of `registry.MODELS`: variables seen
through the distribution, a Keras model holding it, `tf.function` arguments,
copies and batch shapes, the uninitialised-ActNorm warning, a Keras 3
optimizer, stateless sampling, extra batch dimensions, `tfb.Invert` and
input gradients.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_glow
from tests import registry

tfb, tfd = tfp.bijectors, tfp.distributions

models = pytest.mark.parametrize('name', sorted(registry.MODELS))


def events(name, batch=4, seed=0, dtype=tf.float32):
  """A batch of model `name`'s events (images in [0.1, 0.9], or vectors)."""
  return registry.data(name, [batch], seed, dtype)


def labelled(name) -> dict:
  """`log_prob`/`sample` kwargs for model `name`: a conditional model's labels.

  One scalar label, which broadcasts to every batch shape.
  """
  return {'bijector_kwargs': registry.bijector_kwargs(name)}


def initialized(name, dtype=tf.float32):
  """The registry's flow `name`, initialised on data, and its distribution."""
  flow = registry.build(name, dtype=dtype)
  dist = tfp_glow.flow_distribution(flow)
  with tfp_glow.data_dependent_init():
    dist.log_prob(events(name, dtype=dtype), **labelled(name))  # Builds networks.
  return flow, dist


def refs(variables) -> list:
  """The identities of `variables`, in a canonical order."""
  return sorted(id(v) for v in variables)


def perturb(flow, stddev=0.05):
  """Moves every variable, zero-initialised layers included, off its start."""
  for variable in flow.trainable_variables:
    variable.assign_add(tf.random.stateless_normal(
        variable.shape, [7, len(variable.name)], stddev=stddev,
        dtype=variable.dtype))


class DensityModel(tf_keras.Model):
  """A Keras model that holds a distribution and returns its log-density."""

  def __init__(self, dist, kwargs):
    super().__init__()
    self.dist = dist
    self.kwargs = kwargs

  def call(self, inputs):
    return self.dist.log_prob(inputs, **self.kwargs)


@models
def test_distribution_and_modules_hold_exactly_the_flow_variables(name):
  flow, dist = initialized(name)
  by_hand = tfd.TransformedDistribution(
      tfd.Sample(tfd.Normal(0., 1.),
                 flow.inverse_event_shape(registry.event_shape(name))),
      flow)
  module = tf.Module()
  module.dist = dist
  assert flow.trainable_variables
  for holder in dist, by_hand, module, tfb.Invert(flow):
    assert refs(holder.trainable_variables) == refs(flow.trainable_variables)
    assert refs(holder.variables) == refs(flow.variables)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(events(name, seed=1), **labelled(name)))
  gradients = tape.gradient(loss, dist.trainable_variables)
  assert all(g is not None for g in gradients)


@models
def test_keras_model_holding_the_distribution_fits_saves_and_restores(
    name, tmp_path):
  data = events(name, 8)
  model = DensityModel(initialized(name)[1], labelled(name))
  model.compile(tf_keras.optimizers.Adam(1e-3),
                loss=lambda _, log_prob: -log_prob)
  assert refs(model.trainable_weights) == refs(model.dist.trainable_variables)
  before = model(data).numpy()
  model.fit(data, tf.zeros([8]), batch_size=4, epochs=2, verbose=0)
  after = model(data).numpy()
  assert np.mean(after) > np.mean(before)

  def restored():
    new = DensityModel(initialized(name)[1], labelled(name))
    assert not np.allclose(new(data), after)
    return new

  model.save_weights(str(tmp_path / 'weights'))
  from_weights = restored()
  # The restored model has no optimizer yet: its slots stay unmatched.
  from_weights.load_weights(str(tmp_path / 'weights')).expect_partial(
  ).assert_existing_objects_matched()
  np.testing.assert_allclose(from_weights(data), after, rtol=1e-6)
  path = tf.train.Checkpoint(model=model).write(str(tmp_path / 'checkpoint'))
  from_checkpoint = restored()
  tf.train.Checkpoint(model=from_checkpoint).read(path).expect_partial(
  ).assert_existing_objects_matched()
  np.testing.assert_allclose(from_checkpoint(data), after, rtol=1e-6)


@models
def test_flow_and_distribution_are_tf_function_arguments(name):
  flow, dist = initialized(name)
  traces = []

  labels = registry.bijector_kwargs(name)

  @tf.function
  def log_prob_and_latents(dist, flow, x):
    traces.append(None)
    return dist.log_prob(x, bijector_kwargs=labels), flow.inverse(x, **labels)

  for seed in range(3):
    x = events(name, seed=seed)
    log_prob, latents = log_prob_and_latents(dist, flow, x)
    np.testing.assert_allclose(log_prob, dist.log_prob(x, **labelled(name)),
                               rtol=1e-5)
    np.testing.assert_allclose(latents, flow.inverse(x, **labels), atol=1e-5)
  assert len(traces) == 1
  # Not composite tensors: tf.nest keeps them whole, as leaves.
  assert tf.nest.flatten([dist, flow], expand_composites=True) == [dist, flow]
  log_probs = tf.nest.map_structure(
      lambda d: d.log_prob(events(name), **labelled(name)), {'dist': dist})
  assert log_probs['dist'].shape == [4]


@models
def test_copy_and_batch_shape(name):
  flow, dist = initialized(name)
  assert flow.experimental_batch_shape() == []
  assert flow.experimental_batch_shape_tensor().numpy().tolist() == []
  assert dist.batch_shape == []
  assert dist.copy().bijector is flow
  with pytest.raises(NotImplementedError,
                     match=r'new, untrained weights.*tf.train.Checkpoint'):
    flow.copy()


@models
def test_uninitialised_actnorms_warn_once_eagerly_and_at_trace_time(name):
  def warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter('always')
      fn()
    return [w for w in caught
            if issubclass(w.category, tfp_glow.UninitializedActNormWarning)]

  flow = registry.build(name)
  dist = tfp_glow.flow_distribution(flow)
  count = sum(isinstance(m, tfp_glow.ActNorm) for m in flow.submodules)
  first = warnings_of(lambda: dist.log_prob(events(name), **labelled(name)))
  assert len(first) == (1 if count else 0)
  if count:
    assert f'{count} of {count} ActNorms' in str(first[0].message)
    assert 'data_dependent_init' in str(first[0].message)
  assert not warnings_of(
      lambda: dist.log_prob(events(name, seed=1), **labelled(name)))

  traced = tfp_glow.flow_distribution(registry.build(name))
  spec = tf.TensorSpec([None, *registry.event_shape(name)])
  assert len(warnings_of(
      lambda: tf.function(lambda x: traced.log_prob(x, **labelled(name))
                          ).get_concrete_function(spec))) == (
          1 if count else 0)
  assert not warnings_of(lambda: initialized(name))


@models
def test_keras3_optimizer_trains_through_the_distribution(name):
  flow, dist = initialized(name)
  perturb(flow)  # Gradients reach every layer, not only the last ones.
  optimizer = keras.optimizers.SGD(1e-3)
  before = [v.numpy() for v in dist.trainable_variables]
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(events(name, seed=1), **labelled(name)))
  optimizer.apply_gradients(zip(tape.gradient(loss, dist.trainable_variables),
                                dist.trainable_variables))
  moved = [not np.array_equal(b, v) for b, v in
           zip(before, dist.trainable_variables)]
  assert all(moved)


@models
def test_stateless_sampling_is_reproducible_in_and_out_of_tf_function(name):
  """Same seed, same samples: eagerly and in tf.function."""
  flow, dist = initialized(name)
  perturb(flow)
  labels = registry.bijector_kwargs(name)

  def sample(seed):
    return dist.sample(3, seed=seed, bijector_kwargs=labels)

  samples = sample([1, 2])
  assert samples.shape == [3, *registry.event_shape(name)]
  np.testing.assert_array_equal(samples, sample([1, 2]))
  assert not np.allclose(samples, sample([1, 3]))
  # Same latents; Grappler may order the graph's float ops otherwise, which
  # moves a sample by an ulp or two on some CPUs (AVX-512 AMD EPYC here).
  np.testing.assert_allclose(tf.function(sample)(tf.constant([1, 2])),
                             samples, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('name', registry.FAMILIES)
def test_xla_sampling_is_reproducible_and_maps_latents_alike(name):
  """Once per family: XLA compiles each family's ops once, and what it
  checks (the compiled graph's RNG and arithmetic) is the family's.

  TF's stateless RNG picks its algorithm per device and XLA picks another
  one (`alg='auto_select'`), so XLA draws other latents for the same seed;
  the flow maps a given latent alike under XLA.
  """
  flow, dist = initialized(name)
  perturb(flow)
  labels = registry.bijector_kwargs(name)
  xla_sample = tf.function(
      lambda seed: dist.sample(3, seed=seed, bijector_kwargs=labels),
      jit_compile=True)
  samples = xla_sample(tf.constant([1, 2]))
  np.testing.assert_array_equal(samples, xla_sample(tf.constant([1, 2])))
  latents = flow.inverse(samples, **labels)
  np.testing.assert_allclose(
      tf.function(lambda z: flow.forward(z, **labels), jit_compile=True)(
          latents), samples, atol=1e-4)


@models
def test_extra_batch_dimensions(name):
  flow, dist = initialized(name)
  perturb(flow)
  shape = registry.event_shape(name)
  x = tf.reshape(events(name, 6), [2, 3, *shape])
  flat = events(name, 6)
  labels = registry.bijector_kwargs(name, [2, 3])
  flat_labels = registry.bijector_kwargs(name, [6])
  np.testing.assert_allclose(
      dist.log_prob(x, bijector_kwargs=labels),
      tf.reshape(dist.log_prob(flat, bijector_kwargs=flat_labels), [2, 3]),
      rtol=1e-5)
  np.testing.assert_allclose(
      flow.inverse(x, **labels),
      tf.reshape(flow.inverse(flat, **flat_labels), [2, 3, -1]), atol=1e-5)
  assert dist.sample([2, 3], seed=[0, 1], bijector_kwargs=labels).shape == [
      2, 3, *shape]


@models
def test_invert_is_the_data_to_latent_flow(name):
  flow, _ = initialized(name)
  perturb(flow)
  inverted = tfb.Invert(flow)
  x = events(name)
  labels = registry.bijector_kwargs(name)
  np.testing.assert_array_equal(inverted.forward(x, **labels),
                                flow.inverse(x, **labels))
  event_ndims = len(registry.event_shape(name))
  np.testing.assert_allclose(
      inverted.forward_log_det_jacobian(x, event_ndims=event_ndims, **labels),
      flow.inverse_log_det_jacobian(x, event_ndims=event_ndims, **labels),
      rtol=1e-6)
  latents = tfd.TransformedDistribution(
      tfp_glow.flow_distribution(flow), inverted)
  size = sum(flow.level_sizes)
  assert latents.event_shape == [size]
  assert latents.log_prob(tf.zeros([2, size]), bijector_kwargs=labels,
                          distribution_kwargs=labelled(name)).shape == [2]


@models
def test_log_prob_input_gradient_matches_finite_differences(name):
  flow, dist = initialized(name, tf.float64)
  perturb(flow)
  x = events(name, 1, dtype=tf.float64)
  with tf.GradientTape() as tape:
    tape.watch(x)
    log_prob = dist.log_prob(x, **labelled(name))
  gradient = tape.gradient(log_prob, x)
  assert np.all(np.isfinite(gradient))
  # Small: the networks' ReLUs have kinks, and a difference across one
  # misses the gradient by a few percent (seen with 1e-5); float64 rounding
  # stays near 1e-16 * |log p| / step.
  step = 1e-8
  for seed in range(3):
    direction = tf.random.stateless_normal(x.shape, [seed, 2], dtype=x.dtype)
    finite_difference = (
        dist.log_prob(x + step * direction, **labelled(name)) -
        dist.log_prob(x - step * direction, **labelled(name))) / (2 * step)
    np.testing.assert_allclose(tf.reduce_sum(gradient * direction),
                               finite_difference[0], rtol=1e-5)
