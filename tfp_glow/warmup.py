"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays the `PredictionLog`s of that TFRecord file (at most
1,000) when it loads a version, so the first user requests do not pay for
loading kernels and warming the graphs. The protos come from the
`tensorflow-serving-api` package, the optional extra `tfp_glow[serving]`.
"""

import os

import numpy as np
import tensorflow as tf

__all__ = ['WARMUP_FILE', 'WARMUP_ROWS', 'example_inputs',
           'write_warmup_requests']

WARMUP_FILE = os.path.join('assets.extra', 'tf_serving_warmup_requests')
WARMUP_ROWS = 4  # Rows (images, samples or latents) in each request.
WARMUP_TEMPERATURE = 0.7


def example_inputs(signatures: dict, rows: int = WARMUP_ROWS) -> dict:
  """One request's inputs for each of the export's signatures.

  Images are mid-grey, latents zero, labels 0, 1, ..., and `sample` draws
  `rows` samples at temperature 0.7 from the seeds [0, 0], [0, 1], ....

  Args:
    signatures: `export.serving_signatures`' concrete functions by name.
    rows: Python `int` >= 1, the batch of each request.

  Returns:
    `{signature name: {input name: numpy array}}`.
  """
  if rows < 1:
    raise ValueError(f'warmup requests need rows >= 1, got {rows}.')
  inputs = {}
  for name, function in signatures.items():
    specs = tf.nest.flatten(function.structured_input_signature)
    inputs[name] = {spec.name: _example(spec.name, spec, rows)
                    for spec in specs}
  return inputs


def _example(key: str, spec: tf.TensorSpec, rows: int) -> np.ndarray:
  """A value of `spec` with `rows` rows."""
  dtype = spec.dtype.as_numpy_dtype
  index = np.arange(rows)
  if key == 'seed':
    return np.stack([np.zeros_like(index), index], axis=1).astype(dtype)
  if key == 'labels':
    return index.astype(dtype)
  fill = {'images': 128, 'temperature': WARMUP_TEMPERATURE}.get(key, 0)
  return np.full([rows, *spec.shape[1:]], fill, dtype)


def write_warmup_requests(version_path: str, inputs: dict,
                          model_name: str) -> str:
  """Writes one `PredictRequest` per signature as TF Serving's warmup file.

  Args:
    version_path: the SavedModel's directory, `<base>/<version>`.
    inputs: `{signature name: {input name: numpy array}}`, as
      `example_inputs` returns.
    model_name: the model's name in TF Serving (its base directory's).

  Returns:
    The path of the written file.

  Raises:
    ImportError: without the `tensorflow-serving-api` package.
  """
  try:
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
  except ImportError as error:
    raise ImportError(
        'Warmup requests need the tensorflow-serving-api package: '
        'pip install "tfp_glow[serving]" (or export with warmup_rows=0).'
    ) from error
  path = os.path.join(version_path, WARMUP_FILE)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as writer:
    for signature_name, values in inputs.items():
      request = predict_pb2.PredictRequest()
      request.model_spec.name = model_name
      request.model_spec.signature_name = signature_name
      for key, value in values.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
      log = prediction_log_pb2.PredictionLog(
          predict_log=prediction_log_pb2.PredictLog(request=request))
      writer.write(log.SerializeToString())
  return path
