"""Sample quality of 28x28x1 digit images, scored by a small digit classifier.

Bits/dim says how well a flow models the data, not whether its samples look
like digits. As MNIST generative work does, a classifier trained on real
digits (`tfp_glow/digit_classifier.npz`, trained by
`benchmarks/digit_classifier.py` on the 4,500 `mnist_5k` training digits)
scores samples:

- recognised: the fraction of samples it labels with probability >= 0.9;
- classes: exp(entropy of the mean predicted class distribution);
- Frechet distance between its penultimate features of the samples and of
  real digits (FID with a digit classifier in place of Inception).
"""

import dataclasses
import functools
import importlib.resources
import pathlib

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_glow.samples import sample_pixels

__all__ = ['DIGIT_CLASSIFIER_WEIGHTS', 'DIGIT_DATASETS',
           'RECOGNISED_PROBABILITY', 'SampleQuality', 'SampleScores', 'build_digit_classifier', 'classify_digits',
           'digit_classifier', 'frechet_distance', 'load_digit_classifier',
           'per_class_recognised', 'sample_scores', 'score_flow', 'sqrtm_psd',
           'trace_sqrtm_product']

DIGIT_CLASSIFIER_WEIGHTS = 'digit_classifier.npz'  # In the tfp_glow package.
RECOGNISED_PROBABILITY = 0.9
IMAGE_SHAPE = (28, 28, 1)
# The data sets whose samples the digit classifier scores.
DIGIT_DATASETS = ('mnist', 'mnist_5k')
NUM_SCORED_SAMPLES = 500
NUM_CLASSES = 10
NUM_FEATURES = 128


def build_digit_classifier() -> tf_keras.Model:
  """The digit classifier's architecture, untrained.

  ```none
  [N, 28, 28, 1] in [0, 1]
    -> conv 3x3 32 relu -> max pool 2 -> conv 3x3 64 relu -> max pool 2
    -> conv 3x3 64 relu -> flatten (3 x 3 x 64) -> dropout 0.25
    -> dense 128 relu ('features') -> dropout 0.5 -> dense 10 ('logits')
  ```

  Returns:
    A model with outputs `{'logits': [N, 10], 'features': [N, 128]}`.
  """
  kwargs = {'dtype': 'float32'}
  images = tf_keras.Input(IMAGE_SHAPE, name='images', dtype='float32')
  x = tf_keras.layers.Conv2D(32, 3, activation='relu', name='conv1',
                             **kwargs)(images)
  x = tf_keras.layers.MaxPooling2D(name='pool1', **kwargs)(x)
  x = tf_keras.layers.Conv2D(64, 3, activation='relu', name='conv2',
                             **kwargs)(x)
  x = tf_keras.layers.MaxPooling2D(name='pool2', **kwargs)(x)
  x = tf_keras.layers.Conv2D(64, 3, activation='relu', name='conv3',
                             **kwargs)(x)
  x = tf_keras.layers.Flatten(name='flatten', **kwargs)(x)
  x = tf_keras.layers.Dropout(0.25, name='dropout1', **kwargs)(x)
  features = tf_keras.layers.Dense(NUM_FEATURES, activation='relu',
                                   name='features', **kwargs)(x)
  x = tf_keras.layers.Dropout(0.5, name='dropout2', **kwargs)(features)
  logits = tf_keras.layers.Dense(NUM_CLASSES, name='logits', **kwargs)(x)
  return tf_keras.Model(images, {'logits': logits, 'features': features},
                        name='digit_classifier')


def classifier_weights(model: tf_keras.Model) -> dict[str, np.ndarray]:
  """`model`'s weights by `layer/index`, as the weights file holds them."""
  return {f'{layer.name}/{index}': weight
          for layer in model.layers
          for index, weight in enumerate(layer.get_weights())}


