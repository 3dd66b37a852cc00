"""The package's model registry (`tfp_glow.registry.MODELS`), as tests use it.

Every property that holds for every model (round trips and log-dets, TFP and
Keras idioms, training stability, export) is tested by looping over `MODELS`:
a new model or variant joins `tfp_glow.registry` and inherits every check.

`build(name, data_shape, width, dtype, **options)` makes a small flow: the
entry at its shallowest depth (one step per Glow level, one residual block
or gated convolution, two vector couplings), `width` channels wide, since
what the checks test depends on neither. `data(name, batch_shape)` is a
batch of its events: [8, 8, 1] images or [4] vectors. A class-conditional
model needs labels in every call: `bijector_kwargs(name, batch_shape)` gives
the kwargs each model needs for a batch (none for unconditional ones), so
that one loop serves all. Checks of what only images have (pixel ranges,
image shapes, 8-bit pixels, Keras training) loop over `IMAGES`.
"""

import numpy as np
import tensorflow as tf

from tfp_glow.registry import IMAGE_MODELS, MODELS

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8, 1)
VECTOR_SHAPE = (4,)   # 4 entries: halves and alternating masks differ.
IMAGES = sorted(IMAGE_MODELS)

CONDITIONAL = {name for name, model in MODELS.items() if model.conditional}


def one_per(key) -> list[str]:
  """The first registry name for each distinct `key(model_config)`: a check
  that depends only on what `key` tells apart runs once per kind."""
  firsts = {}
  for name, model in MODELS.items():
    firsts.setdefault(key(model), name)
  return sorted(firsts.values())


def batch_norm(model) -> bool:
  """Whether the entry's flow has BatchNorms, at its flags' defaults."""
  return bool({**model.arguments(), **model.variant}.get('batch_norm'))


# One model per flow family (Glow, RealNVP, SimpleFlow, ...).
FAMILIES = one_per(lambda model: model.flow)
# One model per code path through the export: the family's ops, labels
# (the signatures' labels input) and BatchNorms (their moving averages).
PATHS = one_per(lambda model: (model.flow, model.conditional,
                               batch_norm(model)))
# One model per code path through `FlowModel.train_step`, which differs by
# labels (the classification loss) and BatchNorms (batch statistics) only.
FIT_PATHS = one_per(lambda model: (model.conditional, batch_norm(model)))

def event_shape(name: str) -> tuple:
  """The test events of model `name`: images or vectors."""
  return IMAGE_SHAPE if name in IMAGE_MODELS else VECTOR_SHAPE


def build(name: str, data_shape=None, width: int = 8,
          dtype: tf.DType = tf.float32, **options):
  """The registry's flow `name` on `data_shape` events (by default
  `event_shape(name)`), small."""
  if name in CONDITIONAL:
    options.setdefault('num_classes', NUM_CLASSES)
  return MODELS[name].small(data_shape or event_shape(name),
                            width, dtype=dtype, **options)


def data(name: str, batch_shape=(4,), seed: int = 0,
         dtype: tf.DType = tf.float32) -> tf.Tensor:
  """A batch of model `name`'s events: images in [0.1, 0.9] (away from the
  logit's edges), or standard normal vectors."""
  shape = [*batch_shape, *event_shape(name)]
  if name in IMAGE_MODELS:
    return tf.random.stateless_uniform(shape, [seed, 1], 0.1, 0.9,
                                       dtype=dtype)
  return tf.random.stateless_normal(shape, [seed, 1], dtype=dtype)


def bijector_kwargs(name: str, batch_shape=(), labels=None) -> dict:
  """The bijector kwargs model `name` needs for a batch of `batch_shape`.

  A class-conditional model gets `labels` (the batch's own), or else labels
  0, 1, 2, ... (mod NUM_CLASSES) in `batch_shape`; the others need none.
  """
  if name not in CONDITIONAL:
    return {}
  if labels is None:
    size = int(np.prod(batch_shape))
    labels = tf.reshape(tf.range(size) % NUM_CLASSES, batch_shape)
  return {'labels': labels}
