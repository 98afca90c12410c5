using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

// Checks of values a layer or the network declares: the loss and its targets, initializer arguments, float literals.
internal static partial class NetworkPlanner
{
    /// <summary>The output must be as wide as the declared class count; two classes may use one sigmoid output under
    /// binary cross-entropy.</summary>
    static void CheckClassCount(NetworkSpec spec, BlockPlan last, List<Problem> problems)
    {
        if (spec.Classes < 2 || last.Outputs == spec.Classes) return;
        bool oneBinaryOutput = spec.Loss == Loss.BinaryCrossEntropy && spec.Classes == 2 && last.Outputs == 1;
        if (oneBinaryOutput) return;
        string wanted = spec.Loss == Loss.BinaryCrossEntropy && spec.Classes == 2 ? "1 or 2 wide" : $"{spec.Classes} wide";
        problems.Add(Problem.Create(NetworkDiagnostics.ClassCountMismatch, spec.Location, spec.TypeName,
            spec.Classes.ToString(CultureInfo.InvariantCulture), last.Name, last.Outputs.ToString(CultureInfo.InvariantCulture), wanted));
    }

    /// <summary>The values an output activation can produce, or null when it is unbounded.</summary>
    static (double Low, double High, string Text)? OutputRange(ActivationKind activation) => activation switch
    {
        ActivationKind.Sigmoid or ActivationKind.Softmax => (0, 1, "(0, 1)"),
        ActivationKind.Tanh => (-1, 1, "(−1, 1)"),
        ActivationKind.ReLU => (0, double.PositiveInfinity, "[0, ∞)"),
        _ => null,
    };

    static void CheckLoss(NetworkSpec spec, List<BlockPlan> blocks, List<Problem> problems)
    {
        if (spec.Loss != Loss.MeanSquaredError && !(spec.LabelSmoothing >= 0 && spec.LabelSmoothing < 1))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the label smoothing", Number(spec.LabelSmoothing), "[0, 1)"));
        if (spec.Classes != 0 && spec.Classes < 2)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the class count", spec.Classes.ToString(CultureInfo.InvariantCulture), "[2, ∞)"));
        double targetMinimum = spec.TargetMinimum ?? double.NegativeInfinity, targetMaximum = spec.TargetMaximum ?? double.PositiveInfinity;
        if (double.IsNaN(targetMinimum) || double.IsNaN(targetMaximum) || targetMinimum > targetMaximum)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, spec.Location, $"Network '{spec.TypeName}'",
                "the target range", $"[{Bound(targetMinimum)}, {Bound(targetMaximum)}]", "a range with minimum ≤ maximum"));
        if (blocks.Count == 0) return;
        var last = blocks[blocks.Count - 1];
        CheckClassCount(spec, last, problems);
        if ((spec.TargetMinimum.HasValue || spec.TargetMaximum.HasValue) && targetMinimum <= targetMaximum
            && OutputRange(last.Activation) is var (low, high, text) && (targetMinimum < low || targetMaximum > high))
            problems.Add(Problem.Create(NetworkDiagnostics.OutputRangeTooNarrow, spec.Layers.First(l => l.Name == last.ActivationLayer).Location,
                last.ActivationLayer!, last.Activation.ToString(), text, Bound(targetMinimum), Bound(targetMaximum)));
        if (spec.Loss == Loss.SoftmaxCrossEntropy && last.Activation == ActivationKind.Softmax)
        {
            var softmax = spec.Layers.First(l => l.Name == last.ActivationLayer);
            problems.Add(Problem.Create(NetworkDiagnostics.SoftmaxTwice, softmax.Location, softmax.Name));
        }
        // The fused gradient (ŷ − y) is taken with respect to the sigmoid's input, so the sigmoid must be the last step.
        if (spec.Loss == Loss.BinaryCrossEntropy && (last.Activation != ActivationKind.Sigmoid || last.HasDropout))
        {
            var lastLayer = spec.Layers.LastOrDefault();
            problems.Add(Problem.Create(NetworkDiagnostics.BinaryCrossEntropyNeedsSigmoid, lastLayer?.Location ?? spec.Location,
                spec.TypeName, lastLayer is null ? "nothing" : $"'{lastLayer.Name}' ({lastLayer.Kind})"));
        }
    }

    /// <summary>The largest float: generated code writes hyperparameters as float literals, and a literal beyond it
    /// does not compile.</summary>
    const string FloatMaximum = "3.4028235E+38";

    static bool FitsFloat(double value) => System.Math.Abs(value) <= float.MaxValue;

    /// <summary>Reports a layer's hyperparameter outside <paramref name="range"/> unless <paramref name="inRange"/>.</summary>
    static void Require(bool inRange, LayerSpec layer, string what, double value, string range, List<Problem> problems)
    {
        if (!inRange)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", what, Bound(value), range));
    }

    static void CheckInitArguments(LayerSpec layer, List<Problem> problems)
    {
        var arguments = layer.InitArguments;
        string[] names = layer.Init switch
        {
            Init.Constant => ["the initial value"],
            Init.Uniform => ["the lower bound", "the upper bound"],
            Init.Normal => ["the mean", "the standard deviation"],
            _ => [],
        };
        for (int i = 0; i < names.Length; i++)
            Require(FitsFloat(arguments[i]), layer, names[i], arguments[i], $"[−{FloatMaximum}, {FloatMaximum}]", problems);
        if (layer.Init == Init.Uniform && !(arguments[0] < arguments[1]))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the uniform bounds", $"({Number(arguments[0])}, {Number(arguments[1])})", "low < high"));
        if (layer.Init == Init.Normal && !(arguments[1] > 0))
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'",
                "the standard deviation", Number(arguments[1]), "(0, ∞)"));
    }
}
