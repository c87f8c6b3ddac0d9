"""Names: Keras-style unique layer names, and the "unknown name" error every lookup raises."""
import difflib
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


def unknown_name_error(kind, name, valid):
    """ValueError for an unknown ``kind`` name, listing the valid ones and the closest match."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {name!r}.{hint} Valid names: {', '.join(valid)}")
