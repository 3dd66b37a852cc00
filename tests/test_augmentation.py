import itertools

import numpy as np
import pytest
import tensorflow as tf

from tfp_glow import augmentation


def _moved(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
  """`image` moved by (dy, dx), its edge pixels repeated into the gap."""
  rows = np.clip(np.arange(image.shape[0]) - dy, 0, image.shape[0] - 1)
  columns = np.clip(np.arange(image.shape[1]) - dx, 0, image.shape[1] - 1)
  return image[rows][:, columns]


def test_each_image_moves_by_whole_pixels_with_its_edges_repeated():
  images = np.random.default_rng(0).integers(
      0, 256, [300, 7, 9, 2]).astype(np.uint8)
  shifted = augmentation.random_shifts(tf.constant(images), 2, seed=1)
  assert shifted.dtype == tf.uint8
  offsets = []
  for image, result in zip(images, shifted.numpy()):
    matches = [(dy, dx) for dy, dx in itertools.product(range(-2, 3), repeat=2)
               if np.array_equal(_moved(image, dy, dx), result)]
    assert len(matches) == 1
    offsets.append(matches[0])
  # Every one of the 25 offsets is drawn, none much more often than others.
  counts = np.unique(np.array(offsets), axis=0, return_counts=True)[1]
  assert len(counts) == 25 and counts.max() < 3 * 300 / 25


def test_shifted_batches_keep_their_labels_and_zero_leaves_them_alone():
  images = np.zeros([10, 8, 8, 1], np.uint8)
  images[:, 4, 4] = 255
  labels = np.arange(10)
  batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(5)
  assert augmentation.shifted(batches, 0) is batches
  for (shifted, shifted_labels), (_, original_labels) in zip(
      augmentation.shifted(batches, 1), batches):
    np.testing.assert_array_equal(shifted_labels, original_labels)
    bright = np.argwhere(shifted.numpy()[..., 0] == 255)
    assert len(bright) == 5 and np.abs(bright[:, 1:] - 4).max() <= 1
  only_images = tf.data.Dataset.from_tensor_slices(images).batch(5)
  assert augmentation.shifted(only_images, 1).element_spec.shape[1:] == (
      8, 8, 1)
  with pytest.raises(ValueError, match='max_shift must be >= 0, got -1'):
    augmentation.shifted(batches, -1)
