"""Sample-quality scores by the shipped digit classifier."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tests import registry
from tfp_glow import data, evaluation


@pytest.fixture(scope='module')
def mnist():
  return data.mnist_5k()


@pytest.fixture(scope='module')
def test_digits(mnist):
  return mnist[1]


@pytest.fixture(scope='module')
def real_scores(mnist):
  """The 500 test digits scored against the 4,500 training digits."""
  (train_images, _), (test_images, _) = mnist
  return evaluation.sample_scores(test_images, reference_pixels=train_images)


def random_psd(rng, size, rank=None):
  factor = rng.normal(size=[size, rank or 2 * size])
  return factor @ factor.T / factor.shape[1]


def test_shipped_classifier_reaches_97_percent_on_test_digits(test_digits):
  images, labels = test_digits
  probabilities, features = evaluation.classify_digits(images)
  assert probabilities.shape == (500, 10) and features.shape == (500, 128)
  np.testing.assert_allclose(probabilities.sum(axis=-1), 1., rtol=1e-9)
  assert np.mean(np.argmax(probabilities, axis=-1) == labels) >= 0.97
  assert evaluation.digit_classifier() is evaluation.digit_classifier()
  outputs = evaluation.digit_classifier()(images[:3] / 255., training=False)
  np.testing.assert_allclose(tf.nn.softmax(outputs['logits']),
                             probabilities[:3], rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(outputs['features'], features[:3], rtol=1e-5)


def test_real_digits_are_recognised_and_of_every_class(real_scores):
  assert real_scores.recognised >= 0.85
  assert 9.5 < real_scores.classes <= 10.
  assert 0. < real_scores.frechet_distance < 10.


def test_default_reference_is_the_test_digits(test_digits):
  images, _ = test_digits
  scores = evaluation.sample_scores(images)
  assert scores.frechet_distance == pytest.approx(0., abs=1e-6)
  # Float images in [0, 1] and tensors score as their pixels do.
  as_floats = evaluation.sample_scores(tf.constant(images / 255.))
  assert as_floats.recognised == scores.recognised
  assert as_floats.classes == pytest.approx(scores.classes, rel=1e-6)


def test_one_digit_class_gives_about_one_class(mnist):
  (images, labels), _ = mnist
  for label in (1, 4, 8):
    scores = evaluation.sample_scores(images[labels == label][:100])
    assert 1. <= scores.classes < 1.3
    assert scores.recognised >= 0.85
    assert scores.frechet_distance > 50.


@pytest.mark.parametrize('kind', ['uniform noise', 'black', 'grey'])
def test_non_digits_are_not_recognised_and_far_away(kind, real_scores):
  rng = np.random.default_rng(7)
  pixels = {'uniform noise': rng.integers(0, 256, [200, 28, 28, 1]),
            'black': np.zeros([200, 28, 28, 1], np.uint8),
            'grey': np.full([200, 28, 28, 1], 0.5)}[kind]
  scores = evaluation.sample_scores(pixels)
  assert scores.recognised <= 0.05
  assert scores.frechet_distance > 20 * real_scores.frechet_distance


def test_noisier_digits_score_worse(mnist):
  (train_images, _), (test_images, _) = mnist
  images = test_images / 255.   # All 500: the file sorts them by label.
  rng = np.random.default_rng(3)
  scores = [evaluation.sample_scores(
      np.clip(images + rng.normal(0., noise, images.shape), 0., 1.),
      reference_pixels=train_images) for noise in (0., 0.2, 0.4)]
  distances = [score.frechet_distance for score in scores]
  recognised = [score.recognised for score in scores]
  assert distances == sorted(distances)
  assert recognised == sorted(recognised, reverse=True)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_symmetric(mnist):
  (train_images, _), (test_images, _) = mnist
  _, train_features = evaluation.classify_digits(train_images[::9])
  _, test_features = evaluation.classify_digits(test_images)
  assert evaluation.frechet_distance(test_features, test_features) == (
      pytest.approx(0., abs=1e-6))
  forward = evaluation.frechet_distance(test_features, train_features)
  assert forward > 0.1
  assert evaluation.frechet_distance(train_features, test_features) == (
      pytest.approx(forward, rel=1e-6))


def test_matrix_square_roots_match_scipy():
  rng = np.random.default_rng(0)
  a, b = random_psd(rng, 12), random_psd(rng, 12)
  np.testing.assert_allclose(evaluation.sqrtm_psd(a), scipy.linalg.sqrtm(a),
                             rtol=1e-8, atol=1e-10)
  expected = np.trace(scipy.linalg.sqrtm(a @ b)).real
  assert evaluation.trace_sqrtm_product(a, b) == pytest.approx(expected,
                                                               rel=1e-9)
  assert evaluation.trace_sqrtm_product(b, a) == pytest.approx(expected,
                                                               rel=1e-9)
  # Rank-deficient covariances (fewer samples than features) too: the
  # limit of full-rank ones.
  low = random_psd(rng, 12, rank=5)
  expected = np.trace(scipy.linalg.sqrtm(a @ low)).real
  assert evaluation.trace_sqrtm_product(low, a) == pytest.approx(expected,
                                                                 rel=1e-6)


def test_frechet_distance_matches_the_scipy_formula():
  rng = np.random.default_rng(1)
  x = rng.normal(size=[300, 6]) @ rng.normal(size=[6, 6])
  y = rng.normal(1., 2., size=[200, 6])
  mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
  s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
  expected = (np.sum((mu_x - mu_y) ** 2) + np.trace(s_x + s_y)
              - 2 * np.trace(scipy.linalg.sqrtm(s_x @ s_y)).real)
  assert evaluation.frechet_distance(x, y) == pytest.approx(expected, rel=1e-9)


def test_per_class_recognised(test_digits):
  images, labels = test_digits
  right = evaluation.per_class_recognised(images, labels)
  assert list(right) == list(range(10))
  assert min(right.values()) >= 0.7 and np.mean(list(right.values())) >= 0.85
  wrong = evaluation.per_class_recognised(images, (labels + 1) % 10)
  assert max(wrong.values()) <= 0.05
  some = evaluation.per_class_recognised(images[labels < 3],
                                         labels[labels < 3])
  assert some == {label: right[label] for label in range(3)}


@pytest.mark.parametrize('pixels, reference, match', [
    (np.zeros([4, 28, 28]), None, r'28x28x1.*\(4, 28, 28\)'),
    (np.zeros([4, 32, 32, 1]), None, r'28x28x1'),
    (np.zeros([4, 28, 28, 3]), None, r'28x28x1'),
    (np.zeros([1, 28, 28, 1]), None, r'at least 2 samples; got 1'),
    (np.zeros([4, 28, 28, 1]), np.zeros([1, 28, 28, 1]),
     r'reference_pixels.*at least 2'),
    (np.zeros([4, 28, 28, 1]), np.zeros([4, 14, 14, 1]),
     r'reference_pixels must be 28x28x1'),
    (np.full([4, 28, 28, 1], 256), None, r'\[0, 255\]'),
    (np.full([4, 28, 28, 1], 1.5), None, r'outside \[0, 1\]'),
    (np.full([4, 28, 28, 1], np.nan), None, r'outside \[0, 1\]'),
])
def test_sample_scores_rejects_bad_images(pixels, reference, match):
  with pytest.raises(ValueError, match=match):
    evaluation.sample_scores(pixels, reference_pixels=reference)


def test_bad_labels_and_features_are_rejected(test_digits):
  images, labels = test_digits
  with pytest.raises(ValueError, match='labels must be 500 integers'):
    evaluation.per_class_recognised(images, labels[:10])
  with pytest.raises(ValueError, match='labels must be 500 integers'):
    evaluation.per_class_recognised(images, labels.astype(np.float32))
  with pytest.raises(ValueError, match=r'labels must be in \[0, 10\)'):
    evaluation.per_class_recognised(images, labels + 1)
  with pytest.raises(ValueError, match='28x28x1'):
    evaluation.per_class_recognised(images[..., 0], labels)
  with pytest.raises(ValueError, match='N >= 2'):
    evaluation.frechet_distance(np.zeros([1, 3]), np.zeros([5, 3]))
  with pytest.raises(ValueError, match='different widths'):
    evaluation.frechet_distance(np.zeros([5, 3]), np.zeros([5, 4]))


def test_weights_that_do_not_fit_are_rejected(tmp_path):
  path = tmp_path / 'weights.npz'
  np.savez(path, **{'conv1/0': np.zeros([3, 3, 1, 8])})
  with pytest.raises(ValueError, match='does not fit the digit classifier'):
    evaluation.load_digit_classifier(str(path))


@pytest.mark.parametrize('name', ['glow', 'glow_conditional'])
def test_epoch_logs_carry_the_scores_of_a_flows_samples(name):
  flow = registry.build(name, (28, 28, 1), width=4)
  logs = {'bits_per_dim': 8.}
  evaluation.SampleQuality(flow, 0.7, num_samples=20).on_epoch_end(0, logs)
  expected = {'sample_recognised', 'sample_classes', 'sample_frechet_distance',
              *(['sample_label_recognised'] if name != 'glow' else [])}
  assert set(logs) == {'bits_per_dim', *expected}
  assert 0. <= logs['sample_recognised'] <= 1.
  assert 1. <= logs['sample_classes'] <= 10.
  assert logs['sample_frechet_distance'] > 0.
  # The same draws each time: scores follow the weights, not the noise.
  again = evaluation.score_flow(flow, 0.7, num_samples=20)
  assert {f'sample_{key}': value for key, value in again.items()} == {
      key: logs[key] for key in expected}
