"""Test bits/dim on real MNIST digits: tfp_glow against tfb.Glow, one loop.

Every model trains with the same loop on the 4,500 training digits of
`tfp_glow.data.mnist_5k` (real 28x28 MNIST, offline): -mean(log_prob) of
uniformly dequantized batches of 64, `tfp_glow.optimizers.adam()` (the command
line's optimizer: Adam 1e-3, no warmup, clipping at 50), for
`--seconds` of wall-clock time after tracing. Every `--eval-every` steps the
clock stops and the 500 test digits (one fixed dequantization draw) are
scored. With several `--seeds` (each seeds the initialisation, the data
order and the noise) every model trains once per seed. The script prints, per
model: test bits/dim at the step count every run reached (equal steps) and at
the end of the budget (equal wall-clock), as the mean over seeds and each
seed's figure,
the reconstruction error max|forward(inverse(x)) - x| of the trained flow on
the test images and the time to sample 64 images. With `--score-every S`, every
S seconds of training (clock stopped) 500 samples at each of
`--temperatures` are scored by `tfp_glow.evaluation` (recognised, classes,
Frechet distance to the test digits). With `--policies float32,mixed_bfloat16`
every model also trains with its networks built under that `tf_keras` policy
(log-dets, ActNorm and the loss stay float32), reported as
`NAME/mixed_bfloat16`.

tfp_glow's flows train with the bijector kwarg `training=True` (batch
statistics in `realnvp`'s BatchNorms, nothing for the others) and are
scored without it (moving averages). `NAME:SWITCH` is the registry entry
NAME with its switch flag SWITCH on (`realnvp:double_width_per_scale`).

  python benchmarks/quality.py                      # Glow 2 x 8, width 128
  python benchmarks/quality.py --max-steps 151 --eval-every 50 --seeds 0,1,2
  python benchmarks/quality.py --models glow,tfb_glow,realnvp,simple \\
      --seconds 300
  python benchmarks/quality.py --models realnvp_no_batch_norm,realnvp,realnvp:double_width_per_scale \\
      --seeds 0,1,2 --width 64   # the paper's
  python benchmarks/quality.py --models glow,glow_sigmoid     # coupling scale
  python benchmarks/quality.py --seconds 600 --eval-every 100 --score-every 300
  python benchmarks/quality.py --models glow --policies float32,mixed_bfloat16 \\
      --max-steps 301 --eval-every 100 --seeds 0,1,2 --seconds 100000
  python benchmarks/quality.py --data /usr/share/datasets/fashion-mnist \\
      --seconds 600 --eval-every 100000      # Fashion-MNIST, 60k / 10k
"""

import argparse
import datetime
import itertools
import platform
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_glow
from tfp_glow import evaluation, optimizers, precision

tfb, tfd = tfp.bijectors, tfp.distributions
IMAGE_SHAPE = (28, 28, 1)
# --width / share is each family's hidden width (about equal sizes).
WIDTH_SHARE = {tfp_glow.Glow: 1, tfp_glow.RealNVP: 2, tfp_glow.SimpleFlow: 4}


def build(name: str, args, seed: int = 0):
  """The model's distribution and flow (forward: latent -> image)."""
  if name == 'tfb_glow':
    flow = tfb.Glow(
        output_shape=IMAGE_SHAPE, num_glow_blocks=args.levels,
        num_steps_per_block=args.steps,
        coupling_bijector_fn=lambda shape: tfb.GlowDefaultNetwork(
            shape, num_hidden=args.width),
        exit_bijector_fn=tfb.GlowDefaultExitNetwork, seed=seed)
    base = tfd.Sample(tfd.Normal(0., 1.), [int(np.prod(IMAGE_SHAPE))])
    return tfd.TransformedDistribution(base, flow), flow
  name, *switches = name.split(':')
  model = tfp_glow.registry.MODELS[name]
  sizes = {'levels': args.levels, 'steps_per_level': args.steps,
           'hidden_channels': args.width // WIDTH_SHARE[model.flow],
           'seed': seed}
  for switch in switches:
    if (switch not in model.flags
        or not isinstance(model.flags[switch].default, bool)):
      raise ValueError(f'{name} has no switch flag {switch}.')
  flow = model.build(IMAGE_SHAPE, {
      **{flag: value for flag, value in sizes.items() if flag in model.flags},
      **dict.fromkeys(switches, True)})
  return tfp_glow.flow_distribution(flow), flow


