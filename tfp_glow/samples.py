"""Sample grids: flow samples as 8-bit pixels, tiled and written as PNG."""

import math
import os

import tensorflow as tf
import tf_keras

from tfp_glow.flows import MultiScaleFlow, flow_distribution

__all__ = ['GRID_TEMPERATURES', 'SAMPLE_TEMPERATURE', 'SampleGrid', 'class_rows', 'image_grid',
           'sample_pixels', 'to_pixels', 'write_png']

# Temperatures of the rows of the epoch grids, hottest first.
GRID_TEMPERATURES = (1.0, 0.85, 0.7)
# The temperature `sample` draws and `evaluate` scores at by default.
SAMPLE_TEMPERATURE = 0.7


def to_pixels(images: tf.Tensor, num_bins: int = 256) -> tf.Tensor:
  """uint8 pixels k = floor(num_bins * x) of images x in [0, 1] (clipped)."""
  pixels = tf.floor(tf.cast(images, tf.float32) * num_bins)
  return tf.cast(tf.clip_by_value(pixels, 0., num_bins - 1.), tf.uint8)


def sample_pixels(flow: MultiScaleFlow, num_samples: int,
                  temperature: float = 1., seed=None,
                  labels=None) -> tf.Tensor:
  """[num_samples, H, W, C] uint8 samples of `flow` at `temperature`.

  `labels` (a class-conditional flow's): one per sample, or one for all.
  """
  dist = flow_distribution(flow, temperature)
  kwargs = {} if labels is None else {'bijector_kwargs': {'labels': labels}}
  return to_pixels(dist.sample(num_samples, seed=seed, **kwargs))


def class_rows(num_classes: int, columns: int = 8) -> tf.Tensor:
  """Labels 0 x columns, 1 x columns, ...: a grid with one row per class."""
  return tf.repeat(tf.range(num_classes), columns)


def image_grid(pixels: tf.Tensor, columns: int = 8) -> tf.Tensor:
  """[N, H, W, C] images tiled into one [rows * H, columns * W, C] image.

  The last row is padded with black images.
  """
  count, height, width, channels = pixels.shape
  rows = math.ceil(count / columns)
  pixels = tf.pad(pixels, [[0, rows * columns - count], [0, 0], [0, 0], [0, 0]])
  grid = tf.reshape(pixels, [rows, columns, height, width, channels])
  grid = tf.transpose(grid, [0, 2, 1, 3, 4])
  return tf.reshape(grid, [rows * height, columns * width, channels])


def write_png(path: str, image: tf.Tensor) -> None:
  """Writes a uint8 [H, W, C] image (C = 1 or 3), creating its directory."""
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  tf.io.write_file(path, tf.io.encode_png(image))


class SampleGrid(tf_keras.callbacks.Callback):
  """Writes a grid of samples to `directory/epoch_NNN.png` after each epoch.

  `rows_per_temperature` rows of 8 per temperature, hottest first: the same
  base draws eps ~ N(0, I) scaled by each T (x = flow(T eps)), so a row
  shows the same samples cooled, and early epochs show strokes at T = 1
  before they show at lower T. A class-conditional flow's grid has one row
  of 8 per class instead, at the lowest temperature.
  """

  def __init__(self, flow: MultiScaleFlow, directory: str,
               temperatures=GRID_TEMPERATURES, rows_per_temperature: int = 2):
    super().__init__()
    self._flow = flow
    self._directory = directory
    self._temperatures = tuple(temperatures)
    self._labels = class_rows(flow.num_classes) if flow.num_classes else None
    self._num_samples = 8 * rows_per_temperature
    # The same draws every epoch: a user sees the samples change with the
    # weights, not with the noise.
    self._seed = tf.constant([0, 0])

  def on_epoch_end(self, epoch, logs=None):
    if self._labels is not None:
      pixels = sample_pixels(self._flow, len(self._labels),
                             min(self._temperatures), self._seed,
                             self._labels)
    else:
      pixels = tf.concat([
          sample_pixels(self._flow, self._num_samples, temperature,
                        self._seed)
          for temperature in self._temperatures], axis=0)
    write_png(os.path.join(self._directory, f'epoch_{epoch + 1:03d}.png'),
              image_grid(pixels))
