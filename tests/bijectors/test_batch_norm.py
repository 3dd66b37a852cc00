import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests.bijector_checks import tiny_images, transformed_distribution

EPSILON = 1e-4


def data(seed=0, offset=2.0):
  """Float64 [3, 4, 4, 4] images, mean `offset`, channels unlike each other."""
  return tiny_images(seed=seed, scale=3.0, offset=offset)


def batch_statistics(y):
  return (tf.reduce_mean(y, [0, 1, 2]),
          tf.math.reduce_variance(y, [0, 1, 2]))


def test_training_mode_is_the_bijection_with_the_batch_statistics():
  """`inverse(y, training=True)` standardises y by its own statistics, and
  the first update sets the moving averages to them, so `forward` inverts
  it. (The registry's `batch_norm-training` checks its log-det against
  autodiff; `batch_norm-inference` the moving averages' bijection.)"""
  norm = tfp_glow.BatchNorm(4, dtype=tf.float64)
  y = data()
  z = norm.inverse(tf.identity(y), training=True)
  mean, variance = batch_statistics(y)
  np.testing.assert_allclose(z, (y - mean) / np.sqrt(variance + EPSILON))
  np.testing.assert_allclose(norm.moving_mean, mean)
  np.testing.assert_allclose(norm.moving_variance, variance)
  np.testing.assert_allclose(norm.forward(tf.identity(z)), y, atol=1e-12)
  ildj = norm.inverse_log_det_jacobian(tf.identity(y), 3, training=True)
  np.testing.assert_allclose(
      ildj, -0.5 * 16 * np.sum(np.log(variance + EPSILON)))
  np.testing.assert_allclose(
      norm.forward_log_det_jacobian(tf.identity(z), 3), -ildj)


def test_training_log_prob_and_its_gradient_use_the_batch_statistics():
  """Through `TransformedDistribution.log_prob`, which takes the log-det at
  the latent: log N(z) + ildj with y's statistics, and autodiff through them
  matches finite differences."""
  norm = tfp_glow.BatchNorm(4, dtype=tf.float64)
  norm.inverse(data(seed=3), training=True)  # Averages unlike y's statistics.
  dist = transformed_distribution(norm, [4, 4, 4])
  shift = tf.Variable(tf.zeros([4, 4, 4], tf.float64))

  def loss():
    y = data() * (1. + shift) + shift**2
    return -tf.reduce_mean(dist.log_prob(y, bijector_kwargs={'training': True}))

  y = data()
  _, variance = batch_statistics(y)
  z = norm.inverse(tf.identity(y), training=True)
  expected = -tf.reduce_mean(
      dist.distribution.log_prob(z) -
      0.5 * 16 * tf.reduce_sum(tf.math.log(variance + EPSILON)))
  np.testing.assert_allclose(loss(), expected, rtol=1e-12)
  shift.assign(tiny_images((4, 4, 4), seed=4, scale=0.1))
  with tf.GradientTape() as tape:
    value = loss()
  direction = tiny_images((4, 4, 4), seed=5)
  derivative = tf.reduce_sum(tape.gradient(value, shift) * direction)
  step = 1e-7
  shift.assign_add(step * direction)
  above = loss()
  shift.assign_sub(2 * step * direction)
  below = loss()
  np.testing.assert_allclose(derivative, (above - below) / (2 * step),
                             rtol=1e-6)


def test_training_uses_the_batch_and_only_training_updates():
  norm = tfp_glow.BatchNorm(4, momentum=0.5, dtype=tf.float64)
  batches = [data(seed=s, offset=s) for s in range(4)]
  statistics = [batch_statistics(y) for y in batches]
  expected = statistics[0]
  for y, (mean, variance) in zip(batches, statistics):
    z = norm.inverse(y, training=True)
    np.testing.assert_allclose(tf.reduce_mean(z, [0, 1, 2]), 0., atol=1e-12)
    if y is not batches[0]:   # d = min(0.5, t / (t + 1)) = 0.5 for t >= 1
      expected = [0.5 * e + 0.5 * b for e, b in zip(expected, (mean, variance))]
    np.testing.assert_allclose(norm.moving_mean, expected[0])
    np.testing.assert_allclose(norm.moving_variance, expected[1])
  assert norm.num_updates.numpy() == 4

  moving = [v.numpy() for v in norm.variables]
  y = data(seed=9)
  z = norm.inverse(y)                          # inference: moving averages
  np.testing.assert_allclose(
      z, (y - expected[0]) / np.sqrt(expected[1] + EPSILON))
  norm.forward(z, training=True)               # forward: moving averages too
  norm.inverse_log_det_jacobian(data(seed=10), 3)
  nan_batch = tf.tensor_scatter_nd_update(y, [[0, 0, 0, 0]], [np.nan])
  norm.inverse(nan_batch, training=True)       # left out
  for variable, before in zip(norm.variables, moving):
    np.testing.assert_array_equal(variable, before)


def test_statistics_are_non_trainable_variables_that_checkpoints_carry(
    tmp_path):
  trained = tfp_glow.BatchNorm(4, dtype=tf.float64)
  trained.inverse(data(), training=True)
  assert trained.trainable_variables == ()
  assert len(trained.variables) == 3
  path = tf.train.Checkpoint(bijector=trained).write(str(tmp_path / 'ckpt'))
  restored = tfp_glow.BatchNorm(4, dtype=tf.float64)
  tf.train.Checkpoint(bijector=restored).read(path).assert_consumed()
  for mine, theirs in zip(restored.variables, trained.variables):
    np.testing.assert_array_equal(mine, theirs)


def test_mirrored_replicas_normalise_alone_and_average_the_updates(
    mirrored_strategy):
  with mirrored_strategy.scope():
    norm = tfp_glow.BatchNorm(4, dtype=tf.float64)
  y = tf.concat([data(seed=0), data(seed=1, offset=-3.)], axis=0)  # [6, ...]
  halves = iter(mirrored_strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensor_slices(y).batch(6)))

  @tf.function
  def step(batch):
    return norm.inverse(batch, training=True)

  per_replica = mirrored_strategy.run(step, (next(halves),))
  for z, half in zip(mirrored_strategy.experimental_local_results(per_replica),
                     [y[:3], y[3:]]):
    mean, variance = batch_statistics(half)
    np.testing.assert_allclose(z, (half - mean) / np.sqrt(variance + EPSILON))
  means, variances = zip(*map(batch_statistics, [y[:3], y[3:]]))
  np.testing.assert_allclose(norm.moving_mean, np.mean(means, 0))
  np.testing.assert_allclose(norm.moving_variance, np.mean(variances, 0))
  assert norm.num_updates.numpy() == 1


@pytest.mark.parametrize('arguments, error, match', [
    ({'momentum': 1.}, ValueError, r'momentum must be in \[0, 1\), got 1.0'),
    ({'epsilon': 0.}, ValueError, 'epsilon must be > 0, got 0.0'),
])
def test_bad_arguments(arguments, error, match):
  with pytest.raises(error, match=match):
    tfp_glow.BatchNorm(4, **arguments)


def test_training_must_be_a_python_bool():
  norm = tfp_glow.BatchNorm(4, dtype=tf.float64)
  with pytest.raises(TypeError, match='`training` as a Python bool'):
    norm.inverse(data(), training=tf.constant(True))
