"""SavedModel export: loads without tfp_glow/TFP, core ops only, serves safely."""

import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

import tfp_glow
from tests import registry
from tests.serving import predict, signature_defs
from tfp_glow.samples import to_pixels
from tfp_glow.warmup import WARMUP_FILE

# Its module fixtures train or export models: one xdist worker runs the file
# (setup.cfg's --dist loadgroup), so they are built once.
pytestmark = pytest.mark.xdist_group('test_export')

TOLERANCE = 1e-5
# The `saved_model_cli` script, found without relying on PATH.
SAVED_MODEL_CLI = [sys.executable, '-m', 'tensorflow.python.tools.saved_model_cli']


@pytest.fixture(scope='module')
def trained(digits):
  """A small Glow trained for a few steps on the digits, and the pixels."""
  tf_keras.utils.set_random_seed(0)
  pixels = digits.numpy().astype(np.uint8)
  model = tfp_glow.FlowModel(registry.build('glow', width=16,
                                            num_steps_per_level=2))
  model.compile(tf_keras.optimizers.Adam(2e-3))
  model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(64), epochs=1,
            steps_per_epoch=10, verbose=0)
  return model, pixels


@pytest.fixture(scope='module')
def export_path(trained, tmp_path_factory):
  return tfp_glow.export_saved_model(
      trained[0], str(tmp_path_factory.mktemp('export') / 'glow'))


def in_process_log_prob(model, pixels):
  images = (tf.constant(pixels, tf.float32) + 0.5) / 256
  return model.distribution.log_prob(images).numpy()


_LOADER = textwrap.dedent('''
    import sys
    for name in ('tfp_glow', 'tensorflow_probability', 'tf_keras'):
      sys.modules[name] = None          # any import of them now fails
    import json

    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework import op_def_registry

    export, batches, out = sys.argv[1:]
    loaded = tf.saved_model.load(export)
    results = {'signatures': sorted(loaded.signatures)}
    for name, pixels in np.load(batches).items():
      images = tf.constant(pixels)
      results[name] = loaded.signatures['serving_default'](images=images)
      latents = loaded.signatures['encode'](images=images)['latents']
      results[name]['latents'] = latents
      results[name]['decoded'] = loaded.signatures['decode'](latents=latents)
    sample = loaded.signatures['sample']
    rows = {'temperature': tf.constant([0.7, 0.7, 1.]),
            'seed': tf.constant([[1, 2], [1, 3], [1, 2]])}
    results['sample'] = sample(**rows)
    results['sample_again'] = sample(**rows)

    from tensorflow.core.protobuf import saved_model_pb2
    proto = saved_model_pb2.SavedModel()
    with open(export + '/saved_model.pb', 'rb') as file:
      proto.ParseFromString(file.read())
    graph = proto.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
      ops |= {node.op for node in function.node_def}
    results['ops'] = sorted(ops)
    results['unregistered'] = sorted(
        op for op in ops if op_def_registry.get(op) is None)
    results['modules'] = sorted(
        name for name in ('tfp_glow', 'tensorflow_probability', 'tf_keras')
        if sys.modules.get(name) is not None)

    def plain(value):
      if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
      return value.numpy().tolist() if hasattr(value, 'numpy') else value
    with open(out, 'w') as file:
      json.dump(plain(results), file)
''')


