using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Benchmarks;

/// <summary>The machine's fused multiply-add limit as C# reaches it: 16 independent FMA chains of the widest vector
/// per core (enough to cover the latency of both FMA pipes), one thread per core, nothing loaded from memory.</summary>
public static class FmaPeak
{
    /// <summary>Measures GFLOP/s over <paramref name="threads"/> cores (default: all) for about <paramref name="seconds"/>.</summary>
    public static double Measure(double seconds, int threads = 0)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        const long iterations = 20_000_000;
        // Warm up (JIT and clocks), then time a fixed amount of work on each of the cores at once.
        Chains(iterations / 20);
        double best = 0;
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        do
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++) (workers[t] = new Thread(() => Chains(iterations))).Start();
            foreach (var worker in workers) worker.Join();
            double flops = threads * iterations * 16.0 * VectorLanes * 2;
            best = Math.Max(best, flops / watch.Elapsed.TotalSeconds / 1e9);
        } while (DateTime.UtcNow < deadline);
        return best;
    }

    static int VectorLanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Chains(long iterations) =>
        Vector512.IsHardwareAccelerated ? Chains512(iterations) : Chains256(iterations);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Chains512(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector512<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            c12 = Vector512.FusedMultiplyAdd(c12, m, a); c13 = Vector512.FusedMultiplyAdd(c13, m, a);
            c14 = Vector512.FusedMultiplyAdd(c14, m, a); c15 = Vector512.FusedMultiplyAdd(c15, m, a);
        }
        var sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15;
        return Vector512.Sum(sum);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Chains256(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (long i = 0; i < iterations * 2; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7);
    }
}
