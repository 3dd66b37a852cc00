"""Throughput of tfp_glow.Glow against tfp.bijectors.Glow, same architecture.

Both flows: L levels of K steps (ActNorm, 1x1 conv, affine coupling with a
conv3x3-conv1x1-conv3x3 network of width W), half of the channels factored
out after each level but the last with a conv3x3 conditional prior. Both
train with Adam on the same batches in one process, interleaved, and the
script prints images/s for a training step, `log_prob` and `sample` (median
over rounds), the CPU time per batch summed over threads (steadier than wall
time on a shared machine: it counts work, not waiting), the ratios, and each
model's peak resident memory (measured in a child process per model, since
both share this one), and the roofline: the GFLOP/s each achieves against the
machine's matmul peak in float32 and bfloat16 (roofline.py).

  python benchmarks/throughput.py            # 28x28x1, L=2, K=8, W=128, batch 64
  python benchmarks/throughput.py --image 32,32,3 --levels 3 --steps 32 \\
      --hidden 512
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras
from roofline import STEPS, report

import tfp_glow

tfb, tfd = tfp.bijectors, tfp.distributions
KINDS = ('tfp_glow', 'tfp')
PRECISIONS = ('float32', 'bfloat16')


def build(kind: str, args):
  """The flow's distribution and the flow, built by `kind`."""
  if kind == 'tfp_glow':
    flow = tfp_glow.registry.MODELS['glow'].build(args.image, {
        'levels': args.levels, 'steps_per_level': args.steps,
        'hidden_channels': args.hidden, 'seed': 0})
    return tfp_glow.flow_distribution(flow), flow
  flow = tfb.Glow(
      output_shape=args.image, num_glow_blocks=args.levels,
      num_steps_per_block=args.steps,
      coupling_bijector_fn=lambda shape: tfb.GlowDefaultNetwork(
          shape, num_hidden=args.hidden),
      exit_bijector_fn=tfb.GlowDefaultExitNetwork, seed=0)
  base = tfd.Sample(tfd.Normal(0., 1.), [int(np.prod(args.image))])
  return tfd.TransformedDistribution(base, flow), flow


class Runner:
  """One model's compiled training, log_prob and sampling steps."""

  def __init__(self, kind: str, args, batch: tf.Tensor):
    self.kind = kind
    self.batch = batch
    policy = {'float32': 'float32', 'bfloat16': 'mixed_bfloat16'}
    # The networks take the policy when built.
    with tfp_glow.precision.global_policy(policy[args.precision]):
      self.dist, self.flow = build(kind, args)
    if kind == 'tfp_glow':   # TFP's ActNorm initialises on its first call.
      with tfp_glow.data_dependent_init():
        self.dist.log_prob(tf.identity(batch))
    else:
      self.dist.log_prob(batch)
    self.optimizer = tf_keras.optimizers.Adam(1e-4)
    variables = self.flow.trainable_variables
    self.num_parameters = int(sum(np.prod(v.shape) for v in variables))

    @tf.function(jit_compile=args.xla)
    def train(images):
      with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(self.dist.log_prob(images))
      self.optimizer.apply_gradients(
          zip(tape.gradient(loss, variables), variables))
      return loss

    self.train = train
    self.log_prob = tf.function(self.dist.log_prob, jit_compile=args.xla)
    self.sample = tf.function(lambda: self.dist.sample(len(batch)))

  def step(self, name: str):
    """The training, log_prob or sampling step as a callable."""
    return {'train': lambda: self.train(self.batch),
            'log_prob': lambda: self.log_prob(self.batch),
            'sample': self.sample}[name]

  def measure(self, step: str, seconds: float) -> tuple[float, float]:
    """Images per second (wall) and CPU milliseconds per batch of `step`."""
    return measure(self.step(step), len(self.batch), seconds)


def measure(run, batch_size: int, seconds: float) -> tuple[float, float]:
  """Images per second (wall) and CPU milliseconds per call of `run`.

  `run()` returns a tensor (TF or PyTorch) whose `.numpy()` waits for the
  step to finish. The first call (tracing, warm-up) is not timed.
  """
  run().numpy()
  count, start, cpu_start = 0, time.perf_counter(), time.process_time()
  while time.perf_counter() - start < seconds:
    run().numpy()
    count += 1
  cpu_ms = (time.process_time() - cpu_start) / count * 1000
  return count * batch_size / (time.perf_counter() - start), cpu_ms


def peak_memory_mib(kind: str, args) -> float:
  """Peak RSS of a child process that builds `kind` and trains a few steps."""
  command = [sys.executable, __file__, '--only', kind, *sys.argv[1:]]
  result = subprocess.run(command, check=True, capture_output=True, text=True)
  return json.loads(result.stdout.strip().splitlines()[-1])['peak_mib']


