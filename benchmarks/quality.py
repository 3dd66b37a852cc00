"""Test bits/dim of each model after the same wall-clock training budget.

Every model (tfp_glow's Glow, RealNVP, SimpleFlow and its multi-scale
variant, and TFP's `tfb.Glow` as the reference) trains with the same loop:
Adam 2e-3, batch 64, uniformly dequantized 8-bit images, for `--seconds` of
wall-clock time after tracing. The script prints test bits/dim (one fixed
dequantization draw), the reconstruction error max|decode(encode(x)) - x| and
the time to sample 64 images.

  python benchmarks/quality.py                   # scikit-learn's 8x8 digits
  python benchmarks/quality.py --data mnist      # tensorflow-datasets MNIST
"""

import argparse
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras

import tfp_glow

tfb, tfd = tfp.bijectors, tfp.distributions


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
  """uint8 train and test images [N, H, W, 1]."""
  if name == 'digits':
    from sklearn.datasets import load_digits
    pixels = np.round(load_digits().images[..., None] * 255 / 16)
    pixels = np.random.default_rng(0).permutation(pixels.astype(np.uint8))
    return pixels[:1500], pixels[1500:]
  data = tfp_glow.data.load_tfds(name, batch_size=10_000)
  return (np.concatenate(list(data.train.as_numpy_iterator())),
          next(data.test.as_numpy_iterator()))


def models(image_shape, width: int) -> dict:
  """name -> (distribution, flow, uses tfp_glow's ActNorm init).

  Every flow's forward maps latents to images.
  """
  flows = {
      'Glow': tfp_glow.Glow(image_shape, num_levels=2, num_steps_per_level=4,
                            hidden_channels=width, seed=0),
      'RealNVP': tfp_glow.RealNVP(image_shape, hidden_channels=width,
                                  num_blocks=1),
      'SimpleFlow': tfp_glow.SimpleFlow(image_shape, hidden_channels=width // 2),
      'SimpleFlow multi-scale': tfp_glow.SimpleFlow(
          image_shape, multi_scale=True, hidden_channels=width // 2),
  }
  result = {name: (tfp_glow.flow_distribution(flow), flow, True)
            for name, flow in flows.items()}
  reference = tfb.Glow(
      output_shape=image_shape, num_glow_blocks=2, num_steps_per_block=4,
      coupling_bijector_fn=lambda shape: tfb.GlowDefaultNetwork(
          shape, num_hidden=width),
      exit_bijector_fn=tfb.GlowDefaultExitNetwork, seed=0)
  base = tfd.Sample(tfd.Normal(0., 1.), [int(np.prod(image_shape))])
  result['tfb.Glow (reference)'] = (
      tfd.TransformedDistribution(base, reference), reference, False)
  return result


def evaluate(name, model, train, test, seconds: float) -> dict:
  dist, flow, explicit_init = model
  image_shape = train.shape[1:]
  batches = iter(tf.data.Dataset.from_tensor_slices(train).shuffle(
      len(train), seed=0).repeat().batch(64))
  if explicit_init:
    with tfp_glow.data_dependent_init():
      dist.log_prob(tfp_glow.uniform_dequantize(next(batches)))
  else:   # TFP's ActNorm initialises on its first call.
    dist.log_prob(tfp_glow.uniform_dequantize(next(batches)))
  optimizer = tf_keras.optimizers.Adam(2e-3)

  @tf.function
  def step(pixels):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(tfp_glow.uniform_dequantize(pixels)))
    variables = flow.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  step(next(batches))   # traced outside the budget
  steps, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    step(next(batches))
    steps += 1

  images = tfp_glow.uniform_dequantize(test, seed=[0, 0])
  bits = float(tf.reduce_mean(tfp_glow.bits_per_dim(
      tf.function(dist.log_prob)(images), image_shape)))
  # tf.identity: the bijector cache must not answer the round trip.
  latents = tf.identity(flow.inverse(tf.identity(images)))
  error = float(tf.reduce_max(tf.abs(flow.forward(latents) - images)))
  sample = tf.function(lambda: dist.sample(64))
  sample()
  timings = []
  for _ in range(5):
    start = time.perf_counter()
    sample().numpy()
    timings.append(time.perf_counter() - start)
  return {'model': name, 'steps': steps, 'bits': bits, 'error': error,
          'sample_ms': 1000 * float(np.median(timings))}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--data', default='digits',
                      choices=['digits', 'mnist', 'fashion_mnist'])
  parser.add_argument('--seconds', type=float, default=60.)
  parser.add_argument('--width', type=int, default=32,
                      help='hidden channels (SimpleFlow: half)')
  args = parser.parse_args()
  train, test = load(args.data)
  tf_keras.utils.set_random_seed(0)
  print(f'data: {args.data}, {len(train)} train / {len(test)} test images '
        f'{train.shape[1:]}; budget {args.seconds:.0f} s per model; '
        f'TF {tf.__version__}, TFP {tfp.__version__}')
  print('\n| model | steps | test bits/dim | max recon error | '
        'sample 64 (ms) |\n|---|---|---|---|---|')
  for name, model in models(train.shape[1:], args.width).items():
    r = evaluate(name, model, train, test, args.seconds)
    print(f'| {r["model"]} | {r["steps"]} | {r["bits"]:.3f} | '
          f'{r["error"]:.1e} | {r["sample_ms"]:.1f} |', flush=True)


if __name__ == '__main__':
  main()
