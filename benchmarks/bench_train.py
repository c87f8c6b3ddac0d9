"""Training throughput of the toy CNN: tinygrad_ko's C and NumPy backends against PyTorch CPU.

    PYTHONPATH=. python benchmarks/bench_train.py [--steps 40] [--batches 32 128] [--threads 2]
    PYTHONPATH=. python benchmarks/bench_train.py --profile   # where a training step's time goes

Each measurement runs in its own subprocess (so peak RSS is that framework's alone), holding the
Fashion-MNIST training set as float32 (random images when the data set is not installed), which
the parent loads once and hands over as .npy files: the PyTorch worker never imports tinygrad_ko,
whose C runtime tunes glibc's malloc at load (see csrc/runtime.c). Rounds
interleave the frameworks and the best round is kept: the machine is shared and noisy. Prints
images/second, ratios and peak RSS; asserts nothing.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import print_table, write_json  # noqa: E402

FRAMEWORKS = ("tinygrad_ko-c", "tinygrad_ko-numpy", "torch", "torch-malloc")
# The glibc settings csrc/runtime.c makes at load, as environment variables: "torch-malloc" runs
# PyTorch with them, to show how much of our lead is the allocator policy alone.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def training_data():
    """(x (N, 28, 28, 1) float32 in [0, 1], y (N,) int64): Fashion-MNIST if present, else random."""
    from tinygrad_ko import datasets
    try:
        (x, y), _ = datasets.fashion_mnist.load_data()
    except (datasets.DataUnavailableError, datasets.CorruptDataError):
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60000)
    return x.reshape(-1, 28, 28, 1) / np.float32(255.0), y.astype(np.int64)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---- one measurement (runs in a child process) ----

def load_saved(data_dir):
    return np.load(os.path.join(data_dir, "x.npy")), np.load(os.path.join(data_dir, "y.npy"))


def run_tinygrad(backend, batch, steps, threads, data_dir):
    import tinygrad_ko as tg
    from examples.train_cnn import build_model
    from tinygrad_ko import keras
    tg.set_backend(backend)
    _limit_threads(threads)
    tg.manual_seed(0)
    np.random.seed(0)
    x, y = load_saved(data_dir)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:3 * batch], y[:3 * batch], batch_size=batch, verbose=0)  # warm-up
    n = steps * batch
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch, verbose=0)
    return n / (time.perf_counter() - start)


def run_torch(batch, steps, threads, data_dir):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = load_saved(data_dir)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(y)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 7 * 7, 100), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(100, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch(n):
        order = torch.randperm(n)
        for start in range(0, n, batch):
            index = order[start:start + batch]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()

    epoch(3 * batch)
    start = time.perf_counter()
    epoch(steps * batch)
    return steps * batch / (time.perf_counter() - start)


def _limit_threads(threads):
    import tinygrad_ko as tg
    tg.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass


def worker(framework, batch, steps, threads, data_dir):
    if framework.startswith("torch"):
        images_per_s = run_torch(batch, steps, threads, data_dir)
    else:
        images_per_s = run_tinygrad(framework.split("-")[1], batch, steps, threads, data_dir)
    print(json.dumps({"images_per_s": images_per_s, "peak_rss_mib": peak_rss_mib()}))


def measure(framework, batch, steps, threads, data_dir):
    command = [sys.executable, os.path.abspath(__file__), "--worker", framework,
               "--batches", str(batch), "--steps", str(steps), "--threads", str(threads),
               "--data", data_dir]
    env = {**os.environ, **TUNED_MALLOC} if framework == "torch-malloc" else None
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"  {framework} batch {batch} failed:\n{done.stderr.strip()[-2000:]}",
              file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- profile of one training step ----

def _function_classes():
    from tinygrad_ko import autograd
    classes, stack = [], list(autograd.Function.__subclasses__())
    while stack:
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    return classes


class _Clock:
    """Exclusive time per key: a wrapped call's time minus that of the wrapped calls inside it."""

    def __init__(self):
        self.spent, self.stack = {}, []

    def wrap(self, key, fn):
        def wrapper(*args, **kwargs):
            self.stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = self.stack.pop()
                self.spent[key] = self.spent.get(key, 0.0) + elapsed - inner
                if self.stack:
                    self.stack[-1] += elapsed
        return wrapper


def _by_layer(model, clock):
    """Forward per layer, backward per op, optimizer step."""
    for layer in model.layers:
        layer.call = clock.wrap(f"forward  {layer.name}", layer.call)
    for cls in _function_classes():
        if "backward" in vars(cls):
            cls.backward = clock.wrap(f"backward {cls.__name__}", vars(cls)["backward"])
    model.loss = clock.wrap("loss (forward)", model.loss)
    model.optimizer.step = clock.wrap("optimizer step", model.optimizer.step)


def _by_kernel(model, clock):
    """Every kernel entry point (C), and the NumPy work of each op's forward/backward around them."""
    from tinygrad_ko._backend import kernels
    for name, fn in list(vars(kernels).items()):
        if callable(fn) and not name.startswith("_") and getattr(fn, "__module__", "") == \
                kernels.__name__:
            setattr(kernels, name, clock.wrap(f"C kernel  {name}", fn))
    for cls in _function_classes():
        for method in ("forward", "backward"):
            if method in vars(cls):
                setattr(cls, method, clock.wrap(f"NumPy in {cls.__name__}.{method}",
                                                vars(cls)[method]))


