using System.ComponentModel;

namespace NetDsl;

/// <summary>Catches one network instance used from two threads at once. Its passes share activation buffers and the
/// dropout stream, so a prediction during a training step on another thread would silently mix the two; the guard
/// turns that into an exception. A thread may re-enter (a training step computes gradients through the public method).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct ConcurrentUseGuard
{
    int owner;

    /// <summary>Claims the instance for the calling thread; false when this thread already holds it (the caller then
    /// must not <see cref="Exit"/>).</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a method of the same instance.</exception>
    public bool Enter(string network)
    {
        int me = Environment.CurrentManagedThreadId;
        int holder = Interlocked.CompareExchange(ref owner, me, 0);
        if (holder == 0) return true;
        if (holder == me) return false;
        throw new InvalidOperationException(
            $"{network} is already running a pass on thread {holder}, so thread {me} cannot use it now: an instance's passes share " +
            "buffers. Give each thread its own instance (copy θ with Parameters), or lock around the calls.");
    }

    /// <summary>Releases the instance.</summary>
    public void Exit() => Volatile.Write(ref owner, 0);
}
