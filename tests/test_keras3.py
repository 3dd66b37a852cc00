"""A trained flow's export inside a Keras 3 model (keras.layers.TFSMLayer).

TFP does not support Keras 3; the export needs neither: its signatures load
as a Keras 3 layer whose log-likelihoods a Keras 3 model can use and train.
"""

import keras
import numpy as np
import tf_keras

import tfp_glow
from tests import registry


def test_an_export_trains_inside_a_keras_3_model(digits, tmp_path):
  tf_keras.utils.set_random_seed(0)
  pixels = digits.numpy().astype(np.uint8)
  flow = registry.build('glow', width=8, num_steps_per_level=2)
  dist = tfp_glow.flow_distribution(flow)
  images = (pixels[:64].astype(np.float32) + 0.5) / 256
  with tfp_glow.data_dependent_init():
    expected = dist.log_prob(images)
  path = tfp_glow.export_saved_model(flow, str(tmp_path / 'glow'),
                                     warmup_rows=0)

  layer = keras.layers.TFSMLayer(path, call_endpoint='serving_default',
                                 trainable=True)
  inputs = keras.Input((8, 8, 1), dtype='uint8', name='images')
  model = keras.Model(inputs, layer(inputs)['bits_per_dim'])
  np.testing.assert_allclose(
      model.predict(pixels[:64], verbose=0),
      tfp_glow.bits_per_dim(expected, [8, 8, 1]), rtol=1e-5)

  assert len(layer.trainable_weights) == len(flow.trainable_variables)
  model.compile(optimizer=keras.optimizers.SGD(3e-3),
                loss=lambda _, bits_per_dim: bits_per_dim)
  history = model.fit(pixels, np.zeros(len(pixels), np.float32),
                      batch_size=64, epochs=3, verbose=0)
  losses = history.history['loss']
  assert losses[-1] < losses[0] - 0.05, losses
