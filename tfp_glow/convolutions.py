"""Same-padded convolutions as matrix products where that is faster on CPU.

`conv2d(x, kernel, bias)` computes `tf.nn.conv2d(x, kernel, 1, 'SAME') + bias`
(stride 1, NHWC). Three kernel shapes take another route (BENCHMARKS.md):

- 1x1: one matmul over the pixels, [N H W, C_in] x [C_in, C_out].
- k x k (k odd) with fewer output than input channels, such as the last layer
  of a coupling network (128 -> 4 channels): a matmul to k*k*C_out channels,
  one group per tap, then a sum of the groups shifted by their tap offsets.
  For kernels of up to `TRANSPOSED_MAX_KERNEL` entries TF's transposed
  convolution (`Conv2DBackpropInput`) computes this faster on CPU, in one op,
  given the flipped kernel (1.3-1.4x for 128 -> 4 and 128 -> 8 channels); for
  larger kernels (512 -> 12 to 48 channels) it was 1.2-6x slower than the
  matmul and shifted slices. The gradients come from the same small,
  k*k*C_out-channel patches of the output gradient:

  ```none
  patches(g)[p, (a, b, o)] = g[p + (a - k//2, b - k//2), o]   (0 off the image)
  y  = sum_(dy, dx) shift_(dy, dx)(x K[dy, dx]),   shift: y[p] += z[p + offset]
     = conv2d_transpose(x, K~^T),   K~[a, b] = K[k-1-a, k-1-b]
  dx = patches(g) K~,       K~[(a, b, o), i] = K[k-1-a, k-1-b, i, o]
  dK[dy, dx, i, o] = (x^T patches(g))[i, (k-1-dy, k-1-dx, o)]
  ```

  TF's own kernel gradient for such shapes (Eigen's on the 2-core AMD CPU
  measured) is the slowest op of a Glow training step on CPU (about half).
- k x k (k odd) with k*k*C_in <= C_out, such as the first layer of a coupling
  network (2 -> 128 channels): one matmul of the input's k*k*C_in-channel
  patches, `y = patches(x) K` with K flattened to [(a, b, i), o]. The patches
  are the convolution with the one-hot kernel E[a, b, i, (a, b, i)] = 1, so
  their gradient is TF's transposed convolution with E.

Grappler fuses the matmuls of the 1x1 and patches routes with the bias and a
ReLU into one op.

The routes were timed on CPU only; on a GPU, cuDNN's own kernels may be the
faster ones.
"""

from collections.abc import Callable

import tensorflow as tf

__all__ = ['conv2d']

# Entries of the largest few-outputs kernel that runs as a transposed
# convolution (measured on a 2-core AMD EPYC, one thread; 2026-11-30).
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
      return activation(tf.nn.bias_add(_few_outputs_conv2d(x, kernel), bias))
    if kernel_height**2 * channels_in <= channels_out:
      return _pixelwise(_patches(x, kernel_height), kernel, bias, activation)
  return activation(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, 'SAME'), bias))


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


def _patches(x: tf.Tensor, size: int) -> tf.Tensor:
  """[N, H, W, size*size*C]: x at every offset of a size x size window.

  patches[n, h, w, (a, b, c)] = x[n, h + a - size//2, w + b - size//2, c],
  zero off the image.
  """
  channels = x.shape[-1]
  radius = size // 2

  @tf.custom_gradient
  def patches(x):
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    padded = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
    result = tf.concat([padded[:, a:a + height, b:b + width]
                        for a in range(size) for b in range(size)], axis=-1)

    def gradient(dpatches):
      one_hot = tf.reshape(tf.eye(size * size * channels, dtype=x.dtype),
                           [size, size, channels, size * size * channels])
      return tf.raw_ops.Conv2DBackpropInput(
          input_sizes=tf.shape(x), filter=one_hot, out_backprop=dpatches,
          strides=[1, 1, 1, 1], padding='SAME')

    return result, gradient

  return patches(x)


def _shifted_sum(taps: tf.Tensor, size: int) -> tf.Tensor:
  """sum_(a, b) taps[n, h + a - size//2, w + b - size//2, (a, b, :)].

  `taps` is [N, H, W, size*size*C]; entries off the image count as zero.
  """
  height, width = tf.shape(taps)[1], tf.shape(taps)[2]
  channels = taps.shape[-1] // size**2
  radius = size // 2
  padded = tf.pad(taps, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
  # A sum over a stacked axis, not `tf.add_n`: Grappler reorders an AddN's
  # additions, which made tf.function's result differ from the eager one.
  return tf.reduce_sum(tf.stack([
      padded[:, a:a + height, b:b + width,
             (a * size + b) * channels:(a * size + b + 1) * channels]
      for a in range(size) for b in range(size)]), axis=0)


@tf.custom_gradient
def _few_outputs_conv2d(x: tf.Tensor, kernel: tf.Tensor):
  """conv2d(x, kernel, 'SAME') for an odd square kernel, C_out < C_in."""
  size, _, channels_in, channels_out = kernel.shape
  taps = size * size * channels_out
  # K~^T [a, b, o, i] = K[k-1-a, k-1-b, i, o]
  flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
  image_shape = tf.shape(x)[:-1]
  pixels = tf.reshape(x, [-1, channels_in])
  if kernel.shape.num_elements() <= TRANSPOSED_MAX_KERNEL:
    y = tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.concat([image_shape, [channels_out]], axis=0),
        filter=flipped, out_backprop=x, strides=[1, 1, 1, 1], padding='SAME')
  else:
    # [C_in, (dy, dx, o)]: the kernel of every tap side by side.
    kernel_by_tap = tf.reshape(tf.transpose(kernel, [2, 0, 1, 3]),
                               [channels_in, taps])
    y = _shifted_sum(tf.reshape(tf.matmul(pixels, kernel_by_tap),
                                tf.concat([image_shape, [taps]], axis=0)),
                     size)

  def gradient(dy):
    patches = tf.reshape(_patches(dy, size), [-1, taps])
    dx = tf.matmul(patches, tf.reshape(flipped, [taps, channels_in]))
    dkernel = tf.reshape(tf.matmul(pixels, patches, transpose_a=True),
                         [channels_in, size, size, channels_out])
    dkernel = tf.transpose(tf.reverse(dkernel, [1, 2]), [1, 2, 0, 3])
    return (tf.reshape(dx, tf.concat([image_shape, [channels_in]], axis=0)),
            dkernel)

  return y, gradient
