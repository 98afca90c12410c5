using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace NetDsl.Generators.Shared;

/// <summary>Something Parse or Plan could not accept, with where it is. The analyzers report it; the generator names
/// it in the exception thrown by an invalid network's members.</summary>
/// <param name="Fix">What a code fix should write, when one is clear (an initializer name, a layer to follow).</param>
internal sealed record Problem(string Id, EquatableArray<string> Arguments, LocationInfo? Location, string? Fix = null)
{
    public const string FixProperty = "Fix";

    public static Problem Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        new(descriptor.Id, arguments.Select(a => System.Convert.ToString(a, CultureInfo.InvariantCulture) ?? "").ToEquatableArray(), location);

    public DiagnosticDescriptor Descriptor => NetworkDiagnostics.ById[Id];

    public bool IsError => Descriptor.DefaultSeverity == DiagnosticSeverity.Error;

    public string Message => string.Format(CultureInfo.InvariantCulture, Descriptor.MessageFormat.ToString(CultureInfo.InvariantCulture),
        Arguments.Cast<object>().ToArray());

    public override string ToString() => $"{Id}: {Message}";
}

/// <summary>The single table of NetDsl diagnostics: id, title, message, severity and help link.</summary>
internal static class NetworkDiagnostics
{
    const string Category = "NetDsl.Design";
    /// <summary>The rule pages in the repository whose URL the build writes into this assembly's metadata.</summary>
    static readonly string HelpLinkBase = typeof(NetworkDiagnostics).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), inherit: false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>()
        .First(metadata => metadata.Key == "RepositoryUrl").Value + "/blob/main/docs/rules/";

    static DiagnosticDescriptor Error(string id, string title, string message) => Rule(id, title, message, DiagnosticSeverity.Error);

    static DiagnosticDescriptor Rule(string id, string title, string message, DiagnosticSeverity severity) =>
        new(id, title, message, Category, severity, isEnabledByDefault: true, helpLinkUri: HelpLink(id));

    /// <summary>The page of rule <paramref name="id"/> (docs/rules/NDxxxx.md), for this table and the call-site rules.</summary>
    public static string HelpLink(string id) => HelpLinkBase + id + ".md";

    public static readonly DiagnosticDescriptor NoInput = Error("ND0001",
        "Network has no input layer",
        "Network '{0}' has no [Input] layer; declare one as its first layer, for example [Input(784)]");

    public static readonly DiagnosticDescriptor MisplacedInput = Error("ND0002",
        "Input layer is not the first and only input",
        "Layer '{0}': [Input] must be the network's first layer and its only input; remove this one or make it the first layer");

    public static readonly DiagnosticDescriptor NonPositiveSize = Error("ND0003",
        "Size must be positive",
        "{0}: {1} must be positive, got {2}; give it a positive value");

    public static readonly DiagnosticDescriptor HyperparameterOutOfRange = Error("ND0004",
        "Hyperparameter out of range",
        "{0}: {1} = {2} is outside {3}; choose a value in {3}");

    public static readonly DiagnosticDescriptor UnknownOption = Error("ND0005",
        "Unknown option value",
        "'{0}' is not a known {1}; use one of: {2}");

    public static readonly DiagnosticDescriptor InvalidLayerMember = Error("ND0006",
        "Layer member is not a partial Layer property",
        "Layer '{0}' must be declared as 'partial Layer {0} {{ get; }}' (an instance partial property of type NetDsl.Layer with only a getter)");

    public static readonly DiagnosticDescriptor InvalidNetworkType = Error("ND0007",
        "Network type cannot be generated",
        "Network '{0}' must be {1}");

    public static readonly DiagnosticDescriptor MultipleLayerAttributes = Error("ND0008",
        "More than one layer attribute on a member",
        "Member '{0}' has more than one layer attribute ({1}); declare one layer per member");

    public static readonly DiagnosticDescriptor SoftmaxTwice = Error("ND0009",
        "Softmax before softmax cross-entropy",
        "Layer '{0}' applies softmax and Loss.SoftmaxCrossEntropy applies it again; remove [Softmax]: the loss takes logits");

    public static readonly DiagnosticDescriptor UnreadableAttribute = Error("ND0010",
        "Layer attribute cannot be read",
        "The [{0}] attribute on '{1}' cannot be read: {2}; fix its arguments so they compile and match a constructor");

    public static readonly DiagnosticDescriptor ShapeMismatch = Error("ND0011",
        "Layer cannot take its input's shape",
        "Layer '{0}' ({1}) cannot take an input of shape {2}: {3}");

    public static readonly DiagnosticDescriptor NothingToTrain = Error("ND0012",
        "Network has no trainable layer",
        "Network '{0}' has no Dense layer, so it has no parameters to train; add a [Dense] (or [Conv2D]) layer");

    public static readonly DiagnosticDescriptor ReservedName = Error("ND0013",
        "Name is taken by a generated member",
        "'{0}' is taken by {1} that NetDsl generates for this network; rename {2}");

    public static readonly DiagnosticDescriptor BinaryCrossEntropyNeedsSigmoid = Error("ND0014",
        "Binary cross-entropy without a sigmoid output",
        "Network '{0}' is trained with Loss.BinaryCrossEntropy, which takes sigmoid probabilities, but it ends with {1}; end it with [Sigmoid]");

    public static readonly DiagnosticDescriptor UnknownSource = Error("ND0015",
        "Skip connection names no earlier layer",
        "Layer '{0}' adds the output of '{1}', which is not a layer declared before it; name an earlier layer with nameof");

    public static readonly DiagnosticDescriptor NetworkTooLarge = Error("ND0017",
        "Network too large",
        "{0} is too large: {1} holds {2} values, more than the 2,147,483,647 a .NET array can index; make the layer or the input smaller");

    public static readonly DiagnosticDescriptor ClassCountMismatch = Error("ND0016",
        "Output width does not match the declared class count",
        "Network '{0}' declares Classes = {1}, but its output '{2}' is {3} wide; make it {4}");

    // Design advice: ND01xx, warnings and information that never block generation; ids are never reused.
    public static readonly DiagnosticDescriptor LinearCollapse = Rule("ND0104",
        "Two linear layers with no nonlinearity between them",
        "Layer '{0}' follows '{1}' with no nonlinearity between them: the two collapse into one linear map; insert an activation such as [ReLU]",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor InitializerMismatch = Rule("ND0105",
        "Initializer does not suit the activation",
        "Layer '{0}' uses Init.{1} before {2}, but {3}; use Init.{4} instead",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor ConstantInitializer = Rule("ND0106",
        "Constant weight initialization",
        "Layer '{0}' starts every weight at the same value (Init.{1}): every unit computes the same thing and receives the same gradient, so they never differ; use Init.{2}",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DropoutAtOutput = Rule("ND0109",
        "Dropout after the last layer",
        "Layer '{0}' drops values of the network's output, so predictions at training time are noise on the loss; remove it or move it before the last Dense layer",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DropoutBeforeBatchNorm = Rule("ND0111",
        "Dropout directly before BatchNorm",
        "Layer '{0}' drops values right before BatchNorm '{1}': the batch statistics see the dropout's variance in training but not at inference (variance shift); put the dropout after the activation that follows the BatchNorm",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor SigmoidWithSoftmaxCrossEntropy = Rule("ND0107",
        "An activation on the logits under softmax cross-entropy",
        "Layer '{0}' applies {1} to the logits, but Loss.SoftmaxCrossEntropy applies the softmax itself and needs them raw: {2}; remove '{0}'{3}",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor SaturatingStack = Rule("ND0108",
        "Deep stack of saturating activations",
        "Network '{0}' stacks {1} Sigmoid/Tanh activations ({2}) with no BatchNorm or skip connection: their derivatives (at most 1/4 for Sigmoid, 1 for Tanh) multiply and the gradient vanishes; use ReLU, BatchNorm or skip connections",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor ActivationsBackToBack = Rule("ND0120",
        "Two activations back to back",
        "Layer '{0}' applies {1} right after '{2}' ({3}): the second activation is redundant or distorts the first; keep one",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor ActivationBeforeSoftmax = Rule("ND0121",
        "A nonlinearity right before the Softmax output",
        "Layer '{0}' ({1}) clips the logits right before the Softmax output '{2}': the class scores can no longer range freely; remove it",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DropoutPlacement = Rule("ND0122",
        "Dropout before pooling or at a high rate",
        "Layer '{0}': {1}",
        DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor EverythingFrozen = Rule("ND0125",
        "Every layer is frozen",
        "Network '{0}': every layer with parameters ({1}) is declared Trainable = false, so training changes nothing; let at least the last layer train, or freeze layers at run time with Freeze(name)",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor BoltzmannLayers = Error("ND0126",
        "A Boltzmann machine needs one visible and one hidden layer",
        "Boltzmann machine '{0}' has {1}; declare exactly one [Visible(units)] and one [Hidden(units)] partial Layer property");

    public static readonly DiagnosticDescriptor KeepProbabilityAsRate = Rule("ND0127",
        "A dropout rate that is really a keep probability",
        "Layer '{0}' drops {1} of its values: a rate that high is almost always a keep probability ported from TensorFlow 1's keep_prob, where {1} meant keeping {1}; NetDsl's rate is the share dropped, so write Dropout({2})",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor OutputRangeTooNarrow = Rule("ND0123",
        "Output range cannot cover the declared targets",
        "Layer '{0}' ({1}) keeps the outputs in {2}, but the targets are declared to range over [{3}, {4}]: the network can never reach them; end with a linear output or rescale the targets into {2}",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor NetworkFootprint = Rule("ND0112",
        "Network size and training memory",
        "Network '{0}': {1} parameters; training at batch {2} with Adam takes {3} (parameters {4}, gradients {5}, optimizer state {6}, activations {7}), and {8} at batch {9}",
        DiagnosticSeverity.Info);

    // Rules at call sites (CallSiteAnalyzer): how the runtime is used, not how a network is declared.
    static DiagnosticDescriptor UsageWarning(string id, string title, string message) =>
        new(id, title, message, "NetDsl.Usage", DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLink(id));

    public static readonly DiagnosticDescriptor OptimizerHyperparameterOutOfRange = UsageWarning("ND0117",
        "Optimizer hyperparameter out of range",
        "{0} = {1} is {2}");

    public static readonly DiagnosticDescriptor GradientCheckStep = UsageWarning("ND0124",
        "Gradient-check step outside [1e-7, 1e-3]",
        "A gradient-check step ε = {0} is {1}: the centered difference's error grows as ε² above 1e-3 and round-off grows as 1/ε below 1e-7, so the 1e-7 / 1e-3 thresholds stop meaning anything; use an ε between 1e-7 and 1e-3 (the default is 1e-7)");

    public static readonly DiagnosticDescriptor GradientCheckInLoop = UsageWarning("ND0114",
        "Gradient checking inside a training loop",
        "GradientCheck.Run sits in a loop that also trains: it evaluates the loss twice per parameter and is meant for debugging once, not every step; call it once, before the training loop");

    public static readonly DiagnosticDescriptor ScalerLeak = UsageWarning("ND0116",
        "Scaler fitted on dev or test data",
        "'{0}' {1}: fit scalers on the training set only and transform dev and test with them (fitting on them leaks their statistics into the model)");

    public static readonly DiagnosticDescriptor TestSetSelection = UsageWarning("ND0118",
        "The test set used for model selection",
        "'{0}' {1} but is passed as the dev set: early stopping and best-epoch selection on it make it a dev set, and the final test accuracy becomes optimistic; pass a dev set held out of the training data and evaluate on the test set once, at the end");

    public static readonly DiagnosticDescriptor BatchNormBatchOfOne = UsageWarning("ND0119",
        "BatchNorm network trained at batch size 1",
        "'{0}' has BatchNorm layers but trains with BatchSize = 1: the batch variance of one sample is 0, so every normalized value is 0 and nothing is learned; train with batches of at least 2 samples (32 or more is usual)");

    /// <summary>The rules of a network's declaration (NetworkDeclarationAnalyzer).</summary>
    public static readonly IReadOnlyList<DiagnosticDescriptor> Declaration =
    [
        NoInput, MisplacedInput, NonPositiveSize, NetworkTooLarge, HyperparameterOutOfRange, UnknownOption, InvalidLayerMember,
        InvalidNetworkType, MultipleLayerAttributes, SoftmaxTwice, UnreadableAttribute, ShapeMismatch, NothingToTrain, ReservedName,
        BinaryCrossEntropyNeedsSigmoid, UnknownSource, ClassCountMismatch,
        LinearCollapse, InitializerMismatch, ConstantInitializer, DropoutAtOutput, DropoutBeforeBatchNorm, NetworkFootprint,
        SigmoidWithSoftmaxCrossEntropy, SaturatingStack, ActivationsBackToBack, ActivationBeforeSoftmax, DropoutPlacement, OutputRangeTooNarrow,
        EverythingFrozen, BoltzmannLayers, KeepProbabilityAsRate,
    ];

    /// <summary>The rules at call sites (CallSiteAnalyzer).</summary>
    public static readonly IReadOnlyList<DiagnosticDescriptor> CallSites =
    [
        OptimizerHyperparameterOutOfRange, GradientCheckStep, GradientCheckInLoop, ScalerLeak, TestSetSelection, BatchNormBatchOfOne,
    ];

    /// <summary>Every NetDsl rule: the single table.</summary>
    public static readonly IReadOnlyList<DiagnosticDescriptor> All = [.. Declaration, .. CallSites];

    public static readonly IReadOnlyDictionary<string, DiagnosticDescriptor> ById = All.ToDictionary(d => d.Id);
}