@pytest.fixture(scope='module')
def served(trained, export_path, tmp_path_factory):
  """The export run in a fresh process where tfp_glow and TFP can't import."""
  _, pixels = trained
  folder = tmp_path_factory.mktemp('served')
  np.savez(folder / 'batches.npz', one=pixels[:1], many=pixels[:64])
  (folder / 'loader.py').write_text(_LOADER)
  result = subprocess.run(
      [sys.executable, str(folder / 'loader.py'), export_path,
       str(folder / 'batches.npz'), str(folder / 'out.json')],
      check=False, capture_output=True, text=True, timeout=600,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads((folder / 'out.json').read_text())


def test_the_export_loads_without_tfp_glow_or_tfp(served):
  assert served['modules'] == []
  assert served['signatures'] == sorted(tfp_glow.export.SIGNATURES)


@pytest.mark.parametrize('batch', ['one', 'many'])
def test_log_prob_matches_the_model(served, trained, batch):
  model, pixels = trained
  count = {'one': 1, 'many': 64}[batch]
  expected = in_process_log_prob(model, pixels[:count])
  assert len(served[batch]['log_prob']) == count
  # 1e-5 relative, or 1e-5 nats per dimension where log p is near 0 (it is
  # a float32 sum of terms of ~1e2 nats; the loaded graph is optimised).
  np.testing.assert_allclose(served[batch]['log_prob'], expected,
                             rtol=TOLERANCE, atol=64 * TOLERANCE)
  np.testing.assert_allclose(
      served[batch]['bits_per_dim'],
      tfp_glow.bits_per_dim(expected, [8, 8, 1]), atol=TOLERANCE)


def test_encode_and_decode(served, trained):
  model, pixels = trained
  images = (tf.constant(pixels[:64], tf.float32) + 0.5) / 256
  np.testing.assert_allclose(served['many']['latents'],
                             model.flow.encode(images), atol=TOLERANCE)
  np.testing.assert_array_equal(served['many']['decoded']['images'],
                                pixels[:64])


def test_sample(served):
  sample = served['sample']
  assert np.asarray(sample['images']).shape == (3, 8, 8, 1)
  assert np.asarray(sample['continuous']).shape == (3, 8, 8, 1)
  assert sample == served['sample_again']            # the seed fixes it
  continuous = np.asarray(sample['continuous'])
  assert not np.allclose(continuous[0], continuous[1])  # seeds differ
  pixels = np.asarray(sample['images'])
  assert pixels.min() >= 0 and pixels.max() <= 255


def test_only_core_tensorflow_ops(served):
  assert served['unregistered'] == []
  assert not {'PyFunc', 'EagerPyFunc', 'PyFuncStateless'} & set(served['ops'])
  assert {'Conv2D', 'MatrixTriangularSolve'} & set(served['ops'])


def test_saved_model_cli_shows_and_runs(export_path, trained, tmp_path):
  show = subprocess.run([*SAVED_MODEL_CLI, 'show', '--dir', export_path,
                         '--all'], check=False, capture_output=True,
                        text=True, timeout=300)
  assert show.returncode == 0, show.stderr
  for name in tfp_glow.export.SIGNATURES:
    assert f"signature_def['{name}']" in show.stdout
  assert 'dtype: DT_UINT8\n        shape: (-1, 8, 8, 1)\n        name: ' \
      'serving_default_images:0' in show.stdout
  assert 'shape: (-1, 64)' in show.stdout              # latents
  np.save(tmp_path / 'images.npy', trained[1][:2])
  run = subprocess.run(
      [*SAVED_MODEL_CLI, 'run', '--dir', export_path, '--tag_set', 'serve',
       '--signature_def', 'serving_default', '--inputs',
       f'images={tmp_path}/images.npy'],
      check=False, capture_output=True, text=True, timeout=300)
  assert run.returncode == 0, run.stderr
  assert 'bits_per_dim' in run.stdout and 'log_prob' in run.stdout


def test_concurrent_calls_match_sequential_calls(export_path, trained):
  _, pixels = trained
  serve = tf.saved_model.load(export_path).signatures['serving_default']
  batches = [tf.constant(pixels[i * 8:(i + 1) * 8]) for i in range(8)]
  sequential = [serve(images=b)['log_prob'].numpy() for b in batches]
  concurrent = [None] * 8

  def call(index):
    concurrent[index] = serve(images=batches[index])['log_prob'].numpy()

  threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  for mine, theirs in zip(concurrent, sequential):
    np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize('images, message', [
    (tf.zeros([2, 8, 8, 1], tf.float32), 'expected to be a uint8 tensor'),
    (tf.zeros([2, 4, 4, 1], tf.uint8),
     r'images \[2,4,4,1\] is not compatible with expected shape \[\?,8,8,1\]'),
    (tf.zeros([8, 8, 1], tf.uint8),
     r'images \[8,8,1\] is not compatible with expected shape \[\?,8,8,1\]'),
])
def test_bad_input_is_refused_and_serving_goes_on(export_path, images,
                                                  message):
  serve = tf.saved_model.load(export_path).signatures['serving_default']
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    serve(images=images)
  assert serve(images=tf.zeros([1, 8, 8, 1], tf.uint8))['log_prob'].shape == [1]


def test_sample_checks_its_arguments(export_path):
  sample = tf.saved_model.load(export_path).signatures['sample']
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='temperature must be > 0'):
    sample(temperature=tf.constant([1., 0.]), seed=tf.constant([[1, 2]] * 2))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='seed must hold one pair of integers per temperature'):
    sample(temperature=tf.constant([1.]), seed=tf.constant([[1, 2]] * 2))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'seed \[1,3\] is not compatible with expected '
                     r'shape \[\?,2\]'):
    sample(temperature=tf.constant([1.]), seed=tf.constant([[1, 2, 3]]))


