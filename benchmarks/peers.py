"""One Glow in tfp_glow, tfp.bijectors.Glow and normflows (PyTorch), side by side.

The architecture of throughput.py (L levels of K steps: ActNorm, 1x1 conv,
affine coupling with a conv3x3-conv1x1-conv3x3 network of width W; half of
the channels factored out after every level but the last) built by each
library, trained with Adam on the same batch in one process. The libraries
take turns (`--rounds` rounds of `--seconds` each per library and step); the
script prints each one's trainable parameters, images/s of a training step
and of `log_prob` (median over rounds), CPU milliseconds per batch summed over
threads (steadier than wall time on a shared machine), tfp_glow's ratio
to each peer, and each one's GFLOP/s against the machine's matmul peak
(roofline.py).

normflows is built as in its Glow example: `nf.flows.GlowBlock` steps with
sigmoid-bounded affine couplings and LU 1x1 convs, `nf.flows.Squeeze` and
`nf.flows.Merge` between levels, a learned `DiagGaussian` base per level, in
a `nf.MultiscaleFlow`; `net_actnorm=True` gives its coupling networks the
ActNorms of Glow's (and tfp_glow's) network. The factored-out priors differ:
tfp_glow and tfb.Glow predict them with a conv3x3 of the kept half, normflows
learns a mean and scale per latent element. So do the couplings' scales:
tfp_glow's default exp(tanh(h)), the peers' sigmoid(h + 2), one elementwise
function each.

normflows and PyTorch are optional (`pip install -e ".[bench]"`); without
them the script says so and compares tfp_glow with tfb.Glow only.

  python benchmarks/peers.py                 # 28x28x1, L=2, K=8, W=128, batch 64
  python benchmarks/peers.py --threads 1     # one thread each
  python benchmarks/peers.py --precision bfloat16   # mixed_bfloat16, autocast
"""

import functools
import importlib.util

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from roofline import report
from throughput import (
  KINDS,
  Runner,
  config_parser,
  machine,
  measure,
  random_batch,
  threads_argument,
  use_threads,
)

STEPS = ('train', 'log_prob')
NAMES = {'tfp_glow': 'tfp_glow', 'tfp': 'tfb.Glow', 'normflows': 'normflows'}


