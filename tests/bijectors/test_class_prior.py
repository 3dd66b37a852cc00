"""ClassPrior's own behaviour; its invariants are the registry's."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_glow
from tests.bijector_checks import tiny_images


def parameters(prior):
  """Its (mean, log_scale) variables."""
  variables = {v.name.split('/')[-1]: v for v in prior.trainable_variables}
  return variables['class_mean:0'], variables['class_log_scale:0']


def prior_with_parameters(validate_args=False):
  """A 3-class prior over [2, 2, 1] whose parameters differ per class."""
  prior = tfp_glow.ClassPrior([2, 2, 1], 3, validate_args=validate_args,
                              dtype=tf.float64)
  for seed, variable in enumerate(parameters(prior)):
    variable.assign(tiny_images((3, 2, 2, 1), seed=seed + 1))
  return prior


def test_each_example_takes_its_labels_mean_and_scale():
  """z = mean[y] + exp(log_scale[y]) * eps, log-det sum(log_scale[y])."""
  prior = prior_with_parameters()
  mean, log_scale = (v.numpy() for v in parameters(prior))
  eps = tiny_images((4, 2, 2, 1), seed=3)
  labels = np.array([2, 0, 2, 1])
  np.testing.assert_allclose(
      prior.forward(eps, labels=labels),
      mean[labels] + np.exp(log_scale[labels]) * eps, rtol=1e-12)
  np.testing.assert_allclose(
      prior.forward_log_det_jacobian(eps, 3, labels=labels),
      log_scale[labels].sum(axis=(1, 2, 3)), rtol=1e-12)
  # A scalar label is the label of the whole batch.
  np.testing.assert_allclose(
      prior.forward(eps, labels=1), mean[1] + np.exp(log_scale[1]) * eps,
      rtol=1e-12)


def test_labels_are_required_and_must_be_integers():
  prior = prior_with_parameters()
  eps = tiny_images((2, 2, 2, 1))
  with pytest.raises(ValueError, match='needs integer labels'):
    prior.forward(eps)
  with pytest.raises(TypeError, match='integer class labels, got dtype float'):
    prior.inverse(eps, labels=tf.constant([0., 1.]))


def test_validate_args_checks_the_label_range():
  prior = prior_with_parameters(validate_args=True)
  eps = tiny_images((2, 2, 2, 1))
  assert prior.forward(eps, labels=[0, 2]).shape == [2, 2, 2, 1]
  for labels in ([0, 3], [-1, 0]):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r'Labels must lie in \[0, 3\)'):
      prior.forward(eps, labels=labels)


def test_needs_two_classes():
  with pytest.raises(ValueError, match='num_classes must be >= 2, got 1'):
    tfp_glow.ClassPrior([2, 2, 1], 1)
