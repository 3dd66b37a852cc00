"""Same-padded convolutions as matrix products where that is faster on CPU.

`conv2d(x, kernel, bias)` computes `tf.nn.conv2d(x, kernel, 1, 'SAME') + bias`
(stride 1, NHWC). Three kernel shapes take another route (BENCHMARKS.md):

- 1x1: one matmul over the pixels, [N H W, C_in] x [C_in, C_out].
- k x k (k odd) with fewer output than input channels, such as the last layer
  of a coupling network (128 -> 4 channels): a matmul to k*k*C_out channels,
  one group per tap, then the sum of the groups shifted by their tap offsets.
- k x k (k odd) with k*k*C_in <= C_out, such as the first layer of a coupling
  network (2 -> 128 channels): one matmul of the input's k*k*C_in-channel
  patches.

```none
patches(x)[p, (a, b, c)] = x[p + (a - k//2, b - k//2), c]     (0 off the image)
few inputs:   y = patches(x) K,   K as [(a, b, c), o]
few outputs:  taps = x K,   K as [i, (a, b, o)]
              y[p, o] = sum_(a, b) taps[p + (a - k//2, b - k//2), (a, b, o)]
```

A convolution with few input or output channels fills only a few lanes of
the vector units in TF's CPU kernels; its matmul to or from k*k*C channels
does the same arithmetic at full width, and TF's kernel gradients for such
shapes were the slowest ops of a Glow training step.

The shifts run on whichever of TF's CPU kernel libraries is faster at them
(BENCHMARKS.md, "log_prob with oneDNN's kernels"):

- oneDNN's (TF's default where the CPU has AVX512-VNNI or newer): one
  depthwise convolution with a one-hot kernel for each shift, differentiated
  by TF. The patches' channels are then ordered (c, a, b).
- Eigen's (other CPUs, or TF_ENABLE_ONEDNN_OPTS=0): slices for the patches,
  and for few-outputs kernels of up to `TRANSPOSED_MAX_KERNEL` entries TF's
  transposed convolution, which does the taps' matmul and their shifted sum
  in one op. Their gradients are written out:

  ```none
  y  = conv2d_transpose(x, K~^T),   K~[a, b] = K[k-1-a, k-1-b]
  dx = patches(g) K~,       K~[(a, b, o), i] = K[k-1-a, k-1-b, i, o]
  dK[dy, dx, i, o] = (x^T patches(g))[i, (k-1-dy, k-1-dx, o)]
  ```

Grappler fuses the matmuls of the 1x1 and patches routes with the bias and a
ReLU into one op. The routes were timed on CPU only; on a GPU, cuDNN's own
kernels may be the faster ones.
"""

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port

__all__ = ['conv2d', 'onednn_kernels']

# Entries of the largest few-outputs kernel that runs as a transposed
# convolution with Eigen's kernels (measured on a 2-core AMD EPYC, one thread;
# 2026-11-30: 1.3-1.4x for 128 -> 4 and 128 -> 8 channels, 1.2-6x slower
# for 512 -> 12 to 48).
TRANSPOSED_MAX_KERNEL = 2**15


def conv2d(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor,
           activation: Callable[[tf.Tensor], tf.Tensor] | None = None
           ) -> tf.Tensor:
  """activation(conv2d(x, kernel, 'SAME') + bias) for [N, H, W, C_in] images.

  Args:
    x: [N, H, W, C_in] images.
    kernel: [k_h, k_w, C_in, C_out] kernel.
    bias: [C_out] bias.
    activation: elementwise function applied last (Grappler fuses a ReLU
      with the convolution or matmul and the bias), or `None`.
      Default value: `None`.

  Returns:
    [N, H, W, C_out] tensor.
  """
  activation = activation or tf.identity
  kernel_height, kernel_width, channels_in, channels_out = kernel.shape
  if kernel_height == kernel_width == 1:
    return _pixelwise(x, kernel, bias, activation)
  if kernel_height == kernel_width and kernel_height % 2:
    if channels_out < channels_in:
      if (onednn_kernels()
          or kernel.shape.num_elements() > TRANSPOSED_MAX_KERNEL):
        y = _few_outputs_conv2d(x, kernel)
      else:
        y = _transposed_conv2d(x, kernel)
      return activation(tf.nn.bias_add(y, bias))
    if kernel_height**2 * channels_in <= channels_out:
      return _pixelwise(_patches(x, kernel_height), _by_patch(kernel), bias,
                        activation)
  return activation(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, 'SAME'), bias))


def onednn_kernels() -> bool:
  """Whether TF runs oneDNN's CPU kernels (else Eigen's): the routes follow.

  TF turns oneDNN on where the CPU has AVX512-VNNI or newer, unless
  TF_ENABLE_ONEDNN_OPTS=0.
  """
  return _pywrap_util_port.IsMklEnabled()


def _pixelwise(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor,
               activation: Callable[[tf.Tensor], tf.Tensor]) -> tf.Tensor:
  """activation(x M + bias) at every pixel, M = kernel as [C_in, C_out].

  x is [N, H, W, C_in]; the kernel's dimensions before its last are C_in.
  """
  channels_out = kernel.shape[-1]
  matrix = tf.reshape(kernel, [-1, channels_out])
  pixels = tf.matmul(tf.reshape(x, [-1, matrix.shape[0]]), matrix)
  pixels = activation(tf.nn.bias_add(pixels, bias))
  return tf.reshape(pixels,
                    tf.concat([tf.shape(x)[:-1], [channels_out]], axis=0))


