using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

/// <summary>Frozen layers: no update from any optimizer and no weight decay, gradients that read zero, a frozen
/// BatchNorm that normalizes with its running statistics and keeps them, and gradients of the layers that train still
/// right (finite differences through the frozen ones).</summary>
public class TransferLearningTests
{
    static float[] Slice(INeuralNetwork network, string tensor)
    {
        var t = network.ParameterTensors.Single(p => p.Name == tensor);
        return network.Parameters.Slice(t.Offset, t.Length).ToArray();
    }

    [Fact]
    public void A_layer_declared_not_trainable_is_frozen_and_gets_no_update_from_any_optimizer()
    {
        var x = TestData.Uniform(10 * 6, 1);
        var y = TestData.OneHot(10, 3, 2);
        foreach (var optimizer in new IOptimizer[] { new Sgd(0.1), new Adam(0.01), new AdamW(0.01, weightDecay: 0.1), new RmsProp(0.01) })
        {
            var network = new FrozenBase(seed: 3);
            Assert.Equal(["Base"], network.FrozenLayers);
            var (baseBefore, headBefore) = (Slice(network, "Base.weight"), Slice(network, "Head.weight"));
            for (int i = 0; i < 3; i++) network.TrainStep(x, y, optimizer);
            Assert.Equal(baseBefore, Slice(network, "Base.weight"));
            Assert.Equal(Slice(new FrozenBase(seed: 3), "Base.bias"), Slice(network, "Base.bias"));
            Assert.NotEqual(headBefore, Slice(network, "Head.weight"));
            // The frozen tensors' gradients read zero.
            var baseWeight = ((INeuralNetwork)network).ParameterTensors.Single(p => p.Name == "Base.weight");
            Assert.All(network.Gradients.Slice(baseWeight.Offset, baseWeight.Length).ToArray(), g => Assert.Equal(0f, g));
        }
    }

    [Fact]
    public void Unfreezing_lets_the_layer_train_and_its_optimizer_state_starts_where_it_was()
    {
        var x = TestData.Uniform(10 * 6, 1);
        var y = TestData.OneHot(10, 3, 2);
        var network = new FrozenBase(seed: 3);
        var adam = new Adam(0.01);
        network.TrainStep(x, y, adam);
        var baseWeight = ((INeuralNetwork)network).ParameterTensors.Single(p => p.Name == "Base.weight");
        // Adam kept no moments for the frozen range.
        Assert.All(adam.FirstMoment.Slice(baseWeight.Offset, baseWeight.Length).ToArray(), m => Assert.Equal(0f, m));
        network.Unfreeze("Base");
        Assert.Empty(network.FrozenLayers);
        var before = Slice(network, "Base.weight");
        network.TrainStep(x, y, adam);
        Assert.NotEqual(before, Slice(network, "Base.weight"));
        network.Freeze("Head");
        Assert.Equal(["Head"], network.FrozenLayers);
    }

    [Fact]
    public void Freezing_a_layer_that_does_not_exist_or_has_no_parameters_names_the_ones_that_do()
    {
        var network = new FrozenBase(seed: 3);
        var missing = Assert.Throws<ArgumentException>(() => network.Freeze("Basse"));
        Assert.Contains("FrozenBase has no layer 'Basse'; its layers are Features, Base, Act, Head", missing.Message);
        var empty = Assert.Throws<ArgumentException>(() => network.Freeze("Act"));
        Assert.Contains("Layer 'Act' of FrozenBase has no parameters to freeze; layers with parameters: Base, Head", empty.Message);
    }

    [Fact]
    public void Weight_decay_skips_frozen_weights()
    {
        var x = TestData.Uniform(10 * 6, 1).Select(v => (double)v).ToArray();
        var y = TestData.OneHot(10, 3, 2).Select(v => (double)v).ToArray();
        const double L2 = 0.3;
        var network = new FrozenBase(seed: 3);
        var theta = network.Parameters.ToArray().Select(v => (double)v).ToArray();
        double withoutPenalty = network.ComputeLoss(theta, x, y);
        network.Regularization = Regularization.Ridge(L2);
        double withPenalty = network.ComputeLoss(theta, x, y);
        // λ/(2n)·‖W_head‖², by hand: the frozen Base.weight contributes nothing.
        double head = Slice(network, "Head.weight").Sum(w => (double)w * w);
        Assert.Equal(withoutPenalty + L2 / (2 * 10) * head, withPenalty, 12);
    }

    [Fact]
    public void A_frozen_batchnorm_normalizes_with_its_running_statistics_and_keeps_them()
    {
        var network = new MixedCnn(seed: 4) { DropoutEnabled = false };
        var x = TestData.Uniform(6 * 72, 5);
        var y = TestData.Uniform(6 * 4, 6);
        // Statistics far from a fresh batch's, so normalizing with either differs.
        var statistics = network.RunningStatistics;
        for (int c = 0; c < statistics.Length / 2; c++) (statistics[c], statistics[statistics.Length / 2 + c]) = (0.4f * c - 0.3f, 0.5f + c);
        var kept = statistics.ToArray();
        network.Freeze("Norm");
        float trainingLoss = network.ComputeGradients(x, y);
        // With dropout off and the statistics fixed, the training pass is the inference pass.
        Assert.Equal(network.EvaluateLoss(x, y), trainingLoss, 5);
        network.TrainStep(x, y, new Adam(0.01));
        Assert.Equal(kept, network.RunningStatistics.ToArray());
        network.Unfreeze("Norm");
        Assert.NotEqual(network.EvaluateLoss(x, y), network.ComputeGradients(x, y), 5);
    }

    [Fact]
    public void Gradients_of_the_layers_that_train_pass_the_check_through_frozen_ones()
    {
        var network = new MixedCnn(seed: 4);
        var statistics = network.RunningStatistics;
        for (int c = 0; c < statistics.Length / 2; c++) (statistics[c], statistics[statistics.Length / 2 + c]) = (0.2f * c, 0.7f + 0.3f * c);
        // The frozen BatchNorm sits between the convolution and the head: the convolution's gradient crosses it.
        network.Freeze("Norm");
        network.Freeze("Hidden");
        var report = GradientCheck.Run(network, TestData.Uniform(4 * 72, 7), TestData.Uniform(4 * 4, 8));
        Assert.Equal(GradientVerdict.Good, report.Overall.Verdict);
        Assert.DoesNotContain(report.Tensors, t => t.Name.StartsWith("Norm.") || t.Name.StartsWith("Hidden."));
        Assert.Contains(report.Tensors, t => t.Name == "Conv.weight");
    }
}