def test_merged_sample_requests_keep_each_requests_rows(export_path):
  """TF Serving's batching concatenates requests along the rows: each
  request's samples come back unchanged (up to float32 rounding, which
  depends on the batch size: a pixel may move by one value)."""
  sample = tf.saved_model.load(export_path).signatures['sample']
  first = {'temperature': tf.constant([0.7, 1.]),
           'seed': tf.constant([[1, 2], [3, 4]])}
  second = {'temperature': tf.constant([0.5]), 'seed': tf.constant([[5, 6]])}
  merged = sample(**{key: tf.concat([first[key], second[key]], 0)
                     for key in first})
  alone = {key: tf.concat([sample(**first)[key], sample(**second)[key]], 0)
           for key in merged}
  np.testing.assert_allclose(merged['continuous'], alone['continuous'],
                             atol=1e-5)
  np.testing.assert_allclose(tf.cast(merged['images'], tf.int32),
                             tf.cast(alone['images'], tf.int32), atol=1)


def test_versions_are_never_overwritten(trained, tmp_path):
  model, _ = trained
  base = str(tmp_path / 'glow')
  assert tfp_glow.export_saved_model(model.flow, base).endswith('/glow/1')
  assert tfp_glow.export_saved_model(model, base, version=7).endswith('/7')
  assert tfp_glow.export_saved_model(model, base).endswith('/8')
  before = sorted(os.listdir(os.path.join(base, '7')))
  with pytest.raises(FileExistsError, match='7 exists; exports are never'):
    tfp_glow.export_saved_model(model, base, version=7)
  assert sorted(os.listdir(os.path.join(base, '7'))) == before
  with pytest.raises(ValueError, match='version must be an integer >= 1'):
    tfp_glow.export_saved_model(model, base, version=0)
  with pytest.raises(TypeError, match='needs a FlowModel or a Glow'):
    tfp_glow.export_saved_model(model.distribution, base)


@pytest.mark.parametrize('name', registry.PATHS)
def test_every_kind_of_flow_exports_with_all_its_weights(name, tmp_path):
  """One model per path through the export (family, labels, BatchNorms):
  served log-likelihoods are the in-process ones, every weight moved off its
  initial value first (the networks are built while tracing)."""
  flow = registry.build(name, width=4)
  dist = tfp_glow.flow_distribution(flow)
  if name in registry.IMAGES:
    inputs = {'images': np.random.default_rng(0).integers(
        0, 256, [3, 8, 8, 1], np.uint8)}
    data = (inputs['images'].astype(np.float32) + 0.5) / 256
  else:  # Vectors are served as they are.
    data = registry.data(name, [3]).numpy()
    inputs = {'values': data}
  kwargs = registry.bijector_kwargs(name, [3])
  with tfp_glow.data_dependent_init():
    dist.log_prob(data, bijector_kwargs=kwargs)
  for variable in flow.trainable_variables:
    variable.assign_add(tf.random.normal(variable.shape, stddev=0.02))
  serve = tf.saved_model.load(tfp_glow.export_saved_model(
      flow, str(tmp_path / 'flow'))).signatures['serving_default']
  np.testing.assert_allclose(
      serve(**inputs, **kwargs)['log_prob'],
      dist.log_prob(data, bijector_kwargs=kwargs), rtol=TOLERANCE)


