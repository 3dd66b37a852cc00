"""Test set-up: two logical CPUs, fixed seeds, the 8x8 digits (also as .npz)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from sklearn.datasets import load_digits

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


@pytest.fixture(scope='session')
def digits() -> tf.Tensor:
  """scikit-learn's 1,797 8x8 digits as 8-bit pixels [N, 8, 8, 1]."""
  images = load_digits().images[..., None]
  return tf.constant(np.round(images * 255 / 16), tf.int32)


@pytest.fixture(scope='session')
def digits_npz(tmp_path_factory, digits) -> str:
  """The 8x8 digits as an offline .npz (`train --data`): 1,500 training and
  297 test images [N, 8, 8] as mnist.npz holds them, no labels."""
  pixels = digits.numpy()[..., 0].astype(np.uint8)
  path = tmp_path_factory.mktemp('data') / 'digits.npz'
  np.savez(path, x_train=pixels[:1500], x_test=pixels[1500:])
  return str(path)
