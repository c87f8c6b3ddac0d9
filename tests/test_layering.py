"""Data flows one way: nothing lower in the stack imports anything higher (late imports included).

The one allowed cycle is inside the autograd core (tensor.py <-> autograd.py / ops.py), broken there by
late imports.
"""
import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tinygrad_ko")

# Lowest first. A module may import modules of its own level only where the level is a listed group
# that shares one idea (the autograd core); otherwise only strictly lower levels.
LEVELS = [
    ("_tk", "_lookup"),
    ("_backend",),
    ("autograd", "tensor", "ops", "gradcheck"),
    ("functional",),
    ("nn", "losses", "optim", "schedules"),
    ("metrics",),
    ("callbacks", "datasets"),
    ("model",),
    ("keras",),
]
SHARED_LEVELS = {2}
LEVEL = {name: n for n, names in enumerate(LEVELS) for name in names}


def _top(module_path):
    """'tinygrad_ko.nn.layers' -> 'nn'; None outside the package."""
    parts = module_path.split(".")
    return parts[1] if parts[0] == "tinygrad_ko" and len(parts) > 1 else None


def _imports(path, module):
    tree = ast.parse(open(path).read(), path)
    package = module.rsplit(".", 1)[0] if not path.endswith("__init__.py") else module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _modules():
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                yield path, rel.removesuffix(".__init__")


def test_every_module_has_a_level():
    unknown = {_top(m) for _, m in _modules()} - set(LEVEL) - {None}
    assert not unknown, f"add {sorted(unknown)} to LEVELS in tests/test_layering.py"


@pytest.mark.parametrize("path, module", sorted(_modules()), ids=lambda v: str(v).split("tinygrad_ko")[-1])
def test_imports_point_down(path, module):
    here = _top(module)
    if here is None:
        return
    for imported in _imports(path, module):
        there = _top(imported)
        if there is None or there == here or there not in LEVEL:
            continue
        same_group = LEVEL[there] == LEVEL[here] and LEVEL[here] in SHARED_LEVELS
        assert LEVEL[there] < LEVEL[here] or same_group, f"{module} imports {imported} (upward)"