def test_a_vector_flow_serves_values_through_all_four_signatures(tmp_path):
  """float values [batch, D] in and out; its warmup requests replay."""
  flow = registry.build('realnvp_vector')
  dist = tfp_glow.flow_distribution(flow)
  values = registry.data('realnvp_vector', [5])
  with tfp_glow.data_dependent_init():
    dist.log_prob(tf.identity(values))  # The cache keeps no stale log-dets.
  for variable in flow.trainable_variables:
    variable.assign_add(tf.random.normal(variable.shape, stddev=0.05))
  path = tfp_glow.export_saved_model(flow, str(tmp_path / 'moons'))
  defs = signature_defs(path)
  assert set(defs['serving_default'].inputs) == {'values'}
  assert set(defs['serving_default'].outputs) == {'log_prob'}
  assert set(defs['decode'].outputs) == {'values'}
  served = tf.saved_model.load(path).signatures
  np.testing.assert_allclose(served['serving_default'](values=values)[
      'log_prob'], dist.log_prob(values), rtol=TOLERANCE)
  latents = served['encode'](values=values)['latents']
  np.testing.assert_allclose(latents, flow.encode(values), atol=TOLERANCE)
  np.testing.assert_allclose(served['decode'](latents=latents)['values'],
                             values, atol=TOLERANCE)
  seed = tf.constant([[1, 2], [3, 4]])
  samples = served['sample'](temperature=tf.constant([1., 0.5]), seed=seed)
  noise = tf.stack([tf.random.stateless_normal([4], row) for row in seed])
  np.testing.assert_allclose(
      samples['values'], flow.decode(noise * [[1.], [0.5]]), atol=TOLERANCE)
  for record in tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)):
    request = prediction_log_pb2.PredictionLog.FromString(
        record.numpy()).predict_log.request
    assert all(np.all(np.isfinite(value))
               for value in predict(path, request).values())


def test_a_conditional_flow_serves_with_labels(tmp_path):
  """Every signature takes labels; log-likelihoods equal the in-process ones."""
  flow = registry.build('glow_conditional')
  dist = tfp_glow.flow_distribution(flow)
  pixels = np.random.default_rng(0).integers(0, 256, [3, 8, 8, 1], np.uint8)
  images = (pixels.astype(np.float32) + 0.5) / 256
  labels = tf.constant([1, 5, 7])
  with tfp_glow.data_dependent_init():
    dist.log_prob(images, bijector_kwargs={'labels': labels})
  for variable in flow.trainable_variables:  # The label must matter.
    variable.assign_add(tf.random.normal(variable.shape, stddev=0.05))
  loaded = tf.saved_model.load(
      tfp_glow.export_saved_model(flow, str(tmp_path / 'flow')))
  signatures = loaded.signatures
  served = signatures['serving_default'](images=tf.constant(pixels),
                                         labels=labels)['log_prob']
  np.testing.assert_allclose(
      served, dist.log_prob(images, bijector_kwargs={'labels': labels}),
      rtol=TOLERANCE)
  assert not np.allclose(served, signatures['serving_default'](
      images=tf.constant(pixels), labels=labels + 1)['log_prob'])
  latents = signatures['encode'](images=tf.constant(pixels),
                                 labels=labels)['latents']
  np.testing.assert_allclose(latents, flow.encode(images, labels=labels),
                             atol=TOLERANCE)
  np.testing.assert_array_equal(
      signatures['decode'](latents=latents, labels=labels)['images'], pixels)
  sample = signatures['sample'](temperature=tf.ones([3]),
                                seed=tf.constant([[1, 2]] * 3), labels=labels)
  assert sample['images'].shape == [3, 8, 8, 1]
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'one label in \[0, 10\) per image'):
    signatures['serving_default'](images=tf.constant(pixels),
                                  labels=tf.constant([1, 2, 10]))


