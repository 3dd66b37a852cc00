"""conv2d: the matmul routes compute TF's 'SAME' convolution and its gradients."""

import numpy as np
import pytest
import tensorflow as tf

from tfp_glow import convolutions
from tfp_glow.convolutions import conv2d


def reference(x, kernel, bias):
  return tf.nn.relu(tf.nn.conv2d(x, kernel, 1, 'SAME') + bias)


def value_and_gradients(fn, x, kernel, bias):
  with tf.GradientTape() as tape:
    tape.watch([x, kernel, bias])
    output = fn(x, kernel, bias)
    # Weights make the gradient differ from one output element to the next.
    weights = tf.linspace(tf.constant(-1., x.dtype), 1., tf.size(output))
    loss = tf.reduce_sum(output * tf.reshape(weights, output.shape))
  return [output, *tape.gradient(loss, [x, kernel, bias])]


# (image [N, H, W, C_in], kernel size, C_out, Conv2D ops): the matmul routes
# (1x1; an odd kernel with fewer outputs than inputs, or with k*k*C_in <=
# C_out) and TF's own route (more outputs, but k*k*C_in > C_out; as many).
@pytest.mark.parametrize('shape, size, channels_out, conv2d_ops', [
    ((2, 5, 7, 6), 1, 3, 0),
    ((2, 5, 7, 6), 3, 2, 0),
    ((1, 6, 4, 5), 5, 4, 0),
    ((2, 1, 3, 4), 3, 1, 0),
    ((1, 3, 2, 128), 3, 32, 0),     # too large to run transposed with Eigen
    ((2, 5, 7, 2), 3, 18, 0),
    ((1, 6, 4, 1), 5, 26, 0),
    ((2, 5, 7, 2), 3, 6, 1),
    ((2, 5, 7, 3), 3, 3, 1),
])
# The routes for oneDNN's kernels and for Eigen's, whichever TF runs here.
@pytest.mark.parametrize('onednn', [True, False])
def test_matches_tf_conv2d_and_its_gradients(shape, size, channels_out,
                                             conv2d_ops, onednn, monkeypatch):
  monkeypatch.setattr(convolutions, 'onednn_kernels', lambda: onednn)
  x = tf.random.stateless_normal(shape, [1, 2], dtype=tf.float64)
  kernel = tf.random.stateless_normal(
      [size, size, shape[-1], channels_out], [3, 4], dtype=tf.float64)
  bias = tf.random.stateless_normal([channels_out], [5, 6], dtype=tf.float64)

  def fast(x, kernel, bias):
    return conv2d(x, kernel, bias, tf.nn.relu)

  fast = tf.function(fast)
  graph = fast.get_concrete_function(x, kernel, bias).graph
  assert [op.type for op in graph.get_operations()].count(
      'Conv2D') == conv2d_ops
  for got, expected, name in zip(
      value_and_gradients(fast, x, kernel, bias),
      value_and_gradients(reference, x, kernel, bias),
      ['output', 'd/dx', 'd/dkernel', 'd/dbias'], strict=True):
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10,
                               err_msg=name)


@pytest.mark.parametrize('onednn, transposed', [(True, 0), (False, 1)])
def test_a_few_outputs_kernel_runs_transposed_with_eigen_only(
    onednn, transposed, monkeypatch):
  monkeypatch.setattr(convolutions, 'onednn_kernels', lambda: onednn)
  fast = tf.function(lambda x, kernel, bias: conv2d(x, kernel, bias))
  graph = fast.get_concrete_function(
      tf.TensorSpec([None, 6, 6, 128]), tf.TensorSpec([3, 3, 128, 4]),
      tf.TensorSpec([4])).graph
  types = [op.type for op in graph.get_operations()]
  assert types.count('Conv2DBackpropInput') == transposed
  assert types.count('DepthwiseConv2dNative') == 1 - transposed