def config_parser(description: str) -> argparse.ArgumentParser:
  """Arguments of the compared architecture, shared with profile_ops.py."""
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument('--image', default='28,28,1',
                      type=lambda s: tuple(int(d) for d in s.split(',')))
  parser.add_argument('--levels', type=int, default=2)
  parser.add_argument('--steps', type=int, default=8)
  parser.add_argument('--hidden', type=int, default=128)
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--xla', action='store_true', help='jit_compile both')
  parser.add_argument('--precision', choices=PRECISIONS, default='float32',
                      help='bfloat16: the TF flows built under the tf_keras '
                      'policy mixed_bfloat16, normflows under torch.autocast')
  return parser


def threads_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
  """Adds `--threads` (default: each library's own)."""
  parser.add_argument('--threads', type=int, help=help_text)


def use_threads(threads: int | None) -> None:
  """TF's intra- and inter-op threads, if `threads` is given."""
  if threads:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def machine() -> str:
  """The CPU's model name and TF's CPU kernel library (oneDNN's or Eigen's:
  tfp_glow's convolution routes differ, and so do their speeds)."""
  names = [line.split(':', 1)[1].strip()
           for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines()
           if line.startswith('model name')] if sys.platform == 'linux' else []
  kernels = 'oneDNN' if tfp_glow.convolutions.onednn_kernels() else 'Eigen'
  return (f'{names[0] if names else platform.processor() or platform.machine()}'
          f' ({len(os.sched_getaffinity(0))} cores), TF kernels: {kernels}')


def random_batch(args) -> tf.Tensor:
  """A dequantized batch of random 8-bit images of the configured shape."""
  tf_keras.utils.set_random_seed(0)
  return tfp_glow.uniform_dequantize(tf.random.stateless_uniform(
      [args.batch, *args.image], [0, 0], maxval=256, dtype=tf.int32), [1, 1])


def main():
  parser = config_parser(__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--seconds', type=float, default=5.,
                      help='timing per model, step and round')
  parser.add_argument('--only', choices=KINDS, help=argparse.SUPPRESS)
  args = parser.parse_args()
  batch = random_batch(args)

  if args.only:
    runner = Runner(args.only, args, batch)
    for _ in range(3):
      runner.train(batch).numpy()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent.
    with open('/proc/self/status') as status:
      peak_kib = next(int(line.split()[1]) for line in status
                      if line.startswith('VmHWM:'))
    print(json.dumps({'peak_mib': peak_kib / 1024}))
    return

  runners = [Runner('tfp_glow', args, batch)]
  try:
    runners.append(Runner('tfp', args, batch))
  except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
    sys.exit(f'tfb.Glow does not run in {args.precision} ('
             f'{str(error).splitlines()[0].split(": <tf.Tensor")[0]}): '
             'time tfp_glow against normflows with peers.py.')
  counts = {r.kind: r.num_parameters for r in runners}
  print(f'config: image {args.image}, L={args.levels}, K={args.steps}, '
        f'W={args.hidden}, batch {args.batch}, XLA {args.xla}')
  print(f'machine: {machine()}, '
        f'GPUs: {len(tf.config.list_physical_devices("GPU"))}; '
        f'TF {tf.__version__}, TFP {tfp.__version__}')
  print('trainable parameters:', counts, 'relative difference: '
        f'{abs(counts["tfp_glow"] / counts["tfp"] - 1):.2%}')
  results = {kind: {} for kind in KINDS}
  cpu_ms = {kind: {} for kind in KINDS}
  for step in STEPS:
    rounds = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):            # interleaved
      for runner in runners:
        rounds[runner.kind].append(runner.measure(step, args.seconds))
    for kind in KINDS:
      results[kind][step], cpu_ms[kind][step] = np.median(rounds[kind], axis=0)
  for kind in KINDS:
    results[kind]['peak_mib'] = peak_memory_mib(kind, args)

  print('\n| | train img/s | log_prob img/s | sample img/s | peak RSS MiB |')
  print('|---|---|---|---|---|')
  for kind in KINDS:
    r = results[kind]
    print(f'| {kind} | {r["train"]:.1f} | {r["log_prob"]:.1f} | '
          f'{r["sample"]:.1f} | {r["peak_mib"]:.0f} |')
  ratio = {step: results['tfp_glow'][step] / results['tfp'][step]
           for step in (*STEPS, 'peak_mib')}
  print(f'| ratio tfp_glow / tfp | {ratio["train"]:.2f}x | '
        f'{ratio["log_prob"]:.2f}x | {ratio["sample"]:.2f}x | '
        f'{ratio["peak_mib"]:.2f}x |')

  print('\nCPU ms per batch, all threads (tfp / tfp_glow is the work saved):')
  print('\n| | train | log_prob | sample |')
  print('|---|---|---|---|')
  for kind in KINDS:
    print(f'| {kind} | ' + ' | '.join(
        f'{cpu_ms[kind][step]:.1f}' for step in STEPS) + ' |')
  print('| ratio tfp / tfp_glow | ' + ' | '.join(
      f'{cpu_ms["tfp"][step] / cpu_ms["tfp_glow"][step]:.2f}x'
      for step in STEPS) + ' |')
  print(report(results, runners[0].dist, args.image,
               args.precision))


if __name__ == '__main__':
  main()
