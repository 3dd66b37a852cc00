"""The command line takes every image model of `tfp_glow.registry` from its
entry."""

import pytest

from tfp_glow import cli, registry, runs

NARROW = {'hidden_channels': '4', 'steps_per_level': '1', 'blocks': '1'}
# A value each size flag takes, where '2' is not one (switches take none).
VALUES = {'coupling_log_scale': ['tanh'], 'batch_norm': [],
          'double_width_per_scale': []}


def train_args(name: str, *extra: str):
  return cli._parse_args(['train', '--model', name, '--data', 'digits.npz',
                          '--out', 'run', *extra])


@pytest.mark.parametrize('name', sorted(registry.IMAGE_MODELS))
def test_every_model_builds_from_its_command_line_config(name):
  """What `train --model NAME` records in config.json builds the entry's
  flow with its variant's arguments, and restores from the same config."""
  model = registry.MODELS[name]
  narrow = [arg for flag, value in NARROW.items() if flag in model.flags
            for arg in (f'--{flag.replace("_", "-")}', value)]
  config = {'model': name, 'image_shape': [8, 8, 1], 'seed': 0,
            **({'num_classes': 10} if model.conditional else {}),
            **cli._sizes(train_args(name, *narrow))}
  flow = runs.build_model(config).flow
  assert type(flow) is model.flow
  for argument, value in model.variant.items():
    assert flow.parameters[argument] == value, argument
  assert flow.parameters['hidden_channels'] == 4
  assert (flow.num_classes == 10) == model.conditional


@pytest.mark.parametrize('name, flag', [
    (name, flag) for name, model in sorted(registry.IMAGE_MODELS.items())
    for flag in cli.SIZE_FLAGS if flag not in model.flags])
def test_a_size_flag_the_model_does_not_take_is_refused(name, flag, capsys):
  dashed = f'--{flag.replace("_", "-")}'
  value = VALUES.get(flag, ['2'])
  assert cli.main(['train', '--model', name, '--data', 'digits.npz', '--out',
                   'run', dashed, *value]) == 2
  assert capsys.readouterr().err.strip() == (
      f'tfp_glow train: error: {dashed} does not apply to --model {name}.')


def test_a_size_the_model_can_not_take_is_refused(capsys):
  assert cli.main(['train', '--model', 'simple', '--data', 'digits.npz',
                   '--out', 'run', '--levels', '3']) == 2
  assert capsys.readouterr().err.strip() == (
      'tfp_glow train: error: SimpleFlow has 1 or 2 levels, got 3.')


def test_a_variant_fixes_its_arguments_over_the_defaults():
  flow = registry.MODELS['glow_sigmoid'].small((8, 8, 1))
  assert flow.parameters['coupling_log_scale'] == 'sigmoid'
  assert 'coupling_log_scale' not in registry.MODELS['glow_sigmoid'].flags
  assert registry.MODELS['glow'].arguments()['coupling_log_scale'] == 'tanh'


def test_a_conditional_entry_needs_the_number_of_classes():
  with pytest.raises(ValueError, match='class-conditional and needs '
                     'num_classes'):
    registry.MODELS['glow_conditional'].build((8, 8, 1))


def test_realnvp_runs_from_before_the_paper_defaults_keep_their_model(
    tmp_path):
  """A `realnvp` run's config.json from before the batch-norm flag builds
  the RealNVP without BatchNorms it was trained with; one of the retired
  `realnvp_batch_norm` entry reads as today's `realnvp`, and `train`
  resumes it."""
  old = {'model': 'realnvp', 'image_shape': [8, 8, 1], 'seed': 0,
         'levels': 2, 'hidden_channels': 4, 'blocks': 1}
  assert runs.current_flow_config(old) == {
      **old, 'batch_norm': False, 'double_width_per_scale': False}
  assert runs.build_model(old).flow.parameters['batch_norm'] is False
  renamed = runs.current_flow_config({**old, 'model': 'realnvp_batch_norm'})
  today = cli._sizes(train_args('realnvp', '--hidden-channels', '4',
                                '--blocks', '1'))
  assert renamed == {**old, **today}
  assert today['batch_norm'] is True
  data = {'dataset': None, 'data': 'digits.npz'}
  runs.write_config(str(tmp_path), {
      'flow': {**old, 'model': 'realnvp_batch_norm'}, 'data': data})
  runs.check_run_directory(str(tmp_path), {'flow': renamed, 'data': data},
                           overwrite=False)
  with pytest.raises(runs.RunError, match="model 'realnvp_paper'"):
    runs.build_model({**old, 'model': 'realnvp_paper'})
  with pytest.raises(runs.RunError, match='to resume it, pass --batch-norm;'):
    runs.check_run_directory(str(tmp_path), {
        'flow': {**renamed, 'batch_norm': False}, 'data': data},
                             overwrite=False)
  runs.write_config(str(tmp_path), {'flow': old, 'data': data})
  with pytest.raises(runs.RunError) as refusal:
    runs.check_run_directory(str(tmp_path), {'flow': renamed, 'data': data},
                             overwrite=False)
  assert ('holds a run of another model or data (realnvp (levels 2, hidden '
          'channels 4, blocks 1, no batch norm, no double width per scale, '
          'seed 0) on digits.npz, not realnvp (levels 2, hidden channels 4, '
          'blocks 1, batch norm, ') in str(refusal.value)
  assert 'to resume it, pass --no-batch-norm;' in str(refusal.value)


def test_the_simple_flow_trains_and_evaluates_from_the_command_line(
    digits_npz, tmp_path, capsys):
  """The one family no other command-line test trains."""
  out = str(tmp_path / 'run')
  assert cli.main(['train', '--model', 'simple', '--data', digits_npz,
                   '--out', out, '--epochs', '1', '--hidden-channels', '4',
                   '--batch-size', '500']) == 0
  assert len(runs.history(out)) == 1
  plan = capsys.readouterr().out.splitlines()[:2]
  assert plan[0].startswith('tfp_glow train: simple (levels 2, hidden '
                            'channels 4) on ')
  assert plan[0].endswith(', epochs 1-1 of batch 500, on the CPU (TensorFlow '
                          'found no GPU).')
  assert f'{out}/samples/epoch_NNN.png' in plan[1]
  assert cli.main(['evaluate', '--out', out]) == 0
  assert capsys.readouterr().out.startswith('test bits/dim: ')
