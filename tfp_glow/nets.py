"""Networks that parameterise couplings: conditioning part -> shift, log-scale.

Each image network maps [N, H, W, C_in] to [N, H, W, output_channels] and
ends in a zero-initialised convolution; `MLP` maps vectors [N, D_in] to
[N, output_channels] and ends in a zero-initialised dense layer. So a new
coupling is the identity.
"""

from collections.abc import Sequence

import tensorflow as tf
import tf_keras

from tfp_glow.bijectors.actnorm import ActNorm, initializing
from tfp_glow.convolutions import conv2d

__all__ = ['MLP', 'GatedConvNet', 'GlowNet', 'ResNet']


class GlowNet(tf_keras.layers.Layer):
  """Glow's coupling network [1].

  ```none
  conv3x3(hidden) -> ActNorm -> ReLU -> conv1x1(hidden) -> ActNorm -> ReLU
    -> conv3x3(output_channels, zero-initialised)
  ```

  The last convolution starts at zero, so a new coupling is the identity.
  The ActNorms are `tfp_glow.ActNorm` bijectors applied in their normalising
  (inverse) direction, so `data_dependent_init()` initialises them with the
  rest of the flow. Once initialised, each ActNorm is folded into the
  convolution before it, which then runs as one fused conv + bias + ReLU.
  The layers run through `tfp_glow.convolutions.conv2d`, which picks a faster
  CPU route per layer shape (matmuls and their shifts).

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
    dtype = self.dtype_policy
    self.conv_in = tf_keras.layers.Conv2D(
        hidden_channels, 3, padding='same', use_bias=False, dtype=dtype)
    self.norm_in = ActNorm(hidden_channels, dtype=self.dtype, name='norm_in')
    self.conv_hidden = tf_keras.layers.Conv2D(
        hidden_channels, 1, use_bias=False, dtype=dtype)
    self.norm_hidden = ActNorm(hidden_channels, dtype=self.dtype,
                               name='norm_hidden')
    self.conv_out = tf_keras.layers.Conv2D(
        output_channels, 3, padding='same', kernel_initializer='zeros',
        dtype=dtype)

  def build(self, input_shape):
    # The folded layers read the kernels without calling the conv layers.
    self.conv_in.build(input_shape)
    hidden_shape = tf.TensorShape(input_shape)[:-1].concatenate(
        self.conv_in.filters)
    self.conv_hidden.build(hidden_shape)
    self.conv_out.build(hidden_shape)
    super().build(input_shape)

  def call(self, inputs):
    hidden = self._conv_actnorm_relu(self.conv_in, self.norm_in, inputs)
    hidden = self._conv_actnorm_relu(self.conv_hidden, self.norm_hidden,
                                     hidden)
    return conv2d(hidden, tf.cast(self.conv_out.kernel, self.compute_dtype),
                  tf.cast(self.conv_out.bias, self.compute_dtype))

  def _conv_actnorm_relu(self, conv: tf_keras.layers.Conv2D,
                         actnorm: ActNorm, x: tf.Tensor) -> tf.Tensor:
    """relu(ActNorm^-1(conv(x))), the ActNorm folded into the convolution.

    ```none
    ActNorm^-1(x * K) = (x * K - shift) s = x * (K s) - shift s,
    s = exp(-log_scale) per output channel
    ```

    While ActNorms initialise (`data_dependent_init()`) the unfolded form
    runs, so that the ActNorm sees conv(x).
    """
    if initializing():
      normalised = actnorm.inverse(tf.cast(conv(x), actnorm.dtype))
      return tf.nn.relu(tf.cast(normalised, self.compute_dtype))
    scale = tf.exp(-actnorm.log_scale)
    kernel = conv.kernel * tf.cast(scale, self.compute_dtype)
    bias = tf.cast(-actnorm.shift * scale, self.compute_dtype)
    return conv2d(x, kernel, bias, tf.nn.relu)


def _conv(channels: int, kernel_size: int, dtype,
          zeros: bool = False) -> tf_keras.layers.Conv2D:
  """A 'same'-padded convolution; `zeros` zero-initialises kernel and bias."""
  initializer = 'zeros' if zeros else 'glorot_uniform'
  return tf_keras.layers.Conv2D(
      channels, kernel_size, padding='same', kernel_initializer=initializer,
      bias_initializer='zeros', dtype=dtype)


def _layer_norm(dtype) -> tf_keras.layers.LayerNormalization:
  """Layer norm over the channel axis only (the UvA `LayerNormChannels`)."""
  return tf_keras.layers.LayerNormalization(axis=-1, epsilon=1e-5, dtype=dtype)


def concat_elu(x: tf.Tensor) -> tf.Tensor:
  """ELU of x and of -x, concatenated along the channels: C -> 2C channels."""
  return tf.concat([tf.nn.elu(x), tf.nn.elu(-x)], axis=-1)


class _ResidualBlock(tf_keras.layers.Layer):
  """x + conv3x3(relu(norm(conv3x3(relu(norm(x))))))."""

  def __init__(self, channels: int, **kwargs):
    super().__init__(**kwargs)
    dtype = self.dtype_policy
    self.norm_in = _layer_norm(dtype)
    self.conv_in = _conv(channels, 3, dtype)
    self.norm_out = _layer_norm(dtype)
    self.conv_out = _conv(channels, 3, dtype)

  def call(self, inputs):
    hidden = self.conv_in(tf.nn.relu(self.norm_in(inputs)))
    return inputs + self.conv_out(tf.nn.relu(self.norm_out(hidden)))


class ResNet(tf_keras.layers.Layer):
  """RealNVP's residual coupling network [1].

  ```none
  block(x) = x + conv3x3(relu(norm(conv3x3(relu(norm(x))))))
  conv3x3(hidden) -> num_blocks x block -> norm -> ReLU
    -> conv3x3(output_channels, zero-initialised)
  ```

  `norm` is a layer norm over the channels (`LayerNormalization(axis=-1)`)
  in place of the paper's batch norm, so training and evaluation agree and
  each pixel is normalised on its own. The last convolution's kernel and bias
  start at zero, so the network outputs 0 and a new coupling is the identity.

  #### References

  [1]: Laurent Dinh, Jascha Sohl-Dickstein, Samy Bengio. Density estimation
       using Real NVP. In _ICLR_, 2017. https://arxiv.org/abs/1605.08803
  """

  def __init__(self, output_channels: int, hidden_channels: int = 64,
               num_blocks: int = 4, **kwargs):
    """Builds the network.

    Args:
      output_channels: Python `int`, channels of the output.
      hidden_channels: Python `int`, width of the residual blocks.
        Default value: 64.
      num_blocks: Python `int`, number of residual blocks.
        Default value: 4.
      **kwargs: passed to `tf_keras.layers.Layer` (e.g. `dtype`, `name`).
    """
    super().__init__(**kwargs)
    dtype = self.dtype_policy
    self.conv_in = _conv(hidden_channels, 3, dtype)
    self.blocks = [_ResidualBlock(hidden_channels, dtype=dtype)
                   for _ in range(num_blocks)]
    self.norm_out = _layer_norm(dtype)
    self.conv_out = _conv(output_channels, 3, dtype, zeros=True)

  def call(self, inputs):
    hidden = self.conv_in(inputs)
    for block in self.blocks:
      hidden = block(hidden)
    return self.conv_out(tf.nn.relu(self.norm_out(hidden)))


class GatedConv(tf_keras.layers.Layer):
  """Gated residual convolution of the UvA flows tutorial [1].

  ```none
  [val, gate] = conv1x1(2 C)(concat_elu(conv3x3(hidden)(concat_elu(x))))
  y = x + val * sigmoid(gate)
  ```

  #### References

  [1]: Phillip Lippe. UvA Deep Learning Tutorials, Tutorial 11: Normalizing
       Flows for image modeling. https://uvadlc-notebooks.readthedocs.io
  """

  def __init__(self, channels: int, hidden_channels: int | None = None,
               **kwargs):
    """Builds the layer.

    Args:
      channels: Python `int`, channels C of the input and the output.
      hidden_channels: Python `int`, width of the 3x3 convolution.
        Default value: `None` (= `channels`).
      **kwargs: passed to `tf_keras.layers.Layer` (e.g. `dtype`, `name`).
    """
    super().__init__(**kwargs)
    dtype = self.dtype_policy
    self.conv_hidden = _conv(hidden_channels or channels, 3, dtype)
    self.conv_gate = _conv(2 * channels, 1, dtype)

  def call(self, inputs):
    hidden = concat_elu(self.conv_hidden(concat_elu(inputs)))
    val, gate = tf.split(self.conv_gate(hidden), 2, axis=-1)
    return inputs + val * tf.sigmoid(gate)


class GatedConvNet(tf_keras.layers.Layer):
  """Gated convolutional coupling network of the UvA flows tutorial [1].

  ```none
  conv3x3(hidden) -> num_layers x [GatedConv(hidden), LayerNormChannels]
    -> concat_elu -> conv3x3(output_channels, zero-initialised)
  ```

  `LayerNormChannels` normalises over the channels only, at each pixel. The
  last convolution's kernel and bias start at zero, so the network outputs 0
  and a new coupling is the identity.

  #### References

  [1]: Phillip Lippe. UvA Deep Learning Tutorials, Tutorial 11: Normalizing
       Flows for image modeling. https://uvadlc-notebooks.readthedocs.io
  """

  def __init__(self, output_channels: int, hidden_channels: int = 32,
               num_layers: int = 3, **kwargs):
    """Builds the network.

    Args:
      output_channels: Python `int`, channels of the output.
      hidden_channels: Python `int`, width of the gated convolutions.
        Default value: 32.
      num_layers: Python `int`, number of gated convolutions.
        Default value: 3.
      **kwargs: passed to `tf_keras.layers.Layer` (e.g. `dtype`, `name`).
    """
    super().__init__(**kwargs)
    dtype = self.dtype_policy
    self.conv_in = _conv(hidden_channels, 3, dtype)
    self.gated = [GatedConv(hidden_channels, dtype=dtype)
                  for _ in range(num_layers)]
    self.norms = [_layer_norm(dtype) for _ in range(num_layers)]
    self.conv_out = _conv(output_channels, 3, dtype, zeros=True)

  def call(self, inputs):
    hidden = self.conv_in(inputs)
    for gated, norm in zip(self.gated, self.norms, strict=True):
      hidden = norm(gated(hidden))
    return self.conv_out(concat_elu(hidden))


class MLP(tf_keras.layers.Layer):
  """A coupling network over vectors: dense layers with ReLU.

  ```none
  x -> dense(h_1) -> ReLU -> ... -> dense(h_k) -> ReLU
    -> dense(output_channels, zero-initialised)
  ```

  The coupling network of RealNVP over vectors (the 2-D toy flows of TFP's
  and normflows' tutorials).

  #### Examples

  ```python
  tfp_glow.MLP(4, 64)              # two hidden layers of 64 units
  tfp_glow.MLP(4, [128, 64, 32])   # three, of the widths given
  ```
  """

  def __init__(self, output_channels: int,
               hidden_channels: int | Sequence[int] = 64,
               num_layers: int = 2, **kwargs):
    """Builds the network.

    Args:
      output_channels: Python `int`, the outputs.
      hidden_channels: Python `int`, the width of `num_layers` hidden
        layers, or a sequence of the hidden layers' widths.
        Default value: 64.
      num_layers: Python `int`, the hidden layers when `hidden_channels` is
        one width.
        Default value: 2.
      **kwargs: passed to `tf_keras.layers.Layer` (e.g. `dtype`, `name`).

    Raises:
      ValueError: for no hidden layer or a width below 1.
    """
    super().__init__(**kwargs)
    widths = ([hidden_channels] * num_layers
              if isinstance(hidden_channels, int) else list(hidden_channels))
    if not widths or min(widths) < 1:
      raise ValueError('MLP needs at least one hidden layer of width >= 1, '
                       f'got widths {widths}.')
    dtype = self.dtype_policy
    self.hidden = [tf_keras.layers.Dense(width, activation='relu', dtype=dtype)
                   for width in widths]
    self.out = tf_keras.layers.Dense(output_channels,
                                     kernel_initializer='zeros', dtype=dtype)

  def call(self, inputs):
    hidden = inputs
    for layer in self.hidden:
      hidden = layer(hidden)
    return self.out(hidden)
