"""FlowModel: Keras fit/evaluate, ActNorm init, skipped steps, strategies."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_glow
from tests import registry

LOG_PROB_TOLERANCE = 1e-5


def continuous(seed, batch=8, low=0., high=1.):
  """Deterministic float images in [low, high): no dequantization noise."""
  return tf.random.stateless_uniform([batch, 8, 8, 1], [seed, 0],
                                     minval=low, maxval=high)


def fit(model, batches, optimizer=None, **compile_args):
  """Compiles `model` and fits one epoch over the list of `batches`."""
  model.compile(optimizer or tf_keras.optimizers.SGD(0.01), **compile_args)
  dataset = tf.data.Dataset.from_tensor_slices(tf.stack(batches))
  return model.fit(dataset, epochs=1, verbose=0).history


def weights(model):
  return [v.numpy() for v in model.flow.variables]


def assert_same_weights(a, b, atol=0.):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, atol=atol)


def test_fit_lowers_bits_per_dim_and_evaluate_matches_log_prob(digits):
  pixels = digits.numpy().astype(np.uint8)
  train, test = pixels[:1500], pixels[1500:]
  model = tfp_glow.FlowModel(registry.build('glow', width=32,
                                            num_steps_per_level=4))
  model.compile(tf_keras.optimizers.Adam(2e-3))
  test_data = tf.data.Dataset.from_tensor_slices(test).batch(100)
  history = model.fit(
      tf.data.Dataset.from_tensor_slices(train).shuffle(1500, seed=0)
      .batch(64), epochs=5, validation_data=test_data, verbose=0).history
  # Measured 2026-11-23 (2-core CPU, ~24 s): train 7.74 -> 6.79, test
  # 7.39 -> 6.85 bits/dim.
  assert history['bits_per_dim'][-1] < history['bits_per_dim'][0] - 0.6
  assert history['val_bits_per_dim'][-1] < 7.2
  assert history['nonfinite_steps'] == [0.] * 5
  assert all(a.initialized.numpy() for a in model.flow.submodules
             if isinstance(a, tfp_glow.ActNorm))

  images = tf.constant((test + 0.5) / 256, tf.float32)  # bin centres
  direct = tfp_glow.bits_per_dim(
      tfp_glow.flow_distribution(model.flow).log_prob(images), [8, 8, 1])
  evaluated = model.evaluate(tf.data.Dataset.from_tensor_slices(images)
                             .batch(100), return_dict=True, verbose=0)
  np.testing.assert_allclose(evaluated['bits_per_dim'],
                             tf.reduce_mean(direct), rtol=LOG_PROB_TOLERANCE)
  np.testing.assert_allclose(model(images), direct, rtol=LOG_PROB_TOLERANCE)


def test_a_variational_dequantizer_trains_with_the_flow(digits):
  dequantizer = tfp_glow.VariationalDequantizer((8, 8, 1), num_couplings=2,
                                                hidden_channels=4)
  model = tfp_glow.FlowModel(registry.build('glow'), dequantizer=dequantizer)
  assert len(model.trainable_variables) == (
      len(model.flow.trainable_variables)
      + len(dequantizer.trainable_variables))
  before = [v.numpy() for v in dequantizer.trainable_variables]
  pixels = tf.cast(digits[:16], tf.uint8)
  history = fit(model, [pixels[:8], pixels[8:]],
                tf_keras.optimizers.Adam(1e-2))
  assert np.isfinite(history['bits_per_dim'][0])
  after = [v.numpy() for v in dequantizer.trainable_variables]
  assert all(np.any(a != b) for a, b in zip(after, before))


def test_labels_are_ignored():
  images = continuous(1)
  model = tfp_glow.FlowModel(registry.build('glow'))
  model.compile(tf_keras.optimizers.SGD(0.))
  with_labels = model.evaluate(images, tf.range(8), return_dict=True,
                               verbose=0)
  without = model.evaluate(images, return_dict=True, verbose=0)
  assert with_labels == without


def test_actnorm_initialises_on_the_first_batch_only():
  first, second = continuous(1), continuous(2, low=0.4, high=0.6)
  once = tfp_glow.FlowModel(registry.build('glow'))
  fit(once, [first], tf_keras.optimizers.SGD(0.))
  tf_keras.utils.set_random_seed(0)
  twice = tfp_glow.FlowModel(registry.build('glow'))
  fit(twice, [first, second], tf_keras.optimizers.SGD(0.))
  assert_same_weights(weights(once), weights(twice))

  actnorm = next(m for m in once.flow.submodules
                 if isinstance(m, tfp_glow.ActNorm))
  data_side = tfp_glow.Squeeze().forward(first)   # the first ActNorm's input
  np.testing.assert_allclose(actnorm.shift, tf.reduce_mean(data_side, [0, 1, 2]),
                             atol=1e-6)


def test_restored_model_does_not_initialise_again(tmp_path):
  trained = tfp_glow.FlowModel(registry.build('glow'))
  fit(trained, [continuous(1)], tf_keras.optimizers.SGD(0.))
  trained.save_weights(str(tmp_path / 'weights'))

  restored = tfp_glow.FlowModel(registry.build('glow', seed=1))
  restored.load_weights(str(tmp_path / 'weights'))
  fit(restored, [continuous(2, low=0.4, high=0.6)], tf_keras.optimizers.SGD(0.))
  assert_same_weights(weights(trained), weights(restored))


class WeightsPerBatch(tf_keras.callbacks.Callback):
  """Records the flow's weights after every training batch."""

  def __init__(self):
    super().__init__()
    self.weights = []

  def on_train_batch_end(self, batch, logs=None):
    self.weights.append(weights(self.model))


