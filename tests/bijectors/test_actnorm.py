import threading
import warnings

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tfp_glow
from tests.bijector_checks import tiny_images
from tfp_glow.bijectors.actnorm import initializing


def assert_standardised(z):
  np.testing.assert_allclose(tf.reduce_mean(z, [0, 1, 2]), 0., atol=1e-5)
  np.testing.assert_allclose(tf.math.reduce_std(z, [0, 1, 2]), 1., atol=1e-4)


def data(seed=0):
  return tf.cast(tiny_images((8, 4, 4, 3), seed, scale=3.0, offset=2.0),
                 tf.float32)


def test_new_actnorm_is_the_identity_and_forward_never_initialises():
  actnorm = tfp_glow.ActNorm(3)
  x = data()
  with tfp_glow.data_dependent_init():
    np.testing.assert_array_equal(actnorm.forward(x), x)
  assert not actnorm.initialized.numpy()


def test_initialize_standardises_the_first_batch():
  actnorm = tfp_glow.ActNorm(3)
  y = data()
  actnorm.initialize(y)
  assert actnorm.initialized.numpy()
  assert_standardised(actnorm.inverse(y))


def test_initialize_inside_tf_function():
  actnorm = tfp_glow.ActNorm(3)
  y = data()
  with tfp_glow.data_dependent_init():
    z = tf.function(actnorm.inverse)(y)
  assert_standardised(z)
  assert actnorm.initialized.numpy()


def test_initialised_actnorm_is_not_reinitialised():
  actnorm = tfp_glow.ActNorm(3)
  actnorm.initialize(data(seed=0))
  shift = actnorm.shift.numpy()
  with tfp_glow.data_dependent_init():
    actnorm.inverse(data(seed=1))
  actnorm.initialize(data(seed=2))
  np.testing.assert_array_equal(actnorm.shift, shift)
  actnorm.initialize(data(seed=3), force=True)
  assert not np.array_equal(actnorm.shift, shift)


def test_an_adam_step_moves_the_log_scale_three_times_its_learning_rate():
  """openai/glow's logscale_factor: log_scale = 3 v, and Adam moves v.

  Adam's first step moves every variable by its learning rate (m / sqrt(v)
  is the gradient's sign), so the log-scale moves by 3 x 1e-3, the shift by
  1e-3.
  """
  actnorm = tfp_glow.ActNorm(3)
  actnorm.initialize(data())
  log_scale, shift = actnorm.log_scale.numpy(), actnorm.shift.numpy()
  optimizer = tf_keras.optimizers.Adam(1e-3, epsilon=1e-12)
  variables = actnorm.trainable_variables
  with tf.GradientTape() as tape:
    y = data(seed=1)
    loss = (tf.reduce_sum(actnorm.inverse(y)**2) / 2 -
            actnorm.inverse_log_det_jacobian(y, 3))
  optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
  np.testing.assert_allclose(np.abs(actnorm.log_scale - log_scale), 3e-3,
                             rtol=1e-3)
  np.testing.assert_allclose(np.abs(actnorm.shift - shift), 1e-3, rtol=1e-3)


def test_initialized_state_is_restored_from_a_checkpoint(tmp_path):
  trained = tfp_glow.ActNorm(3)
  trained.initialize(data())
  path = tf.train.Checkpoint(bijector=trained).write(str(tmp_path / 'ckpt'))
  restored = tfp_glow.ActNorm(3)
  tf.train.Checkpoint(bijector=restored).read(path).assert_consumed()
  assert restored.initialized.numpy()
  with tfp_glow.data_dependent_init():
    z = restored.inverse(data(seed=5))
  np.testing.assert_array_equal(z, trained.inverse(data(seed=5)))


def test_initialize_under_mirrored_strategy_uses_all_replicas(
    mirrored_strategy):
  strategy = mirrored_strategy
  assert strategy.num_replicas_in_sync == 2
  with strategy.scope():
    actnorm = tfp_glow.ActNorm(3)
  y = data()
  halves = iter(strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensors(y).unbatch().batch(8)))

  @tf.function
  def init_step(batch):
    with tfp_glow.data_dependent_init():
      return actnorm.inverse(batch)

  strategy.run(init_step, (next(halves),))
  assert actnorm.initialized.numpy()
  # Statistics of the whole batch, though each replica saw half of it.
  assert_standardised(actnorm.inverse(y))


@pytest.mark.parametrize('shape, match', [
    ((4, 4), 'rank 2'),
    ((1, 4, 4, 2), 'built for 3 channels, got 2'),
])
def test_initialize_rejects_bad_shapes(shape, match):
  """As forward and inverse do (the registry's bad-input checks)."""
  actnorm = tfp_glow.ActNorm(3)
  with pytest.raises(ValueError, match=match):
    actnorm.initialize(tf.zeros(shape))
  assert not actnorm.initialized.numpy()


def test_the_init_context_belongs_to_its_thread():
  seen = []
  with tfp_glow.data_dependent_init():
    thread = threading.Thread(target=lambda: seen.append(initializing()))
    thread.start()
    thread.join()
    assert initializing()
  assert seen == [False]
  assert not initializing()


def test_an_uninitialised_actnorm_warns_once_outside_the_init_context():
  actnorm = tfp_glow.ActNorm(3)
  with pytest.warns(tfp_glow.UninitializedActNormWarning,
                    match="1 of 1 ActNorms of 'act_norm'"):
    actnorm.inverse(data())
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    actnorm.inverse(data(seed=1))
    initialised = tfp_glow.ActNorm(3)
    with tfp_glow.data_dependent_init():
      initialised.inverse(data())
    initialised.inverse(data(seed=1))
