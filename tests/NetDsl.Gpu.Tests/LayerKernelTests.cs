using ILGPU;
using ILGPU.Runtime;
using NetDsl.Kernels;

namespace NetDsl.Gpu.Tests;

/// <summary>Max pooling on the device against the CPU kernels on inputs full of ties (values on a coarse grid), where
/// a network's gradients cannot tell which tied input won: both sides must pick the first in window order.</summary>
public sealed class LayerKernelTests(SimulatedDevice simulated) : IClassFixture<SimulatedDevice>
{
    [Theory]
    [InlineData(2, 9, 9, 3, 3, 2)] // overlapping windows: an input can win two
    [InlineData(3, 8, 6, 2, 2, 2)]
    [InlineData(1, 1, 12, 1, 3, 3)] // Maxout's one-row windows
    public void Max_pooling_picks_the_CPU_s_winners_and_routes_the_gradient_as_the_CPU_does(int channels, int height, int width,
        int kernelHeight, int kernelWidth, int stride)
    {
        const int batch = 3;
        var g = new ConvGeometry(channels, height, width, kernelHeight, kernelWidth, stride, 0, 0,
            (height - kernelHeight) / stride + 1, (width - kernelWidth) / stride + 1);
        var random = new Random(channels * 100 + width);
        var input = Enumerable.Range(0, batch * g.InputSize).Select(_ => random.Next(-2, 3) / 2f).ToArray();
        int outputs = batch * g.Channels * g.OutputPixels;
        var expected = new float[outputs];
        var expectedWinners = new float[outputs];
        Pooling.MaxForward<float>(input, expected, expectedWinners, batch, g);
        var outputGradient = Enumerable.Range(0, outputs).Select(_ => (float)random.NextDouble()).ToArray();
        var expectedGradient = new float[input.Length];
        Pooling.MaxBackward<float>(outputGradient, expectedWinners, expectedGradient, batch);

        var accelerator = simulated.Device.Accelerator;
        var forward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, StoreEpilogue>(GpuLayerKernels.MaxPoolForward);
        var backward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, StoreEpilogue>(GpuLayerKernels.MaxPoolBackward);
        using var deviceInput = accelerator.Allocate1D(input);
        using var deviceOutput = accelerator.Allocate1D<float>(outputs);
        using var deviceWinners = accelerator.Allocate1D<float>(outputs);
        using var deviceOutputGradient = accelerator.Allocate1D(outputGradient);
        using var deviceInputGradient = accelerator.Allocate1D<float>(input.Length);
        forward(outputs, deviceInput.View, deviceWinners.View, g, new StoreEpilogue { Output = deviceOutput.View, Width = g.Channels * g.OutputPixels });
        backward(input.Length, deviceOutputGradient.View, deviceWinners.View, g, new StoreEpilogue { Output = deviceInputGradient.View, Width = g.InputSize });

        Assert.Equal(expected, deviceOutput.GetAsArray1D());
        Assert.Equal(expectedWinners, deviceWinners.GetAsArray1D());
        var actualGradient = deviceInputGradient.GetAsArray1D();
        for (int i = 0; i < input.Length; i++)
            Assert.True(Math.Abs(expectedGradient[i] - actualGradient[i]) <= 1e-6, $"input gradient {i}: CPU {expectedGradient[i]}, GPU {actualGradient[i]}");
    }
}
