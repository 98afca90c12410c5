"""Reads `name value unit` lines from NetDsl's `gpu` mode and from torch_figures.py (stdin, both together) and prints
each NetDsl figure with its ratio to PyTorch's: faster-is-higher for samples/s, and PyTorch's time over NetDsl's for us."""
import sys

figures = {}
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 3 and not line.startswith("#"):
        figures[parts[0]] = (float(parts[1]), parts[2])
for name, (value, unit) in figures.items():
    reference = figures.get("torch-" + name)
    if name.startswith("torch-") or reference is None:
        continue
    ratio = value / reference[0] if unit == "samples/s" else reference[0] / value
    print(f"{name} {value:.3f} {unit} ({ratio:.2f}x PyTorch's {reference[0]:.3f})")