def load_digit_classifier(path: str | None = None) -> tf_keras.Model:
  """`build_digit_classifier()` with the weights of the .npz at `path`.

  Default value of `path`: `None` (the shipped `tfp_glow/digit_classifier.npz`).

  Raises:
    ValueError: when the file's weights do not fit the architecture.
  """
  model = build_digit_classifier()
  source = (importlib.resources.files('tfp_glow') / DIGIT_CLASSIFIER_WEIGHTS
            if path is None else pathlib.Path(path))
  with source.open('rb') as file, np.load(file) as npz:
    stored = {name: npz[name] for name in npz.files}
  expected = classifier_weights(model)
  if stored.keys() != expected.keys() or any(
      stored[name].shape != weight.shape for name, weight in expected.items()):
    raise ValueError(f'{path or DIGIT_CLASSIFIER_WEIGHTS} does not fit the '
                     'digit classifier; retrain it with '
                     'benchmarks/digit_classifier.py.')
  for layer in model.layers:
    count = len(layer.weights)
    if count:
      layer.set_weights([stored[f'{layer.name}/{index}']
                         for index in range(count)])
  return model


@functools.cache
def digit_classifier() -> tf_keras.Model:
  """The shipped digit classifier, `load_digit_classifier()`, once a process.

  `digit_classifier()(images)` with float32 images [N, 28, 28, 1] in
  [0, 1] (pixels / 255) returns `{'logits': [N, 10], 'features': [N, 128]}`;
  probabilities are softmax(logits). `classify_digits` takes pixels.

  Raises:
    ValueError: when the weights file does not fit the architecture.
  """
  return load_digit_classifier()


def _images(pixels, name: str = 'pixels') -> np.ndarray:
  """float32 [N, 28, 28, 1] in [0, 1] of integer pixels (/ 255) or floats."""
  array = np.asarray(pixels)
  if array.ndim != 4 or array.shape[1:] != IMAGE_SHAPE:
    raise ValueError(f'{name} must be 28x28x1 digit images [N, 28, 28, 1]; '
                     f'got shape {array.shape}.')
  if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.integer) or
                                     np.issubdtype(array.dtype, np.floating)):
    raise ValueError(f'{name} must be integer pixels in [0, 255] or floats in '
                     f'[0, 1]; got dtype {array.dtype}.')
  if array.size and np.issubdtype(array.dtype, np.integer):
    if array.min() < 0 or array.max() > 255:
      raise ValueError(f'{name} must be integer pixels in [0, 255]; got '
                       f'values in [{array.min()}, {array.max()}].')
    return array.astype(np.float32) / 255.
  if array.size and not (np.all(np.isfinite(array)) and array.min() >= 0.
                         and array.max() <= 1.):
    raise ValueError(f'{name} must be float images in [0, 1] (or integer '
                     'pixels in [0, 255]); got values outside [0, 1].')
  return array.astype(np.float32)


def classify_digits(pixels, batch_size: int = 1000
                    ) -> tuple[np.ndarray, np.ndarray]:
  """The digit classifier's class probabilities and penultimate features.

  Args:
    pixels: [N, 28, 28, 1] integer pixels in [0, 255] (uint8 samples, say)
      or float images in [0, 1].
    batch_size: images per classifier call.

  Returns:
    `(probabilities, features)`: float64 arrays [N, 10] and [N, 128].

  Raises:
    ValueError: for images that are not 28x28x1 or out of range.
  """
  images = _images(pixels)
  model = digit_classifier()
  logits, features = [], []
  for start in range(0, len(images), batch_size):
    outputs = model(images[start:start + batch_size], training=False)
    logits.append(outputs['logits'].numpy())
    features.append(outputs['features'].numpy())
  if not logits:
    return np.zeros([0, NUM_CLASSES]), np.zeros([0, NUM_FEATURES])
  logits = np.concatenate(logits).astype(np.float64)
  logits -= logits.max(axis=-1, keepdims=True)
  probabilities = np.exp(logits)
  probabilities /= probabilities.sum(axis=-1, keepdims=True)
  return probabilities, np.concatenate(features).astype(np.float64)


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
  """The symmetric square root of a symmetric PSD matrix, by eigh.

  ```none
  S = V diag(w) V^T  ->  S^{1/2} = V diag(sqrt(max(w, 0))) V^T
  ```
  (eigenvalues below 0 are rounding error and clipped).
  """
  matrix = np.asarray(matrix, np.float64)
  eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
  return (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.))) @ eigenvectors.T


