"""Networks that parameterise couplings: conditioning part -> shift, log-scale."""

import tensorflow as tf
import tf_keras

from tfp_glow.bijectors.actnorm import ActNorm

__all__ = ['GlowNet']


class GlowNet(tf_keras.layers.Layer):
  """Glow's coupling network [1].

  ```none
  conv3x3(hidden) -> ActNorm -> ReLU -> conv1x1(hidden) -> ActNorm -> ReLU
    -> conv3x3(output_channels, zero-initialised)
  ```

  The last convolution starts at zero, so a new coupling is the identity.
  The ActNorms are `tfp_glow.ActNorm` bijectors applied in their normalising
  (inverse) direction, so `data_dependent_init()` initialises them with the
  rest of the flow.

  #### References

  [1]: Diederik P. Kingma, Prafulla Dhariwal. Glow: Generative Flow with
       Invertible 1x1 Convolutions. In _NeurIPS_, 2018.
       https://arxiv.org/abs/1807.03039
  """

  def __init__(self, output_channels: int, hidden_channels: int = 512,
               **kwargs):
    """Builds the network.

    Args:
      output_channels: Python `int`, channels of the output.
      hidden_channels: Python `int`, width of the two hidden layers.
        Default value: 512.
      **kwargs: passed to `tf_keras.layers.Layer` (e.g. `dtype`, `name`).
    """
    super().__init__(**kwargs)
    dtype = tf.as_dtype(self.dtype)
    self.conv_in = tf_keras.layers.Conv2D(
        hidden_channels, 3, padding='same', use_bias=False, dtype=dtype)
    self.norm_in = ActNorm(hidden_channels, dtype=dtype, name='norm_in')
    self.conv_hidden = tf_keras.layers.Conv2D(
        hidden_channels, 1, use_bias=False, dtype=dtype)
    self.norm_hidden = ActNorm(hidden_channels, dtype=dtype, name='norm_hidden')
    self.conv_out = tf_keras.layers.Conv2D(
        output_channels, 3, padding='same', kernel_initializer='zeros',
        dtype=dtype)

  def call(self, inputs):
    hidden = tf.nn.relu(self.norm_in.inverse(self.conv_in(inputs)))
    hidden = tf.nn.relu(self.norm_hidden.inverse(self.conv_hidden(hidden)))
    return self.conv_out(hidden)