@pytest.mark.parametrize('name', ['glow', 'glow_conditional'])
def test_a_variational_run_serves_its_bound_row_by_row(name, tmp_path):
  """serving_default adds the importance-weighted bound of the model's
  dequantizer; each row's is the in-process bound of that row alone."""
  flow = registry.build(name)
  dequantizer = tfp_glow.VariationalDequantizer(flow.image_shape,
                                                num_couplings=2,
                                                hidden_channels=4)
  model = tfp_glow.FlowModel(flow, dequantizer=dequantizer)
  pixels = np.random.default_rng(0).integers(0, 256, [3, 8, 8, 1], np.uint8)
  labels = tf.constant([1, 5, 7])
  conditioning = {'labels': labels} if flow.num_classes else {}
  with tfp_glow.data_dependent_init():
    model.distribution.log_prob((pixels + 0.5) / 256,
                                bijector_kwargs=conditioning)
  dequantizer.dequantize(pixels)  # Builds its networks.
  for variable in dequantizer.trainable_variables:  # q must matter.
    variable.assign_add(tf.random.normal(variable.shape, stddev=0.1, seed=1))
  serve = tf.saved_model.load(tfp_glow.export_saved_model(
      model, str(tmp_path / 'flow'))).signatures['serving_default']
  served = serve(images=tf.constant(pixels), **conditioning)
  bounds = [tfp_glow.log_likelihood_bound(
      model.distribution, pixels[i:i + 1], dequantizer,
      tfp_glow.dequantization.BOUND_SAMPLES, seed=[0, 0],
      labels=labels[i:i + 1] if flow.num_classes else None)[0]
      for i in range(3)]
  np.testing.assert_allclose(served['log_likelihood_bound'], bounds,
                             rtol=TOLERANCE)
  np.testing.assert_allclose(
      served['bound_bits_per_dim'],
      tfp_glow.bits_per_dim(tf.stack(bounds), flow.image_shape))
  alone = serve(images=tf.constant(pixels[1:2]),
                **{key: value[1:2] for key, value in conditioning.items()})
  np.testing.assert_allclose(alone['log_likelihood_bound'],
                             served['log_likelihood_bound'][1:2],
                             rtol=TOLERANCE)


def test_a_dequantizer_is_refused_for_a_vector_flow():
  with pytest.raises(ValueError, match='image flows only'):
    tfp_glow.export.serving_signatures(
        registry.build('realnvp_vector'), dequantizer=(
            tfp_glow.VariationalDequantizer((2, 2, 1))))


def test_batch_norm_serves_its_moving_averages(tmp_path):
  """Exported log-likelihoods are the in-process inference-mode ones."""
  flow = registry.build('realnvp', width=4, num_scales=1)
  dist = tfp_glow.flow_distribution(flow)
  rng = np.random.default_rng(0)
  for high in (0.5, 1.):  # Two training batches move the averages.
    dist.log_prob(rng.uniform(0., high, [8, 8, 8, 1]).astype(np.float32),
                  bijector_kwargs={'training': True})
  pixels = rng.integers(0, 256, [4, 8, 8, 1], np.uint8)
  images = tf.constant((pixels + 0.5) / 256, tf.float32)
  served = tf.saved_model.load(tfp_glow.export_saved_model(
      flow, str(tmp_path / 'flow'))).signatures['serving_default'](
          images=tf.constant(pixels))['log_prob']
  np.testing.assert_allclose(served, dist.log_prob(images), rtol=TOLERANCE)
  assert not np.allclose(served, dist.log_prob(
      tf.identity(images), bijector_kwargs={'training': True}), rtol=1e-2)


# TF Serving's protocol: PredictRequest -> signature -> PredictResponse.


def in_process(model, name, inputs):
  """The outputs `name` should answer for `inputs`, from the model itself."""
  flow = model.flow
  if name == 'decode':
    return {'images': to_pixels(flow.decode(inputs['latents']))}
  if name == 'sample':
    noise = tf.stack([tf.random.stateless_normal([sum(flow.level_sizes)], seed)
                      for seed in inputs['seed']])
    continuous = flow.decode(inputs['temperature'][:, None] * noise)
    return {'images': to_pixels(continuous),
            'continuous': continuous}
  images = (tf.constant(inputs['images'], tf.float32) + 0.5) / 256
  if name == 'encode':
    return {'latents': flow.encode(images)}
  log_prob = model.distribution.log_prob(images)
  return {'log_prob': log_prob,
          'bits_per_dim': tfp_glow.bits_per_dim(log_prob, [8, 8, 1])}


def assert_answers_like_the_model(export_path, model, request):
  inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
  name = request.model_spec.signature_name
  served = predict(export_path, request)
  expected = in_process(model, name, inputs)
  assert served.keys() == expected.keys()
  for key, value in expected.items():
    if served[key].dtype == np.uint8:
      np.testing.assert_array_equal(served[key], value, err_msg=key)
    else:
      np.testing.assert_allclose(served[key], value, rtol=TOLERANCE,
                                 atol=64 * TOLERANCE, err_msg=key)


