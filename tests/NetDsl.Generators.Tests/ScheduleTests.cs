using NetDsl.Generators.Lowering;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators.Tests;

/// <summary>The lowering stage's decisions, read off the schedule itself: which pooling runs inside a convolution's
/// loop, how each weight gradient is taken, where gradients flow, what the output step and the GPU's fused passes are.</summary>
public class ScheduleTests
{
    static PassSchedule Lower(string layers, string network = "[Network]")
    {
        var compilation = GeneratorHarness.Compile($$"""
            using NetDsl;
            namespace Samples;
            {{network}}
            public partial class Net
            {
            {{string.Join("\n", layers.Split(';').Select((layer, i) => $"[{layer.Trim()}] public partial Layer L{i} {{ get; }}"))}}
            }
            """);
        var type = compilation.GetTypeByMetadataName("Samples.Net")!;
        var attribute = type.GetAttributes().Single(a => a.AttributeClass!.Name == "NetworkAttribute");
        var plan = NetworkPlanner.Plan(NetworkParser.Parse(type, attribute, default));
        Assert.True(plan.IsValid, string.Join("; ", plan.Problems));
        return NetworkLowering.Lower(plan);
    }

    static StepSchedule Step(PassSchedule schedule, string layer) => schedule[Block(schedule, layer)];

    static BlockPlan Block(PassSchedule schedule, string layer) => schedule.Plan.Blocks.Single(b => b.Name == layer);

    [Fact]
    public void Pooling_right_after_a_convolution_runs_inside_its_sample_loop_unless_it_applies_something_of_its_own()
    {
        var inside = Lower("Input(1, 8, 8); Conv2D(4, 3); ReLU; MaxPool(2); Flatten; Dense(2)");
        Assert.Equal(Block(inside, "L3").Index, Step(inside, "L1").RunsInside);
        Assert.Equal(Block(inside, "L1").Index, Step(inside, "L3").RunsInsideOf);

        var withDropout = Lower("Input(1, 8, 8); Conv2D(4, 3); ReLU; AvgPool(2); Dropout(0.2); Flatten; Dense(2)");
        Assert.Equal(-1, Step(withDropout, "L1").RunsInside);
        Assert.Equal(-1, Step(withDropout, "L3").RunsInsideOf);
    }

    [Fact]
    public void A_narrow_patch_without_bias_takes_its_weight_gradient_transposed()
    {
        // 9 patch rows beside 32 filters: the filters fill the 32-wide panels, the patch rows would fill 9 of 32.
        Assert.Equal(WeightGradientForm.Transposed, Step(Lower("Input(1, 8, 8); Conv2D(32, 3); BatchNorm; ReLU; Flatten; Dense(2)"), "L1").WeightGradient);
        Assert.Equal(WeightGradientForm.Transposed, Step(Lower("Input(1, 8, 8); Conv2D(32, 3, Bias = false); ReLU; Flatten; Dense(2)"), "L1").WeightGradient);
        // With a bias the ones column needs the plain form; a patch of 32 · 9 = 288 rows fills its panels as well.
        Assert.Equal(WeightGradientForm.Product, Step(Lower("Input(1, 8, 8); Conv2D(32, 3); ReLU; Flatten; Dense(2)"), "L1").WeightGradient);
        Assert.Equal(WeightGradientForm.Product, Step(Lower("Input(32, 8, 8); Conv2D(32, 3); BatchNorm; ReLU; Flatten; Dense(2)"), "L1").WeightGradient);
        Assert.Equal(WeightGradientForm.None, Step(Lower("Input(1, 8, 8); Conv2D(32, 3); BatchNorm; ReLU; Flatten; Dense(2)"), "L2").WeightGradient);
    }

