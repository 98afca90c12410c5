using System.Collections.Generic;
using System.Globalization;
using NetDsl.Generators.Shared;

namespace NetDsl.Generators.Emit;

/// <summary>The C# text both emitters write: qualified runtime names, literals, shapes and the generated-code marker.</summary>
internal static class CSharp
{
    public const string Runtime = "global::NetDsl.";
    public const string Kernels = "global::NetDsl.Kernels.";
    public const string ReadOnlySpan = "global::System.ReadOnlySpan";
    public const string Span = "global::System.Span";
    public const string ElementConstraint = "where T : unmanaged, global::System.Numerics.IFloatingPointIeee754<T>";

    /// <summary>Marks every generated type with this generator's version, which the build sets once for every assembly.</summary>
    public static readonly string GeneratedCode = "[global::System.CodeDom.Compiler.GeneratedCode(\"NetDsl.Generators\", \"" +
        (typeof(CSharp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0") + "\")]";

    public static string Prefix(string modifiers) => modifiers.Length == 0 ? "" : modifiers + " ";

    public static string ShapeText(IEnumerable<int> shape) => "(" + string.Join(", ", shape) + ")";

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Literal(string text) => Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(text, quote: true);

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>The constant that names a block's values per sample: its first layer's <c>{Layer}Size</c> (the layers
    /// fused after it are elementwise, so the width is the same).</summary>
    public static string Width(BlockPlan block) => block.Name + "Size";

    /// <summary>The constant that names the values per sample entering a block: the network's <c>InputSize</c> or the
    /// width of the block before it.</summary>
    public static string InputWidth(IReadOnlyList<BlockPlan> blocks, BlockPlan block) => block.InputBlock < 0 ? "InputSize" : Width(blocks[block.InputBlock]);

    public static string GeometryOf(BlockPlan block)
    {
        var g = block.Geometry!;
        return $"new {Kernels}ConvGeometry({g.Channels}, {g.Height}, {g.Width}, {g.KernelHeight}, {g.KernelWidth}, {g.Stride}, {g.PadTop}, {g.PadLeft}, {g.OutputHeight}, {g.OutputWidth})";
    }

    /// <summary>The product's weights; a folded product takes its folded copy at inference.</summary>
    public static string NoBias(BlockPlan block) => block.HasBias ? "" : block.IsFolded ? " (no bias: BatchNorm follows)" : " (no bias)";

    /// <summary>The name of the layer an Add or Concat reads besides its input, for comments.</summary>
    public static string SourceName(NetworkPlan plan, BlockPlan block) =>
        block.SourceBlock < 0 ? "the network input" : plan.Blocks[block.SourceBlock].Name;

    public static string Describe(BlockPlan block)
    {
        string core = block.Kind switch
        {
            BlockKind.Dense => $"Dense {block.Inputs} → {block.Outputs}{NoBias(block)}",
            BlockKind.Embedding => $"Embedding of {block.Vocabulary} ids → {block.Channels}×{block.Inputs}",
            BlockKind.Conv when block.IsOneDimensional => $"Conv1D {block.Geometry!.Channels}×{block.Geometry.Width} → {block.Channels}×{block.Geometry.OutputWidth}, kernel {block.Geometry.KernelWidth}, stride {block.Geometry.Stride}{NoBias(block)}",
            BlockKind.Conv => $"Conv2D {block.Geometry!.Channels}×{block.Geometry.Height}×{block.Geometry.Width} → {block.Channels}×{block.Geometry.OutputHeight}×{block.Geometry.OutputWidth}, kernel {block.Geometry.KernelHeight}, stride {block.Geometry.Stride}{NoBias(block)}",
            BlockKind.BatchNorm => $"BatchNorm over {block.Channels} channel{(block.Channels == 1 ? "" : "s")} × {block.Spatial}",
            BlockKind.MaxPool or BlockKind.AvgPool when block.IsOneDimensional => $"{(block.Kind == BlockKind.MaxPool ? "MaxPool" : "AvgPool")} {block.Geometry!.KernelWidth} → {block.Channels}×{block.Geometry.OutputWidth}",
            BlockKind.MaxPool or BlockKind.AvgPool => $"{(block.Kind == BlockKind.MaxPool ? "MaxPool" : "AvgPool")} {block.Geometry!.KernelHeight}×{block.Geometry.KernelWidth} → {block.Channels}×{block.Geometry.OutputHeight}×{block.Geometry.OutputWidth}",
            BlockKind.Add => $"Add, width {block.Outputs}",
            BlockKind.Concat => $"Concat, {block.FirstWidth} + {block.Outputs - block.FirstWidth} values",
            BlockKind.PReLU => $"PReLU over {block.Channels} channel{(block.Channels == 1 ? "" : "s")} × {block.Spatial}",
            _ => $"width {block.Outputs}",
        };
        var parts = new List<string> { $"{block.Name}: {core}" };
        if (block.Activation != ActivationKind.None) parts.Add($"{block.Activation} ({block.ActivationLayer})");
        if (block.HasDropout) parts.Add($"Dropout {Number(block.DropoutRate)} ({block.DropoutLayer})");
        return string.Join(", ", parts);
    }
}
