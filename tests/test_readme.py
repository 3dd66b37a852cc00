"""The README's example and test command stay true."""

import json
import os
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_service_pb2_grpc

import tfp_glow
from tests import serving
from tfp_glow import cli

# Its module fixtures train or export models: one xdist worker runs the file
# (setup.cfg's --dist loadgroup), so they are built once.
pytestmark = pytest.mark.xdist_group('test_readme')

ROOT = pathlib.Path(__file__).parents[1]
PAGES = sorted((ROOT / 'docs').glob('*.md'))
# The README and the docs pages it links: their code blocks are one text.
README = '\n'.join(path.read_text() for path in [ROOT / 'README.md', *PAGES])


EXAMPLES = re.findall(r'```python\n(.*?)```', README, re.DOTALL)


def example(marker: str) -> str:
  """The one ```python block of the README that contains `marker`."""
  found = [e for e in EXAMPLES if marker in e]
  assert len(found) == 1, f'{len(found)} README examples contain {marker!r}'
  return found[0]


def run(marker: str) -> dict:
  """Runs the README example that contains `marker`; returns its names."""
  namespace = {}
  exec(example(marker), namespace)  # noqa: S102 - our own README.
  return namespace


def test_the_readme_links_every_docs_page():
  readme = (ROOT / 'README.md').read_text()
  assert PAGES
  for page in PAGES:
    assert f'](docs/{page.name})' in readme, page.name


def test_the_readme_shows_committed_pictures():
  readme = (ROOT / 'README.md').read_text()
  pictures = re.findall(r'!\[[^]]*\]\(([^)]+)\)', readme)
  assert pictures
  for picture in pictures:
    image = tf.io.decode_png(tf.io.read_file(str(ROOT / picture)))
    assert image.shape[0] >= 28 and image.shape[1] >= 28, picture
    # Samples, not a black page: some pixels lit, most dark (digits).
    lit = np.mean(image.numpy() > 127)
    assert 0.02 < lit < 0.5, (picture, lit)


def test_the_readme_example_runs():
  namespace = run('samples = dist.sample(4)')
  assert namespace['bits'].shape == [8]
  assert np.all(np.isfinite(namespace['bits']))
  assert namespace['samples'].shape == [4, 28, 28, 1]


def test_bijector_example_runs():
  namespace = run('tfb.Chain([')
  assert namespace['samples'].shape == [16, 8, 8, 1]
  assert all(v.numpy() for v in namespace['flow'].variables
             if v.name.endswith('initialized:0'))


def test_keras3_example_trains_the_flow():
  namespace = run('import keras                                # Keras 3')
  assert namespace['optimizer'].iterations.numpy() == 5
  # Every coupling network's zero-initialised last layer has been trained.
  networks = [m for m in namespace['flow'].submodules
              if isinstance(m, tfp_glow.GlowNet)]
  assert len(networks) == 4
  for network in networks:
    assert np.any(network.conv_out.kernel.numpy() != 0), network.name


def test_model_example_runs():
  namespace = run('VariationalDequantizer((28')
  assert namespace['latents'].shape == [8, 784]
  assert namespace['cold'].shape == [4, 28, 28, 1]
  # Bits/dim of the density and of the variational bound, one per image.
  for name in ('bits', 'bound_bits'):
    assert namespace[name].shape == [8]
    assert np.all(np.isfinite(namespace[name])), name


def test_vector_example_trains_and_checks_the_coupling():
  namespace = run('VectorRealNVP(2')
  assert np.isfinite(float(namespace['loss']))
  assert namespace['log_det'].shape == [3]


def test_the_fashion_mnist_command_reads_debians_directory():
  command = re.search(r'```bash\nsudo apt-get install dataset-fashion-mnist\n'
                      r'python -m tfp_glow (train .*)\n```', README).group(1)
  args = cli._parser().parse_args(command.split())
  assert args.data == tfp_glow.data.FASHION_MNIST_DIR


def test_conditional_example_runs():
  namespace = run('num_classes=10')
  assert namespace['log_p'].shape == [8]
  assert namespace['sevens'].shape == [4, 28, 28, 1]
  assert namespace['latents'].shape == [8, 784]
  assert namespace['scores'].shape == [8, 10]
  np.testing.assert_array_equal(namespace['predicted'],
                                np.argmax(namespace['scores'], axis=-1))


def test_flow_model_example_runs():
  namespace = run('strategy.scope()')
  bits = namespace['history'].history['bits_per_dim']
  assert len(bits) == 2 and bits[1] < bits[0]
  assert np.isfinite(namespace['test_bits'])


