"""Every bijector of the registry through the property and bad-input checks."""

import functools

import pytest
import tensorflow as tf

from tests.bijector_checks import check_bijector, tiny_images
from tests.bijectors.registry import BIJECTORS, names


@pytest.mark.parametrize('name', names())
def test_properties(name):
  """Round trips, log-dets against autodiff and gradients reaching every
  variable: new, after data-dependent initialisation and after training."""
  entry = BIJECTORS[name]
  bijector, kwargs = entry.make(), entry.kwargs()
  data = entry.data() if entry.data else None
  # A copy of data: from the bijector cache, initialisation's inverse(data)
  # would skip BatchNorm's update of its moving averages.
  x = (bijector.inverse(tf.identity(data), **kwargs) if entry.latent_from_data
       else tiny_images(entry.shape))
  check_bijector(bijector, x, data=data, kwargs=kwargs)


def event_calls(name, log_det=True):
  """A new bijector's calls that take [..., H, W, C] images (or [..., D]
  vectors), as functions of them; `log_det` adds inverse's log-det
  (log_prob's other call)."""
  entry = BIJECTORS[name]
  bijector, kwargs = entry.make(), entry.kwargs()
  calls = [functools.partial(getattr(bijector, method), **kwargs)
           for method in entry.methods]
  if log_det and 'inverse' in entry.methods:
    calls.append(functools.partial(bijector.inverse_log_det_jacobian,
                                   event_ndims=entry.event_ndims, **kwargs))
  return calls


def event(name, channels, dtype=tf.float64):
  """One zero event of `channels` channels, as entry `name` takes it."""
  return tf.zeros([1, *[4] * (BIJECTORS[name].event_ndims - 1), channels],
                  dtype)


@pytest.mark.parametrize('name', names('rank'))
def test_wrong_rank(name):
  rank = BIJECTORS[name].event_ndims
  for call in event_calls(name, log_det=False):   # TFP checks event_ndims.
    with pytest.raises(ValueError,
                       match=rf'\(rank >= {rank}\), got rank {rank - 1}'):
      call(tf.zeros([4] * (rank - 1), tf.float64))


@pytest.mark.parametrize('name', names('dtype'))
def test_integer_images(name):
  """TFP refuses them for a bijector with a dtype (a ValueError), the
  others' image checks (a TypeError)."""
  channels = BIJECTORS[name].channels or 4
  for call in event_calls(name):
    with pytest.raises((TypeError, ValueError), match='dtype int32'):
      call(event(name, channels, tf.int32))


@pytest.mark.parametrize('name', names('channels'))
def test_wrong_channel_count(name):
  entry = BIJECTORS[name]
  got = entry.channels + 2
  match = entry.channel_error.format(channels=entry.channels, got=got)
  for call in event_calls(name):
    with pytest.raises(ValueError, match=match):
      call(event(name, got))
