"""Bayes-classifier accuracy of a class-conditional Glow on real MNIST digits.

Trains `Glow(num_classes=10)` with `FlowModel.fit` on the 4,500 labelled
training digits of `tfp_glow.data.mnist_5k` (uniform dequantization, the
command line's optimizer `tfp_glow.optimizers.adam()`, batches of 64) for
`--seconds` of wall-clock time (evaluations included), with the
classification loss weighted by `--classification-weight` (FlowModel's
default when not given), then scores the 500 test digits
(bin centres (k + 0.5) / 256): test bits/dim and the accuracy of
`tfp_glow.classify` (argmax_y log p(x | y), uniform p(y)). With
`--eval-every N` it also prints the accuracy every N steps.

  python benchmarks/classifier.py --seconds 540
  python benchmarks/classifier.py --seconds 200 --eval-every 150 \
      --classification-weight 0.1
"""

import argparse
import datetime
import platform
import time

import numpy as np
import tensorflow as tf
import tf_keras

import tfp_glow
from tfp_glow import optimizers, training


class Report(tf_keras.callbacks.Callback):
  """Stops after `seconds` of training; prints accuracy every `every` steps."""

  def __init__(self, seconds: float, every: int, score):
    super().__init__()
    self.seconds, self.every, self.score = seconds, every, score
    self.start = time.perf_counter()
    self.steps = 0

  def on_train_batch_end(self, batch, logs=None):
    self.steps += 1
    if self.every and self.steps % self.every == 0:
      print(f'step {self.steps:5d}  {time.perf_counter() - self.start:6.0f} s  '
            f'train bits/dim {logs["bits_per_dim"]:.3f}  '
            f'test accuracy {self.score()[1]:.3f}', flush=True)
    if time.perf_counter() - self.start > self.seconds:
      self.model.stop_training = True


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seconds', type=float, default=540.)
  parser.add_argument('--levels', type=int, default=2)
  parser.add_argument('--steps', type=int, default=4)
  parser.add_argument('--width', type=int, default=64)
  parser.add_argument('--classification-weight', type=float,
                      default=training.DEFAULT_CLASSIFICATION_WEIGHT)
  parser.add_argument('--eval-every', type=int, default=0)
  args = parser.parse_args()

  tf_keras.utils.set_random_seed(0)
  (train_x, train_y), (test_x, test_y) = tfp_glow.data.mnist_5k()
  flow = tfp_glow.registry.MODELS['glow_conditional'].build(
      (28, 28, 1), {'levels': args.levels, 'steps_per_level': args.steps,
                    'hidden_channels': args.width}, num_classes=10)
  model = tfp_glow.FlowModel(
      flow, classification_weight=args.classification_weight)
  model.compile(optimizers.adam())
  test_images = (tf.cast(test_x, tf.float32) + 0.5) / 256.

  def score():
    labels = tf.concat([tfp_glow.classify(flow, batch) for batch in
                        tf.split(test_images, 5)], 0)
    bits = tfp_glow.bits_per_dim(
        tfp_glow.flow_distribution(flow).log_prob(
            test_images, bijector_kwargs={'labels': test_y}), (28, 28, 1))
    return float(tf.reduce_mean(bits)), float(np.mean(labels == test_y))

  dataset = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
             .shuffle(len(train_x), seed=0).repeat().batch(64))
  report = Report(args.seconds, args.eval_every, score)
  model.fit(dataset, epochs=1_000_000, steps_per_epoch=70, verbose=0,
            callbacks=[report])
  bits, accuracy = score()
  print(f'{datetime.date.today()} {platform.node()} '
        f'Glow {args.levels} x {args.steps}, width {args.width}, '
        f'classification weight {args.classification_weight}: '
        f'{report.steps} steps in {time.perf_counter() - report.start:.0f} s, '
        f'test bits/dim {bits:.3f}, test accuracy {accuracy:.3f}')


if __name__ == '__main__':
  main()
