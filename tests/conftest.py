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
