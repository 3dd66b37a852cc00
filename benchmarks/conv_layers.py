"""One convolution layer: tfp_glow.convolutions.conv2d against tf.nn.conv2d.

Times `relu(conv + bias)` forward, and forward + backward (gradients of x,
kernel and bias), for the 3x3 layer shapes of GlowNet: the first layer (few
inputs: one matmul of the input's patches in `conv2d`) and the last layer
(few outputs: a matmul to the taps and their shifted sum, or with Eigen's
kernels TF's transposed convolution for small kernels), in the peer
benchmark's configuration (28x28x1, 2 levels, width 128, batch 64) and in
the CIFAR-10 preset's (32x32x3, 3 levels, width 512, here batch 8). Prints
the median milliseconds over rounds, the two routes in turns. TF runs
oneDNN's kernels where the CPU has AVX512-VNNI or newer; set
TF_ENABLE_ONEDNN_OPTS=0 to time the Eigen routes there.

  python benchmarks/conv_layers.py --threads 1
  TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/conv_layers.py --threads 1
"""

import argparse
import time

import numpy as np
import tensorflow as tf
from throughput import threads_argument, use_threads

from tfp_glow.convolutions import conv2d

# (image [N, H, W, C_in], C_out): GlowNet's 3x3 layers at each level.
SHAPES = [
    ((64, 14, 14, 2), 128), ((64, 14, 14, 128), 4),    # peers.py, level 1
    ((64, 7, 7, 4), 128), ((64, 7, 7, 128), 8),        # peers.py, level 2
    ((8, 16, 16, 6), 512), ((8, 16, 16, 512), 12),     # CIFAR-10 preset
    ((8, 8, 8, 12), 512), ((8, 8, 8, 512), 24),
    ((8, 4, 4, 24), 512), ((8, 4, 4, 512), 48),
]


def tf_conv2d(x, kernel, bias, activation):
  return activation(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, 'SAME'), bias))


def steps(conv):
  """The forward and the forward + backward step of `conv` as tf.functions."""
  @tf.function
  def forward(x, kernel, bias):
    return [conv(x, kernel, bias, tf.nn.relu)]

  @tf.function
  def backward(x, kernel, bias):
    with tf.GradientTape() as tape:
      tape.watch([x, kernel, bias])
      loss = tf.reduce_sum(tf.square(conv(x, kernel, bias, tf.nn.relu)))
    return tape.gradient(loss, [x, kernel, bias])

  return forward, backward


def milliseconds(step, args, seconds: float) -> float:
  step(*args)
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    for value in step(*args):
      value.numpy()
    count += 1
  return (time.perf_counter() - start) / count * 1000


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--seconds', type=float, default=1.)
  threads_argument(parser, "TF's intra- and inter-op threads")
  args = parser.parse_args()
  use_threads(args.threads)
  routes = {'tf.nn.conv2d': steps(tf_conv2d), 'conv2d': steps(conv2d)}
  print('| image | C_out | forward ms: TF / conv2d | forward + backward ms: '
        'TF / conv2d | speed-up fwd / fwd+bwd |\n|---|---|---|---|---|')
  for shape, channels_out in SHAPES:
    x = tf.random.stateless_normal(shape, [0, 1])
    kernel = 0.1 * tf.random.stateless_normal(
        [3, 3, shape[-1], channels_out], [0, 2])
    bias = tf.random.stateless_normal([channels_out], [0, 3])
    times = {(name, kind): [] for name in routes for kind in (0, 1)}
    for _ in range(args.rounds):   # in turns
      for name, route in routes.items():
        for kind, step in enumerate(route):
          times[name, kind].append(
              milliseconds(step, (x, kernel, bias), args.seconds))
    ms = {key: np.median(value) for key, value in times.items()}
    print(f'| {shape} | {channels_out} | '
          f'{ms["tf.nn.conv2d", 0]:.2f} / {ms["conv2d", 0]:.2f} | '
          f'{ms["tf.nn.conv2d", 1]:.2f} / {ms["conv2d", 1]:.2f} | '
          f'{ms["tf.nn.conv2d", 0] / ms["conv2d", 0]:.2f}x / '
          f'{ms["tf.nn.conv2d", 1] / ms["conv2d", 1]:.2f}x |')


if __name__ == '__main__':
  main()
