using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>The embedding's lookup against a hand computation, its gradient's rows, its exclusion from weight decay,
/// and ids it cannot read.</summary>
public class EmbeddingTests
{
    [Fact]
    public void The_output_is_the_named_rows_channels_first_and_the_gradient_lands_only_on_those_rows()
    {
        var network = new CategoryMlp(seed: 5);
        var tensors = ((INeuralNetwork)network).ParameterTensors.ToDictionary(t => t.Name);
        Assert.Equal([5, 2], tensors["Embed.weight"].Shape);
        Assert.False(tensors["Embed.weight"].WeightDecay);
        Assert.True(tensors["Hidden.weight"].WeightDecay);
        // Hidden sees Flatten of (2, 3): component d of position p at d·3 + p. Make Hidden's unit 0 read exactly the
        // first component of position 1 and unit 1 the second component of position 2; check Hidden's output by hand.
        var theta = network.Parameters;
        var table = new float[10];
        for (int i = 0; i < 10; i++) table[i] = theta[tensors["Embed.weight"].Offset + i];
        float[] ids = [4, 2, 1];
        // With ReLU after Hidden and Out a sum, the output is relu(h0) + relu(h1) with Out's weights set to 1 and bias 0.
        var hidden = tensors["Hidden.weight"];
        for (int i = 0; i < hidden.Length; i++) theta[hidden.Offset + i] = 0;
        theta[hidden.Offset + 0 * 6 + (0 * 3 + 1)] = 1;
        theta[hidden.Offset + 1 * 6 + (1 * 3 + 2)] = 1;
        for (int i = 0; i < 4; i++) theta[tensors["Hidden.bias"].Offset + i] = 0;
        for (int i = 0; i < 4; i++) theta[tensors["Out.weight"].Offset + i] = 1;
        theta[tensors["Out.bias"].Offset] = 0;
        var output = new float[1];
        network.Predict(ids, output);
        float expected = Math.Max(table[2 * 2 + 0], 0) + Math.Max(table[1 * 2 + 1], 0);
        Assert.Equal(expected, output[0], 6);
        // Rows 0 and 3 are named by no id: no gradient there, even under L2 regularization.
        network.Regularization = Regularization.Ridge(0.5);
        network.ComputeGradients(ids, [1f]);
        var gradient = network.Gradients;
        int at = tensors["Embed.weight"].Offset;
        foreach (int row in new[] { 0, 3 })
            for (int d = 0; d < 2; d++) Assert.Equal(0f, gradient[at + row * 2 + d]);
    }

    [Theory]
    [InlineData(5f, "Sample 1, position 2: 5 is not an id in [0, 5)")]
    [InlineData(-1f, "Sample 1, position 2: -1 is not an id in [0, 5)")]
    [InlineData(2.5f, "Sample 1, position 2: 2.5 is not an id in [0, 5)")]
    [InlineData(float.NaN, "Sample 1, position 2: NaN is not an id in [0, 5)")]
    public void An_id_outside_the_vocabulary_names_its_place_and_the_step_changes_nothing(float id, string message)
    {
        var network = new CategoryMlp(seed: 6);
        var optimizer = new Adam(0.01);
        float[] inputs = [0, 1, 2, 3, 4, id];
        var before = network.Parameters.ToArray();
        var error = Assert.Throws<ArgumentException>(() => network.TrainStep(inputs, [0f, 1f], optimizer));
        Assert.Contains(message, error.Message);
        Assert.Equal(before, network.Parameters);
        Assert.Equal(0, optimizer.Steps);
        Assert.Throws<ArgumentException>(() => network.PredictBatch(inputs, new float[2]));
    }
}
