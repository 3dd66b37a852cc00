"""How close a flow runs to the machine's limit: the matmul peak and the
flow's FLOPs per image.

- `matmul_peak(dtype)`: GFLOP/s of a large square `tf.linalg.matmul`
  (2 n^3 FLOPs per product), the most TF's kernels give in that number
  format on this machine (float32: the FMA units; bfloat16: AMX or
  AVX512_BF16 where the CPU has them, else a slower emulation; measured
  without AMX, AVX512_BF16's peak was 0.6x float32's).
- `flops_per_image(dist, image_shape)`: FLOPs of one image's `log_prob`,
  training step (`log_prob` and its gradient) and `sample`, counted by TF's
  profiler from the shapes of the ops in each graph at batch 1: a
  convolution or matmul counts 2 per multiply-add, an elementwise op one
  per element. The convolutions and matmuls are nearly all of it.

achieved GFLOP/s = images/s x FLOPs per image / 1e9. `throughput.py` and
`peers.py` print the peaks, the FLOPs and, for every library, its achieved
GFLOP/s and their fraction of the peak in the flows' number format (`table`), with tfp_glow's
count: the libraries build the same architecture.
"""

import time

import tensorflow as tf

STEPS = ('train', 'log_prob', 'sample')
PEAK_DTYPES = (tf.float32, tf.bfloat16)


def matmul_peak(dtype: tf.DType, size: int = 2048,
                seconds: float = 3.) -> float:
  """GFLOP/s of `size` x `size` matrix products in `dtype` (median of 5)."""
  a, b = (tf.cast(tf.random.stateless_normal([size, size], [0, seed]), dtype)
          for seed in (1, 2))
  product = tf.function(tf.linalg.matmul)
  product(a, b).numpy()
  rates = []
  for _ in range(5):
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds / 5:
      product(a, b).numpy()
      count += 1
    rates.append(2 * size**3 * count / (time.perf_counter() - start) / 1e9)
  return sorted(rates)[2]


def flops_per_image(dist, image_shape) -> dict:
  """FLOPs of `train`, `log_prob` and `sample` for one image of `dist`."""
  spec = tf.TensorSpec([1, *image_shape])
  variables = dist.trainable_variables

  def train(images):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(images))
    return tape.gradient(loss, variables)

  graphs = {'train': tf.function(train).get_concrete_function(spec),
            'log_prob': tf.function(dist.log_prob).get_concrete_function(spec),
            'sample': tf.function(lambda: dist.sample(1)).get_concrete_function()}
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  return {step: tf.compat.v1.profiler.profile(
      graph=graphs[step].graph, options=options).total_float_ops
          for step in STEPS}


def table(speeds: dict, flops: dict, peak: float) -> str:
  """A Markdown table: each library's GFLOP/s and share of `peak` per step,
  from `speeds[library][step]` in images/s."""
  steps = [step for step in STEPS
           if all(step in speed for speed in speeds.values())]
  lines = ['| | ' + ' | '.join(f'{step} GFLOP/s (of peak)' for step in steps)
           + ' |', '|---|' + '---|' * len(steps)]
  for name, speed in speeds.items():
    achieved = [speed[step] * flops[step] / 1e9 for step in steps]
    lines.append(f'| {name} | ' + ' | '.join(
        f'{rate:.1f} ({rate / peak:.0%})' for rate in achieved) + ' |')
  return '\n'.join(lines)


def describe(flops: dict) -> str:
  """'train 295.2, log_prob 97.8, sample 98.0' (MFLOP per image)."""
  return ', '.join(f'{step} {flops[step] / 1e6:.1f}' for step in STEPS)


def report(speeds: dict, dist, image_shape, precision: str = 'float32') -> str:
  """The peaks, the FLOPs of `dist` (tfp_glow's flow) and `table` against
  the peak of `precision` ('float32' or 'bfloat16'), the flows' format."""
  peaks = {dtype.name: matmul_peak(dtype) for dtype in PEAK_DTYPES}
  flops = flops_per_image(dist, image_shape)
  return '\n'.join([
      '\nRoofline: matmul peak ' + ', '.join(
          f'{name} {peak:.1f} GFLOP/s' for name, peak in peaks.items())
      + f'; MFLOP per image: {describe(flops)}; shares of the {precision} '
      'peak\n',
      table(speeds, flops, peaks[precision])])
