"""Random shifts of training images, openai/glow's augmentation for MNIST.

Each image moves by whole pixels (dy, dx), both uniform in
[-max_shift, max_shift]; the edge pixels fill the gap (for MNIST's black
borders: black). openai/glow shifts by up to 10% of the width
(`width_shift_range=0.1`): 3 pixels of a 28x28 digit. Shifting whole pixels
keeps every value one of the 256 levels the dequantizer expects.

On the main job (`train --dataset mnist_5k --shift 2`) it closed the gap
between train and test bits/dim and lowered the best test bits/dim, but fewer
samples were recognised as digits (BENCHMARKS.md): off by default.
"""

import tensorflow as tf

__all__ = ['random_shifts', 'shifted']


def random_shifts(images: tf.Tensor, max_shift: int,
                  seed: int | None = None) -> tf.Tensor:
  """`images` [N, H, W, C] (any dtype), each shifted by its own (dy, dx)."""
  offsets = tf.cast(tf.random.uniform(
      [tf.shape(images)[0], 2], -max_shift, max_shift + 1, tf.int32,
      seed=seed), tf.float32)
  # Output pixel (x, y) reads input pixel (x - dx, y - dy).
  ones, zeros = tf.ones_like(offsets[:, :1]), tf.zeros_like(offsets[:, :1])
  transforms = tf.concat([ones, zeros, -offsets[:, 1:], zeros, ones,
                          -offsets[:, :1], zeros, zeros], axis=1)
  return tf.ensure_shape(tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=transforms,
      output_shape=tf.shape(images)[1:3], fill_value=0.,
      interpolation='NEAREST', fill_mode='NEAREST'), images.shape)


def shifted(batches: tf.data.Dataset, max_shift: int,
            seed: int | None = None) -> tf.data.Dataset:
  """Batches of images, or of (images, labels), with `random_shifts`."""
  if max_shift < 0:
    raise ValueError(f'max_shift must be >= 0, got {max_shift}.')
  if max_shift == 0:
    return batches

  def shift(images, *labels):
    images = random_shifts(images, max_shift, seed)
    return (images, *labels) if labels else images

  return batches.map(shift, num_parallel_calls=tf.data.AUTOTUNE)
