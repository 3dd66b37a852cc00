"""Run directories: what `train` writes and the other commands read.

```none
OUT/config.json      the flow, the data and the training settings
OUT/history.csv      one row per trained epoch (Keras CSVLogger)
OUT/backup/          BackupAndRestore's state: a larger --epochs resumes
OUT/checkpoints/     best.*: the weights of the best validation epoch
OUT/logs/            TensorBoard
OUT/samples/         a sample grid per epoch
```

Nothing a user made is lost: a directory holding another run is refused
unless the user asks to overwrite it, and then only these names go.
"""

import csv
import json
import os
import shutil

import tensorflow as tf

from tfp_glow import registry
from tfp_glow.dequantization import VariationalDequantizer
from tfp_glow.training import FlowModel

__all__ = ['BACKUP', 'RUN_FILES', 'RunError', 'best_checkpoint',
           'best_so_far', 'build_model', 'check_run_directory',
           'current_flow_config', 'describe', 'describe_size',
           'epochs_done', 'history', 'read_config', 'remove_run', 'restore_model',
           'write_config']

# What a run directory holds; `--overwrite` removes exactly these.
RUN_FILES = ('config.json', 'history.csv', 'backup', 'checkpoints', 'logs',
             'samples')
# Where Keras's BackupAndRestore(out/backup) keeps its checkpoints.
BACKUP = os.path.join('backup', 'chief')


class RunError(Exception):
  """A run directory that can not serve the command, said in one line."""


def check_run_directory(out: str, config: dict, overwrite: bool) -> None:
  """Refuses a directory holding another run, unless `overwrite`; says which
  flags resume it when only the model's sizes or seed differ."""
  path = os.path.join(out, 'config.json')
  if overwrite or not os.path.exists(path):
    return
  with open(path) as file:
    previous = json.load(file)
  previous = {**previous, 'flow': current_flow_config(previous['flow'])}
  if (previous['flow'], previous['data']) == (config['flow'], config['data']):
    return
  resume = ''
  changed = {name for name in {*previous['flow'], *config['flow']}
             if previous['flow'].get(name) != config['flow'].get(name)}
  flags = registry.MODELS[previous['flow']['model']].flags
  if previous['data'] == config['data'] and changed <= flags.keys():
    resume = ' '.join(_train_flag(name, previous['flow'][name])
                      for name in flags if name in changed)
    resume = f'; to resume it, pass {resume}'
  raise RunError(
      f'{out} holds a run of another model or data ({describe(previous)}, '
      f'not {describe(config)}){resume}; pass --overwrite to replace it or '
      'choose another --out.')


def remove_run(out: str) -> None:
  """Removes the run's own files (`RUN_FILES`) from `out`, nothing else."""
  for name in RUN_FILES:
    target = os.path.join(out, name)
    if os.path.isdir(target):
      shutil.rmtree(target)
    elif os.path.exists(target):
      os.remove(target)


def write_config(out: str, config: dict) -> None:
  """Writes config.json whole (other workers may be reading it)."""
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, 'config.json')
  with open(path + '.tmp', 'w') as file:
    json.dump(config, file, indent=2)
  os.replace(path + '.tmp', path)


def read_config(out: str) -> dict:
  path = os.path.join(out, 'config.json')
  if not os.path.isfile(path):
    raise RunError(f'{out} holds no run (no config.json); train first.')
  with open(path) as file:
    return json.load(file)


def epochs_done(out: str) -> int:
  """The epochs in the run's BackupAndRestore state (0 for a new run)."""
  checkpoint = tf.train.latest_checkpoint(os.path.join(out, BACKUP))
  if checkpoint is None:
    rows = history(out)
    if rows:
      raise RunError(
          f'{out} holds {len(rows)} epochs in history.csv but no backup to '
          'continue from; pass --overwrite to train from scratch or choose '
          'another --out.')
    return 0
  return int(tf.train.load_checkpoint(checkpoint).get_tensor(
      'ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE')) + 1


