import numpy as np
import pytest
import tensorflow as tf

import tfp_glow


def test_moves_each_block_into_channels():
  x = tf.reshape(tf.range(2 * 4 * 4 * 3, dtype=tf.float32), [2, 4, 4, 3])
  y = tfp_glow.Squeeze().forward(x)
  for a in range(2):
    for b in range(2):
      channels = slice((a * 2 + b) * 3, (a * 2 + b + 1) * 3)
      np.testing.assert_array_equal(y[:, :, :, channels], x[:, a::2, b::2, :])


def test_event_shapes_and_sample_dims():
  squeeze = tfp_glow.Squeeze(factor=4)
  assert squeeze.forward_event_shape([8, 12, 3]) == [2, 3, 48]
  assert squeeze.inverse_event_shape([2, 3, 48]) == [8, 12, 3]
  np.testing.assert_array_equal(
      squeeze.forward_event_shape_tensor([8, 12, 3]), [2, 3, 48])
  np.testing.assert_array_equal(
      squeeze.inverse_event_shape_tensor([2, 3, 48]), [8, 12, 3])
  assert squeeze.forward(tf.zeros([5, 2, 8, 12, 3])).shape == [5, 2, 2, 3, 48]


@pytest.mark.parametrize('shape', [(1, 5, 4, 2), (1, 4, 6, 2)])
def test_indivisible_shape_is_a_static_value_error(shape):
  squeeze = tfp_glow.Squeeze(factor=4)
  with pytest.raises(ValueError, match=r'divisible by 4.*\(1, \d, \d, 2\)'):
    squeeze.forward(tf.zeros(shape))
  with pytest.raises(ValueError, match='divisible by 4'):
    squeeze.forward_event_shape(shape[1:])


def test_indivisible_dynamic_shape_fails_under_validate_args():
  squeeze = tfp_glow.Squeeze(validate_args=True)
  forward = tf.function(
      squeeze.forward,
      input_signature=[tf.TensorSpec([None, None, None, 2])])
  assert forward(tf.zeros([1, 4, 4, 2])).shape == [1, 2, 2, 8]
  with pytest.raises(tf.errors.InvalidArgumentError, match='divisible'):
    forward(tf.zeros([1, 5, 4, 2]))


def test_inverse_needs_channels_divisible_by_factor_squared():
  with pytest.raises(ValueError, match=r'C divisible by 4.*\(1, 2, 2, 6\)'):
    tfp_glow.Squeeze().inverse(tf.zeros([1, 2, 2, 6]))


def test_rejects_bad_factor():
  with pytest.raises(ValueError, match='positive int'):
    tfp_glow.Squeeze(factor=0)
