using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

// Design advice on a valid network: warnings that never block generation, and the footprint.
internal static partial class NetworkPlanner
{
    /// <summary>The batch size the footprint diagnostic quotes (Keras's default).</summary>
    const int DefaultBatchSize = 32;

    /// <summary>The larger batch the footprint quotes as well, where the activations usually outweigh θ.</summary>
    const int LargeBatchSize = 256;

    /// <summary>From this dropout rate up, the rate reads as a ported keep probability (ND0127) rather than a high rate.</summary>
    const double KeepProbabilityRate = 0.8;

    /// <summary>Design advice on a network that is valid: warnings and the footprint.</summary>
    static void Advise(NetworkSpec spec, List<BlockPlan> blocks, int parameters, int valuesPerSample, List<Problem> problems)
    {
        LayerSpec LayerNamed(string name) => spec.Layers.First(l => l.Name == name);
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.IsProduct)
            {
                var layer = LayerNamed(block.Name);
                var activation = ActivationFed(block, i + 1 < blocks.Count ? blocks[i + 1] : null);
                bool reluFamily = activation is ActivationKind.ReLU or ActivationKind.LeakyReLU or ActivationKind.ELU;
                bool saturating = activation is ActivationKind.Sigmoid or ActivationKind.Tanh;
                if (layer.Init is Init.Xavier or Init.XavierUniform or Init.LeCun or Init.LeCunUniform && reluFamily)
                {
                    string fix = layer.Init.ToString().EndsWith("Uniform") ? "HeUniform" : "He";
                    problems.Add(Problem.Create(NetworkDiagnostics.InitializerMismatch, layer.Location, layer.Name, layer.Init, activation,
                        "He/Kaiming initialization keeps the variance of ReLU-family outputs", fix) with { Fix = fix });
                }
                if (layer.Init is Init.He or Init.HeUniform && saturating)
                {
                    string fix = layer.Init == Init.HeUniform ? "XavierUniform" : "Xavier";
                    problems.Add(Problem.Create(NetworkDiagnostics.InitializerMismatch, layer.Location, layer.Name, layer.Init, activation,
                        "Xavier/Glorot initialization keeps saturating units in their linear range", fix) with { Fix = fix });
                }
                if (layer.Init is Init.Zeros or Init.Ones or Init.Constant)
                    problems.Add(Problem.Create(NetworkDiagnostics.ConstantInitializer, layer.Location, layer.Name, layer.Init, reluFamily ? "He" : "Xavier")
                        with { Fix = reluFamily ? "He" : "Xavier" });

                // Walk forward over steps that stay linear (dropout, average pooling, BatchNorm without activation).
                if (block.Activation == ActivationKind.None)
                    for (int j = i + 1; j < blocks.Count; j++)
                    {
                        var later = blocks[j];
                        if (later.IsProduct)
                        {
                            problems.Add(Problem.Create(NetworkDiagnostics.LinearCollapse, LayerNamed(later.Name).Location, later.Name, block.Name)
                                with { Fix = block.Name });
                            break;
                        }
                        bool linear = later.Activation == ActivationKind.None && later.Kind is BlockKind.Elementwise or BlockKind.AvgPool or BlockKind.BatchNorm;
                        if (!linear) break;
                    }
            }
            if (block.HasDropout && block.Kind != BlockKind.BatchNorm && i + 1 < blocks.Count && blocks[i + 1].Kind == BlockKind.BatchNorm)
                problems.Add(Problem.Create(NetworkDiagnostics.DropoutBeforeBatchNorm, LayerNamed(block.DropoutLayer!).Location, block.DropoutLayer!, blocks[i + 1].Name));
        }
        // Declaration-order rules read the layers themselves.
        var declared = spec.Layers.Where(l => l.Kind != LayerKind.Input).ToList();
        bool IsActivation(LayerSpec l) => l.Kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU or LayerKind.SELU
            or LayerKind.Sigmoid or LayerKind.Tanh or LayerKind.Softmax or LayerKind.Maxout;
        for (int i = 1; i < declared.Count; i++)
        {
            var (before, layer) = (declared[i - 1], declared[i]);
            bool last = i == declared.Count - 1;
            if (IsActivation(before) && IsActivation(layer) && !(last && layer.Kind == LayerKind.Softmax))
                problems.Add(Problem.Create(NetworkDiagnostics.ActivationsBackToBack, layer.Location, layer.Name, layer.Kind, before.Name, before.Kind));
            if (last && layer.Kind == LayerKind.Softmax && IsActivation(before))
                problems.Add(Problem.Create(NetworkDiagnostics.ActivationBeforeSoftmax, before.Location, before.Name, before.Kind, layer.Name));
            if (before.Kind == LayerKind.Dropout && layer.Kind is LayerKind.MaxPool or LayerKind.AvgPool or LayerKind.GlobalAveragePool)
                problems.Add(Problem.Create(NetworkDiagnostics.DropoutPlacement, before.Location, before.Name,
                    $"dropout right before {layer.Kind} '{layer.Name}' is partly undone by the pooling (a dropped value is often not the window's maximum); drop after the pooling"));
        }
        foreach (var dropout in declared.Where(l => l.Kind == LayerKind.Dropout && l.Parameter > 0.5))
            problems.Add(dropout.Parameter >= KeepProbabilityRate
                ? Problem.Create(NetworkDiagnostics.KeepProbabilityAsRate, dropout.Location, dropout.Name, Number(dropout.Parameter), Number(System.Math.Round(1 - dropout.Parameter, 10)))
                : Problem.Create(NetworkDiagnostics.DropoutPlacement, dropout.Location, dropout.Name,
                    $"a dropout rate of {Number(dropout.Parameter)} drops most of the values; rates above 0.5 rarely help, so lower it (0.2 to 0.5 is usual)"));
        if (spec.Loss == Loss.SoftmaxCrossEntropy && declared.Count > 0 && LogitSquashing(declared[declared.Count - 1].Kind) is { } harm)
        {
            var squash = declared[declared.Count - 1];
            problems.Add(Problem.Create(NetworkDiagnostics.SigmoidWithSoftmaxCrossEntropy, squash.Location, squash.Name, squash.Kind, harm,
                squash.Kind == LayerKind.Sigmoid ? ", or use Loss.BinaryCrossEntropy for independent labels" : ""));
        }
        var squashing = declared.Where(l => l.Kind is LayerKind.Sigmoid or LayerKind.Tanh).ToList();
        if (squashing.Count >= 4 && !declared.Any(l => l.Kind is LayerKind.BatchNorm or LayerKind.Add))
            problems.Add(Problem.Create(NetworkDiagnostics.SaturatingStack, spec.Location, spec.TypeName, squashing.Count,
                string.Join(", ", squashing.Select(l => l.Name))));

        var parameterLayers = spec.Layers.Where(l => l.Kind is LayerKind.Dense or LayerKind.Embedding or LayerKind.Conv2D or LayerKind.Conv1D or LayerKind.BatchNorm or LayerKind.PReLU).ToList();
        if (parameterLayers.Count > 0 && parameterLayers.All(l => !l.Trainable))
            problems.Add(Problem.Create(NetworkDiagnostics.EverythingFrozen, spec.Location, spec.TypeName, string.Join(", ", parameterLayers.Select(l => l.Name))));

        if (blocks.Count > 0 && blocks[blocks.Count - 1].HasDropout)
            problems.Add(Problem.Create(NetworkDiagnostics.DropoutAtOutput, LayerNamed(blocks[blocks.Count - 1].DropoutLayer!).Location, blocks[blocks.Count - 1].DropoutLayer!));

        long parameterBytes = parameters * 4L, activationBytes = valuesPerSample * 4L * DefaultBatchSize;
        problems.Add(Problem.Create(NetworkDiagnostics.NetworkFootprint, spec.Location, spec.TypeName, parameters.ToString("N0", CultureInfo.InvariantCulture),
            DefaultBatchSize, Bytes(4 * parameterBytes + activationBytes), Bytes(parameterBytes), Bytes(parameterBytes), Bytes(2 * parameterBytes), Bytes(activationBytes),
            Bytes(4 * parameterBytes + valuesPerSample * 4L * LargeBatchSize), LargeBatchSize));
    }

    /// <summary>What an activation as the last layer does to the logits softmax cross-entropy needs raw; null for one that
    /// leaves them (Linear) or is the softmax rule's business (Softmax, ND0121) or not elementwise (Maxout).</summary>
    static string? LogitSquashing(LayerKind kind) => kind switch
    {
        LayerKind.Sigmoid => "the logits are confined to (0, 1) and the classes can barely separate",
        LayerKind.Tanh => "the logits are confined to (−1, 1) and the classes can barely separate",
        LayerKind.ReLU => "a negative logit is clipped to 0 and gets no gradient, so a class once scored below zero cannot be pushed down further or recover",
        LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU or LayerKind.SELU => "negative logits are squashed, so the class scores no longer range freely",
        _ => null,
    };

    static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.##", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