def current_flow_config(flow_config: dict) -> dict:
  """A run's flow config as `train` writes it today, for the same model.

  A renamed entry (`registry.RENAMED`) takes its new name and the flag
  values that make it; a size flag the config lacks, written before the
  flag existed, takes the model's `legacy` value (what the run was trained
  with) or else its default.
  """
  name, values = registry.RENAMED.get(flow_config['model'],
                                      (flow_config['model'], {}))
  if name not in registry.MODELS:
    raise RunError(f'the run names model {name!r}, which this tfp_glow '
                   'does not have.')
  model = registry.MODELS[name]
  sizes = {flag: model.legacy.get(flag, size.default)
           for flag, size in model.flags.items() if flag != 'seed'}
  return {**sizes, **values, **flow_config, 'model': name}


def build_model(flow_config: dict) -> FlowModel:
  """A new `FlowModel` of the model that `flow_config` names (as
  `current_flow_config` reads it)."""
  flow_config = current_flow_config(flow_config)
  model = registry.MODELS[flow_config['model']]
  try:  # The models check their sizes against the image shape.
    flow = model.build(flow_config['image_shape'], flow_config,
                       num_classes=flow_config.get('num_classes'))
  except ValueError as error:
    raise RunError(str(error)) from error
  dequantizer = (VariationalDequantizer(flow.image_shape)
                 if flow_config.get('dequantizer') == 'variational' else None)
  return FlowModel(flow, dequantizer=dequantizer)


def restore_model(out: str, config: dict) -> FlowModel:
  """The run's model with the weights of its best checkpoint."""
  checkpoint = best_checkpoint(out)
  if not tf.train.latest_checkpoint(os.path.dirname(checkpoint)):
    raise RunError(f'{out} holds no checkpoint yet; train first.')
  model = build_model(config['flow'])
  # The flow's weights, every one of them; not the optimizer's state, which
  # evaluating, sampling and exporting do not use.
  try:
    weights = {'flow': model.flow}
    if model.dequantizer:
      weights['dequantizer'] = model.dequantizer
    tf.train.Checkpoint(**weights).read(checkpoint).expect_partial(
        ).assert_existing_objects_matched()
  except (AssertionError, ValueError) as error:  # Missing, or other shapes.
    raise RunError(
        f'{checkpoint} does not hold the weights of {describe(config)}: it '
        'was written for another model, or by a tfp_glow older than the '
        'ActNorm log-scale factor; train the model again.') from error
  model.compile()
  return model


def best_checkpoint(out: str) -> str:
  return os.path.join(out, 'checkpoints', 'best')


def best_so_far(out: str) -> float | None:
  """The lowest val_bits_per_dim logged by earlier runs, if any."""
  return min((float(row['val_bits_per_dim']) for row in history(out)),
             default=None)


def history(out: str) -> list[dict]:
  """The rows of the run's history.csv (none for a new run)."""
  path = os.path.join(out, 'history.csv')
  if not os.path.exists(path):
    return []
  with open(path) as file:
    return list(csv.DictReader(file))


def describe(config: dict) -> str:
  """'realnvp (levels 2, hidden channels 4, no batch norm, seed 0) on X'."""
  flow = config['flow']
  sizes = ', '.join(describe_size(name, value) for name, value in flow.items()
                    if name not in ('model', 'image_shape'))
  source = config['data']['dataset'] or config['data']['data']
  return f'{flow["model"]} ({sizes}) on {source}'


def describe_size(name: str, value) -> str:
  """'hidden channels 64'; a switch by its name: 'batch norm', 'no ...'."""
  words = name.replace('_', ' ')
  if isinstance(value, bool):
    return words if value else f'no {words}'
  return f'{words} {value}'


def _train_flag(name: str, value) -> str:
  """The `train` flag that sets a size: '--blocks 4', '--no-batch-norm'."""
  flag = name.replace('_', '-')
  if isinstance(value, bool):
    return f'--{flag}' if value else f'--no-{flag}'
  return f'--{flag} {value}'
