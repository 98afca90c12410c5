using System.Diagnostics;
using System.Globalization;
using NetDsl.Distributed;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Benchmarks;

/// <summary>`distributed`: data-parallel training steps on this machine, one rank on both cores against two ranks on one
/// core each (started here with mpirun), and the Allreduce of each network's θ-sized gradient. `name value unit` lines,
/// then the ratios. The steps are the trainer's: each rank's slice, the weighted sum of dθ, the optimizer's update.</summary>
public static class DistributedFigures
{
    static readonly (string Name, Func<INeuralNetwork> Create, int Batch)[] Workloads =
    [
        ("mlp-b1024", () => new BenchMlp(), 1024),
        // 64 samples per rank with two ranks: the CNN's sample recipe.
        ("cnn-b128", () => new FashionMnist.FashionCnn(), 128),
    ];

    /// <summary>The parent: its own one-rank figures, then the two-rank job's, then the ratios.</summary>
    public static void Run(TextWriter output)
    {
        if (Communicator.LaunchedByMpi)
        {
            RunRank(output);
            return;
        }
        var alone = new Dictionary<string, double>();
        using (var single = Communicator.Start())
            foreach (var (name, value, unit) in Measure(single))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}-1x2 {value:F1} {unit}"));
                alone[name] = value;
            }
        string mpirun = Communicator.FindMpirun() ?? throw new InvalidOperationException($"mpirun was not found: {Communicator.InstallAdvice}");
        var start = new ProcessStartInfo(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", typeof(DistributedFigures).Assembly.Location, "distributed"])
        {
            RedirectStandardOutput = true,
            // Without a terminal type the ranks' consoles write no terminal set-up sequences into the lines.
            Environment = { ["TERM"] = "dumb" },
        };
        using var job = Process.Start(start)!;
        var ranks = new Dictionary<string, double>();
        while (job.StandardOutput.ReadLine() is { } line)
        {
            output.WriteLine(line);
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[0].EndsWith("-2x1")) ranks[parts[0][..^4]] = double.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        job.WaitForExit();
        foreach (var (name, value) in alone)
            if (ranks.TryGetValue(name, out double two))
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}-2x1-over-1x2 {two / value:F2} ratio"));
    }

    /// <summary>One rank of the mpirun job: rank 0 prints.</summary>
    static void RunRank(TextWriter output)
    {
        using var ranks = Communicator.Start();
        foreach (var (name, value, unit) in Measure(ranks))
            if (ranks.IsRoot) output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}-{ranks.Size}x1 {value:F1} {unit}"));
    }

    static IEnumerable<(string Name, double Value, string Unit)> Measure(Communicator ranks)
    {
        foreach (var (name, create, batch) in Workloads)
        {
            var network = create();
            var adam = new Adam();
            var random = new Random(1);
            var inputs = Enumerable.Range(0, batch * network.InputSize).Select(_ => (float)random.NextDouble()).ToArray();
            var targets = new float[batch * network.OutputSize];
            for (int s = 0; s < batch; s++) targets[s * network.OutputSize + s % network.OutputSize] = 1;
            void Step()
            {
                float loss;
                using (var slice = ranks.EnterSlice(network, batch))
                using (BatchNormSync(ranks, network))
                    loss = network.ComputeGradients(inputs.AsSpan(slice.First * network.InputSize, slice.Count * network.InputSize),
                        targets.AsSpan(slice.First * network.OutputSize, slice.Count * network.OutputSize));
                ranks.SumWeighted(network.Gradients, loss, batch);
                adam.Step(network.Parameters, network.Gradients);
            }
            for (int i = 0; i < 3; i++) Step();
            // Every rank times the same number of steps: rank 0's count is broadcast.
            var clock = Stopwatch.StartNew();
            int steps = 0;
            var more = new double[1];
            do
            {
                Step();
                steps++;
                more[0] = clock.Elapsed.TotalSeconds < 3 ? 1 : 0;
                ranks.Broadcast(more);
            }
            while (more[0] == 1);
            yield return ($"distributed-{name}", steps * batch / clock.Elapsed.TotalSeconds, "samples/s");

            if (ranks.Size > 1)
            {
                var gradients = network.Gradients.ToArray();
                var times = new List<double>();
                for (int i = 0; i < 50; i++)
                {
                    ranks.Barrier();
                    long begin = Stopwatch.GetTimestamp();
                    ranks.SumAll(gradients);
                    times.Add(Stopwatch.GetElapsedTime(begin).TotalMicroseconds);
                }
                times.Sort();
                yield return ($"allreduce-{name[..3]}-theta", times[times.Count / 2], "µs");
            }
        }
    }

    static IDisposable? BatchNormSync(Communicator ranks, INeuralNetwork network) =>
        ranks.Size > 1 && !network.RunningStatistics.IsEmpty ? NetDsl.Kernels.BatchNormalization.Synchronize(ranks) : null;
}