def run(name: str, args, train: np.ndarray, test: np.ndarray,
        optimizer_options: dict | None = None, seed: int = 0,
        policy: str = 'float32') -> dict:
  """Trains `name` for the budget; returns its curve and final checks.

  The budget is `args.seconds` of training time or `args.max_steps` steps,
  whichever ends first; `optimizer_options` go to `optimizers.adam`; the
  networks are built under the `tf_keras` dtype `policy`.
  """
  tf_keras.utils.set_random_seed(seed)
  with precision.global_policy(policy):   # The networks take it when built.
    dist, flow = build(name, args, seed)
  batches = iter(tf.data.Dataset.from_tensor_slices(train).shuffle(
      len(train), seed=seed).repeat().batch(64))
  # TFP's ActNorm initialises on its first call, tfp_glow's in the context.
  with tfp_glow.data_dependent_init():
    dist.log_prob(tfp_glow.uniform_dequantize(next(batches)))
  optimizer = optimizers.adam(**(optimizer_options or {}))
  variables = flow.trainable_variables
  is_tfp_glow = isinstance(flow, tfp_glow.flows.MultiScaleFlow)
  kwargs = {'training': True} if is_tfp_glow else {}

  @tf.function
  def step(pixels):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(tfp_glow.uniform_dequantize(pixels),
                                           bijector_kwargs=kwargs))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  images = tfp_glow.uniform_dequantize(test, seed=[0, 0])
  log_prob = tf.function(dist.log_prob)

  def test_bits():
    """Mean over the test images, 500 at a time (Fashion-MNIST's 10,000 at
    once would not fit in memory)."""
    bits = [tfp_glow.bits_per_dim(log_prob(images[i:i + 500]), IMAGE_SHAPE)
            for i in range(0, len(images), 500)]
    return float(tf.reduce_mean(tf.concat(bits, 0)))

  def scores(temperature):
    base = tfd.Sample(tfd.Normal(tf.constant(0., tf.float32), temperature),
                      [int(np.prod(IMAGE_SHAPE))])
    hot = (tfp_glow.flow_distribution(flow, temperature) if is_tfp_glow
           else tfd.TransformedDistribution(base, flow))
    samples = hot.sample(evaluation.NUM_SCORED_SAMPLES, seed=[0, 0])
    return evaluation.sample_scores(tfp_glow.samples.to_pixels(samples))

  step(next(batches))   # traced outside the budget
  curve, steps, elapsed = [(1, 0., test_bits())], 1, 0.
  nonfinite, scored = 0, []
  while elapsed < args.seconds and steps < args.max_steps:
    start = time.perf_counter()
    for _ in range(args.eval_every):   # to the next evaluation or the budget
      nonfinite += not np.isfinite(float(step(next(batches))))
      steps += 1
      if elapsed + time.perf_counter() - start >= args.seconds:
        break
    elapsed += time.perf_counter() - start
    curve.append((steps, elapsed, test_bits()))
    if args.score_every and (elapsed >= args.score_every * (len(scored) + 1)
                             or not elapsed < args.seconds):
      scored.append((steps, elapsed, curve[-1][2],
                     {t: scores(t) for t in args.temperatures}))
      print(score_line(name, *scored[-1]), flush=True)

  # tf.identity: the bijector cache must not answer the round trip.
  latents = tf.identity(flow.inverse(tf.identity(images[:500])))
  error = float(tf.reduce_max(tf.abs(flow.forward(latents) - images[:500])))
  sample = tf.function(lambda: dist.sample(64))
  sample()
  timings = []
  for _ in range(5):
    start = time.perf_counter()
    sample().numpy()
    timings.append(time.perf_counter() - start)
  return {'name': name, 'curve': curve, 'error': error, 'scored': scored,
          'nonfinite': nonfinite,
          'parameters': int(sum(np.prod(v.shape) for v in variables)),
          'sample_ms': 1000 * float(np.median(timings))}


def score_line(name, steps, elapsed, bits, by_temperature) -> str:
  return f'  {name} at {elapsed:.0f} s ({steps} steps, {bits:.3f} bits/dim): ' + (
      '; '.join(f'T {t:g}: recognised {s.recognised:.3f}, classes '
                f'{s.classes:.2f}, FD {s.frechet_distance:.1f}'
                for t, s in by_temperature.items()))


