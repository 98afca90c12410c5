using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NetDsl.Kernels;

namespace NetDsl.Gpu.Tests;

/// <summary>The CPU accelerator runs kernels as .NET code; a CUDA device runs what ILGPU's PTX backend makes of them, and
/// that backend refuses some constructs the CPU accepts. Every kernel the runtime and the generated twins launch is
/// compiled here to PTX for a Hopper GPU (sm_90), no GPU needed, so a kernel the CUDA path cannot build fails a test.</summary>
public sealed class CudaCompilationTests : IDisposable
{
    readonly Context context = Context.Create(builder => builder.EnableAlgorithms().Cuda());
    readonly PTXBackend backend;

    public CudaCompilationTests() =>
        backend = new PTXBackend(context, new CudaArchitecture(9, 0), CudaInstructionSet.ISA_80, nvvmAPI: null!);

    public void Dispose()
    {
        backend.Dispose();
        context.Dispose();
    }

    string Compile(MethodInfo kernel, bool explicitlyGrouped)
    {
        var entry = explicitlyGrouped ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        Assert.Contains(".entry", compiled.PTXAssembly);
        return compiled.PTXAssembly;
    }

    static MethodInfo Kernel(Type owner, string name, params Type[] typeArguments)
    {
        var method = owner.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException($"{owner.Name}.{name} not found");
        return typeArguments.Length == 0 ? method : method.MakeGenericMethod(typeArguments);
    }

    /// <summary>Every epilogue a twin declares: its layers' forward epilogues and the ones that form each dZ.</summary>
    static Type[] Epilogues(Type twin) =>
        twin.GetNestedTypes(BindingFlags.NonPublic).Where(t => t.IsValueType && typeof(IGpuEpilogue).IsAssignableFrom(t)).ToArray();

    [Fact]
    public void The_product_compiles_for_CUDA_with_every_generated_epilogue()
    {
        var twins = new[] { typeof(GpuClassifier.OnGpu), typeof(GpuRegressor.OnGpu), typeof(GpuTagger.OnGpu), typeof(GpuCnn.OnGpu),
            typeof(GpuNormedMlp.OnGpu), typeof(GpuResidual.OnGpu), typeof(GpuAttention.OnGpu) };
        var epilogues = twins.SelectMany(Epilogues).Concat([typeof(StoreEpilogue), typeof(BiasedStoreEpilogue), typeof(WeightGradientEpilogue)]).ToList();
        Assert.True(epilogues.Count > 40, $"only {epilogues.Count} epilogues found");
        foreach (var epilogue in epilogues)
        {
            string ptx = Compile(Kernel(typeof(GpuKernels), nameof(GpuKernels.Product), epilogue), explicitlyGrouped: true);
            Assert.Contains(".shared", ptx); // the staged operand tiles
            Compile(Kernel(typeof(GpuKernels), nameof(GpuKernels.SumSplits), epilogue), explicitlyGrouped: false);
        }
    }

    [Fact]
    public void The_layer_kernels_compile_for_CUDA()
    {
        // A receiving epilogue with a skip connection's gradient, dropout and an activation derivative, and a plain store.
        var receivers = new[] { typeof(GpuResidual.OnGpu).GetNestedType("Conv1InputGradient", BindingFlags.NonPublic)!, typeof(GpuCnn.OnGpu).GetNestedType("Pool1InputGradient", BindingFlags.NonPublic)!,
            typeof(StoreEpilogue) };
        foreach (var epilogue in receivers)
            foreach (var name in new[] { nameof(GpuLayerKernels.PatchesToImage), nameof(GpuLayerKernels.MaxPoolForward), nameof(GpuLayerKernels.MaxPoolBackward),
                nameof(GpuLayerKernels.AveragePoolForward), nameof(GpuLayerKernels.AveragePoolBackward), nameof(GpuLayerKernels.BatchNormNormalize),
                nameof(GpuLayerKernels.BatchNormInputGradient), nameof(GpuLayerKernels.Pass), nameof(GpuLayerKernels.Sum),
                nameof(GpuLayerKernels.PReLUForward), nameof(GpuLayerKernels.PReLUInputGradient), nameof(GpuLayerKernels.SoftmaxRows) })
                Compile(Kernel(typeof(GpuLayerKernels), name, epilogue), explicitlyGrouped: false);
        Compile(Kernel(typeof(GpuLayerKernels), nameof(GpuLayerKernels.Pass), typeof(GpuRegressor.OnGpu).GetNestedType("OutOutputStep", BindingFlags.NonPublic)!), explicitlyGrouped: false);
        foreach (var name in new[] { nameof(GpuLayerKernels.Im2Patches), nameof(GpuLayerKernels.ToPixelMajor), nameof(GpuLayerKernels.BatchNormRunningMoments),
            nameof(GpuLayerKernels.SoftmaxRowsBackward) })
            Compile(Kernel(typeof(GpuLayerKernels), name), explicitlyGrouped: false);
        // One group per channel, sums in double in shared memory.
        foreach (var name in new[] { nameof(GpuLayerKernels.BatchNormStatistics), nameof(GpuLayerKernels.BatchNormGradientSums), nameof(GpuLayerKernels.PReLUSlopeGradient) })
            Assert.Contains("bar.sync", Compile(Kernel(typeof(GpuLayerKernels), name), explicitlyGrouped: true));
    }

    [Fact]
    public void The_losses_penalty_and_optimizer_updates_compile_for_CUDA()
    {
        foreach (var name in new[] { nameof(GpuKernels.ColumnSums), nameof(GpuKernels.SoftmaxCrossEntropy), nameof(GpuKernels.MeanSquaredError),
            nameof(GpuKernels.BinaryCrossEntropy), nameof(GpuKernels.PenaltySums), nameof(GpuKernels.FlagNonFinite), nameof(GpuKernels.Sgd),
            nameof(GpuKernels.Momentum), nameof(GpuKernels.SquareAverage), nameof(GpuKernels.AdaDelta), nameof(GpuKernels.Adam) })
            Compile(Kernel(typeof(GpuKernels), name), explicitlyGrouped: false);
    }

    [Fact]
    public void The_fused_passes_compile_for_CUDA()
    {
        foreach (var twin in new[] { typeof(GpuClassifier.OnGpu), typeof(GpuRegressor.OnGpu), typeof(GpuTagger.OnGpu) })
        {
            Assert.Contains("bar.sync", Compile(Kernel(twin, "FusedForward"), explicitlyGrouped: true));
            Compile(Kernel(twin, "FusedBackward"), explicitlyGrouped: true);
        }
    }
}