def trace_sqrtm_product(a: np.ndarray, b: np.ndarray) -> float:
  """Tr((A B)^{1/2}) of symmetric PSD A and B, without a general sqrtm.

  A B = A^{1/2} M A^{-1/2} with M = A^{1/2} B A^{1/2} (symmetric PSD), so
  A B is similar to M, has M's eigenvalues w >= 0, and

  ```none
  Tr((A B)^{1/2}) = Tr(M^{1/2}) = sum_i sqrt(w_i)
  ```

  (also for singular A, by continuity).
  """
  root = sqrtm_psd(a)
  product = root @ np.asarray(b, np.float64) @ root
  eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
  return float(np.sqrt(np.maximum(eigenvalues, 0.)).sum())


def _moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def _frechet(moments_a, moments_b) -> float:
  (mu_a, sigma_a), (mu_b, sigma_b) = moments_a, moments_b
  distance = (np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a)
              + np.trace(sigma_b) - 2 * trace_sqrtm_product(sigma_a, sigma_b))
  return max(float(distance), 0.)  # >= 0 but for rounding.


def frechet_distance(features_a, features_b) -> float:
  """Frechet distance of Gaussians fit to two sets of features [N, D].

  ```none
  d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})
  ```

  with means mu and (N - 1)-normalised covariances S, in float64.

  Raises:
    ValueError: for fewer than 2 rows, or sets of different widths.
  """
  features_a = np.asarray(features_a, np.float64)
  features_b = np.asarray(features_b, np.float64)
  for name, features in (('features_a', features_a),
                         ('features_b', features_b)):
    if features.ndim != 2 or len(features) < 2:
      raise ValueError(f'{name} must be [N, D] with N >= 2 samples; got shape '
                       f'{features.shape}.')
  if features_a.shape[1] != features_b.shape[1]:
    raise ValueError(f'features of different widths: {features_a.shape[1]} '
                     f'and {features_b.shape[1]}.')
  return _frechet(_moments(features_a), _moments(features_b))


@functools.cache
def _test_digit_moments() -> tuple[np.ndarray, np.ndarray]:
  """Feature mean and covariance of the 500 `mnist_5k` test digits."""
  from tfp_glow import data  # pylint: disable=import-outside-toplevel
  _, (test_images, _) = data.mnist_5k()
  return _moments(classify_digits(test_images)[1])


@dataclasses.dataclass(frozen=True)
class SampleScores:
  """Sample quality by the digit classifier.

  Attributes:
    recognised: fraction of samples whose top class has probability >= 0.9.
    classes: exp(H(mean_n p(y | x_n))) in [1, 10]: 10 when the classes are
      drawn equally, 1 when all samples are one digit.
    frechet_distance: Frechet distance between the classifier's penultimate
      features of the samples and of the reference digits (0 is best).
  """
  recognised: float
  classes: float
  frechet_distance: float


def sample_scores(pixels, reference_pixels=None) -> SampleScores:
  """Scores 28x28x1 digit samples: recognised, classes, Frechet distance.

  ```none
  recognised = mean_n [max_y p(y | x_n) >= 0.9]
  classes    = exp(-sum_y q_y log q_y),  q = mean_n p(. | x_n)
  frechet    = ||mu_s - mu_r||^2 + Tr(S_s + S_r - 2 (S_s S_r)^{1/2})
  ```

  Args:
    pixels: [N, 28, 28, 1] samples, N >= 2: integer pixels in [0, 255]
      (uint8, as `tfp_glow.samples.sample_pixels` gives) or floats in [0, 1].
    reference_pixels: real digits to compare with, as `pixels`.
      Default value: `None` (the 500 `mnist_5k` test digits).

  Returns:
    `SampleScores`.

  Raises:
    ValueError: for images that are not 28x28x1, out of range, or fewer
      than 2.
  """
  probabilities, features = _checked_predictions(pixels, 'pixels')
  if reference_pixels is None:
    reference = _test_digit_moments()
  else:
    reference = _moments(_checked_predictions(reference_pixels,
                                              'reference_pixels')[1])
  mean = probabilities.mean(axis=0)
  entropy = -np.sum(mean * np.log(np.maximum(mean, 1e-300)))
  return SampleScores(
      recognised=float(np.mean(probabilities.max(axis=-1)
                               >= RECOGNISED_PROBABILITY)),
      classes=float(np.exp(entropy)),
      frechet_distance=_frechet(_moments(features), reference))


