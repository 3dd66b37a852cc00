"""ImageDomain's checks of images on the way in; its invariants (the
identity, log-det 0) and rank, dtype and channel checks are the registry's."""

import numpy as np
import pytest
import tensorflow as tf

from tfp_glow.bijectors.image_domain import ImageDomain


def test_validate_args_refuses_pixels_outside_the_unit_interval():
  domain = ImageDomain((2, 2, 1), validate_args=True)
  images = tf.constant([0., 0.25, 0.5, 1.], shape=[1, 2, 2, 1])
  np.testing.assert_array_equal(domain.inverse(images), images)
  for wrong in (-1e-3, 1. + 1e-3):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'Images must lie in \[0, 1\]'):
      domain.inverse(tf.tensor_scatter_nd_update(images, [[0, 1, 1, 0]],
                                                 [wrong]))
  # Without validate_args, only non-finite pixels are refused.
  assert ImageDomain((2, 2, 1)).inverse(2. * images).shape == [1, 2, 2, 1]


@pytest.mark.parametrize('validate_args', [False, True])
@pytest.mark.parametrize('pixel', [np.nan, np.inf])
def test_non_finite_pixels_are_always_refused(validate_args, pixel):
  domain = ImageDomain((2, 2, 1), validate_args=validate_args)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='NaN or infinite pixels'):
    domain.inverse(tf.constant([0., pixel, 0.5, 1.], shape=[1, 2, 2, 1]))


def test_image_shape_is_checked_statically_and_under_validate_args():
  with pytest.raises(ValueError, match=r'\[\.\.\., 4, 4, 1\], got shape '
                                       r'\(1, 4, 2, 1\)'):
    ImageDomain((4, 4, 1)).inverse(tf.zeros([1, 4, 2, 1]))
  inverse = tf.function(
      ImageDomain((4, 4, 1), validate_args=True).inverse,
      input_signature=[tf.TensorSpec([None, None, None, 1])])
  assert inverse(tf.zeros([2, 4, 4, 1])).shape == [2, 4, 4, 1]
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expects images of shape \[\.\.\., 4, 4, 1\]'):
    inverse(tf.zeros([2, 4, 2, 1]))
  # Without an image shape, any shape of rank >= 3 passes.
  assert ImageDomain().inverse(tf.zeros([1, 4, 2, 3])).shape == [1, 4, 2, 3]
