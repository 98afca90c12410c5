using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>Ranks as threads of one process, for testing the trainer's data-parallel path without MPI: each collective
/// waits for every rank, then combines the ranks' values in rank order (the same result on each).</summary>
sealed class ThreadGroup
{
    readonly Barrier barrier;
    readonly double[][] slots;

    /// <summary>Waits for every rank; a rank that failed leaves the others waiting, so give up after a minute.</summary>
    void Wait()
    {
        if (!barrier.SignalAndWait(TimeSpan.FromMinutes(1))) throw new TimeoutException("a rank did not reach the collective");
    }

    ThreadGroup(int size)
    {
        barrier = new Barrier(size);
        slots = new double[size][];
    }

    public sealed class Rank(ThreadGroup group, int rank) : IDataParallelGroup
    {
        int IDataParallelGroup.Rank => rank;
        public int Size => group.slots.Length;

        public void SumAll(Span<double> values)
        {
            group.slots[rank] = values.ToArray();
            group.Wait();
            for (int i = 0; i < values.Length; i++)
            {
                double sum = 0;
                foreach (var slot in group.slots) sum += slot[i];
                values[i] = sum;
            }
            group.Wait();
        }

        public void SumAll(Span<float> values)
        {
            var wide = new double[values.Length];
            for (int i = 0; i < values.Length; i++) wide[i] = values[i];
            SumAll(wide);
            for (int i = 0; i < values.Length; i++) values[i] = (float)wide[i];
        }

        public void Broadcast(Span<double> values)
        {
            if (rank == 0) group.slots[0] = values.ToArray();
            group.Wait();
            group.slots[0].CopyTo(values);
            group.Wait();
        }

        public void Broadcast(Span<float> values)
        {
            var wide = new double[values.Length];
            for (int i = 0; i < values.Length; i++) wide[i] = values[i];
            Broadcast(wide);
            for (int i = 0; i < values.Length; i++) values[i] = (float)wide[i];
        }
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank, and returns their results.</summary>
    public static T[] Run<T>(int size, Func<IDataParallelGroup, T> body)
    {
        var group = new ThreadGroup(size);
        var results = new T[size];
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { results[r] = body(new Rank(group, r)); }
            catch (Exception e) { failures[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (failures.FirstOrDefault(f => f is not null) is { } failure) throw new AggregateException(failure);
        return results;
    }
}