def bits_at_step(curve, steps: int) -> float:
  return next(bits for s, _, bits in curve if s >= steps)


def policies(text: str) -> list[str]:
  """`--policies`: comma-separated `tfp_glow.precision.POLICIES`."""
  names = text.split(',')
  unknown = [name for name in names if name not in precision.POLICIES]
  if unknown:
    raise argparse.ArgumentTypeError(
        f'{", ".join(unknown)}: not one of {", ".join(precision.POLICIES)}')
  return names


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--models', default='glow,tfb_glow')
  parser.add_argument('--seconds', type=float, default=150.)
  parser.add_argument('--max-steps', type=int, default=10**9)
  parser.add_argument('--eval-every', type=int, default=25)
  parser.add_argument('--levels', type=int, default=2)
  parser.add_argument('--steps', type=int, default=8, help='Glow K')
  parser.add_argument('--width', type=int, default=128,
                      help='Glow hidden channels (RealNVP: 1/2, simple: 1/4)')
  parser.add_argument('--score-every', type=float, default=0., help=(
      'seconds of training between sample scores (0: none)'))
  parser.add_argument('--temperatures', default='0.7,1.0', type=lambda text: [
      float(t) for t in text.split(',')], help='of the scored samples')
  parser.add_argument('--policies', default='float32', type=policies, help=(
      'comma-separated tf_keras dtype policies (float32, mixed_bfloat16, '
      'mixed_float16); every model trains under each'))
  parser.add_argument('--seeds', default='0',
                      help='comma-separated; every model trains once per seed')
  parser.add_argument('--data', help=(
      'a directory of IDX files instead of mnist_5k, e.g. Fashion-MNIST in '
      f'{tfp_glow.data.FASHION_MNIST_DIR}'))
  args = parser.parse_args()
  seeds = [int(seed) for seed in args.seeds.split(',')]
  (train, _), (test, _) = (tfp_glow.data.load_idx(args.data) if args.data
                           else tfp_glow.data.mnist_5k())
  print(f'{datetime.date.today()}, {platform.processor() or platform.machine()}'
        f' ({len(__import__("os").sched_getaffinity(0))} cores), TF '
        f'{tf.__version__}, TFP {tfp.__version__}; {args.data or "mnist_5k"}: '
        f'{len(train)} train / {len(test)} test images; budget {args.seconds:.0f} s; Glow '
        f'{args.levels} x {args.steps}, width {args.width}; seeds {seeds}',
        flush=True)
  results = {}
  for seed in seeds:   # Seed by seed: every model has run once before any twice.
    for name, policy in itertools.product(args.models.split(','),
                                          args.policies):
      label = name if policy == 'float32' else f'{name}/{policy}'
      r = results.setdefault(label, [])
      r.append(run(name, args, train, test, seed=seed, policy=policy))
      print(f'{label}, seed {seed}: ' + ', '.join(
          f'{s}: {b:.3f} ({t:.0f} s)' for s, t, b in r[-1]['curve']), flush=True)
  equal_steps = min(r['curve'][-1][0] for runs in results.values() for r in runs)

  def figures(runs, bits_of) -> str:
    bits = [bits_of(r['curve']) for r in runs]
    each = f' ({", ".join(f"{b:.3f}" for b in bits)})' if len(bits) > 1 else ''
    return f'{np.mean(bits):.3f}{each}'

  print(f'\n| model | parameters | steps in {args.seconds:.0f} s | test bits/dim '
        f'at {equal_steps} steps | test bits/dim at {args.seconds:.0f} s | '
        'non-finite steps | max recon error | sample 64 (ms) |\n'
        '|---|---|---|---|---|---|---|---|')
  for name, runs in results.items():
    print(f'| {name} | {runs[0]["parameters"]:,} | '
          f'{min(r["curve"][-1][0] for r in runs)} | '
          f'{figures(runs, lambda curve: bits_at_step(curve, equal_steps))} | '
          f'{figures(runs, lambda curve: curve[-1][2])} | '
          f'{sum(r["nonfinite"] for r in runs)} | '
          f'{max(r["error"] for r in runs):.1e} | '
          f'{np.median([r["sample_ms"] for r in runs]):.0f} |')

if __name__ == '__main__':
  main()
