"""Reads `name value unit` lines from NetDsl's benchmark modes (`quick`, `gpu`) and from the reference run
(`torch-<name>` lines: ../NetDsl.Benchmarks.Torch or gpu/torch_figures.py), all on stdin, and prints each NetDsl figure
with its ratio to the reference: NetDsl over reference for rates (samples/s, GFLOP/s), the reference's time over
NetDsl's for times (us, ms, s), so above 1 means NetDsl is faster. A figure given several times (alternating runs of both sides, as run.sh does on a
shared machine whose speed drifts) counts by its median, and its range is shown."""
import statistics
import sys

figures = {}
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 3 and not line.startswith("#"):
        figures.setdefault(parts[0], ([], parts[2]))[0].append(float(parts[1]))


def describe(values):
    middle = statistics.median(values)
    spread = f" [{min(values):.3f}-{max(values):.3f}]" if len(values) > 1 else ""
    return middle, f"{middle:.3f}{spread}"


# Figures whose reference is another workload's: int8 predictions against libtorch's float ones (the same task).
REFERENCE_OF = {"mlp-infer-b1-int8": "mlp-infer-b1"}

for name, (values, unit) in figures.items():
    reference = figures.get("torch-" + REFERENCE_OF.get(name, name))
    if name.startswith("torch-") or reference is None:
        continue
    value, shown = describe(values)
    reference_value, reference_shown = describe(reference[0])
    ratio = reference_value / value if unit in ("us", "ms", "s") else value / reference_value
    print(f"{name} {shown} {unit} ({ratio:.2f}x libtorch's {reference_shown})")
