"""Per-op Python overhead on tiny tensors: tinygrad_ko vs bare NumPy vs PyTorch eager, in one run.

Every tinygrad_ko and torch case records the graph (inputs require grad), as a training step does.
The NumPy column is the same arithmetic with no autodiff (for backward cases: the hand-written
gradient), i.e. the floor any NumPy-backed framework pays. Target: tinygrad_ko within 2x of torch.

    python benchmarks/bench_overhead.py [--threads 1] [--repeat 21] [--json out.json]
    (TINYGRAD_KO_BACKEND=numpy to time tinygrad_ko on the NumPy kernels instead of the C core)
"""
import numpy as np
from common import optional_torch, parse_args, print_table, race, set_threads, write_json

import tinygrad_ko as tg

BATCH, SIZES = 32, (64, 64, 64, 10)  # the MLP: 64 -> 64 -> 64 -> 10, relu between
# NOTE: short timed runs, so that on a loaded machine some of them fit in one scheduler slice and
# the best one shows the true cost; raise --repeat (e.g. 21) when the machine is busy.
RUN_SECONDS = 0.003


CASES = ("add", "add + backward", "matmul 4x4", "matmul 4x4 + sum + backward",
         "MLP fwd+bwd (batch 32)")


def _numpy_cases(a, b, m1, m2, x, ws, bs):
    def add_backward():
        _ = a + b
        return np.ones_like(a), np.ones_like(b)

    def matmul_backward():
        _ = m1 @ m2
        ones = np.ones((4, 4), np.float32)
        return ones @ m2.T, m1.T @ ones

    def mlp():
        hs, h = [x], x
        for n, (w, bias) in enumerate(zip(ws, bs)):
            h = h @ w + bias
            if n < len(ws) - 1:
                h = np.maximum(h, 0)
            hs.append(h)
        g = 2 * h / h.size
        grads = []
        for n in reversed(range(len(ws))):
            grads.append((hs[n].T @ g, g.sum(0)))
            g = g @ ws[n].T
            if n:
                g = g * (hs[n] > 0)
        return grads

    return dict(zip(CASES, (lambda: a + b, add_backward, lambda: m1 @ m2, matmul_backward, mlp)))


def _autograd_cases(tensor, a, b, m1, m2, x, ws, bs):
    """The same five cases for any framework with a torch-like API; tensor(array, requires_grad)."""
    a, b, m1, m2 = (tensor(v, True) for v in (a, b, m1, m2))
    x = tensor(x, False)
    ws, bs = [tensor(w, True) for w in ws], [tensor(bias, True) for bias in bs]
    params = [a, b, m1, m2] + ws + bs

    def clear():
        for p in params:
            p.grad = None

    def add_backward():
        (a + b).backward()
        clear()

    def matmul_backward():
        (m1 @ m2).sum().backward()
        clear()

    def mlp():
        h = x
        for n, (w, bias) in enumerate(zip(ws, bs)):
            h = h @ w + bias
            if n < len(ws) - 1:
                h = h.relu()
        (h * h).mean().backward()
        clear()

    return dict(zip(CASES, (lambda: a + b, add_backward, lambda: m1 @ m2, matmul_backward, mlp)))


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch = optional_torch()
    rng = np.random.default_rng(0)
    data = (np.full((), 1.5, np.float32), np.ones((), np.float32),
            rng.standard_normal((4, 4), np.float32), rng.standard_normal((4, 4), np.float32),
            rng.standard_normal((BATCH, SIZES[0]), np.float32),
            [rng.standard_normal((i, o), np.float32) * 0.1 for i, o in zip(SIZES, SIZES[1:])],
            [np.zeros(o, np.float32) for o in SIZES[1:]])
    frameworks = {"numpy": _numpy_cases(*data),
                  "tinygrad_ko": _autograd_cases(
                      lambda v, rg: tg.Tensor(v, requires_grad=rg), *data)}
    if torch is not None:
        frameworks["torch"] = _autograd_cases(
            lambda v, rg: torch.tensor(v, requires_grad=rg), *data)
    rows = []
    for threads in args.threads:
        set_threads(threads)
        for name in CASES:
            best = race({key: cases[name] for key, cases in frameworks.items()},
                        repeat=args.repeat, min_time=RUN_SECONDS)
            row = {"threads": threads, "case": name}
            row.update({key: seconds * 1e6 for key, seconds in best.items()})
            if "torch" in row:
                row["ratio"] = row["tinygrad_ko"] / row["torch"]
            rows.append(row)
    print_table(rows, [("threads", "threads", "{}"), ("case", "case", "{}"),
                       ("numpy", "NumPy µs", "{:.2f}"), ("tinygrad_ko", "tinygrad_ko µs", "{:.2f}"),
                       ("torch", "torch µs", "{:.2f}"), ("ratio", "tinygrad_ko / torch", "{:.2f}")],
                title=f"µs per call, best of {args.repeat} interleaved {RUN_SECONDS * 1e3:g} ms "
                      f"runs (tinygrad_ko backend: {tg.get_backend()})")
    write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
