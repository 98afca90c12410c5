using System.Collections.Concurrent;
using System.Diagnostics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace NetDsl.Gpu;

/// <summary>Which accelerator <see cref="GpuDevice.Create"/> opens.</summary>
public enum GpuBackend
{
    /// <summary>The first CUDA device when one is usable, else ILGPU's CPU accelerator.</summary>
    Auto,

    /// <summary>The first CUDA device; an error when none is usable.</summary>
    Cuda,

    /// <summary>ILGPU's CPU accelerator: runs every kernel on the CPU (slowly), so the GPU path can be tested anywhere.</summary>
    Cpu,
}

/// <summary>No accelerator of the requested kind can be opened.</summary>
public sealed class GpuUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An ILGPU context and one accelerator, with the kernels compiled for it. Each kernel is compiled on first use
/// and cached for the device's lifetime; <see cref="CompileTime"/> adds up what compiling cost.</summary>
public sealed class GpuDevice : IDisposable
{
    /// <summary>Threads per side of the square thread groups the product kernels use (16 × 16 = 256 threads).</summary>
    public const int GroupSide = 16;

    readonly Context context;
    readonly ConcurrentDictionary<object, Delegate> kernels = new();
    long compileTicks;

    GpuDevice(Context context, Accelerator accelerator)
    {
        this.context = context;
        Accelerator = accelerator;
    }

    /// <summary>Opens an accelerator: by default the first CUDA device, else ILGPU's CPU accelerator. With several CUDA
    /// devices, <paramref name="cudaIndex"/> picks device cudaIndex mod their count: a data-parallel job passes each
    /// rank's local rank, so the ranks on a machine take one GPU each.</summary>
    /// <exception cref="GpuUnavailableException">CUDA was asked for and no CUDA device is usable (no device, no driver).</exception>
    public static GpuDevice Create(GpuBackend backend = GpuBackend.Auto, int cudaIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cudaIndex);
        // The CPU accelerator's default device allows 16 threads per group; the product kernels use 256.
        var simulated = new CPUDevice(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: GroupSide * GroupSide / 4, numMultiprocessors: 1);
        Context context;
        try
        {
            context = Context.Create(builder =>
            {
                // XMath's exp, log, tanh and sqrt compile to every backend once the algorithms library is enabled.
                builder.EnableAlgorithms();
                if (backend != GpuBackend.Cpu) builder.Cuda();
                builder.CPU(simulated);
            });
        }
        catch (Exception error)
        {
            throw new GpuUnavailableException($"ILGPU could not start a context for the {backend} backend: {error.Message}", error);
        }
        try
        {
            var cuda = context.GetCudaDevices();
            if (backend != GpuBackend.Cpu && cuda.Count > 0) return new GpuDevice(context, cuda[cudaIndex % cuda.Count].CreateAccelerator(context));
            if (backend == GpuBackend.Cuda)
                throw new GpuUnavailableException("No CUDA device is usable: ILGPU found none (is an NVIDIA GPU and its driver installed?). " +
                    "Pass GpuBackend.Cpu to run the same kernels on ILGPU's CPU accelerator.");
            return new GpuDevice(context, context.GetCPUDevices()[^1].CreateAccelerator(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The accelerator kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The device's name, e.g. "NVIDIA H100 80GB HBM3" or "CPUAccelerator".</summary>
    public string Name => Accelerator.Name;

    /// <summary>Whether this is ILGPU's CPU accelerator rather than a GPU.</summary>
    public bool IsSimulated => Accelerator.AcceleratorType == AcceleratorType.CPU;

    /// <summary>Time spent compiling kernels so far (each kernel compiles once, on its first launch).</summary>
    public TimeSpan CompileTime => TimeSpan.FromTicks(Interlocked.Read(ref compileTicks));

    /// <summary>The kernel cached under <paramref name="key"/>, compiled by <paramref name="load"/>(accelerator, key) on
    /// first use. A cached kernel costs one lookup and no allocation.</summary>
    internal TKernel Kernel<TKernel>(object key, Func<Accelerator, object, TKernel> load) where TKernel : Delegate
    {
        if (kernels.TryGetValue(key, out var cached)) return (TKernel)cached;
        var watch = Stopwatch.StartNew();
        var kernel = (TKernel)kernels.GetOrAdd(key, load(Accelerator, key));
        Interlocked.Add(ref compileTicks, watch.Elapsed.Ticks);
        return kernel;
    }

    readonly List<MemoryBuffer1D<float, Stride1D.Dense>> allocated = [];

    /// <summary>Allocates <paramref name="length"/> floats on the device (contents undefined).</summary>
    internal MemoryBuffer1D<float, Stride1D.Dense> Allocate(long length)
    {
        var buffer = Accelerator.Allocate1D<float>(Math.Max(length, 1));
        lock (allocated)
        {
            allocated.RemoveAll(b => b.IsDisposed);
            allocated.Add(buffer);
        }
        return buffer;
    }

    /// <summary>Bytes of the buffers NetDsl holds on this device now (those not yet disposed).</summary>
    public long AllocatedBytes
    {
        get
        {
            lock (allocated) return allocated.Where(b => !b.IsDisposed).Sum(b => b.LengthInBytes);
        }
    }

    /// <summary>Bytes the device can still allocate: CUDA's free memory; for the CPU accelerator, the memory this process
    /// may still take from the machine.</summary>
    public long FreeMemoryBytes => Accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda
        ? cuda.GetFreeMemory()
        : Math.Max(0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet);

    /// <inheritdoc />
    public void Dispose()
    {
        Accelerator.Dispose();
        context.Dispose();
    }
}