def _profiled_fit(batch, steps, threads, instrument):
    """Trains `steps` steps with `instrument(model, clock)` applied; returns (spent, total s)."""
    import tinygrad_ko as tg
    from examples.train_cnn import build_model
    from tinygrad_ko._backend import kernels
    tg.set_backend("c")
    _limit_threads(threads)
    x, y = training_data()
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, verbose=0)
    saved_classes = {cls: dict(vars(cls)) for cls in _function_classes()}
    saved_kernels = dict(vars(kernels))
    clock = _Clock()
    instrument(model, clock)
    n = steps * batch
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch, verbose=0)
    total = time.perf_counter() - start
    for cls, attributes in saved_classes.items():  # undo the wrappers for the next run
        for name in ("forward", "backward"):
            if name in attributes:
                setattr(cls, name, attributes[name])
    vars(kernels).update(saved_kernels)
    return clock.spent, total


def profile(batch, steps, threads):
    """Where a training step's time goes (C backend), measured twice: by layer and op, then by
    kernel entry point with the NumPy work of each op around it (exclusive times)."""
    for instrument in (_by_layer, _by_kernel):
        spent, total = _profiled_fit(batch, steps, threads, instrument)
        rows = [{"what": k, "ms": v / steps * 1e3, "share": 100 * v / total}
                for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v / total > 0.002]
        rest = total - sum(spent.values())
        rows.append({"what": "everything else (autograd walk, fit loop, metrics, batching)",
                     "ms": rest / steps * 1e3, "share": 100 * rest / total})
        print_table(rows, [("what", "", "{}"), ("ms", "ms/step", "{:.2f}"),
                           ("share", "%", "{:.1f}")],
                    title=f"CNN training step, C backend, batch {batch}, {threads} threads: "
                          f"{total / steps * 1e3:.1f} ms/step ({steps * batch / total:,.0f} "
                          f"images/s), {instrument.__doc__.strip()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per run")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best is kept)")
    parser.add_argument("--numpy-steps", type=int, default=10,
                        help="timed steps for the (slow) NumPy backend")
    parser.add_argument("--profile", action="store_true", help="profile one step instead")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.batches[0], args.steps, args.threads, args.data)
    if args.profile:
        return profile(args.batches[-1], args.steps, args.threads)
    with tempfile.TemporaryDirectory() as data_dir:
        x, y = training_data()
        np.save(os.path.join(data_dir, "x.npy"), x)
        np.save(os.path.join(data_dir, "y.npy"), y)
        del x, y
        best = race(args, data_dir)
    report(args, best)


def race(args, data_dir):
    """{(framework, batch): the best round's result}, rounds interleaving the frameworks."""
    best = {}
    for round_ in range(args.rounds):
        for batch in args.batches:
            for framework in FRAMEWORKS:
                steps = args.numpy_steps if framework.endswith("numpy") else args.steps
                result = measure(framework, batch, steps, args.threads, data_dir)
                if result is None:
                    continue
                key = (framework, batch)
                if key not in best or result["images_per_s"] > best[key]["images_per_s"]:
                    best[key] = result
                print(f"  round {round_ + 1}: {framework:18s} batch {batch:4d}: "
                      f"{result['images_per_s']:8.0f} images/s, peak RSS "
                      f"{result['peak_rss_mib']:.0f} MiB", flush=True)
    return best


def report(args, best):
    rows = []
    for batch in args.batches:
        ours, numpy_, torch_, tuned = (best.get((f, batch)) for f in FRAMEWORKS)
        speed = {key: result and result["images_per_s"]
                 for key, result in (("c", ours), ("numpy", numpy_), ("torch", torch_),
                                     ("torch_malloc", tuned))}
        rows.append({
            "batch": batch, **speed,
            "c_vs_torch": ours and torch_ and speed["c"] / speed["torch"],
            "c_vs_torch_malloc": ours and tuned and speed["c"] / speed["torch_malloc"],
            "c_vs_numpy": ours and numpy_ and speed["c"] / speed["numpy"],
            "rss_c": ours and ours["peak_rss_mib"], "rss_torch": torch_ and torch_["peak_rss_mib"],
        })
    print_table(rows, [("batch", "batch", "{}"), ("c", "ours C img/s", "{:.0f}"),
                       ("numpy", "ours NumPy img/s", "{:.0f}"), ("torch", "torch img/s", "{:.0f}"),
                       ("torch_malloc", "torch+malloc img/s", "{:.0f}"),
                       ("c_vs_torch", "C/torch", "{:.2f}x"),
                       ("c_vs_torch_malloc", "C/torch+malloc", "{:.2f}x"),
                       ("c_vs_numpy", "C/NumPy", "{:.1f}x"),
                       ("rss_c", "RSS C MiB", "{:.0f}"), ("rss_torch", "RSS torch MiB", "{:.0f}")],
                title=f"toy CNN training, {args.threads} threads (targets: C/torch >= 1.2x, "
                      f"C/NumPy >= 10x, RSS C <= RSS torch; torch+malloc: PyTorch under the "
                      f"allocator settings our runtime makes)")
    write_json(args.json, {"threads": args.threads, "rows": rows})


if __name__ == "__main__":
    main()
