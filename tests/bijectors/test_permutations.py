import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests.bijector_checks import tiny_images

Permutation = tfp_glow.ChannelPermutation


def test_reverse_reverses_the_channels():
  x = tiny_images()
  np.testing.assert_array_equal(Permutation.reverse(4).forward(x), x[..., ::-1])


def test_shuffle_is_a_seeded_permutation():
  x = tiny_images((2, 4, 4, 8))
  shuffle = Permutation.shuffle(8, seed=1)
  order = shuffle.permutation.numpy()
  assert sorted(order) == list(range(8))
  np.testing.assert_array_equal(shuffle.forward(x), tf.gather(x, order, axis=-1))
  np.testing.assert_array_equal(order, Permutation.shuffle(8, seed=1).permutation)
  assert not np.array_equal(order, Permutation.shuffle(8, seed=2).permutation)


def test_random_shuffle_is_restored_from_a_checkpoint(tmp_path):
  saved = Permutation.shuffle(16)
  path = tf.train.Checkpoint(p=saved).write(str(tmp_path / 'ckpt'))
  restored = Permutation.shuffle(16)
  tf.train.Checkpoint(p=restored).read(path).assert_consumed()
  np.testing.assert_array_equal(restored.permutation, saved.permutation)


@pytest.mark.parametrize('permutation', [[0, 2], [[0, 1]], [1, 1]])
def test_rejects_what_is_not_a_permutation(permutation):
  with pytest.raises(ValueError, match=r'permutation of range\(C\)'):
    Permutation(permutation)
