using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Gpu.Tests;

/// <summary>The shared tiled product against a naive double-precision product, on shapes that cross the 64 × 64 tiles
/// and the 16-deep steps in every direction, for every operand layout.</summary>
public sealed class ProductKernelTests(SimulatedDevice simulated) : IClassFixture<SimulatedDevice>
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void The_tiled_product_matches_a_naive_product(bool transposeA, bool transposeB)
    {
        var accelerator = simulated.Device.Accelerator;
        var kernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ProductShape, StoreEpilogue>(GpuKernels.Product);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (70, 130, 33), (129, 65, 17), (5, 3, 200) })
        {
            var random = new Random(m * 31 + n * 7 + k);
            var a = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var b = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            using var deviceA = accelerator.Allocate1D(a);
            using var deviceB = accelerator.Allocate1D(b);
            using var deviceC = accelerator.Allocate1D<float>(m * n);
            int tile = GpuKernels.ProductTile, side = GpuDevice.GroupSide;
            kernel(new KernelConfig(new Index2D((n + tile - 1) / tile, (m + tile - 1) / tile), new Index2D(side, side)),
                deviceA.View, deviceB.View, ProductShape.Of(m, n, k, transposeA, transposeB), new StoreEpilogue { Output = deviceC.View, Width = n });
            var c = deviceC.GetAsArray1D();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double expected = 0;
                    for (int p = 0; p < k; p++)
                        expected += (double)(transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
                    Assert.True(Math.Abs(expected - c[i * n + j]) <= 1e-5 * k, $"({m}×{n}×{k}) C[{i}, {j}]: {c[i * n + j]}, expected {expected}");
                }
        }
    }

    [Fact]
    public void A_product_split_along_k_adds_its_partial_tiles_to_the_same_result()
    {
        // 5 × 3 outputs over k = 5000 (a convolution's weight gradient has this shape): one tile of C, so the product is
        // split into layers of groups along k whose partial tiles SumSplits adds.
        const int m = 5, n = 3, k = 5000;
        var shape = ProductShape.Of(m, n, k, true, false);
        int splits = GpuNetwork.SplitsFor(shape, tiles: 1);
        Assert.True(splits > 1, $"splits {splits}");
        var accelerator = simulated.Device.Accelerator;
        var random = new Random(11);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var deviceA = accelerator.Allocate1D(a);
        using var deviceB = accelerator.Allocate1D(b);
        using var partials = accelerator.Allocate1D<float>(splits * m * n);
        using var deviceC = accelerator.Allocate1D<float>(m * n);
        var product = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ProductShape, StoreEpilogue>(GpuKernels.Product);
        var sum = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, int, StoreEpilogue>(GpuKernels.SumSplits);
        int side = GpuDevice.GroupSide;
        product(new KernelConfig(new Index3D(1, 1, splits), new Index3D(side, side, 1)), deviceA.View, deviceB.View,
            shape with { DepthPerGroup = (k + splits - 1) / splits }, new StoreEpilogue { Output = partials.View, Width = n });
        sum(m * n, partials.View, splits, m, n, new StoreEpilogue { Output = deviceC.View, Width = n });
        var c = deviceC.GetAsArray1D();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double expected = 0;
                for (int p = 0; p < k; p++) expected += (double)a[p * m + i] * b[p * n + j];
                Assert.True(Math.Abs(expected - c[i * n + j]) <= 1e-5 * Math.Sqrt(k) * 10, $"C[{i}, {j}]: {c[i * n + j]}, expected {expected}");
            }
    }
}