def test_warmup_requests_replay_as_the_model_answers(export_path, trained):
  """TF Serving reads assets.extra/tf_serving_warmup_requests as a TFRecord
  of PredictionLogs; each request answers what the model answers."""
  path = os.path.join(export_path, WARMUP_FILE)
  logs = [prediction_log_pb2.PredictionLog.FromString(record.numpy())
          for record in tf.data.TFRecordDataset(path)]
  requests = [log.predict_log.request for log in logs]
  assert [r.model_spec.signature_name for r in requests] == list(
      tfp_glow.export.SIGNATURES)
  assert {r.model_spec.name for r in requests} == {'glow'}
  for request in requests:
    assert_answers_like_the_model(export_path, trained[0], request)


def test_predict_requests_of_a_client_answer_as_the_model(export_path,
                                                          trained):
  """Requests built as a client builds them, from the signature defs' names
  and dtypes, on real digits."""
  model, pixels = trained
  defs = signature_defs(export_path)
  latents = model.flow.encode((pixels[:5].astype(np.float32) + 0.5) / 256)
  values = {'images': pixels[:5], 'latents': latents.numpy(),
            'temperature': [0.8, 0.6, 1.], 'seed': [[4, 2], [4, 3], [0, 0]]}
  for name in tfp_glow.export.SIGNATURES:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = 'glow'
    request.model_spec.signature_name = name
    for key, tensor in defs[name].inputs.items():
      request.inputs[key].CopyFrom(tf.make_tensor_proto(
          values[key], dtype=tf.dtypes.as_dtype(tensor.dtype)))
    assert_answers_like_the_model(export_path, model, request)


def request_of(signature_name, **inputs):
  request = predict_pb2.PredictRequest()
  request.model_spec.signature_name = signature_name
  for key, value in inputs.items():
    request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
  return request


@pytest.mark.parametrize('request_, message', [
    (request_of('serving_default', images=np.zeros([2, 8, 8, 1], np.float32)),
     'expected to be a uint8 tensor'),
    (request_of('encode', images=np.zeros([2, 4, 4, 1], np.uint8)),
     r'images \[2,4,4,1\] is not compatible with expected shape \[\?,8,8,1\]'),
    (request_of('serving_default', images=np.zeros([0, 8, 8, 1], np.uint8)),
     'images must hold at least one row'),
    (request_of('decode', latents=np.zeros([0, 64], np.float32)),
     'latents must hold at least one row'),
    (request_of('sample', temperature=np.zeros([0], np.float32),
                seed=np.zeros([0, 2], np.int32)),
     'temperature must hold at least one row'),
], ids=['float images', 'image size', 'no images', 'no latents', 'no samples'])
def test_bad_requests_get_the_signatures_reason(export_path, request_,
                                                message):
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    predict(export_path, request_)
  served = predict(export_path, request_of(
      'serving_default', images=np.zeros([1, 8, 8, 1], np.uint8)))
  assert served['log_prob'].shape == (1,)


def test_a_conditional_flow_warms_up_with_labels(tmp_path):
  flow = registry.build('glow_conditional', width=4)
  path = tfp_glow.export_saved_model(flow, str(tmp_path / 'flow'),
                                     warmup_rows=3)
  for record in tf.data.TFRecordDataset(
      os.path.join(path, WARMUP_FILE)):
    request = prediction_log_pb2.PredictionLog.FromString(
        record.numpy()).predict_log.request
    np.testing.assert_array_equal(
        tf.make_ndarray(request.inputs['labels']), [0, 1, 2])
    outputs = predict(path, request)
    assert all(len(value) == 3 for value in outputs.values())


def test_without_tensorflow_serving_api_the_export_warns_and_goes_on(
    trained, tmp_path, monkeypatch):
  for name in ('tensorflow_serving', 'tensorflow_serving.apis'):
    monkeypatch.setitem(sys.modules, name, None)   # imports of it now fail
  with pytest.warns(UserWarning, match=r'no warmup requests\. .*'
                    r'pip install "tfp_glow\[serving\]"'):
    path = tfp_glow.export_saved_model(trained[0], str(tmp_path / 'glow'))
  assert not os.path.exists(os.path.join(path, 'assets.extra'))
  assert tf.saved_model.load(path).signatures['serving_default'](
      images=tf.constant(trained[1][:2]))['log_prob'].shape == [2]
  path = tfp_glow.export_saved_model(trained[0], str(tmp_path / 'glow'),
                                     warmup_rows=0)
  assert not os.path.exists(os.path.join(path, 'assets.extra'))
  with pytest.raises(ValueError, match='warmup_rows must be >= 0'):
    tfp_glow.export_saved_model(trained[0], str(tmp_path / 'glow'),
                                warmup_rows=-1)


