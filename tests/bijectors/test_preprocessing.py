import numpy as np
import pytest
import tensorflow as tf

import tfp_glow


def test_inverse_is_realnvp_logit_and_its_log_det_is_counted():
  alpha = 0.05
  preprocessing = tfp_glow.logit_preprocessing(alpha, tf.float64)
  x = np.array([[0., 0.3], [0.9, 1.]])
  p = alpha + (1 - 2 * alpha) * x
  np.testing.assert_allclose(preprocessing.inverse(x), np.log(p / (1 - p)))
  # d logit(p) / dx = (1 - 2 alpha) / (p (1 - p)), summed over the event.
  np.testing.assert_allclose(
      preprocessing.inverse_log_det_jacobian(x, event_ndims=2),
      np.sum(np.log((1 - 2 * alpha) / (p * (1 - p)))))


@pytest.mark.parametrize('alpha', [0., 0.5, -0.1])
def test_bad_alpha(alpha):
  with pytest.raises(ValueError, match=r'alpha must lie in \(0, 0.5\)'):
    tfp_glow.logit_preprocessing(alpha)
