"""Keras-style unique layer names."""
import re
from collections import defaultdict

_name_counts = defaultdict(int)


def to_snake_case(class_name):
    """Keras's rule: "Dense" -> "dense", "MaxPooling2D" -> "max_pooling2d", "ReLU" -> "re_lu"."""
    words = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", words).lower()


def unique_name(base, zero_based=True):
    """"dense", "dense_1", "dense_2", ... (zero_based) or "input_1", "input_2", ... (not)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    if zero_based:
        return base if count == 0 else f"{base}_{count}"
    return f"{base}_{count + 1}"


def reset_names():
    """Restart the automatic numbering (what ``keras.backend.clear_session()`` does)."""
    _name_counts.clear()

