"""How long a training run has left, said once, after its first epoch."""

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
  """Prints, after the first epoch a run trains, the pace and the time left.

  ```none
  time left = (epochs - epoch trained) * seconds of that first epoch
  ```

  The first epoch includes tracing, so the estimate errs long.
  """

  def __init__(self, epochs: int, print_fn=print):
    super().__init__()
    self._epochs = epochs
    self._print = print_fn
    self._start = None

  def on_epoch_begin(self, epoch, logs=None):
    if self._start is None:
      self._start = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    if self._start is not None and self._epochs:
      seconds = time.monotonic() - self._start
      left = self._epochs - epoch - 1
      self._print(f'epoch {epoch + 1} took {duration(seconds)}; at that pace '
                  f'the {left} epochs left take about '
                  f'{duration(left * seconds)}.')
      self._epochs = 0   # Said once.
