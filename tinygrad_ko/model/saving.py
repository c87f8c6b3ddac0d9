"""One-file model archives: an .npz with the architecture/compile JSON, weights, optimizer state.

Writes are atomic (temp file beside the target, fsync, os.replace): a crash mid-save leaves the
previous file intact. Reads check names, count and shapes before touching any weight.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "tinygrad_ko-model"
WEIGHTS_FORMAT = "tinygrad_ko-weights"
FORMAT_VERSION = 1
CONFIG_KEY = "__config__"


def weight_arrays(model):
    return {f"weights/{i:04d}": np.asarray(w.data) for i, w in enumerate(model.weights)}


def atomic_savez(filepath, arrays, config):
    """np.savez into a temp file beside `filepath`, then os.replace it over `filepath`."""
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(filepath) + ".", suffix=".tmp",
                               dir=directory)
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp's 0600 would make every save private
        with os.fdopen(fd, "wb") as f:
            payload = dict(arrays)
            payload[CONFIG_KEY] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def default_file_mode():
    """0666 less the process umask: the mode open() would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_archive(filepath):
    """(config dict, {name: array}) from a file written by atomic_savez."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"no such model or weights file: {filepath!r}")
    try:
        with np.load(filepath, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ValueError(f"{filepath}: not a tinygrad_ko model/weights file, or corrupt "
                         f"({e})") from e
    if CONFIG_KEY not in arrays:
        raise ValueError(f"{filepath}: not a tinygrad_ko model/weights file (no {CONFIG_KEY})")
    return json.loads(arrays.pop(CONFIG_KEY).tobytes().decode()), arrays


def assign_weights(model, saved_paths, arrays, filepath):
    """Checks count and shapes against the model (naming the layer that differs), then writes."""
    named = model.named_weights()
    if len(saved_paths) != len(named):
        raise ValueError(f"{filepath} holds {len(saved_paths)} weights "
                         f"({', '.join(saved_paths)}) but model {model.name!r} has {len(named)} "
                         f"({', '.join(p for p, _ in named)})")
    values = [arrays[f"weights/{i:04d}"] for i in range(len(saved_paths))]
    for saved, (path, weight), value in zip(saved_paths, named, values):
        if value.shape != tuple(weight.shape):
            raise ValueError(f"{filepath}: saved weight {saved!r} has shape {value.shape}, but "
                             f"layer {path.split('/')[0]!r} of model {model.name!r} expects "
                             f"{path!r} of shape {tuple(weight.shape)}")
    model.set_weights(values)
