"""Trains the digit classifier that `tfp_glow.evaluation` scores samples with.

Trains `tfp_glow.evaluation.build_digit_classifier()` on the 4,500 training
digits of `tfp_glow.data.mnist_5k` (pixels / 255, random shifts of up to
+-2 px, Adam with a cosine-decayed learning rate, batches of 64, fixed
seed), writes its weights to `tfp_glow/digit_classifier.npz` (the file the
package ships), then reloads them as `tfp_glow.evaluation.digit_classifier()`
does and prints the accuracy on the 500 test digits.

  python benchmarks/digit_classifier.py
  python benchmarks/digit_classifier.py --epochs 30 --output /tmp/c.npz
"""

import argparse
import os
import time

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_glow import data, evaluation

OUTLIER_WEIGHT = 0.5
PACKAGE_WEIGHTS = os.path.join(os.path.dirname(evaluation.__file__),
                               evaluation.DIGIT_CLASSIFIER_WEIGHTS)


def outliers(count: int, digits: np.ndarray, seed: int) -> np.ndarray:
  """`count` float images [count, 28, 28, 1] in [0, 1] that are no digit.

  A quarter each: uniform noise on a random fraction of the pixels, one
  grey level, blurred noise (blobs) and training digits with their pixels
  shuffled (a digit's ink, no shape).
  """
  rng = np.random.default_rng(seed)
  quarter = -(-count // 4)
  shape = (quarter, *evaluation.IMAGE_SHAPE)
  density = rng.uniform(0.05, 1., [quarter, 1, 1, 1])
  noise = rng.uniform(size=shape) * (rng.uniform(size=shape) < density)
  grey = np.broadcast_to(rng.uniform(size=[quarter, 1, 1, 1]), shape)
  blobs = []
  for sigma in rng.uniform(1., 3., quarter):
    radius = np.arange(-6, 7)
    kernel = np.exp(-radius ** 2 / (2 * sigma ** 2))
    field = rng.normal(size=(40, 40))
    field = np.apply_along_axis(np.convolve, 0, field, kernel, 'valid')
    field = np.apply_along_axis(np.convolve, 1, field, kernel, 'valid')
    field = (field[:28, :28] - field.mean()) / field.std()
    blobs.append(np.clip(field - rng.uniform(0., 1.5), 0., 1.)[..., None])
  chosen = digits[rng.choice(len(digits), quarter)].reshape([quarter, -1])
  shuffled = rng.permuted(chosen, axis=1).reshape(shape)
  images = np.concatenate([noise, grey, np.stack(blobs), shuffled])
  return images[rng.permutation(len(images))[:count]].astype(np.float32)


def outlier_exposed_loss(labels, logits):
  """Cross-entropy for digits (labels 0-9); for outliers (label 10) that of
  the uniform distribution, 0.5 * (logsumexp(logits) - mean(logits))."""
  labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
  is_digit = labels < evaluation.NUM_CLASSES
  digit = tf.nn.sparse_softmax_cross_entropy_with_logits(
      tf.where(is_digit, labels, 0), logits)
  uniform = (tf.reduce_logsumexp(logits, axis=-1)
             - tf.reduce_mean(logits, axis=-1))
  return tf.where(is_digit, digit, OUTLIER_WEIGHT * uniform)


def train(epochs: int, seed: int, batch_size: int = 64,
          learning_rate: float = 2e-3) -> tf_keras.Model:
  """The classifier trained on mnist_5k's training digits and outliers."""
  tf_keras.utils.set_random_seed(seed)
  (train_images, train_labels), _ = data.mnist_5k()
  digits = train_images.astype(np.float32) / 255.
  exposed = outliers(len(digits) // 2, digits, seed)
  images = np.concatenate([digits, exposed])
  labels = np.concatenate([train_labels,
                           np.full(len(exposed), evaluation.NUM_CLASSES)])
  model = evaluation.build_digit_classifier()
  inputs = tf_keras.Input(evaluation.IMAGE_SHAPE)
  shift = 2 / evaluation.IMAGE_SHAPE[0]
  shifted = tf_keras.layers.RandomTranslation(
      shift, shift, fill_mode='constant', interpolation='nearest',
      seed=seed)(inputs)
  trainer = tf_keras.Model(inputs, model(shifted)['logits'])
  steps = epochs * -(-len(images) // batch_size)
  trainer.compile(
      optimizer=tf_keras.optimizers.Adam(
          tf_keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
      loss=outlier_exposed_loss)
  trainer.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=2)
  return model


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--epochs', type=int, default=20)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--output', default=PACKAGE_WEIGHTS,
                      help='weights file (default: the package\'s).')
  args = parser.parse_args()

  start = time.perf_counter()
  model = train(args.epochs, args.seed)
  seconds = time.perf_counter() - start
  np.savez(args.output, **evaluation.classifier_weights(model))

  _, (test_images, test_labels) = data.mnist_5k()
  reloaded = evaluation.load_digit_classifier(args.output)
  logits = reloaded(test_images.astype(np.float32) / 255.)['logits']
  correct = np.sum(np.argmax(logits, axis=-1) == test_labels)
  print(f'parameters: {model.count_params():,}')
  print(f'training: {args.epochs} epochs in {seconds:.0f} s')
  print(f'weights: {args.output} ({os.path.getsize(args.output):,} bytes)')
  print(f'test accuracy: {correct / len(test_labels):.4f} '
        f'({correct}/{len(test_labels)})')


if __name__ == '__main__':
  main()
