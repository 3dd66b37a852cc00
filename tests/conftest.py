"""Test set-up: two logical CPUs for distribution strategies, fixed seeds."""

import pytest
import tensorflow as tf
import tf_keras

_cpu = tf.config.list_physical_devices('CPU')[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(autouse=True)
def fixed_seeds():
  """Seeds Python, NumPy and TensorFlow (Keras initialisers) per test."""
  tf_keras.utils.set_random_seed(0)


@pytest.fixture
def mirrored_strategy():
  """MirroredStrategy over the two logical CPUs.

  TensorFlow caches collective ops by group and instance key, and every new
  strategy numbers them from the same base, so a second strategy in one
  process can meet the first one's cached shapes. Each strategy gets its own
  key range, as TensorFlow's own tests do.
  """
  tf.distribute.MirroredStrategy._collective_key_base += 100_000
  return tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
