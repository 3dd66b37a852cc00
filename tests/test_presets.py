"""Named recipes: the Glow paper's CIFAR-10 model from Python and the command
line, trained on mock CIFAR-10 and exported."""

import csv
import json
import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import tfp_glow
from tfp_glow import cli, presets, runs

# Its module fixtures train or export models: one xdist worker runs the file
# (setup.cfg's --dist loadgroup), so they are built once.
pytestmark = pytest.mark.xdist_group('test_presets')

CIFAR10 = presets.PRESETS['glow_cifar10']
# The recipe made small for a test: 2 levels of 1 step, width 8.
SMALL = ['--levels', '2', '--steps-per-level', '1', '--hidden-channels', '8']


def test_a_preset_flow_takes_size_overrides_only():
  # The full-size recipe is built by the README's example (test_readme.py).
  small = CIFAR10.flow((32, 32, 3), steps_per_level=1, hidden_channels=8)
  chosen = {key: small.parameters[key] for key in (
      'num_levels', 'num_steps_per_level', 'hidden_channels', 'additive',
      'learn_top', 'use_split_prior')}
  assert chosen == {'num_levels': 3, 'num_steps_per_level': 1,
                    'hidden_channels': 8, 'additive': False,
                    'learn_top': True, 'use_split_prior': True}
  with pytest.raises(TypeError, match='got batch_size'):
    CIFAR10.flow((32, 32, 3), batch_size=8)


def test_flags_override_the_preset_which_overrides_the_defaults():
  train = ['train', '--dataset', 'cifar10', '--out', 'run']
  plain = cli._parse_args(train)
  preset = cli._parse_args([*train, '--preset', 'glow_cifar10'])
  settings = {name: getattr(preset, name) for name in CIFAR10.CLI_SETTINGS}
  assert settings == {'levels': 3, 'steps_per_level': 32,
                      'hidden_channels': 512, 'batch_size': 512,
                      'learning_rate': 1e-3, 'warmup_steps': 977,
                      'decay': 'none'}
  assert (plain.batch_size, plain.warmup_steps) == (64, 0)
  flags = cli._parse_args([*train, '--preset', 'glow_cifar10', '--levels',
                           '2', '--batch-size', '8', '--warmup-steps', '0'])
  assert (flags.levels, flags.steps_per_level, flags.batch_size,
          flags.warmup_steps) == (2, 32, 8, 0)


def test_a_glow_without_preset_trains_the_cpu_recipe_where_there_is_no_gpu():
  assert not tf.config.list_physical_devices('GPU')   # As on CI.
  train = ['train', '--dataset', 'mnist_5k', '--out', 'run']
  args = cli._parse_args(train)
  cpu = presets.PRESETS[presets.CPU_PRESET]
  assert args.preset == presets.CPU_PRESET
  assert (args.levels, args.steps_per_level, args.hidden_channels) == (
      cpu.levels, cpu.steps_per_level, cpu.hidden_channels)
  assert cpu.steps_per_level * cpu.hidden_channels < (
      presets.PRESETS['glow_mnist'].steps_per_level
      * presets.PRESETS['glow_mnist'].hidden_channels)
  assert cli._parse_args([*train, '--model', 'glow_conditional']).preset == (
      presets.CPU_PRESET)
  # Other families keep their registry sizes; a flag or preset given wins.
  assert cli._parse_args([*train, '--model', 'realnvp']).preset is None
  narrow = cli._parse_args([*train, '--hidden-channels', '16'])
  assert narrow.hidden_channels == 16
  paper = cli._parse_args([*train, '--preset', 'glow_mnist'])
  assert (paper.levels, paper.steps_per_level) == (2, 16)


@pytest.fixture(scope='module')
def cifar10_run(tmp_path_factory):
  """The small CIFAR-10 recipe trained 2 epochs on 32 mock CIFAR-10 images."""
  out = str(tmp_path_factory.mktemp('runs') / 'cifar10')
  with tfds.testing.mock_data(num_examples=32):
    assert cli.main(['train', '--preset', 'glow_cifar10', '--dataset',
                     'cifar10', '--out', out, '--epochs', '2', '--batch-size',
                     '16', '--warmup-steps', '0', *SMALL]) == 0
  return out


def test_the_small_recipe_trains_on_mock_cifar10(cifar10_run):
  with open(os.path.join(cifar10_run, 'config.json')) as file:
    config = json.load(file)
  assert config['flow'] == {'model': 'glow', 'image_shape': [32, 32, 3],
                            'seed': 0, 'levels': 2, 'steps_per_level': 1,
                            'hidden_channels': 8, 'coupling_log_scale': 'tanh'}
  assert config['data']['dataset'] == 'cifar10'
  training = config['training']
  assert (training['batch_size'], training['warmup_steps']) == (16, 0)
  assert training['learning_rate'] == CIFAR10.learning_rate
  with open(os.path.join(cifar10_run, 'history.csv')) as file:
    rows = list(csv.DictReader(file))
  bits = [float(row['bits_per_dim']) for row in rows]
  assert len(bits) == 2 and all(math.isfinite(b) for b in bits)
  assert bits[1] < bits[0]


def test_a_32x32x3_export_round_trip(cifar10_run, tmp_path):
  model = runs.restore_model(cifar10_run, runs.read_config(cifar10_run))
  loaded = tf.saved_model.load(
      tfp_glow.export_saved_model(model, str(tmp_path / 'glow')))
  pixels = np.random.default_rng(0).integers(0, 256, [4, 32, 32, 3], np.uint8)
  served = loaded.signatures['serving_default'](images=tf.constant(pixels))
  expected = model.distribution.log_prob((pixels + 0.5) / 256)
  np.testing.assert_allclose(served['log_prob'], expected, rtol=1e-5)
  latents = loaded.signatures['encode'](images=tf.constant(pixels))['latents']
  assert latents.shape == [4, 32 * 32 * 3]
  decoded = loaded.signatures['decode'](latents=latents)['images']
  np.testing.assert_array_equal(decoded, pixels)
  sample = loaded.signatures['sample'](
      temperature=tf.constant([0.7, 0.7]), seed=tf.constant([[1, 2], [1, 3]]))
  assert sample['images'].shape == [2, 32, 32, 3]


@pytest.mark.parametrize('extra, message', [
    (['--model', 'realnvp'], ('glow_cifar10 is a Glow recipe, not --model '
                              'realnvp')),
    ([], (r'squeezes H and W by 8, which does not divide image shape '
          r'\(28, 28, 1\)')),
])
def test_a_preset_that_does_not_fit(extra, message, tmp_path, capsys):
  data = str(tmp_path / 'digits.npz')
  np.savez(data, x_train=np.zeros([4, 28, 28], np.uint8),
           x_test=np.zeros([4, 28, 28], np.uint8))
  assert cli.main(['train', '--preset', 'glow_cifar10', '--data', data,
                   '--out', str(tmp_path / 'run'), *extra]) == 2
  assert re.search(message, capsys.readouterr().err)
