"""Models: Sequential and functional Model (compile/fit/evaluate/predict/summary/save), load_model.

Split by idea: `core` (the classes and the training loop), `data` (batching and input checks),
`summary` (the summary table and the logits warning), `saving` (atomic one-file archives).
"""
from .core import Model, Sequential, load_model
from .summary import model_to_dot, plot_model, summary_text

__all__ = ["Model", "Sequential", "load_model", "model_to_dot", "plot_model", "summary_text"]