    [Theory]
    [InlineData("Input(1, 8, 8); Conv2D(4, 3); BatchNorm; ReLU; MaxPool(2); Flatten; Dense(2)", true)]
    [InlineData("Input(1, 8, 8); Conv2D(4, 3); BatchNorm; ReLU; Dropout(0.1); MaxPool(2); Flatten; Dense(2)", false)]
    [InlineData("Input(1, 8, 8); Conv2D(4, 3); BatchNorm; Tanh; MaxPool(2); Flatten; Dense(2)", false)]
    public void Max_pooling_takes_the_relu_derivative_before_it_in_its_routing(string layers, bool folded)
    {
        var schedule = Lower(layers);
        var pool = schedule.Plan.Blocks.Single(b => b.Kind == BlockKind.MaxPool);
        Assert.Equal(folded, schedule[pool].ReluFoldedIntoRouting);
    }

    [Fact]
    public void A_skip_reading_the_relu_output_keeps_the_relu_derivative_out_of_the_routing()
    {
        var schedule = Lower("Input(2, 4, 4); Conv2D(2, 3); BatchNorm; ReLU; MaxPool(1); Add(nameof(L3)); Flatten; Dense(2)");
        Assert.False(schedule[schedule.Plan.Blocks.Single(b => b.Kind == BlockKind.MaxPool)].ReluFoldedIntoRouting);
        Assert.Equal([schedule.Plan.Blocks.Single(b => b.Kind == BlockKind.Add).Index], Step(schedule, "L2").SkipsJoining);
    }

    [Fact]
    public void Gradients_flow_back_only_into_blocks_with_parameters_at_or_before_them()
    {
        var schedule = Lower("Input(1, 8, 8); MaxPool(2); Conv2D(4, 3); ReLU; Flatten; Dense(2)");
        Assert.False(Step(schedule, "L1").ReceivesGradient);
        Assert.True(Step(schedule, "L2").ReceivesGradient);
        Assert.Equal(-1, Step(schedule, "L2").PreviousCore);
        Assert.Equal(Block(schedule, "L2").Index, Step(schedule, "L5").PreviousCore);
    }

    [Fact]
    public void A_softmax_between_two_dense_layers_keeps_the_input_gradient_out_of_the_product_epilogue()
    {
        Assert.True(Step(Lower("Input(4); Dense(5); ReLU; Dense(3)"), "L3").InputGradientInEpilogue);
        Assert.False(Step(Lower("Input(4); Dense(5); Softmax; Dense(3)", "[Network(Loss = Loss.MeanSquaredError)]"), "L3").InputGradientInEpilogue);
        Assert.False(Step(Lower("Input(4); Dense(5); ReLU; Dense(3)"), "L1").InputGradientInEpilogue);
    }

    [Fact]
    public void Binary_cross_entropy_takes_the_output_sigmoid_inside_the_loss()
    {
        var bce = Lower("Input(4); Dense(5); ReLU; Dense(1); Sigmoid", "[Network(Loss = Loss.BinaryCrossEntropy)]");
        Assert.True(bce.Output.SigmoidInLoss);
        Assert.Equal(ActivationKind.None, bce.Output.Steps[0].Activation);
        var mse = Lower("Input(4); Dense(5); ReLU; Dense(1); Sigmoid", "[Network(Loss = Loss.MeanSquaredError)]");
        Assert.False(mse.Output.SigmoidInLoss);
        Assert.Equal(ActivationKind.Sigmoid, mse.Output.Steps[0].Activation);
        Assert.Equal(mse.Plan.Blocks.Last(b => b.IsCore).Index, mse.Output.Core);
    }

    [Theory]
    [InlineData("Input(4); Dense(128); ReLU; Dense(3)", true)]
    [InlineData("Input(4); Dense(129); ReLU; Dense(3)", false)]
    [InlineData("Input(4); Dense(16, Bias = false); ReLU; Dense(3)", false)]
    [InlineData("Input(1, 8, 8); Conv2D(4, 3); ReLU; Flatten; Dense(2)", false)]
    public void The_gpu_fuses_whole_passes_only_for_narrow_dense_networks_with_biases(string layers, bool fused) =>
        Assert.Equal(fused, Lower(layers).GpuFusedPasses);
}
