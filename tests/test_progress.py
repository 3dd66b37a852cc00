"""The time a run has left, said once after its first epoch."""

import pytest

from tfp_glow import progress


@pytest.mark.parametrize('seconds, words', [
    (40, '40 s'), (600, '10 minutes'), (3 * 3600, '3.0 hours')])
def test_durations_read_as_words(seconds, words):
  assert progress.duration(seconds) == words


@pytest.mark.parametrize('first_epoch, said', [
    (0, 'epoch 1 took 30 s; at that pace the 9 epochs left take about '
        '4 minutes.'),
    # A resumed run: from its own first epoch.
    (6, 'epoch 7 took 30 s; at that pace the 3 epochs left take about '
        '2 minutes.'),
])
def test_time_left_is_said_once_from_the_first_epochs_pace(
    first_epoch, said, monkeypatch):
  clock = iter([100., 130., 1000., 2000.])
  monkeypatch.setattr(progress.time, 'monotonic', lambda: next(clock))
  lines = []
  callback = progress.TimeLeft(10, print_fn=lines.append)
  for epoch in range(first_epoch, first_epoch + 2):
    callback.on_epoch_begin(epoch)
    callback.on_epoch_end(epoch)
  assert lines == [said]
