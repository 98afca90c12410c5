using NetDsl.Distributed;

namespace NetDsl.Tests;

/// <summary>Starting the communicator without MPI, and the errors when MPI is missing or is not Open MPI. (Two ranks
/// under mpirun are checked by tests/Distributed/run.sh.)</summary>
public class CommunicatorTests
{
    /// <summary>Runs <paramref name="body"/> as if a launcher had started this process, with NETDSL_MPI_LIBRARY set.</summary>
    static void AsRankWithLibrary(string library, Action body)
    {
        Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_SIZE", "2");
        Environment.SetEnvironmentVariable("NETDSL_MPI_LIBRARY", library);
        try
        {
            body();
        }
        finally
        {
            Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_SIZE", null);
            Environment.SetEnvironmentVariable("NETDSL_MPI_LIBRARY", null);
        }
    }

    [Fact]
    public void Without_a_launcher_the_process_trains_alone()
    {
        Assert.False(Communicator.LaunchedByMpi);
        using var ranks = Communicator.Start();
        Assert.Equal((0, 1, true), (ranks.Rank, ranks.Size, ranks.IsRoot));
        float[] values = [1, 2];
        ranks.SumAll(values);
        ranks.Broadcast(values);
        Assert.Equal([1f, 2f], values);
    }

    [Fact]
    public void A_missing_library_names_what_to_install()
    {
        AsRankWithLibrary("/nonexistent/libmpi.so.40", () =>
        {
            var error = Assert.Throws<MpiUnavailableException>(() => Communicator.Start());
            Assert.Contains("Open MPI's library was not found (tried /nonexistent/libmpi.so.40)", error.Message);
            Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", error.Message);
        });
    }

    [Fact]
    public void A_library_without_open_mpis_objects_is_refused_by_name()
    {
        // The C library loads but exports no ompi_mpi_comm_world, as MPICH's libmpi.so.12 does not.
        AsRankWithLibrary("libc.so.6", () =>
        {
            var error = Assert.Throws<MpiUnavailableException>(() => Communicator.Start());
            Assert.Contains("The MPI library libc.so.6 is not Open MPI", error.Message);
            Assert.Contains("handles are pointers where MPICH's are integers", error.Message);
        });
    }
}