def _checked_predictions(pixels, name: str):
  images = _images(pixels, name)
  if len(images) < 2:
    raise ValueError(f'{name}: a Frechet distance needs at least 2 samples; '
                     f'got {len(images)}.')
  return classify_digits(images)


def per_class_recognised(pixels, labels) -> dict[int, float]:
  """For a class-conditional flow: per label y, the fraction of its samples
  that the classifier labels y with probability >= 0.9.

  ```none
  recognised_y = mean_{n: label_n = y} [p(y | x_n) >= 0.9]
  ```

  Args:
    pixels: [N, 28, 28, 1] samples, as `sample_scores` takes.
    labels: [N] integer labels in [0, 10) the samples were drawn with.

  Returns:
    `{label: fraction}` for every label in `labels`, in increasing order.

  Raises:
    ValueError: for images that are not 28x28x1, or labels that are not N
      integers in [0, 10).
  """
  images = _images(pixels)
  labels = np.asarray(labels)
  if labels.shape != (len(images),) or not (
      np.issubdtype(labels.dtype, np.integer)):
    raise ValueError(f'labels must be {len(images)} integers, one per image; '
                     f'got {labels.dtype} of shape {labels.shape}.')
  if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
    raise ValueError(f'labels must be in [0, {NUM_CLASSES}); got values in '
                     f'[{labels.min()}, {labels.max()}].')
  probabilities, _ = classify_digits(images)
  hit = probabilities[np.arange(len(labels)), labels] >= RECOGNISED_PROBABILITY
  return {int(label): float(hit[labels == label].mean())
          for label in np.unique(labels)}


def score_flow(flow, temperature: float, num_samples: int = NUM_SCORED_SAMPLES,
               seed=(0, 0)) -> dict[str, float]:
  """`sample_scores` of `num_samples` samples of a 28x28x1 digit flow.

  A class-conditional flow draws labels 0, 1, ..., 9, 0, ... and adds
  `label_recognised`: the fraction recognised as their own label.

  Returns:
    `{'recognised', 'classes', 'frechet_distance'[, 'label_recognised']}`.
  """
  labels = (tf.range(num_samples) % flow.num_classes if flow.num_classes
            else None)
  pixels = sample_pixels(flow, num_samples, temperature, tf.constant(seed),
                         labels).numpy()
  scores = dataclasses.asdict(sample_scores(pixels))
  if labels is not None:
    by_label = per_class_recognised(pixels, labels.numpy())
    scores['label_recognised'] = float(np.mean(list(by_label.values())))
  return scores


class SampleQuality(tf_keras.callbacks.Callback):
  """Adds `score_flow`'s scores to each epoch's logs as `sample_<score>`.

  Placed before `TensorBoard` and `CSVLogger`, it puts the scores of the
  same draws every epoch beside the bits/dim in TensorBoard and
  history.csv.
  """

  def __init__(self, flow, temperature: float,
               num_samples: int = NUM_SCORED_SAMPLES):
    super().__init__()
    self._flow = flow
    self._temperature = temperature
    self._num_samples = num_samples
    # Built here, outside `fit`'s strategy scope: there its variables would
    # be distributed, and a multi-worker strategy would wait for the other
    # workers, which run no such callback, to create them too.
    digit_classifier()

  def on_epoch_end(self, epoch, logs=None):
    if logs is not None:
      scores = score_flow(self._flow, self._temperature, self._num_samples)
      logs.update({f'sample_{name}': value for name, value in scores.items()})
