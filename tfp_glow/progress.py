"""How long a training run has left, said once, after its second epoch."""

import time

import tf_keras

__all__ = ['TimeLeft', 'duration']


def duration(seconds: float) -> str:
  """'40 s', '12 minutes', '3.5 hours': a rough duration in words."""
  if seconds < 90:
    return f'{seconds:.0f} s'
  if seconds < 90 * 60:
    return f'{seconds / 60:.0f} minutes'
  return f'{seconds / 3600:.1f} hours'


class TimeLeft(tf_keras.callbacks.Callback):
  """Prints, after the second epoch a run trains, the pace and the time left.

  ```none
  time left = (epochs - epochs trained) * seconds of that second epoch
  ```

  The first epoch includes tracing, which can double it on a CPU.
  """

  def __init__(self, epochs: int, print_fn=None):
    super().__init__()
    self._epochs = epochs
    # On its own line: Keras's progress bar ends the epoch's line after it.
    self._print = print_fn or (lambda line: print(f'\n{line}', flush=True))
    self._seen = 0
    self._start = None

  def on_epoch_begin(self, epoch, logs=None):
    self._start = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    self._seen += 1
    if self._seen == 2:
      seconds = time.monotonic() - self._start
      left = self._epochs - epoch - 1
      self._print(f'epoch {epoch + 1} took {duration(seconds)}; at that pace '
                  f'the {left} epochs left take about '
                  f'{duration(left * seconds)}.')
