using NetDsl.Training;

namespace NetDsl.Distributed;

/// <summary>The ranks of a data-parallel job: an MPI job when the process was started by <c>mpirun</c>, otherwise one
/// process alone. Give it to <see cref="TrainingOptions.DataParallel"/>; dispose it at the end (MPI is finalized
/// then). Every collective must be called by every rank, in the same order.</summary>
public abstract class Communicator : IDataParallelGroup, IDisposable
{
    /// <summary>What to install when MPI is missing, as the error messages say it.</summary>
    public const string InstallAdvice =
        "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; Fedora: dnf install openmpi; macOS: brew install open-mpi)";

    /// <inheritdoc/>
    public abstract int Rank { get; }

    /// <inheritdoc/>
    public abstract int Size { get; }

    /// <summary>This rank's index among the ranks on the same machine (which GPU it takes).</summary>
    public abstract int LocalRank { get; }

    /// <summary>The ranks on this machine.</summary>
    public abstract int LocalSize { get; }

    /// <summary>Rank 0: the one that prints, writes checkpoints and reports.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>The library and the job, for a log line ("Open MPI v4.1.4, rank 0 of 2").</summary>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public abstract void SumAll(Span<float> values);

    /// <inheritdoc/>
    public abstract void SumAll(Span<double> values);

    /// <inheritdoc/>
    public abstract void Broadcast(Span<float> values);

    /// <inheritdoc/>
    public abstract void Broadcast(Span<double> values);

    /// <summary>Returns when every rank has called it.</summary>
    public abstract void Barrier();

    /// <summary>Ends the job's communication (MPI_Finalize); no collective may follow.</summary>
    public abstract void Dispose();

    /// <summary>Whether a launcher started this process as one rank of several: Open MPI's <c>mpirun</c> (OMPI_COMM_WORLD_SIZE),
    /// or a PMI launcher such as MPICH's <c>mpiexec</c> or Slurm's <c>srun</c> (PMI_SIZE, PMIX_RANK).</summary>
    public static bool LaunchedByMpi =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMI_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMIX_RANK") is not null;

    /// <summary>The path of <c>mpirun</c> on the PATH, or null when it is not installed.</summary>
    public static string? FindMpirun() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "mpirun")).FirstOrDefault(File.Exists);

    /// <summary>Joins the MPI job this process was started in (<c>mpirun -np N</c>), or returns a communicator of one
    /// rank when no launcher started it. When the ranks on this machine are as many as its cores, each rank computes
    /// on one core (<see cref="Kernels.WorkSharing.Enabled"/> off), so that the ranks do not contend for the cores.</summary>
    /// <exception cref="MpiUnavailableException">A launcher started the process but Open MPI's library cannot be
    /// loaded, or the library is another MPI (MPICH, Intel MPI), whose handles Open MPI's binary interface does not share.</exception>
    public static Communicator Start()
    {
        Communicator communicator = LaunchedByMpi ? OpenMpi.Initialize() : new SingleProcess();
        if (communicator.LocalSize > 1 && 2 * communicator.LocalSize > Environment.ProcessorCount) Kernels.WorkSharing.Enabled = false;
        return communicator;
    }
}

/// <summary>No MPI: one rank, whose collectives leave the values as they are.</summary>
internal sealed class SingleProcess : Communicator
{
    public override int Rank => 0;
    public override int Size => 1;
    public override int LocalRank => 0;
    public override int LocalSize => 1;
    public override string Description => "one process (not started by mpirun)";
    public override void SumAll(Span<float> values) { }
    public override void SumAll(Span<double> values) { }
    public override void Broadcast(Span<float> values) { }
    public override void Broadcast(Span<double> values) { }
    public override void Barrier() { }
    public override void Dispose() { }
}

/// <summary>MPI cannot be used here: the message says what is missing and what to install.</summary>
public sealed class MpiUnavailableException(string message) : Exception(message);

/// <summary>An MPI call returned an error; the message holds MPI's own text for it.</summary>
public sealed class MpiException(string call, int code, string text) : Exception($"{call} failed with MPI error {code}: {text}")
{
    /// <summary>MPI's error code.</summary>
    public int Code { get; } = code;
}
