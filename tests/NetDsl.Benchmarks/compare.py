"""Reads `name value unit` lines from NetDsl's benchmark modes (`quick`, `gpu`) and from the reference run
(`torch-<name>` lines: ../NetDsl.Benchmarks.Torch or gpu/torch_figures.py), all on stdin, and prints each NetDsl figure
with its ratio to the reference: NetDsl over reference for rates (samples/s, GFLOP/s), the reference's time over
NetDsl's for times (us, ms, s), so above 1 means NetDsl is faster. A figure given several times (alternating runs of both sides, as run.sh does on a
shared machine whose speed drifts) counts by its median, and its range is shown; when both sides ran the same number of
rounds, the ratio of each round follows, and a GFLOP/s figure is also given as a fraction of the same round's
`fma-peak`."""
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
    faster = (lambda ours, theirs: theirs / ours) if unit in ("us", "ms", "s") else (lambda ours, theirs: ours / theirs)
    line = f"{name} {shown} {unit} ({faster(value, reference_value):.2f}x libtorch's {reference_shown})"
    if len(values) > 1 and len(values) == len(reference[0]):
        line += "; rounds " + ", ".join(f"{faster(ours, theirs):.2f}" for ours, theirs in zip(values, reference[0]))
    peak = figures.get("fma-peak")
    if unit == "GFLOP/s" and peak is not None and len(peak[0]) == len(values):
        fractions = [ours / limit for ours, limit in zip(values, peak[0])]
        line += f"; of fma-peak {statistics.median(fractions):.2f} (rounds " + ", ".join(f"{f:.2f}" for f in fractions) + ")"
    print(line)
