using System.Runtime.InteropServices;
using System.Text;

namespace NetDsl.Distributed;

/// <summary>The few MPI calls data-parallel training needs, bound at run time to Open MPI's library.</summary>
/// <remarks>MPI fixes the C functions but not the binary form of its handles: Open MPI's MPI_COMM_WORLD, MPI_FLOAT and
/// MPI_SUM are addresses of exported objects (<c>ompi_mpi_comm_world</c>, …), MPICH's are integer constants. So the
/// library is checked for Open MPI's objects before any call, and another MPI is refused by name rather than called
/// with handles it would misread. The library is loaded by name (libmpi.so.40, the soname of Open MPI 3 to 5) or from
/// NETDSL_MPI_LIBRARY; nothing native ships with the package.</remarks>
internal sealed unsafe class OpenMpi : Communicator
{
    const int ThreadSerialized = 2, Success = 0, MaxLibraryVersion = 256;
    static readonly string[] LibraryNames = ["libmpi.so.40", "libmpi.so", "libmpi.40.dylib", "libmpi.dylib", "libmpi.so.12"];

    readonly nint world, floatType, doubleType, sum;
    readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;
    readonly delegate* unmanaged<void*, int, nint, int, nint, int> broadcast;
    readonly delegate* unmanaged<nint, int> barrier;
    readonly delegate* unmanaged<int> finalize;
    readonly delegate* unmanaged<int, byte*, int*, int> errorString;
    static OpenMpi? active;
    bool finalized;

    public override int Rank { get; }
    public override int Size { get; }
    public override int LocalRank { get; }
    public override int LocalSize { get; }
    public override string Description { get; }

    OpenMpi(nint library, string path)
    {
        nint Export(string name) => NativeLibrary.TryGetExport(library, name, out nint address) ? address
            : throw new MpiUnavailableException($"The MPI library {path} has no '{name}'; it is not a complete MPI library. {InstallAdvice}.");
        world = Export("ompi_mpi_comm_world");
        floatType = Export("ompi_mpi_float");
        doubleType = Export("ompi_mpi_double");
        sum = Export("ompi_mpi_op_sum");
        allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        broadcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        var initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        var initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        var commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        var commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");

        int already, provided, rank, size;
        Check("MPI_Initialized", initialized(&already));
        // Serialized: the trainer calls MPI from one thread at a time, not always the one that started the process.
        if (already == 0) Check("MPI_Init_thread", initThread(null, null, ThreadSerialized, &provided));
        Check("MPI_Comm_rank", commRank(world, &rank));
        Check("MPI_Comm_size", commSize(world, &size));
        (Rank, Size) = (rank, size);
        LocalRank = EnvironmentInt("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0;
        LocalSize = EnvironmentInt("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1;
        Description = $"{LibraryVersion(library)}, rank {rank} of {size}";
        // A process that ends without MPI_Finalize makes mpirun report it as failed.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    static int? EnvironmentInt(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out int value) ? value : null;

    /// <summary>Loads Open MPI's library and joins the job (once per process).</summary>
    public static OpenMpi Initialize()
    {
        if (active is { finalized: false }) return active;
        string? configured = Environment.GetEnvironmentVariable("NETDSL_MPI_LIBRARY");
        var names = configured is null ? LibraryNames : [configured];
        foreach (string name in names)
        {
            if (!NativeLibrary.TryLoad(name, out nint library)) continue;
            if (!NativeLibrary.TryGetExport(library, "ompi_mpi_comm_world", out _))
                throw new MpiUnavailableException(
                    $"The MPI library {name} is not Open MPI ({LibraryVersion(library)}). NetDsl.Distributed binds Open MPI's binary " +
                    "interface, whose handles are pointers where MPICH's are integers, so it will not call another MPI: " +
                    $"{InstallAdvice}, and start the ranks with Open MPI's mpirun (or point NETDSL_MPI_LIBRARY at Open MPI's libmpi).");
            return active = new OpenMpi(library, name);
        }
        throw new MpiUnavailableException(
            $"This process was started by an MPI launcher, but Open MPI's library was not found (tried {string.Join(", ", names)}): {InstallAdvice}.");
    }

    /// <summary>MPI_Get_library_version's first line, or a note that the library lacks it.</summary>
    static string LibraryVersion(nint library)
    {
        if (!NativeLibrary.TryGetExport(library, "MPI_Get_library_version", out nint address)) return "no MPI_Get_library_version";
        var version = stackalloc byte[MaxLibraryVersion];
        int length;
        if (((delegate* unmanaged<byte*, int*, int>)address)(version, &length) != Success) return "MPI_Get_library_version failed";
        string text = Encoding.UTF8.GetString(version, length).TrimEnd('\0');
        return text.Split([',', '\n'])[0].Trim();
    }

    void Check(string call, int code)
    {
        if (code == Success) return;
        var text = stackalloc byte[MaxLibraryVersion];
        int length = 0;
        string message = errorString(code, text, &length) == Success ? Encoding.UTF8.GetString(text, length) : "no text";
        throw new MpiException(call, code, message);
    }

    void Live()
    {
        if (finalized) throw new ObjectDisposedException(nameof(Communicator), "MPI was finalized; no collective may follow.");
    }

    public override void SumAll(Span<float> values)
    {
        Live();
        // MPI_IN_PLACE is (void*)1 in Open MPI's mpi.h.
        fixed (float* p = values) Check("MPI_Allreduce", allreduce((void*)1, p, values.Length, floatType, sum, world));
    }

    public override void SumAll(Span<double> values)
    {
        Live();
        fixed (double* p = values) Check("MPI_Allreduce", allreduce((void*)1, p, values.Length, doubleType, sum, world));
    }

    public override void Broadcast(Span<float> values)
    {
        Live();
        fixed (float* p = values) Check("MPI_Bcast", broadcast(p, values.Length, floatType, 0, world));
    }

    public override void Broadcast(Span<double> values)
    {
        Live();
        fixed (double* p = values) Check("MPI_Bcast", broadcast(p, values.Length, doubleType, 0, world));
    }

    public override void Barrier()
    {
        Live();
        Check("MPI_Barrier", barrier(world));
    }

    public override void Dispose()
    {
        if (finalized) return;
        finalized = true;
        finalize();
    }
}