@pytest.mark.parametrize('replicas', [1, 2])
def test_a_nonfinite_step_is_skipped_and_counted(replicas, mirrored_strategy):
  """The second batch's first image overflows (logit(x > 1) is NaN): on the
  first replica only when there are two. Every replica skips the step."""
  pixels = tf.random.stateless_uniform([3, 8, 8, 8, 1], [0, 1], maxval=256,
                                       dtype=tf.int32)
  pixels = tf.tensor_scatter_nd_update(pixels, [[1, 0, 3, 3, 0]], [2**20])
  strategy = (mirrored_strategy if replicas == 2
              else tf.distribute.get_strategy())
  with strategy.scope():
    model = tfp_glow.FlowModel(registry.build('realnvp'))
    model.compile(tf_keras.optimizers.Adam(1e-3))
  recorder = WeightsPerBatch()
  history = model.fit(tf.data.Dataset.from_tensor_slices(pixels), epochs=1,
                      verbose=0, callbacks=[recorder]).history
  assert history['nonfinite_steps'] == [1.]
  assert np.isfinite(history['bits_per_dim'][0])
  assert_same_weights(recorder.weights[1], recorder.weights[0])
  assert not np.array_equal(recorder.weights[2][-1], recorder.weights[1][-1])


def test_mirrored_strategy_matches_one_device(mirrored_strategy):
  """Two replicas, global batch 8, equal a single device on batches of 8."""
  batches = [continuous(1), continuous(2), continuous(3)]

  def train(strategy):
    tf_keras.utils.set_random_seed(0)
    with strategy.scope():
      model = tfp_glow.FlowModel(registry.build('glow'))
      history = fit(model, batches, tf_keras.optimizers.SGD(0.01))
    return history, weights(model)

  one_history, one = train(tf.distribute.get_strategy())
  two_history, two = train(mirrored_strategy)
  assert one_history['nonfinite_steps'] == two_history['nonfinite_steps'] == [0.]
  np.testing.assert_allclose(one_history['bits_per_dim'],
                             two_history['bits_per_dim'], rtol=1e-5)
  assert_same_weights(one, two, atol=2e-4)


def test_every_replica_draws_its_own_dequantization_noise(mirrored_strategy):
  with mirrored_strategy.scope():
    model = tfp_glow.FlowModel(registry.build('glow'))
  pixels = tf.fill([1, 8, 8, 1], 128)   # the same image on both replicas
  per_replica = mirrored_strategy.run(tf.function(model.log_likelihood),
                                      args=(pixels,))
  first, second = mirrored_strategy.experimental_local_results(per_replica)
  assert not np.allclose(first, second)
  assert not np.allclose(model.log_likelihood(pixels),
                         model.log_likelihood(pixels))


