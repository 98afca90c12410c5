namespace NetDsl.Boltzmann;

/// <summary>What greedy layer-wise pretraining did to each layer: its RBM's reconstruction error per epoch.</summary>
public sealed record PretrainedLayer(string Layer, IReadOnlyList<double> ReconstructionErrors);

/// <summary>Deep-belief-network pretraining (Hinton, Osindero and Teh 2006): the Dense layers of a feed-forward network
/// are trained one after another as restricted Boltzmann machines, each on the previous one's hidden probabilities, and
/// their weights and hidden biases copied in; then the network is fine-tuned as usual.</summary>
public static class Pretrain
{
    /// <summary>A machine with no declaration of its own: one per pretrained layer.</summary>
    sealed class LayerMachine(string layer, int visible, int hidden, UnitKind units, int seed)
        : BoltzmannMachine(layer, visible, hidden, units, seed);

    /// <summary>Pretrains every Dense layer of <paramref name="network"/> but the last (the output, which fine-tuning
    /// trains): each layer's weights [units, inputs] must take the previous layer's units (an MLP whose Dense layers
    /// follow one another through elementwise activations and dropout). <paramref name="data"/> are unlabelled samples:
    /// Bernoulli visible units for values in [0, 1] (pixels / 255), Gaussian for standardized ones
    /// (<paramref name="inputUnits"/>); deeper machines see hidden probabilities, so theirs are Bernoulli.</summary>
    public static IReadOnlyList<PretrainedLayer> GreedyLayerwise(INeuralNetwork network, ReadOnlySpan<float> data, BoltzmannTraining options,
        UnitKind inputUnits = UnitKind.Bernoulli)
    {
        var weights = network.ParameterTensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Shape.Length == 2).ToList();
        if (weights.Count < 2)
            throw new ArgumentException($"{network.Name} has {weights.Count} Dense layer(s); pretraining needs a hidden Dense layer before the output one.", nameof(network));
        Shapes.BatchSize(data.Length, network.InputSize, $"({network.InputSize})", nameof(data));
        var input = data.ToArray();
        var layers = new List<PretrainedLayer>();
        int width = network.InputSize;
        for (int l = 0; l < weights.Count - 1; l++)
        {
            var weight = weights[l];
            int units = weight.Shape[0], inputs = weight.Shape[1];
            if (inputs != width)
                throw new ArgumentException($"Layer {weight.Layer} takes {inputs} inputs, but what comes before it gives {width} values per sample: " +
                    "pretraining needs Dense layers that follow one another.", nameof(network));
            width = units;
            var machine = new LayerMachine(weight.Layer, inputs, units, l == 0 ? inputUnits : UnitKind.Bernoulli, options.Seed + l);
            var errors = machine.Fit(input, options with { Seed = options.Seed + l });
            machine.Weights.CopyTo(network.Parameters.Slice(weight.Offset, weight.Length));
            if (network.ParameterTensors.FirstOrDefault(t => t.Name == weight.Layer + ".bias") is { } bias)
                machine.HiddenBias.CopyTo(network.Parameters.Slice(bias.Offset, bias.Length));
            layers.Add(new PretrainedLayer(weight.Layer, errors));
            var hidden = new float[input.Length / inputs * units];
            machine.HiddenProbabilities(input, hidden);
            input = hidden;
        }
        return layers;
    }
}
