using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.ComponentModel;

namespace NetDsl.Kernels;

/// <summary>Shares one piece of work between the calling thread and one resident worker thread (the machine's second
/// core) without allocating: the work is a function pointer and a pointer to the caller's job struct, which stays on the
/// caller's stack because the caller waits for the worker before returning. The worker spins briefly after each job, so
/// the back-to-back products of a training step do not pay a thread wake-up each, then sleeps. A caller that finishes
/// its part before the worker has started the other runs that part too, so a busy or descheduled second core never
/// makes a product slower than one core would be.</summary>
/// <remarks>Only one job at a time uses the worker; a caller that finds it busy (another thread's network, say) runs
/// both parts itself. With one processor both parts always run on the caller.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class WorkSharing
{
    /// <summary>Pauses before an idle worker blocks: about a millisecond, longer than the gaps between the products
    /// of one training step.</summary>
    const int SpinsBeforeSleep = 50_000;

    static readonly bool MultipleCores = Environment.ProcessorCount > 1;

    /// <summary>Whether work is shared with the second core (default: when the machine has more than one). Turn it off
    /// when the application keeps the other cores busy itself; results do not depend on it beyond rounding.</summary>
    public static bool Enabled { get; set; } = true;

    static bool Available => MultipleCores && Enabled;
    static readonly SemaphoreSlim Wake = new(0);
    static Thread? worker;
    static int busy, sleeping;
    static long posted, claimed, finished;
    static delegate*<void*, int, void> postedBody;
    static void* postedJob;
    static Exception? failure;

    /// <summary>The number of parts <see cref="Run"/> splits work into.</summary>
    public static int Parts => Available ? 2 : 1;

    /// <summary>Runs <c>body(job, 0)</c> on the caller and <c>body(job, 1)</c> on the worker, and returns when both
    /// are done. <paramref name="job"/> must point to memory that outlives the call (a local of the caller).</summary>
    public static void Run(delegate*<void*, int, void> body, void* job)
    {
        if (!Available || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            body(job, 0);
            body(job, 1);
            return;
        }
        try
        {
            EnsureWorker();
            postedBody = body;
            postedJob = job;
            // A locked instruction: it also drains this thread's non-temporal stores (Arithmetic.Store) before the
            // worker can see the job.
            long generation = Interlocked.Increment(ref posted);
            if (Volatile.Read(ref sleeping) == 1) Wake.Release();
            Exception? own = null;
            try
            {
                body(job, 0);
            }
            catch (Exception error)
            {
                // The worker still reads the job on our stack: wait for it before the exception unwinds this frame.
                own = error;
            }
            if (Interlocked.CompareExchange(ref claimed, generation, generation - 1) == generation - 1)
            {
                // The worker has not started (its core is busy elsewhere or asleep) and now never will: run its part
                // here rather than wait.
                if (own is null) body(job, 1);
            }
            else
            {
                // The worker's part takes about as long as ours: wait with bare pauses, never yielding the core.
                while (Volatile.Read(ref finished) != generation) Pause();
            }
            var workerFailure = failure;
            failure = null;
            if (own is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(own);
            if (workerFailure is not null)
                throw new AggregateException("The worker thread's part of a shared computation failed.", workerFailure);
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    /// <summary>One spin-loop hint: cheaper and steadier than <see cref="Thread.SpinWait"/>, whose calibrated loop is
    /// long on some processors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pause()
    {
        if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause();
        else if (System.Runtime.Intrinsics.Arm.ArmBase.IsSupported) System.Runtime.Intrinsics.Arm.ArmBase.Yield();
        else Thread.SpinWait(1);
    }

    static void EnsureWorker()
    {
        if (worker is not null) return;
        worker = new Thread(WorkerLoop) { IsBackground = true, Name = "NetDsl worker" };
        worker.Start();
    }

    static void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref posted) == seen)
            {
                if (++spins < SpinsBeforeSleep)
                {
                    Pause();
                    continue;
                }
                // Dekker-style handshake: the poster increments `posted` then reads `sleeping`; we set `sleeping`
                // then read `posted`. Both are full fences, so at least one side sees the other.
                Interlocked.Exchange(ref sleeping, 1);
                if (Volatile.Read(ref posted) == seen) Wake.Wait();
                Interlocked.Exchange(ref sleeping, 0);
                spins = 0;
            }
            seen = Volatile.Read(ref posted);
            // The caller takes the part back if it finishes its own first; whoever claims the generation runs it.
            if (Interlocked.CompareExchange(ref claimed, seen, seen - 1) != seen - 1) continue;
            try
            {
                postedBody(postedJob, 1);
            }
            catch (Exception error)
            {
                failure = error;
            }
            // The part's non-temporal stores (Arithmetic.Store) are weakly ordered: fenced, they are seen before the flag.
            if (Sse.IsSupported) Sse.StoreFence();
            Volatile.Write(ref finished, seen);
        }
    }

    /// <summary>Runs <c>part(ref job, 0)</c> on the caller and <c>part(ref job, 1)</c> on the worker, and returns when
    /// both are done: for work that splits by its own rule (a product by panels or by rows). <paramref name="job"/> must
    /// be a local of the caller.</summary>
    public static void Run<TJob>(delegate*<ref TJob, int, void> part, ref TJob job) where TJob : allows ref struct
    {
        var shared = new PartJob(part, Unsafe.AsPointer(ref job));
        Run(&PartOf<TJob>, &shared);
    }

    readonly struct PartJob(void* part, void* job)
    {
        public readonly void* Part = part, Job = job;
    }

    static void PartOf<TJob>(void* state, int part) where TJob : allows ref struct
    {
        ref readonly var shared = ref Unsafe.AsRef<PartJob>(state);
        ((delegate*<ref TJob, int, void>)shared.Part)(ref Unsafe.AsRef<TJob>(shared.Job), part);
    }

    /// <summary>Runs <paramref name="loop"/> over [0, <paramref name="count"/>): when <paramref name="share"/>, in two
    /// halves (<see cref="Range"/>), one per core; else the whole range on the caller as part 0. Returns whether part 1
    /// ran. <paramref name="loop"/> must be a local of the caller.</summary>
    public static bool Split<TLoop>(ref TLoop loop, int count, bool share) where TLoop : ISampleLoop, allows ref struct
    {
        if (!share || Parts < 2 || count < 2)
        {
            loop.Run(0, count, 0);
            return false;
        }
        var job = new RangeJob(Unsafe.AsPointer(ref loop), count);
        Run(&RangePart<TLoop>, &job);
        return true;
    }

    /// <summary>Runs <paramref name="loop"/> over samples [0, <paramref name="count"/>), split between the cores when the
    /// work (<paramref name="workPerSample"/> multiply-adds each) repays the hand-off. Returns whether part 1 ran.</summary>
    public static bool ForSamples<TLoop>(ref TLoop loop, int count, long workPerSample) where TLoop : ISampleLoop, allows ref struct =>
        Split(ref loop, count, count * workPerSample >= SharingTuning.SampleWork);

    /// <summary>Runs <paramref name="loop"/> over samples [0, <paramref name="count"/>) one sample per call, split
    /// between the cores when the work repays the hand-off (as <see cref="ForSamples"/>). Cores may run at different
    /// speeds or start late, so samples are claimed one at a time, the caller's from the first and the worker's from the
    /// last: for loops whose samples depend neither on each other nor on the range they are run in. Returns whether
    /// part 1 ran.</summary>
    public static bool ForEachSample<TLoop>(ref TLoop loop, int count, long workPerSample) where TLoop : ISampleLoop, allows ref struct
    {
        if (count * workPerSample < SharingTuning.SampleWork || Parts < 2 || count < 2)
        {
            loop.Run(0, count, 0);
            return false;
        }
        var job = new ClaimJob(Unsafe.AsPointer(ref loop), count);
        Run(&ClaimPart<TLoop>, &job);
        return true;
    }

    struct ClaimJob(void* loop, int count)
    {
        public readonly void* Loop = loop;
        public readonly int Count = count;
        /// <summary>Samples claimed so far by either part.</summary>
        public int Taken;
    }

    static void ClaimPart<TLoop>(void* state, int part) where TLoop : ISampleLoop, allows ref struct
    {
        ref var job = ref Unsafe.AsRef<ClaimJob>(state);
        ref TLoop loop = ref Unsafe.AsRef<TLoop>(job.Loop);
        for (int claimed = 0; Interlocked.Increment(ref job.Taken) <= job.Count; claimed++)
        {
            int sample = part == 0 ? claimed : job.Count - 1 - claimed;
            loop.Run(sample, sample + 1, part);
        }
    }

    readonly struct RangeJob(void* loop, int count)
    {
        public readonly void* Loop = loop;
        public readonly int Count = count;
    }

    static void RangePart<TLoop>(void* state, int part) where TLoop : ISampleLoop, allows ref struct
    {
        ref readonly var job = ref Unsafe.AsRef<RangeJob>(state);
        var (first, last) = Range(job.Count, part);
        Unsafe.AsRef<TLoop>(job.Loop).Run(first, last, part);
    }

    /// <summary>The half-open range of <paramref name="count"/> items that <paramref name="part"/> (0 or 1) takes:
    /// half (rounded to even) to the caller, the rest to the worker.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Start, int End) Range(int count, int part)
    {
        int split = (int)Math.Round(count / 2.0);
        return part == 0 ? (0, split) : (split, count);
    }
}

/// <summary>A loop body over a range of items (samples, channels, planes), run by <see cref="WorkSharing.Split"/> and
/// <see cref="WorkSharing.ForSamples"/>; <c>part</c> (0 or 1) selects the part's own scratch buffers.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface ISampleLoop
{
    /// <summary>Runs the body for items <paramref name="first"/> (inclusive) to <paramref name="last"/> (exclusive)
    /// with part <paramref name="part"/>'s scratch buffers.</summary>
    void Run(int first, int last, int part);
}
