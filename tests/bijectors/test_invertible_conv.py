import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests.bijector_checks import tiny_images


@pytest.mark.parametrize('lu_decomposed', [True, False])
def test_starts_as_a_random_rotation(lu_decomposed):
  w = tfp_glow.Invertible1x1Conv(
      5, lu_decomposed=lu_decomposed, dtype=tf.float64).matrix().numpy()
  np.testing.assert_allclose(w @ w.T, np.eye(5), atol=1e-12)
  assert not np.allclose(np.abs(w), np.eye(5))


def test_seed_fixes_the_rotation():
  first = tfp_glow.Invertible1x1Conv(4, seed=3).matrix()
  np.testing.assert_array_equal(
      first, tfp_glow.Invertible1x1Conv(4, seed=3).matrix())
  assert not np.allclose(first, tfp_glow.Invertible1x1Conv(4, seed=4).matrix())


def test_lu_parameters():
  conv = tfp_glow.Invertible1x1Conv(4, seed=0, dtype=tf.float64)
  trainable = {v.name.split('/')[-1] for v in conv.trainable_variables}
  assert trainable == {'lower:0', 'upper:0', 'log_abs_s:0'}
  for variable in conv.trainable_variables:
    variable.assign_add(0.3 * tf.ones_like(variable))
  x = tiny_images((2, 3, 3, 4))
  np.testing.assert_allclose(
      conv.forward(x), tf.einsum('dc,nhwc->nhwd', conv.matrix(), x),
      atol=1e-12)
  _, log_abs_det = np.linalg.slogdet(conv.matrix())
  np.testing.assert_allclose(
      conv.forward_log_det_jacobian(x, 3), 9 * log_abs_det, atol=1e-12)


def test_permutation_is_restored_from_a_checkpoint(tmp_path):
  conv = tfp_glow.Invertible1x1Conv(4, seed=1)
  path = tf.train.Checkpoint(conv=conv).write(str(tmp_path / 'ckpt'))
  restored = tfp_glow.Invertible1x1Conv(4, seed=2)
  tf.train.Checkpoint(conv=restored).read(path).assert_consumed()
  np.testing.assert_array_equal(restored.matrix(), conv.matrix())