@pytest.mark.parametrize('policy', ['mixed_bfloat16', 'mixed_float16'])
def test_mixed_precision_keeps_log_dets_in_float32(policy):
  with tfp_glow.precision.global_policy(policy):
    mixed = tfp_glow.FlowModel(registry.build('glow'))
  networks = [m.network for m in mixed.flow.submodules
              if isinstance(m, tfp_glow.Coupling)]
  assert {n.compute_dtype for n in networks} == {policy[len('mixed_'):]}
  assert {v.dtype for v in mixed.flow.variables} <= {tf.float32, tf.bool}
  history = fit(mixed, [continuous(1), continuous(2)],
                tf_keras.optimizers.Adam(1e-3))
  assert np.isfinite(history['bits_per_dim'][0])

  reference = tfp_glow.FlowModel(registry.build('glow'))
  for mine, theirs in zip(reference.flow.variables, mixed.flow.variables):
    mine.assign(theirs)
  images = continuous(3)
  log_prob = mixed.distribution.log_prob(images)
  assert log_prob.dtype == tf.float32
  np.testing.assert_allclose(log_prob, reference.distribution.log_prob(images),
                             rtol=1e-2)


def test_jit_compile_trains_like_the_default():
  batches = [continuous(1), continuous(2)]
  plain = tfp_glow.FlowModel(registry.build('glow'))
  fit(plain, batches)
  tf_keras.utils.set_random_seed(0)
  xla = tfp_glow.FlowModel(registry.build('glow'))
  fit(xla, batches, jit_compile=True)
  assert_same_weights(weights(plain), weights(xla), atol=1e-4)


