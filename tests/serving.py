"""What TF Serving's Predict does with a PredictRequest, for the tests."""

import os
import pathlib

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import predict_pb2


def signature_defs(export_path):
  """The SignatureDefs TF Serving reads from the export's saved_model.pb."""
  saved_model = saved_model_pb2.SavedModel.FromString(
      pathlib.Path(export_path, 'saved_model.pb').read_bytes())
  return saved_model.meta_graphs[0].signature_def


def predict_response(export_path, request) -> predict_pb2.PredictResponse:
  """Checks the request's input names against the signature def, turns its
  TensorProtos into tensors (tf.make_ndarray), runs the signature and
  answers the outputs as TensorProtos."""
  name = request.model_spec.signature_name or 'serving_default'
  signature = signature_defs(export_path)[name]
  assert set(request.inputs) == set(signature.inputs)
  outputs = tf.saved_model.load(export_path).signatures[name](
      **{key: tf.constant(tf.make_ndarray(proto))
         for key, proto in request.inputs.items()})
  response = predict_pb2.PredictResponse(model_spec=request.model_spec)
  for key, value in outputs.items():
    response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
  assert set(response.outputs) == set(signature.outputs)
  return response


def predict(export_path, request) -> dict:
  """`predict_response`'s outputs as numpy arrays."""
  response = predict_response(export_path, request)
  return {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()}


class Stub:
  """A PredictionServiceStub answering from exports under `model_base_path`
  (`<base>/<model name>/<version>/`, the newest version), as the server."""

  def __init__(self, model_base_path):
    self._base = model_base_path

  def Predict(self, request, timeout=None):  # gRPC's name
    del timeout
    model = os.path.join(self._base, request.model_spec.name)
    version = max(int(name) for name in os.listdir(model) if name.isdigit())
    return predict_response(os.path.join(model, str(version)), request)
