using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Benchmarks;

/// <summary>How fast the cores read data that sits in their own L2: each thread sums its own block of
/// <see cref="BytesPerCore"/> (half the MLP's weights, the share of one core in a shared prediction) over and over with
/// eight independent vector sums. A single-sample prediction reads every weight once, so the weights' size over this
/// rate is its floor.</summary>
public static class CacheRead
{
    /// <summary>470 KB: inside Zen 5's 1 MB L2 per core, far outside its 48 KB L1.</summary>
    public const int BytesPerCore = 470 * 1024;

    /// <summary>Measures GB/s over all cores for about <paramref name="seconds"/>.</summary>
    public static double Measure(double seconds)
    {
        int threads = Environment.ProcessorCount;
        const int passes = 4000;
        var blocks = Enumerable.Range(0, threads).Select(_ => Enumerable.Repeat(1e-3f, BytesPerCore / sizeof(float)).ToArray()).ToArray();
        Sum(blocks[0], passes / 20);
        double best = 0;
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        do
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                var block = blocks[t];
                (workers[t] = new Thread(() => Sum(block, passes))).Start();
            }
            foreach (var worker in workers) worker.Join();
            best = Math.Max(best, (double)threads * passes * BytesPerCore / watch.Elapsed.TotalSeconds / 1e9);
        } while (DateTime.UtcNow < deadline);
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Sum(float[] block, int passes)
    {
        ref float start = ref block[0];
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int pass = 0; pass < passes; pass++)
            for (nuint i = 0; i + 128 <= (nuint)block.Length; i += 128)
            {
                s0 += Vector512.LoadUnsafe(ref start, i); s1 += Vector512.LoadUnsafe(ref start, i + 16);
                s2 += Vector512.LoadUnsafe(ref start, i + 32); s3 += Vector512.LoadUnsafe(ref start, i + 48);
                s4 += Vector512.LoadUnsafe(ref start, i + 64); s5 += Vector512.LoadUnsafe(ref start, i + 80);
                s6 += Vector512.LoadUnsafe(ref start, i + 96); s7 += Vector512.LoadUnsafe(ref start, i + 112);
            }
        return Vector512.Sum(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
    }
}
