"""The package's model registry (`tfp_glow.registry.MODELS`), as tests use it.

Every property that holds for every model (round trips and log-dets, TFP and
Keras idioms, training stability, export) is tested by looping over `MODELS`:
a new model or variant joins `tfp_glow.registry` and inherits every check.

`build(name, image_shape, width, dtype, **options)` makes a small flow: the
entry at its shallowest depth (one step per Glow level, one residual block
or gated convolution), `width` channels wide, since what the checks test
depends on neither. A class-conditional model needs labels in every call:
`bijector_kwargs(name, batch_shape)` gives the kwargs each model needs for a
batch (none for unconditional ones), so that one loop serves all.
"""

import numpy as np
import tensorflow as tf

from tfp_glow.registry import MODELS

NUM_CLASSES = 10

CONDITIONAL = {name for name, model in MODELS.items() if model.conditional}


def one_per(key) -> list[str]:
  """The first registry name for each distinct `key(model_config)`: a check
  that depends only on what `key` tells apart runs once per kind."""
  firsts = {}
  for name, model in MODELS.items():
    firsts.setdefault(key(model), name)
  return sorted(firsts.values())


# One model per flow family (Glow, RealNVP, SimpleFlow, ...).
FAMILIES = one_per(lambda model: model.flow)
# One model per code path through the export: the family's ops, labels
# (the signatures' labels input) and BatchNorms (their moving averages).
PATHS = one_per(lambda model: (model.flow, model.conditional,
                               bool(model.variant.get('batch_norm'))))
# One model per code path through `FlowModel.train_step`, which differs by
# labels (the classification loss) and BatchNorms (batch statistics) only.
FIT_PATHS = one_per(lambda model: (model.conditional,
                                   bool(model.variant.get('batch_norm'))))

def build(name: str, image_shape=(8, 8, 1), width: int = 8,
          dtype: tf.DType = tf.float32, **options):
  """The registry's flow `name` on `image_shape` images, small."""
  if name in CONDITIONAL:
    options.setdefault('num_classes', NUM_CLASSES)
  return MODELS[name].small(image_shape, width, dtype=dtype, **options)


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
