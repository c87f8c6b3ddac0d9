"""Looking at a model: Keras's summary table, plot_model, and the compile-time logits warning."""
import os
import shutil
import subprocess

import numpy as np

from .data import loss_name


def summary_text(model, line_length=65):
    """Keras's summary table (the 784-300-100-10 MLP: "Total params: 266,610")."""
    widths = [int(line_length * 0.45), int(line_length * 0.85) - int(line_length * 0.45)]
    widths.append(line_length - sum(widths))
    lines = [f'Model: "{model.name}"', "_" * line_length]
    lines += _row(["Layer (type)", "Output Shape", "Param #"], widths)
    lines.append("=" * line_length)
    for layer, shape in model.layer_output_shapes():
        lines += _row([f"{layer.name} ({type(layer).__name__})", _shape_text(shape),
                       str(layer.count_params())], widths)
        lines.append(" " * line_length)
    lines.append("=" * line_length)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = model.count_params()
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    return "\n".join(lines)


def _shape_text(shape):
    return str([tuple(s) for s in shape]) if isinstance(shape, list) else str(tuple(shape))


def _row(cells, widths):
    """One table row, laid out as Keras lays it out: each column's text is cut to leave two spaces
    before the next column (breaking after "),"-like ends when it can), the rest wraps onto further
    lines, and each column is padded to its absolute position."""
    positions = np.cumsum(widths)
    left = [str(cell) for cell in cells]
    lines = []
    while any(left):
        line = ""
        for col, text in enumerate(left):
            space = 2 if col < len(left) - 1 else 0
            cutoff = widths[col] - space
            fit = text[:cutoff]
            breaks = [fit.find(end) + len(end) for end in ("),", "},", "],", "',") if end in fit]
            if breaks:
                cutoff = min(breaks)
                fit = fit[:cutoff]
            line += (" " if col == 0 else "") + fit + " " * space
            left[col] = text[cutoff:]
            line += " " * (positions[col] - len(line))
        lines.append(line)
    return lines


# ---- the compile warning about logits ----

def final_layer(model):
    """The layer that produces the model's output (looking inside nested models)."""
    layer = model
    while hasattr(layer, "layers") and layer.layers:
        layer = layer.layers[-1]
    return None if layer is model else layer


def logits_mismatch(model, loss):
    """The warning text when the last activation and the loss's from_logits disagree, else None.

    Only cross-entropy losses care, and only a final layer with an `activation` setting (Dense,
    Conv, Activation) or a Softmax layer tells us what the model outputs.
    """
    layer = final_layer(model)
    if loss is None or layer is None:
        return None
    if "crossentropy" not in loss_name(loss).replace("_", "").lower():
        return None
    if type(layer).__name__ == "Softmax":
        activation = "softmax"
    else:
        activation = layer.get_config().get("activation", "unknown")
    from_logits = bool(getattr(loss, "from_logits", False))
    if activation in ("softmax", "sigmoid") and from_logits:
        return (f"The model ends in a {activation} ({layer.name!r}), but the loss "
                f"{loss_name(loss)!r} has from_logits=True: it will apply {activation} a second "
                f"time and train badly. Fix: use from_logits=False (the default), or remove the "
                f"final {activation} and keep from_logits=True.")
    if activation in (None, "linear") and not from_logits:
        return (f"The model ends in a linear layer ({layer.name!r} has no activation), so it "
                f"outputs logits, but the loss {loss_name(loss)!r} expects probabilities "
                f"(from_logits=False). Fix: pass the loss object with from_logits=True, e.g. "
                f"keras.losses.SparseCategoricalCrossentropy(from_logits=True), or end the model "
                f"with activation='softmax' (or 'sigmoid' for one output).")
    return None


# ---- plot_model ----

def model_to_dot(model, show_shapes=False, rankdir="TB"):
    """Graphviz DOT text of the model's layers: one box per layer, arrows in data-flow order."""
    lines = ["digraph model {", f'  rankdir="{rankdir}";',
             '  node [shape=record, fontname="monospace"];']
    rows = model.layer_output_shapes()
    for n, (layer, shape) in enumerate(rows):
        label = f"{layer.name}: {type(layer).__name__}"
        if show_shapes:
            label += f" | output: {_shape_text(shape)}"
        lines.append(f'  layer{n} [label="{label}"];')
        if n:
            lines.append(f"  layer{n - 1} -> layer{n};")
    return "\n".join(lines + ["}"])


def plot_model(model, to_file="model.png", show_shapes=False, rankdir="TB", dpi=96):
    """Keras's plot_model: draws the layer graph into `to_file` with Graphviz's `dot` program.

    A `.dot` file name writes the DOT text itself. Without `dot` installed, the DOT text is written
    next to `to_file` and a message says how to render it (Keras needs pydot + graphviz likewise).
    """
    model._require_built("plot_model()")
    text = model_to_dot(model, show_shapes=show_shapes, rankdir=rankdir)
    root, extension = os.path.splitext(os.fspath(to_file))
    if extension == ".dot":
        with open(to_file, "w") as f:
            f.write(text)
        return
    dot = shutil.which("dot")
    if dot is None:
        with open(root + ".dot", "w") as f:
            f.write(text)
        print(f"plot_model: Graphviz's `dot` program is not installed, so {to_file} was not drawn; "
              f"the graph is in {root}.dot (sudo apt-get install graphviz, then "
              f"dot -T{extension.lstrip('.') or 'png'} {root}.dot -o {to_file})")
        return
    subprocess.run([dot, f"-T{extension.lstrip('.') or 'png'}", f"-Gdpi={dpi}", "-o",
                    os.fspath(to_file)], input=text.encode(), check=True)