def _one_hot_taps(size: int, channels: int, multiplier: int,
                  dtype: tf.DType) -> tf.Tensor:
  """Depthwise kernel [size, size, channels, multiplier], 1 where tap (a, b)
  feeds output channel (c, m).

  multiplier = size*size: every tap of every channel gets an output channel,
  m = (a, b) (the patches). multiplier = 1: channel c = ((a, b), o) is read
  at its group's tap (the shifted sum).
  """
  one_hot = np.zeros([size, size, channels, multiplier])
  group = channels // size**2
  for a in range(size):
    for b in range(size):
      tap = a * size + b
      if multiplier == 1:
        one_hot[a, b, tap * group:(tap + 1) * group] = 1.
      else:
        one_hot[a, b, :, tap] = 1.
  return tf.constant(one_hot, dtype)


def _patches(x: tf.Tensor, size: int) -> tf.Tensor:
  """[N, H, W, size*size*C]: x at every offset of a size x size window.

  patches[n, h, w, (a, b, c)] = x[n, h + a - size//2, w + b - size//2, c],
  zero off the image; with oneDNN's kernels the channels are ordered
  (c, a, b) instead (`_by_patch` orders a kernel alike).
  """
  if onednn_kernels():
    return tf.nn.depthwise_conv2d(
        x, _one_hot_taps(size, x.shape[-1], size * size, x.dtype),
        [1, 1, 1, 1], 'SAME')
  return _sliced_patches(x, size)


def _by_patch(kernel: tf.Tensor) -> tf.Tensor:
  """[k, k, C, O] kernel as [k*k*C, O], rows in the order of `_patches`."""
  if onednn_kernels():
    kernel = tf.transpose(kernel, [2, 0, 1, 3])
  return tf.reshape(kernel, [-1, kernel.shape[-1]])


def _sliced_patches(x: tf.Tensor, size: int) -> tf.Tensor:
  """`_patches` in (a, b, c) order from slices of the padded x."""
  channels = x.shape[-1]
  radius = size // 2

  @tf.custom_gradient
  def patches(x):
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    padded = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
    result = tf.concat([padded[:, a:a + height, b:b + width]
                        for a in range(size) for b in range(size)], axis=-1)

    def gradient(dpatches):
      # The patches are the convolution with E[a, b, c, (a, b, c)] = 1.
      one_hot = tf.reshape(tf.eye(size * size * channels, dtype=x.dtype),
                           [size, size, channels, size * size * channels])
      return tf.raw_ops.Conv2DBackpropInput(
          input_sizes=tf.shape(x), filter=one_hot, out_backprop=dpatches,
          strides=[1, 1, 1, 1], padding='SAME')

    return result, gradient

  return patches(x)


def _few_outputs_conv2d(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
  """conv2d(x, kernel, 'SAME') for an odd square kernel, C_out < C_in: the
  taps' matmul, then their shifted sum as a depthwise convolution."""
  size, _, channels_in, channels_out = kernel.shape
  taps = size * size * channels_out
  kernel_by_tap = tf.reshape(tf.transpose(kernel, [2, 0, 1, 3]),
                             [channels_in, taps])
  image_shape = tf.shape(x)[:-1]
  by_tap = tf.reshape(
      tf.matmul(tf.reshape(x, [-1, channels_in]), kernel_by_tap),
      tf.concat([image_shape, [taps]], axis=0))
  shifted = tf.nn.depthwise_conv2d(
      by_tap, _one_hot_taps(size, taps, 1, x.dtype), [1, 1, 1, 1], 'SAME')
  return tf.reduce_sum(
      tf.reshape(shifted, tf.concat(
          [image_shape, [size * size, channels_out]], axis=0)), axis=-2)


@tf.custom_gradient
def _transposed_conv2d(x: tf.Tensor, kernel: tf.Tensor):
  """conv2d(x, kernel, 'SAME') for an odd square kernel, C_out < C_in, as
  TF's transposed convolution of the flipped kernel (Eigen's kernels)."""
  size, _, channels_in, channels_out = kernel.shape
  taps = size * size * channels_out
  # K~^T [a, b, o, i] = K[k-1-a, k-1-b, i, o]
  flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
  image_shape = tf.shape(x)[:-1]
  y = tf.raw_ops.Conv2DBackpropInput(
      input_sizes=tf.concat([image_shape, [channels_out]], axis=0),
      filter=flipped, out_backprop=x, strides=[1, 1, 1, 1], padding='SAME')

  def gradient(dy):
    patches = tf.reshape(_sliced_patches(dy, size), [-1, taps])
    dx = tf.matmul(patches, tf.reshape(flipped, [taps, channels_in]))
    dkernel = tf.reshape(
        tf.matmul(tf.reshape(x, [-1, channels_in]), patches, transpose_a=True),
        [channels_in, size, size, channels_out])
    dkernel = tf.transpose(tf.reverse(dkernel, [1, 2]), [1, 2, 0, 3])
    return (tf.reshape(dx, tf.concat([image_shape, [channels_in]], axis=0)),
            dkernel)

  return y, gradient