def test_keras_model_example_trains_and_saves_the_flow(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  namespace = run('class DensityModel')
  model = namespace['model']
  assert len(model.trainable_weights) == len(
      model.dist.bijector.trainable_variables) > 0
  assert model.optimizer.iterations.numpy() == 4
  assert tf.train.list_variables(str(tmp_path / 'density_model' / 'weights'))


def test_preset_example_builds_the_papers_cifar10_glow():
  flow = run("PRESETS['glow_cifar10']")['flow']
  assert {key: flow.parameters[key] for key in (
      'num_levels', 'num_steps_per_level', 'hidden_channels', 'additive',
      'learn_top')} == {'num_levels': 3, 'num_steps_per_level': 32,
                        'hidden_channels': 512, 'additive': False,
                        'learn_top': True}
  # Factored out at 16x16x6 and 8x8x12, the top at 4x4x48.
  assert flow.level_sizes == [16 * 16 * 6, 8 * 8 * 12, 4 * 4 * 48]


def test_the_cifar10_commands_train_and_evaluate_the_preset():
  block = re.search(r'```bash\n(python -m tfp_glow train --preset .*?)```',
                    README, re.DOTALL).group(1)
  train, evaluate = block.replace('\\\n', ' ').splitlines()
  args = cli._parse_args(train.split('python -m tfp_glow ')[1].split())
  assert (args.run, args.preset, args.dataset) == (
      cli.run_train, 'glow_cifar10', 'cifar10')
  assert (args.levels, args.steps_per_level, args.hidden_channels,
          args.batch_size) == (3, 32, 512, 512)
  args = cli._parse_args(evaluate.split('python -m tfp_glow ')[1].split())
  assert args.run is cli.run_evaluate


def test_the_main_job_command_is_a_valid_train_command():
  command = re.search(r'```bash\n(.*tfp_glow train.*)\n```', README).group(1)
  args = cli._parser().parse_args(command.split('python -m tfp_glow ')[1].split())
  assert args.run is cli.run_train
  assert (args.model, args.dataset) == ('glow', 'mnist_5k')   # offline


@pytest.fixture(scope='module')
def mnist_export(tmp_path_factory):
  """The export of a (small, untrained) 28x28 Glow, as models/glow_mnist/1."""
  flow = tfp_glow.Glow((28, 28, 1), num_levels=2, num_steps_per_level=1,
                       hidden_channels=4, seed=0)
  return tfp_glow.export_saved_model(
      flow, str(tmp_path_factory.mktemp('models') / 'glow_mnist'))


@pytest.fixture(scope='module')
def mnist_signatures(mnist_export):
  """The export's signatures, loaded."""
  return tf.saved_model.load(mnist_export).signatures


def call(signature, inputs):
  """Calls a signature as TF Serving would: inputs cast to its dtypes."""
  specs = signature.structured_input_signature[1]
  assert set(inputs) == set(specs)
  tensors = {name: tf.constant(value, specs[name].dtype)
             for name, value in inputs.items()}
  for name, tensor in tensors.items():
    assert specs[name].shape.is_compatible_with(tensor.shape), name
  return {name: value.numpy() for name, value in signature(**tensors).items()}


def test_serving_examples_match_the_signatures(mnist_signatures):
  namespace = run("'signature_name'")
  likelihood = namespace['likelihood']       # REST row format: one per image
  rows = likelihood['instances']
  outputs = call(mnist_signatures[likelihood['signature_name']],
                 {name: [row[name] for row in rows] for name in rows[0]})
  response = json.loads(re.search(r'```json\n(.*?)```', README,
                                  re.DOTALL).group(1))
  prediction, = response['predictions']
  assert set(prediction) == set(outputs)
  assert outputs['log_prob'].shape == (len(rows),)
  np.testing.assert_allclose(
      tfp_glow.bits_per_dim(prediction['log_prob'], [28, 28, 1]),
      prediction['bits_per_dim'], atol=0.01)

  sampling = namespace['sampling']           # REST columnar format
  outputs = call(mnist_signatures[sampling['signature_name']],
                 sampling['inputs'])
  assert set(outputs) == {'images', 'continuous'}
  assert outputs['images'].shape == (2, 28, 28, 1)

  for request, output, shape in [('encoding', 'latents', (784,)),
                                 ('decoding', 'images', (28, 28, 1))]:
    rows = namespace[request]['instances']   # REST row format
    outputs = call(mnist_signatures[namespace[request]['signature_name']],
                   {name: [row[name] for row in rows] for name in rows[0]})
    assert {name: value.shape for name, value in outputs.items()} == {
        output: (len(rows), *shape)}



def test_grpc_example_runs_through_the_predict_protocol(mnist_export,
                                                       monkeypatch):
  """The gRPC example, its stub answering as TF Serving's Predict does."""
  models = os.path.dirname(os.path.dirname(mnist_export))
  monkeypatch.setattr(prediction_service_pb2_grpc, 'PredictionServiceStub',
                      lambda channel: serving.Stub(models))
  namespace = {}
  exec(re.search(r'```py\n(.*?)```', README, re.DOTALL).group(1),  # noqa: S102
       namespace)
  assert namespace['bits_per_dim'].shape == (2,)
  assert namespace['latents'].shape == (2, 784)
  np.testing.assert_array_equal(namespace['decoded'], namespace['digits'])
  assert namespace['samples'].shape == (2, 28, 28, 1)
  assert namespace['samples'].dtype == np.uint8


def test_keras3_serving_example_builds_a_trainable_model(tmp_path):
  flow = tfp_glow.Glow((28, 28, 1), num_levels=2, num_steps_per_level=1,
                       hidden_channels=4, seed=0)
  namespace = {'export_path': tfp_glow.export_saved_model(
      flow, str(tmp_path / 'glow'), warmup_rows=0)}
  exec(example('TFSMLayer'), namespace)  # noqa: S102 - our own docs.
  model = namespace['flow_in_keras3']
  assert len(model.trainable_weights) == len(flow.trainable_variables)
  assert model.predict(np.zeros([2, 28, 28, 1], np.uint8),
                       verbose=0).shape == (2,)


def test_ci_runs_the_readme_test_command():
  ci = (ROOT / '.ci' / 'run').read_text()
  command = ci.strip().splitlines()[-1]
  assert f'```bash\n{command}\n```' in README


def test_multi_worker_example_is_a_valid_command():
  block = re.search(r'```bash\n(# on host1\n.*?)```', README, re.DOTALL).group(1)
  tf_config = json.loads(re.search(r"TF_CONFIG='(.*?)'", block).group(1))
  assert tf_config['task'] == {'type': 'worker', 'index': 0}
  assert len(tf_config['cluster']['worker']) == 2
  command = re.search(r'python -m tfp_glow (train .*)', block).group(1)
  args = cli._parser().parse_args(command.split())
  assert (args.strategy, args.dataset) == ('multi_worker', 'mnist_5k')