def test_linear_warmup():
  schedule = tfp_glow.LinearWarmup(1e-3, warmup_steps=4)
  np.testing.assert_allclose([schedule(s) for s in range(6)],
                             [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
  with pytest.raises(ValueError, match='warmup_steps must be >= 1, got 0'):
    tfp_glow.LinearWarmup(1e-3, 0)


@pytest.mark.parametrize('warmup_steps, expected', [
    (0, [1e-3, 0.5e-3, 0., 0., 0., 0.]),
    (2, [0., 0.5e-3, 1e-3, 0.5e-3, 0., 0.]),
])
def test_cosine_decay_to_zero_after_the_warmup(warmup_steps, expected):
  schedule = tfp_glow.optimizers.schedule(1e-3, warmup_steps, decay_steps=2)
  np.testing.assert_allclose([float(schedule(step)) for step in range(6)],
                             expected, atol=1e-9)


def test_averaging_adam_ramps_its_momentum_up_from_the_first_step():
  """average <- m_t average + (1 - m_t) w after step t, with m_t = min(m,
  (1 + t) / (10 + t)): the values the average was built from (here 5, as
  a flow's before ActNorm's initialisation) fade within a few steps."""
  variable = tf.Variable([5.])
  optimizer = tfp_glow.optimizers.AveragingAdam(0.1, average_momentum=0.2)
  optimizer.build([variable])
  variable.assign([0.])
  expected = 5.
  for step in range(4):
    optimizer.apply_gradients([(tf.constant([1.]), variable)])
    momentum = min(0.2, (1 + step) / (10 + step))  # 0.1, 0.18, 0.2, 0.2
    expected = momentum * expected + (1 - momentum) * variable.numpy()[0]
    np.testing.assert_allclose(optimizer.averages([variable])[0], [expected],
                               rtol=1e-6)
  clone = type(optimizer).from_config(optimizer.get_config())
  assert (clone.use_ema, clone.ema_momentum) == (True, 0.2)
  with pytest.raises(ValueError, match=r'average_momentum must be in \(0, 1\)'):
    tfp_glow.optimizers.AveragingAdam(0.1, average_momentum=1.)


def test_validation_and_the_callbacks_before_averaged_weights_see_averages():
  model = tfp_glow.FlowModel(registry.build('glow'))
  model.compile(tfp_glow.optimizers.adam(1e-2, average_momentum=0.9))
  seen = {}

  class Record(tf_keras.callbacks.Callback):

    def __init__(self, name):
      super().__init__()
      self.name = name

    def on_epoch_end(self, epoch, logs=None):
      seen[self.name] = [v.numpy() for v in self.model.trainable_variables]

  data = tf.data.Dataset.from_tensor_slices(
      tf.stack([continuous(1), continuous(2), continuous(3)]))
  history = model.fit(data, epochs=1, validation_data=data, verbose=0,
                      callbacks=[Record('averages'),
                                 tfp_glow.averaging.AveragedWeights(),
                                 Record('training')]).history
  averages = model.optimizer.averages(model.trainable_variables)
  assert_same_weights(seen['averages'], [a.numpy() for a in averages])
  assert not all(np.allclose(a, w) for a, w in
                 zip(seen['averages'], seen['training']))
  # Keras's `fit` ends by writing the averages into the model; validation
  # ran on them.
  assert_same_weights([v.numpy() for v in model.trainable_variables],
                      seen['averages'])
  np.testing.assert_allclose(
      model.evaluate(data, return_dict=True, verbose=0)['loss'],
      history['val_loss'][0], rtol=LOG_PROB_TOLERANCE)


def test_float_pixels_outside_the_unit_interval_stop_fit():
  model = tfp_glow.FlowModel(registry.build('glow'))
  model.compile(tf_keras.optimizers.SGD(0.))
  pixels = continuous(1) * 255.  # float32 pixels in [0, 255]
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'pass uint8 pixels, or scale .* by 1/256'):
    model.fit(pixels, epochs=1, verbose=0)


def test_a_keras3_optimizer_is_a_type_error_that_names_tf_keras():
  model = tfp_glow.FlowModel(registry.build('glow'))
  with pytest.raises(TypeError, match='tf_keras.optimizers'):
    model.compile(keras.optimizers.Adam(1e-3))


def test_fit_traces_its_training_step_once():
  """`compile` creates Adam's slots, which a first trace would otherwise
  create, and `tf.function` traces a function again after a trace that
  created variables."""
  model = tfp_glow.FlowModel(registry.build('glow'))
  traces = []
  train_step = model.train_step
  model.train_step = lambda data: traces.append(1) or train_step(data)
  fit(model, [continuous(1), continuous(2)], tfp_glow.optimizers.adam())
  assert len(traces) == 1


def test_training_a_new_flow_does_not_warn_about_its_actnorms():
  with warnings.catch_warnings():
    warnings.simplefilter('error', tfp_glow.UninitializedActNormWarning)
    model = tfp_glow.FlowModel(registry.build('glow'))
    fit(model, [continuous(1)])
  assert all(m.initialized.numpy() for m in model.flow.submodules
             if isinstance(m, tfp_glow.ActNorm))


def test_fit_trains_batch_norms_and_everything_else_uses_moving_averages(
    mirrored_strategy):
  """Batch statistics in each training step (one update per step per
  BatchNorm, under two replicas too), moving averages in evaluate, log_prob
  and sampling."""
  with mirrored_strategy.scope():
    model = tfp_glow.FlowModel(registry.build('realnvp',
                                              num_scales=1))
    history = fit(model, [continuous(1), continuous(2), continuous(3)],
                  tf_keras.optimizers.Adam(1e-3))
  norms = [m for m in model.flow.submodules
           if isinstance(m, tfp_glow.BatchNorm)]
  assert len(norms) == 4
  assert history['nonfinite_steps'] == [0.]
  assert [n.num_updates.numpy() for n in norms] == [3] * 4
  moving = [n.moving_variance.numpy() for n in norms]
  assert not any(np.allclose(v, 1.) for v in moving)

  images = continuous(4, low=0.3, high=0.7)
  evaluated = model.evaluate(images, batch_size=8, return_dict=True,
                             verbose=0)
  inference = model.distribution.log_prob(images)
  np.testing.assert_allclose(
      evaluated['bits_per_dim'],
      tf.reduce_mean(tfp_glow.bits_per_dim(inference, [8, 8, 1])),
      rtol=LOG_PROB_TOLERANCE)
  model.distribution.sample(2, seed=1)
  assert [n.num_updates.numpy() for n in norms] == [3] * 4
  training = model.distribution.log_prob(
      tf.identity(images), bijector_kwargs={'training': True})
  assert not np.allclose(training, inference, rtol=1e-2)


def test_a_vector_flow_is_refused_with_the_way_to_train_it():
  with pytest.raises(TypeError, match=r'image flows on pixels, got '
                     r'VectorRealNVP.*tf.GradientTape'):
    tfp_glow.FlowModel(registry.build('realnvp_vector'))