def build_normflows(args):
  """normflows' multi-scale Glow of the configured size (its example's shape).

  Level i = 0 is the coarsest: its steps see C * 2**(L + 1) channels at
  H / 2**L x W / 2**L; level i > 0 factors out C * 2**(L - i) channels at
  H / 2**(L - i) x W / 2**(L - i).
  """
  import normflows as nf  # pylint: disable=import-outside-toplevel
  height, width, channels = args.image
  levels = args.levels
  bases, merges, flows = [], [], []
  for i in range(levels):
    steps = [nf.flows.GlowBlock(channels * 2**(levels + 1 - i), args.hidden,
                                split_mode='channel', scale=True,
                                net_actnorm=True)
             for _ in range(args.steps)]
    flows.append([*steps, nf.flows.Squeeze()])
    if i == 0:
      factor, latent_channels = 2**levels, channels * 2**(levels + 1)
    else:
      factor, latent_channels = 2**(levels - i), channels * 2**(levels - i)
      merges.append(nf.flows.Merge())
    bases.append(nf.distributions.DiagGaussian(
        (latent_channels, height // factor, width // factor)))
  return nf.MultiscaleFlow(bases, flows, merges, class_cond=False)


class NormflowsRunner:
  """normflows' Glow with the training and log_prob steps of `Runner`."""

  kind = 'normflows'

  def __init__(self, args, batch: tf.Tensor):
    import torch  # pylint: disable=import-outside-toplevel
    torch.manual_seed(0)
    self.batch = torch.from_numpy(
        np.ascontiguousarray(np.transpose(batch.numpy(), [0, 3, 1, 2])))
    self.model = build_normflows(args)
    with torch.no_grad():   # normflows' ActNorms initialise on a first batch.
      self.model.log_prob(self.batch, None)
    parameters = [p for p in self.model.parameters() if p.requires_grad]
    self.num_parameters = int(sum(p.numel() for p in parameters))
    self.optimizer = torch.optim.Adam(parameters, 1e-4)
    self.torch = torch
    # PyTorch's mixed precision: float32 weights, bfloat16 convolutions.
    self.autocast = functools.partial(
        torch.autocast, 'cpu', dtype=torch.bfloat16,
        enabled=args.precision == 'bfloat16')

  def train(self):
    self.optimizer.zero_grad(set_to_none=True)
    with self.autocast():
      loss = self.model.forward_kld(self.batch)
    loss.backward()
    self.optimizer.step()
    return loss.detach()

  def log_prob(self):
    with self.torch.no_grad(), self.autocast():
      return self.model.log_prob(self.batch, None)

  def measure(self, step: str, seconds: float) -> tuple[float, float]:
    """Images per second (wall) and CPU milliseconds per batch of `step`."""
    run = {'train': self.train, 'log_prob': self.log_prob}[step]
    return measure(run, len(self.batch), seconds)


def main():
  parser = config_parser(__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--seconds', type=float, default=5.,
                      help='timing per library, step and round')
  threads_argument(parser, 'threads per library (TF intra- and inter-op, '
                   'torch.set_num_threads); default: each library\'s own')
  args = parser.parse_args()
  use_threads(args.threads)
  batch = random_batch(args)

  runners = []
  for kind in KINDS:
    try:
      runners.append(Runner(kind, args, batch))
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
      if kind == 'tfp_glow':
        raise
      reason = str(error).strip().splitlines()[0].split(': <tf.Tensor')[0]
      print(f'{NAMES[kind]} does not run in {args.precision}: {reason}')
  if importlib.util.find_spec('normflows') is None:
    print('normflows is not installed (pip install -e ".[bench]" installs it '
          'and PyTorch): comparing tfp_glow with tfb.Glow only.')
  else:
    import torch  # pylint: disable=import-outside-toplevel
    if args.threads:
      torch.set_num_threads(args.threads)
    runners.append(NormflowsRunner(args, batch))
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} threads')
  print(f'config: image {args.image}, L={args.levels}, K={args.steps}, '
        f'W={args.hidden}, batch {args.batch}, XLA {args.xla}, '
        f'{args.precision}')
  print(f'machine: {machine()}; '
        f'TF {tf.__version__}, TFP {tfp.__version__}')

  speed = {r.kind: {} for r in runners}
  cpu_ms = {r.kind: {} for r in runners}
  for step in STEPS:
    rounds = {r.kind: [] for r in runners}
    for _ in range(args.rounds):            # in turns
      for runner in runners:
        rounds[runner.kind].append(runner.measure(step, args.seconds))
    for kind, measured in rounds.items():
      speed[kind][step], cpu_ms[kind][step] = np.median(measured, axis=0)

  print('\n| | trainable parameters | train img/s | log_prob img/s | '
        'train CPU ms/batch | log_prob CPU ms/batch |')
  print('|---|---|---|---|---|---|')
  for runner in runners:
    kind = runner.kind
    print(f'| {NAMES[kind]} | {runner.num_parameters:,} | '
          f'{speed[kind]["train"]:.1f} | {speed[kind]["log_prob"]:.1f} | '
          f'{cpu_ms[kind]["train"]:.1f} | {cpu_ms[kind]["log_prob"]:.1f} |')
  for runner in runners[1:]:
    kind = runner.kind
    print(f'| tfp_glow / {NAMES[kind]} | '
          f'{runners[0].num_parameters / runner.num_parameters:.3f}x | '
          + ' | '.join(f'{speed["tfp_glow"][s] / speed[kind][s]:.2f}x'
                       for s in STEPS) + ' | '
          + ' | '.join(f'{cpu_ms[kind][s] / cpu_ms["tfp_glow"][s]:.2f}x less'
                       for s in STEPS) + ' |')
  print(report({NAMES[kind]: speed[kind] for kind in speed},
               runners[0].dist, args.image,
               args.precision))


if __name__ == '__main__':
  main()
