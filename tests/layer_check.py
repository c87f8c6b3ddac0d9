"""Helper for the nn tests: gradcheck a layer with respect to its input and its weights."""
import tinygrad_ko as tg


def gradcheck_layer(layer, x, weight_names, training=False):
    """tg.gradcheck of ``layer(x)`` in float64 over x and the named weight attributes.

    gradcheck hands fresh float64 copies of its inputs to the function, so the function installs the
    weight copies on the layer before calling it.
    """
    layer(x, training=training)

    def forward(x, *weights):
        for name, weight in zip(weight_names, weights):
            setattr(layer, name, weight)
        return layer(x, training=training)

    return tg.gradcheck(forward, [x] + [getattr(layer, name) for name in weight_names])
