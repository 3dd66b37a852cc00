"""python -m tfp_glow: train, evaluate, sample; resume after a kill; bad input."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from sklearn.datasets import load_digits

import tfp_glow
from tests.idx_files import write_idx_directory
from tfp_glow import augmentation, cli, precision, runs

# Its module fixtures train or export models: one xdist worker runs the file
# (setup.cfg's --dist loadgroup), so they are built once.
pytestmark = pytest.mark.xdist_group('test_cli')

SMALL_GLOW = ['--levels', '2', '--steps-per-level', '2', '--hidden-channels',
              '16']


@pytest.fixture(scope='module')
def conditional_run(tmp_path_factory, digits):
  """A 1-epoch class-conditional Glow on the labelled digits."""
  pixels = digits.numpy()[..., 0].astype(np.uint8)
  labels = load_digits().target
  path = tmp_path_factory.mktemp('data') / 'labelled.npz'
  np.savez(path, x_train=pixels[:1500], x_test=pixels[1500:],
           y_train=labels[:1500], y_test=labels[1500:])
  out = str(tmp_path_factory.mktemp('runs') / 'conditional')
  assert cli.main(['train', '--data', str(path), '--out', out, '--epochs', '1',
                   '--conditional', '--levels', '2', '--steps-per-level', '1',
                   '--hidden-channels', '8']) == 0
  return out


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory, digits_npz):
  """A 2-epoch Glow run on the digits, trained in this process."""
  out = str(tmp_path_factory.mktemp('runs') / 'glow')
  assert cli.main(['train', '--data', digits_npz, '--out', out,
                   '--epochs', '2', *SMALL_GLOW]) == 0
  return out


def read_png(path):
  return tf.io.decode_png(tf.io.read_file(path)).numpy()


def test_train_writes_the_run(trained_run):
  rows = runs.history(trained_run)
  assert [row['epoch'] for row in rows] == ['0', '1']
  assert float(rows[1]['bits_per_dim']) < float(rows[0]['bits_per_dim'])
  names = set(os.listdir(trained_run))
  assert names == {'config.json', 'history.csv', 'backup', 'checkpoints',
                   'logs', 'samples'}
  assert os.path.exists(os.path.join(trained_run, 'checkpoints',
                                     'best.index'))
  assert os.listdir(os.path.join(trained_run, 'logs', 'train'))
  grids = [read_png(os.path.join(trained_run, 'samples',
                               f'epoch_{epoch:03d}.png')) for epoch in (1, 2)]
  for grid in grids:   # 2 rows of 8 samples of 8x8 at each of 3 temperatures
    assert grid.shape == (6 * 8, 8 * 8, 1) and grid.std() > 0
  # The same draws each epoch: the grids differ by the weights alone, and
  # cooler rows are the same samples scaled towards the mode.
  assert not np.array_equal(grids[0], grids[1])


def test_evaluate_prints_test_bits_per_dim(trained_run, capsys):
  assert cli.main(['evaluate', '--out', trained_run]) == 0
  printed = capsys.readouterr().out.strip().splitlines()[-1]
  assert printed.startswith('test bits/dim: ')
  best = min(float(row['val_bits_per_dim']) for row in runs.history(trained_run))
  # Fresh dequantization noise: within 0.02 of the best validation epoch.
  assert abs(float(printed.split()[-1]) - best) < 0.02


def test_sample_writes_a_grid_and_never_overwrites(trained_run, tmp_path,
                                                   capsys):
  output = str(tmp_path / 'grid.png')
  args = ['sample', '--out', trained_run, '--output', output,
          '--num-samples', '12', '--temperature', '0.5', '--seed', '1']
  assert cli.main(args) == 0
  grid = read_png(output)
  assert grid.shape == (16, 64, 1)      # 12 samples: 2 rows of 8
  assert cli.main(args) == 2
  assert 'grid.png exists' in capsys.readouterr().err
  np.testing.assert_array_equal(read_png(output), grid)


def test_conditional_run_reports_accuracy_and_samples_per_class(
    conditional_run, tmp_path, capsys):
  assert cli.main(['evaluate', '--out', conditional_run]) == 0
  printed = capsys.readouterr().out.strip().splitlines()
  assert printed[-2].startswith('test bits/dim: ')
  assert printed[-1].startswith('test accuracy: ')
  assert 0. <= float(printed[-1].split()[-1]) <= 1.
  per_class = str(tmp_path / 'classes.png')
  assert cli.main(['sample', '--out', conditional_run, '--output', per_class,
                   '--seed', '1']) == 0
  assert read_png(per_class).shape == (80, 64, 1)   # 10 rows of 8
  threes = str(tmp_path / 'threes.png')
  assert cli.main(['sample', '--out', conditional_run, '--output', threes,
                   '--label', '3', '--num-samples', '8', '--seed', '1']) == 0
  assert read_png(threes).shape == (8, 64, 1)
  assert cli.main(['sample', '--out', conditional_run, '--output',
                   str(tmp_path / 'bad.png'), '--label', '10']) == 2
  assert '--label must lie in [0, 10), got 10' in capsys.readouterr().err


SERVING_LINE = ('TF Serving: --model_config_file={base}/models.config '
                '--enable_batching '
                '--batching_parameters_file={base}/batching_parameters.txt')


def test_export_writes_new_versions(trained_run, tmp_path, capsys):
  base = str(tmp_path / 'models' / 'glow')
  assert cli.main(['export', '--out', trained_run, '--export-dir', base]) == 0
  assert cli.main(['export', '--out', trained_run, '--export-dir', base]) == 0
  assert capsys.readouterr().out.splitlines()[-4:] == [
      f'exported {base}/1', SERVING_LINE.format(base=base),
      f'exported {base}/2', SERVING_LINE.format(base=base)]
  assert cli.main(['export', '--out', trained_run, '--export-dir', base,
                   '--version', '1']) == 2
  assert capsys.readouterr().err.strip() == (
      f'tfp_glow export: error: {base}/1 exists; exports are never '
      'overwritten.')


def test_overwrite_replaces_only_with_consent(trained_run, digits_npz,
                                              tmp_path, capsys):
  out = str(tmp_path / 'run')
  realnvp = ['train', '--model', 'realnvp', '--data', digits_npz, '--out', out,
             '--epochs', '1', '--hidden-channels', '8', '--blocks', '1']
  glow = ['train', '--data', digits_npz, '--out', out, '--epochs', '1',
          *SMALL_GLOW]
  assert cli.main(realnvp) == 0
  assert capsys.readouterr().out.startswith(
      'tfp_glow train: realnvp (levels 2, hidden channels 8, blocks 1, batch '
      'norm, no double width per scale) on ')
  assert cli.main(glow) == 2
  error = capsys.readouterr().err
  assert 'holds a run of another model or data (realnvp' in error
  assert 'pass --overwrite' in error
  assert runs.history(out)[0]['epoch'] == '0'
  assert cli.main([*glow, '--overwrite']) == 0
  with open(os.path.join(out, 'config.json')) as file:
    assert '"model": "glow"' in file.read()
  assert len(runs.history(out)) == 1


def test_cosine_decay_brings_the_rate_to_zero_at_the_last_epoch(digits_npz,
                                                                tmp_path):
  args = cli._parse_args(['train', '--data', digits_npz, '--out',
                          str(tmp_path / 'run'), '--epochs', '2', '--decay',
                          'cosine', '--batch-size', '256', *SMALL_GLOW])
  model = cli.run_train(args)
  with open(tmp_path / 'run' / 'config.json') as file:
    assert json.load(file)['training']['decay'] == 'cosine'
  steps = int(model.optimizer.iterations)
  assert steps == 2 * 6   # 1,500 training digits in batches of 256
  # The last step's rate: 1e-3 (1 + cos(pi 11 / 12)) / 2.
  assert float(model.optimizer.learning_rate) == pytest.approx(
      1e-3 * (1 + np.cos(np.pi * 11 / 12)) / 2, rel=1e-4)


def test_shift_moves_the_training_images_only(digits_npz, tmp_path,
                                              monkeypatch, capsys):
  shifts = []

  def spy(images, max_shift, seed=None):
    shifts.append((images.shape.as_list(), max_shift))
    return images

  monkeypatch.setattr(augmentation, 'random_shifts', spy)
  args = cli._parse_args(['train', '--data', digits_npz, '--out',
                          str(tmp_path / 'run'), '--epochs', '1', '--shift',
                          '2', '--batch-size', '256', *SMALL_GLOW])
  cli.run_train(args)
  assert shifts == [([None, 8, 8, 1], 2)]   # traced once, for the train set
  assert ('epochs 1-1 of batch 256, images shifted up to 2 pixels, on the '
          'CPU') in capsys.readouterr().out
  with open(tmp_path / 'run' / 'config.json') as file:
    assert json.load(file)['training']['shift'] == 2


@pytest.mark.parametrize('args, run, message', [
    (['train', '--dataset', 'mnsit'], 'new', "unknown dataset 'mnsit'"),
    (['train', '--data', '{tmp}/missing.npz'], 'new',
     'missing.npz: no such file'),
    (['train', '--data', '{tmp}/bad.npz'], 'new', 'bad.npz lacks x_test'),
    (['train', '--data', '{npz}', '--levels', '4'], 'new',
     ('Glow with 4 levels squeezes H and W by 16, which does not divide image '
     r'shape \(8, 8, 1\)')),
    (['train', '--data', '{npz}', '--blocks', '2'], 'new',
     '--blocks does not apply to --model glow'),
    (['train', '--data', '{npz}', '--model', 'realnvp', '--coupling-log-scale',
      'sigmoid'], 'new',
     '--coupling-log-scale does not apply to --model realnvp'),
    (['train', '--data', '{npz}', '--conditional'], 'new',
     'digits.npz lacks y_test, y_train'),
    (['train', '--data', '{npz}', '--epochs', '0'], 'new',
     '--epochs must be >= 1, got 0'),
    (['train', '--data', '{npz}', '--batch-size', '0'], 'new',
     '--batch-size must be >= 1, got 0'),
    (['train', '--data', '{npz}', '--hidden-channels', '-4'], 'new',
     '--hidden-channels must be >= 1, got -4'),
    (['train', '--data', '{npz}', '--learning-rate', '0'], 'new',
     r'--learning-rate must be > 0, got 0\.0'),
    (['train', '--data', '{npz}', '--shift', '-1'], 'new',
     '--shift must be >= 0, got -1'),
    (['train', '--data', '{npz}', '--average-momentum', '1'], 'new',
     r'--average-momentum must be in \[0, 1\), got 1\.0'),
    (['train', '--data', '{npz}', '--epochs', '3', '--average-momentum',
      '0.99', *SMALL_GLOW], 'trained',
     r'was trained with --average-momentum 0\.0; pass it to resume'),
    (['sample', '--output', '{tmp}/x.png', '--label', '3'], 'trained',
     '--label needs a conditional model'),
    (['evaluate', '--data', '{tmp}/big.npz'], 'trained',
     'expects 8x8x1 images, the data holds 16x16x1 images'),
    (['evaluate'], 'new', r'run holds no run \(no config.json\)'),
    (['sample', '--output', '{tmp}/x.png', '--temperature', '0'], 'trained',
     '--temperature must be > 0'),
    (['evaluate', '--temperature', '-1'], 'trained',
     r'--temperature must be > 0, got -1\.0'),
    (['export', '--export-dir', '{tmp}/export', '--version', '0'], 'trained',
     '--version must be >= 1'),
])
def test_bad_input_is_one_line(args, run, message, trained_run, digits_npz,
                               tmp_path, capsys):
  np.savez(tmp_path / 'bad.npz', x_train=np.zeros([2, 8, 8], np.uint8))
  np.savez(tmp_path / 'big.npz', x_train=np.zeros([2, 16, 16], np.uint8),
           x_test=np.zeros([2, 16, 16], np.uint8))
  out = trained_run if run == 'trained' else str(tmp_path / 'run')
  args = [a.format(tmp=tmp_path, npz=digits_npz) for a in args]
  assert cli.main([*args, '--out', out]) == 2
  error = capsys.readouterr().err.strip()
  assert len(error.splitlines()) == 1, error
  assert error.startswith(f'tfp_glow {args[0]}: error: ')
  assert re.search(message, error), error


def test_a_checkpoint_lacking_weights_is_refused(trained_run, tmp_path,
                                                capsys):
  """A model whose weights the checkpoint does not all hold never runs."""
  out = str(tmp_path / 'run')
  shutil.copytree(trained_run, out)
  with open(os.path.join(out, 'config.json')) as file:
    config = json.load(file)
  config['flow']['steps_per_level'] += 1   # weights the checkpoint lacks
  with open(os.path.join(out, 'config.json'), 'w') as file:
    json.dump(config, file)
  assert cli.main(['evaluate', '--out', out]) == 2
  error = capsys.readouterr().err.strip()
  assert len(error.splitlines()) == 1, error
  assert 'does not hold the weights of glow' in error, error


def coupling_log_scales(model) -> set:
  return {b.log_scale_fn for b in model.flow.submodules
          if isinstance(b, tfp_glow.Coupling) and b.name == 'coupling'}


def test_a_run_keeps_the_coupling_scale_it_was_trained_with(trained_run):
  """New runs record tanh; a config.json without the key (a run trained
  before the tanh default) builds openai/glow's sigmoid, which its
  checkpoint was trained with."""
  config = runs.read_config(trained_run)['flow']
  assert config['coupling_log_scale'] == 'tanh'
  assert coupling_log_scales(runs.build_model(config)) == {
      tfp_glow.tanh_log_scale}
  del config['coupling_log_scale']
  assert coupling_log_scales(runs.build_model(config)) == {
      tfp_glow.glow_log_scale}


def test_the_command_line_starts_quietly(tmp_path):
  """Without --verbose a failing command's stderr is its one error line:
  TensorFlow's C++ start-up lines (CUDA's probe, CPU notes) are held back;
  --verbose lets them through."""
  command = [sys.executable, '-m', 'tfp_glow', 'evaluate', '--out',
             str(tmp_path / 'none')]
  environment = {key: value for key, value in os.environ.items()
                 if key != 'TF_CPP_MIN_LOG_LEVEL'}
  quiet = subprocess.run(command, check=False, capture_output=True,
                         text=True, env=environment, timeout=300)
  assert quiet.returncode == 2
  assert quiet.stderr.splitlines() == [(
      f'tfp_glow evaluate: error: {tmp_path}/none holds no run (no '
      'config.json); train first.')]
  verbose = subprocess.run([*command, '--verbose'], check=False,
                           capture_output=True, text=True, env=environment,
                           timeout=300)
  assert verbose.returncode == 2
  assert verbose.stderr.splitlines()[-1] == quiet.stderr.strip()


@pytest.mark.parametrize('command', [
    ['evaluate'], ['sample', '--output', '{tmp}/grid.png'],
    ['export', '--export-dir', '{tmp}/export']])
def test_restoring_a_run_warns_of_nothing(command, trained_run, tmp_path,
                                          capfd):
  """The weights alone are restored: no warning about the optimizer's
  slots (which read as a broken checkpoint)."""
  capfd.readouterr()
  command = [arg.format(tmp=tmp_path) for arg in command]
  assert cli.main([*command, '--out', trained_run]) == 0
  assert 'WARNING' not in capfd.readouterr().err


def test_killed_run_resumes_where_it_stopped(digits_npz, tmp_path):
  out = str(tmp_path / 'run')
  command = [sys.executable, '-m', 'tfp_glow', 'train', '--data', digits_npz,
             '--out', out, '--epochs', '3', '--batch-size', '16', *SMALL_GLOW]
  environment = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  with open(tmp_path / 'first.log', 'w') as log:
    first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                             env=environment)
    history_file = os.path.join(out, 'history.csv')
    while first.poll() is None and not (
        os.path.exists(history_file) and len(runs.history(out)) >= 1):
      time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
  assert first.returncode == -signal.SIGKILL, (tmp_path / 'first.log').read_text()
  done = len(runs.history(out))
  assert done < 3
  first_grid = read_png(os.path.join(out, 'samples', 'epoch_001.png'))

  second = subprocess.run(command, check=False, capture_output=True, text=True,
                          env=environment, timeout=600)
  assert second.returncode == 0, second.stderr
  assert 'Epoch 1/3' not in second.stdout
  assert f'Epoch {done + 1}/3' in second.stdout
  rows = runs.history(out)
  assert [row['epoch'] for row in rows] == ['0', '1', '2']
  # Weights came back too: the resumed epoch trains on from the first run's.
  # (Measured: 7.75 in epoch 1, 7.26 in the resumed epoch 2.)
  assert (float(rows[done]['bits_per_dim'])
          < float(rows[0]['bits_per_dim']) - 0.25)
  np.testing.assert_array_equal(
      read_png(os.path.join(out, 'samples', 'epoch_001.png')), first_grid)


def test_internal_value_errors_are_not_reported_as_user_errors(
    digits_npz, tmp_path, monkeypatch):
  def fit(*args, **kwargs):
    raise ValueError('an internal bug')

  monkeypatch.setattr(cli.FlowModel, 'fit', fit)
  with pytest.raises(ValueError, match='an internal bug'):
    cli.main(['train', '--data', digits_npz, '--out', str(tmp_path / 'run'),
              '--epochs', '1', *SMALL_GLOW])


def test_a_lost_worker_is_one_line_that_says_how_to_resume(
    digits_npz, tmp_path, monkeypatch, capsys):
  """What the surviving worker of a two-worker run got when the other was
  killed (BENCHMARKS.md, "Multi-worker training")."""
  def fit(*args, **kwargs):
    raise tf.errors.UnavailableError(None, None, (
        'Graph execution error:\n\nDetected at node CollectiveReduceV2_1\n'
        '{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/'
        'replica:0/task:0/device:CPU:0}} Collective ops is aborted by: '
        'recvmsg:Connection reset by peer\n'
        'The error could be from a previous operation.'))

  monkeypatch.setattr(cli.FlowModel, 'fit', fit)
  out = str(tmp_path / 'run')
  assert cli.main(['train', '--data', digits_npz, '--out', out,
                   '--epochs', '1', *SMALL_GLOW]) == 1
  assert capsys.readouterr().err.strip() == (
      'tfp_glow train: error: a worker of the run was lost (Collective ops is '
      'aborted by: recvmsg:Connection reset by peer); start every worker '
      f'again with the same command to resume from the last epoch in {out}/backup.')


def test_command_line_errors_have_no_traceback(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'tfp_glow', 'train', '--data',
       str(tmp_path / 'missing.npz'), '--out', str(tmp_path / 'run')],
      check=False, capture_output=True, text=True, timeout=300,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
  assert result.returncode == 2
  assert 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1] == (
      f'tfp_glow train: error: {tmp_path}/missing.npz: no such file.')
  assert not os.path.exists(tmp_path / 'run')


def files(out):
  """Every file under `out` with its modification time and size."""
  return {os.path.join(root, name): (os.stat(os.path.join(root, name)).st_mtime_ns,
                                     os.stat(os.path.join(root, name)).st_size)
          for root, _, names in os.walk(out) for name in names}


def test_the_main_job_trains_offline_on_real_mnist_digits(tmp_path, capsys):
  """The README's first command, shortened: --dataset mnist_5k needs no network.

  The same command again changes nothing; a larger --epochs continues from
  the backed-up epoch; no epoch is recorded twice.
  """
  out = str(tmp_path / 'glow_mnist')
  command = ['train', '--dataset', 'mnist_5k', '--out', out,
             '--batch-size', '500', '--levels', '1', '--steps-per-level', '1',
             '--hidden-channels', '4']
  assert cli.main([*command, '--epochs', '1']) == 0
  said = capsys.readouterr().out
  assert "preset glow_mnist_cpu, the CPU's recipe" in said   # No GPU here.
  (row,) = runs.history(out)
  assert np.isfinite(float(row['val_bits_per_dim']))
  # Digits: each epoch's samples scored by the digit classifier.
  assert 0. <= float(row['sample_recognised']) <= 1.
  assert 1. <= float(row['sample_classes']) <= 10.
  assert float(row['sample_frechet_distance']) > 0.
  with open(os.path.join(out, 'config.json')) as file:
    assert '"dataset": "mnist_5k"' in file.read()
  grid = read_png(os.path.join(out, 'samples', 'epoch_001.png'))
  assert grid.shape == (6 * 28, 8 * 28, 1)

  before = files(out)
  capsys.readouterr()
  assert cli.main([*command, '--epochs', '1']) == 0
  assert capsys.readouterr().out.strip() == (
      f'{out} holds 1 trained epochs already (--epochs 1): nothing to do; '
      'pass a larger --epochs to train on.')
  assert files(out) == before

  assert cli.main([*command, '--epochs', '3']) == 0
  said = capsys.readouterr().out
  assert 'Epoch 3/3' in said
  # The resumed run's second epoch (epoch 3) gives its pace.
  assert re.search(r'^epoch 3 took .*; at that pace the 0 epochs left take '
                   r'about 0 s\.$', said, re.MULTILINE)
  rows = runs.history(out)
  assert [row['epoch'] for row in rows] == ['0', '1', '2']
  # Epochs 2 and 3 trained on from epoch 1's weights and optimizer: 3 x 9
  # steps.
  backup = tf.train.latest_checkpoint(os.path.join(out, runs.BACKUP))
  assert tf.train.load_variable(
      backup, 'model/optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE') == 27

  shutil.rmtree(os.path.join(out, 'backup'))
  assert cli.main([*command, '--epochs', '4']) == 2
  assert capsys.readouterr().err.strip() == (
      f'tfp_glow train: error: {out} holds 3 epochs in history.csv but no '
      'backup to continue from; pass --overwrite to train from scratch or '
      'choose another --out.')
  assert len(runs.history(out)) == 3

  capsys.readouterr()
  assert cli.main(['evaluate', '--out', out, '--temperature', '1']) == 0
  assert re.search(r'500 samples at temperature 1, by the digit classifier: '
                   r'recognised [01]\.\d{3}, classes \d+\.\d\d, Frechet '
                   r'distance \d+\.\d$', capsys.readouterr().out, re.MULTILINE)


def test_train_reads_a_directory_of_idx_files(tmp_path, digits, capsys):
  """`--data DIR` of MNIST's four files trains as an .npz does (here the
  real 8x8 digits, with labels: a class-conditional run)."""
  pixels = digits.numpy()[..., 0].astype(np.uint8)
  labels = load_digits().target.astype(np.uint8)
  directory = write_idx_directory(tmp_path, {
      'train': (pixels[:1500], labels[:1500]),
      't10k': (pixels[1500:], labels[1500:])})
  out = str(tmp_path / 'run')
  assert cli.main(['train', '--data', directory, '--out', out, '--epochs', '1',
                   '--conditional', '--levels', '2', '--steps-per-level', '1',
                   '--hidden-channels', '4', '--batch-size', '500']) == 0
  assert runs.read_config(out)['flow']['num_classes'] == 10
  assert cli.main(['evaluate', '--out', out]) == 0
  assert 'test bits/dim: ' in capsys.readouterr().out
  (tmp_path / 't10k-images-idx3-ubyte.gz').write_bytes(b'not gzip')
  assert cli.main(['train', '--data', directory, '--out', str(tmp_path / 'b'),
                   '--epochs', '1']) == 2
  error = capsys.readouterr().err
  assert error.count('\n') == 1 and 't10k-images-idx3-ubyte.gz' in error


def test_a_variational_dequantizer_trains_evaluates_and_exports(
    digits_npz, tmp_path, capsys):
  """`--dequantizer variational` is recorded, restored with its weights,
  reported as an importance-weighted bound, and its flow exports."""
  out = str(tmp_path / 'run')
  assert cli.main(['train', '--data', digits_npz, '--out', out, '--epochs',
                   '1', '--dequantizer', 'variational', '--levels', '2',
                   '--steps-per-level', '1', '--hidden-channels', '4',
                   '--batch-size', '500']) == 0
  assert runs.read_config(out)['flow']['dequantizer'] == 'variational'
  model = runs.restore_model(out, runs.read_config(out))
  assert isinstance(model.dequantizer, tfp_glow.VariationalDequantizer)
  capsys.readouterr()
  assert cli.main(['evaluate', '--out', out]) == 0
  lines = capsys.readouterr().out.splitlines()
  one_sample = float(lines[0].removeprefix('test bits/dim: '))
  bound = re.fullmatch(r'test bits/dim, importance-weighted bound of the '
                       r'variational dequantizer \(8 samples\): (\S+)',
                       lines[1])
  assert bound and float(bound[1]) < one_sample   # a tighter bound
  assert cli.main(['export', '--out', out, '--export-dir',
                   str(tmp_path / 'export')]) == 0


@pytest.mark.parametrize('cpu_flags, gpu_capabilities, policy', [
    ({'avx2', 'fma'}, [], 'float32'),
    ({'avx512f', 'avx512_bf16'}, [], 'float32'),   # measured slower
    ({'amx_tile', 'amx_bf16'}, [], 'mixed_bfloat16'),
    ({'amx_bf16'}, [(7, 5)], 'float32'),   # a GPU without bfloat16 units
    (set(), [(8, 0), (9, 0)], 'mixed_bfloat16'),
    (set(), [(9, 0), (7, 0)], 'float32'),
])
def test_auto_precision_is_bfloat16_where_the_hardware_has_it(
    cpu_flags, gpu_capabilities, policy):
  assert precision.fast_policy(cpu_flags, gpu_capabilities) == policy


def test_auto_precision_trains_and_records_its_choice(digits_npz, tmp_path,
                                                      monkeypatch, capsys):
  monkeypatch.setattr(precision, '_cpu_flags', lambda: {'amx_bf16'})
  monkeypatch.setattr(tf.config, 'list_physical_devices',
                      lambda device_type=None: [])
  out = str(tmp_path / 'run')
  model = cli.run_train(cli._parse_args([
      'train', '--data', digits_npz, '--out', out, '--epochs', '1',
      '--batch-size', '500', '--mixed-precision', 'auto', *SMALL_GLOW]))
  assert 'on the CPU (TensorFlow found no GPU), networks in mixed_bfloat16.' in (
      capsys.readouterr().out.splitlines()[0])
  assert runs.read_config(out)['training']['mixed_precision'] == (
      'mixed_bfloat16')
  networks = {m.network.compute_dtype for m in model.flow.submodules
              if isinstance(m, tfp_glow.Coupling)}
  assert networks == {'bfloat16'}
  assert np.isfinite(float(runs.history(out)[0]['val_bits_per_dim']))
  assert tf_keras.mixed_precision.global_policy().name == 'float32'
