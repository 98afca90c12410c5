"""PyTorch's side of the GPU comparison: the networks of `NetDsl.Benchmarks -- gpu`, trained the same way (Adam,
the same losses, the loss read back every step), printed as `torch-<name> value unit` lines. Run it on the GPU machine
right after the .NET figures; ../compare.py prints the ratios."""
import sys
import time

import torch
from torch import nn


def mlp():  # BenchMlp: 784-256-128-10, ReLU, softmax cross-entropy
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def narrow():  # NarrowMlp: 64 wide, four hidden ReLU layers, 16 outputs, mean squared error
    layers = []
    for _ in range(4):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 16))


def cnn():  # BenchCnn: Conv32-BN-ReLU-Pool-Conv64-BN-ReLU-Pool-Dense128-ReLU-Dropout(0.3)-Dense10, same padding
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def rate(model, loss_fn, batch, inputs, outputs, device, seconds=2.0):
    """Samples per second of training steps over about `seconds`, after three warm-up steps. `inputs` is the sample's
    shape (an int for a vector)."""
    shape = inputs if isinstance(inputs, tuple) else (inputs,)
    x = torch.rand(batch, *shape, device=device) * 2 - 1
    if loss_fn is nn.functional.cross_entropy:
        y = torch.randint(0, outputs, (batch,), device=device)
    else:
        y = torch.rand(batch, outputs, device=device) * 0.5
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # NetDsl's TrainStep returns the loss too

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or steps < 3:
        step()
        steps += 1
    torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def inference_us(model, device):
    x = torch.rand(1, 784, device=device)
    with torch.no_grad():
        for _ in range(10):
            model(x).cpu()
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 1.0 or calls < 10:
            model(x).cpu()  # NetDsl's PredictBatch copies the outputs back
            calls += 1
    return (time.perf_counter() - start) / calls * 1e6


def main():
    if not torch.cuda.is_available():
        print("error: PyTorch sees no CUDA device", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    print(f"# device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    model = mlp().to(device)
    print(f"torch-gpu-mlp-step-b1024 {rate(model, nn.functional.cross_entropy, 1024, 784, 10, device):.3f} samples/s")
    print(f"torch-gpu-mlp-step-b65536 {rate(model, nn.functional.cross_entropy, 65536, 784, 10, device):.3f} samples/s")
    print(f"torch-gpu-mlp-infer-b1 {inference_us(model.eval(), device):.3f} us")
    print(f"torch-gpu-narrow-step-b262144 {rate(narrow().to(device), nn.functional.mse_loss, 1 << 18, 64, 16, device):.3f} samples/s")
    conv = cnn().to(device)
    print(f"torch-gpu-cnn-step-b64 {rate(conv, nn.functional.cross_entropy, 64, (1, 28, 28), 10, device):.3f} samples/s")
    print(f"torch-gpu-cnn-step-b1024 {rate(conv, nn.functional.cross_entropy, 1024, (1, 28, 28), 10, device):.3f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
