"""Reads `name value unit` lines from NetDsl's benchmark modes (`quick`, `gpu`) and from the reference run
(`torch-<name>` lines: ../NetDsl.Benchmarks.Torch or gpu/torch_figures.py), all on stdin, and prints each NetDsl figure
with its ratio to the reference: NetDsl over reference for rates (samples/s, GFLOP/s), the reference's time over
NetDsl's for times (us, ms, s), so above 1 means NetDsl is faster."""
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
    ratio = reference[0] / value if unit in ("us", "ms", "s") else value / reference[0]
    print(f"{name} {value:.3f} {unit} ({ratio:.2f}x libtorch's {reference[0]:.3f})")