def batching_parameters_message():
  """TF Serving's BatchingParameters (session_bundle_config.proto), which
  tensorflow-serving-api does not ship: its fields, for text_format."""
  file = descriptor_pb2.FileDescriptorProto(
      name='batching_parameters_for_tests.proto',
      package='tensorflow.serving', syntax='proto3',
      dependency=['google/protobuf/wrappers.proto'])
  message = file.message_type.add(name='BatchingParameters')
  field = descriptor_pb2.FieldDescriptorProto
  for number, (name, wrapper) in enumerate([
      ('max_batch_size', 'Int64Value'), ('batch_timeout_micros', 'Int64Value'),
      ('max_enqueued_batches', 'Int64Value'),
      ('num_batch_threads', 'Int64Value'),
      ('thread_pool_name', 'StringValue')], start=1):
    message.field.add(name=name, number=number, type=field.TYPE_MESSAGE,
                      type_name=f'.google.protobuf.{wrapper}',
                      label=field.LABEL_OPTIONAL)
  message.field.add(name='allowed_batch_sizes', number=6,
                    type=field.TYPE_INT64, label=field.LABEL_REPEATED)
  message.field.add(name='pad_variable_length_inputs', number=7,
                    type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
  pool = descriptor_pool.DescriptorPool()
  pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
  pool.AddSerializedFile(file.SerializeToString())
  return message_factory.GetMessageClass(
      pool.FindMessageTypeByName('tensorflow.serving.BatchingParameters'))


def test_export_writes_tf_servings_config_once(trained, tmp_path):
  base = tmp_path / 'glow'
  tfp_glow.export_saved_model(trained[0], str(base), warmup_rows=0)
  config = text_format.Parse((base / 'models.config').read_text(),
                             model_server_config_pb2.ModelServerConfig())
  model, = config.model_config_list.config
  assert (model.name, model.base_path, model.model_platform) == (
      'glow', str(base), 'tensorflow')
  batching = text_format.Parse((base / 'batching_parameters.txt').read_text(),
                               batching_parameters_message()())
  assert batching.max_batch_size.value >= 1
  assert batching.num_batch_threads.value >= 1
  # A user's edits stay: a second export writes a version, not the files.
  (base / 'models.config').write_text('# edited\n')
  tfp_glow.export_saved_model(trained[0], str(base), warmup_rows=0)
  assert sorted(os.listdir(base)) == [
      '1', '2', 'batching_parameters.txt', 'models.config']
  assert (base / 'models.config').read_text() == '# edited\n'


def test_a_bfloat16_trained_flow_serves_float32(digits, tmp_path):
  """Trained under `mixed_bfloat16` (networks in bfloat16), the export takes
  and gives float32 and serves the in-process log-likelihoods within 1e-3."""
  pixels = digits.numpy()[:128].astype(np.uint8)
  with tfp_glow.precision.global_policy('mixed_bfloat16'):
    model = tfp_glow.FlowModel(registry.build('glow', width=16,
                                              num_steps_per_level=2))
  model.compile(tf_keras.optimizers.Adam(2e-3))
  model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(64), epochs=1,
            steps_per_epoch=2, verbose=0)
  loaded = tf.saved_model.load(tfp_glow.export_saved_model(
      model, str(tmp_path / 'glow')))
  served = loaded.signatures['serving_default'](images=tf.constant(pixels))
  assert {value.dtype for value in served.values()} == {tf.float32}
  # As in test_log_prob_matches_the_model, with bfloat16's 1e-3 for 1e-5.
  np.testing.assert_allclose(served['log_prob'],
                             in_process_log_prob(model, pixels), rtol=1e-3,
                             atol=64 * 1e-3)
  latents = loaded.signatures['encode'](images=tf.constant(pixels))['latents']
  assert latents.dtype == tf.float32
  decoded = loaded.signatures['decode'](latents=latents)['images']
  assert np.mean(decoded.numpy() == pixels) > 0.99
