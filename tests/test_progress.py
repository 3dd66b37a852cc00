"""The time a run has left, said once after its second epoch."""

import pytest

from tfp_glow import progress


@pytest.mark.parametrize('seconds, words', [
    (40, '40 s'), (600, '10 minutes'), (3 * 3600, '3.0 hours')])
def test_durations_read_as_words(seconds, words):
  assert progress.duration(seconds) == words


@pytest.mark.parametrize('first_epoch, said', [
    (0, ('epoch 2 took 30 s; at that pace the 8 epochs left take about '
         '4 minutes.')),
    # A resumed run: from its own second epoch.
    (6, ('epoch 8 took 30 s; at that pace the 2 epochs left take about '
         '60 s.')),
])
def test_time_left_is_said_once_at_the_second_epochs_pace(
    first_epoch, said, monkeypatch):
  # Epochs of 70 s (tracing), 30 s and 10 s.
  clock = iter([0., 70., 100., 130., 200., 210.])
  monkeypatch.setattr(progress.time, 'monotonic', lambda: next(clock))
  lines = []
  callback = progress.TimeLeft(10, print_fn=lines.append)
  for epoch in range(first_epoch, first_epoch + 3):
    callback.on_epoch_begin(epoch)
    callback.on_epoch_end(epoch)
  assert lines == [said]
