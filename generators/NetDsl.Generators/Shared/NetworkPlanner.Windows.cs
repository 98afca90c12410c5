using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

// The windows of convolutions and pooling: output sizes, padding and the problems of a window that does not fit.
internal static partial class NetworkPlanner
{
    /// <summary>Convolution output size (H + padding − K) / stride + 1 per side (along the length only in 1-D); a fractional
    /// or empty output is an error.</summary>
    static ConvGeometry ConvolutionGeometry(LayerSpec layer, int[] shape, List<Problem> problems)
    {
        var window = layer.Window!;
        int filters = layer.Filters, kernel = window.Size, stride = window.Stride, paddingSize = window.PaddingSize;
        var padding = window.Padding;
        foreach (var (name, value) in new[] { ("the filter count", filters), ("the kernel size", kernel), ("the stride", stride) })
            if (value <= 0)
                problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'", name, value));
        if (padding == Padding.Explicit && paddingSize < 0)
            problems.Add(Problem.Create(NetworkDiagnostics.HyperparameterOutOfRange, layer.Location, $"Layer '{layer.Name}'", "the padding", paddingSize, "[0, ∞)"));
        kernel = System.Math.Max(kernel, 1);
        stride = System.Math.Max(stride, 1);
        bool line = layer.Kind == LayerKind.Conv1D;
        string kind = line ? "Conv1D" : "Conv2D";
        if (shape.Length != (line ? 2 : 3))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                line ? "Conv1D takes (channels, length) per sample" + (shape.Length == 3 ? "; use [Conv2D] for (channels, height, width)" : "")
                    : "Conv2D takes (channels, height, width) per sample" + (shape.Length == 2 ? "; use [Conv1D] for (channels, length)" : "")));
            return new ConvGeometry(1, line ? 1 : kernel, kernel, line ? 1 : kernel, kernel, stride, 0, 0, 1, 1);
        }
        // A 1-D convolution is a 2-D one of height 1 whose kernel is one row.
        int channels = shape[0], height = line ? 1 : shape[1], width = shape[shape.Length - 1];
        string kernelText = line ? $"a kernel of {kernel}" : $"a {kernel}×{kernel} kernel";
        int OutputSize(int size, out int before)
        {
            if (padding == Padding.Same)
            {
                int output = (size + stride - 1) / stride;
                int total = System.Math.Max((output - 1) * stride + kernel - size, 0);
                before = total / 2;
                return output;
            }
            int pad = padding == Padding.Explicit ? System.Math.Max(paddingSize, 0) : 0;
            before = pad;
            int span = size + 2 * pad - kernel;
            if (span < 0 || span % stride != 0)
            {
                problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                    $"{kernelText} at stride {stride} with padding {pad} gives an output size of ({size} + {2 * pad} − {kernel}) / {stride} + 1, which is {(span < 0 ? "empty" : "fractional")}"));
                return System.Math.Max(span / stride + 1, 1);
            }
            return span / stride + 1;
        }
        int top = 0, outputHeight = line ? 1 : OutputSize(height, out top);
        int outputWidth = OutputSize(width, out int left);
        return new ConvGeometry(channels, height, width, line ? 1 : kernel, kernel, stride, top, left, outputHeight, outputWidth);
    }

    static ConvGeometry PoolingGeometry(LayerSpec layer, int[] shape, List<Problem> problems)
    {
        string kind = layer.Kind.ToString();
        if (shape.Length is not (2 or 3))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                $"{kind} takes (channels, height, width) or (channels, length) per sample"));
            return new ConvGeometry(1, 1, 1, 1, 1, 1, 0, 0, 1, 1);
        }
        // Over (channels, length) the windows walk one row: height 1, windows one row high.
        bool line = shape.Length == 2;
        int channels = shape[0], height = line ? 1 : shape[1], width = shape[shape.Length - 1];
        if (layer.Kind == LayerKind.GlobalAveragePool) return new ConvGeometry(channels, height, width, height, width, 1, 0, 0, 1, 1);
        var window = layer.Window!;
        int size = window.Size, stride = window.Stride == 0 ? size : window.Stride;
        var rounding = window.Rounding;
        if (!System.Enum.IsDefined(typeof(RoundingMode), rounding))
        {
            problems.Add(Problem.Create(NetworkDiagnostics.UnknownOption, layer.Location, $"(RoundingMode){(int)rounding}", "rounding mode",
                string.Join(", ", System.Enum.GetNames(typeof(RoundingMode)).Select(n => "RoundingMode." + n))));
            rounding = RoundingMode.Floor;
        }
        if (size <= 0 || stride <= 0)
        {
            problems.Add(Problem.Create(NetworkDiagnostics.NonPositiveSize, layer.Location, $"Layer '{layer.Name}'",
                size <= 0 ? "the window size" : "the stride", size <= 0 ? size : stride));
            return new ConvGeometry(channels, height, width, 1, 1, 1, 0, 0, height, width);
        }
        int Output(int extent)
        {
            int span = extent - size;
            if (span < 0)
            {
                problems.Add(Problem.Create(NetworkDiagnostics.ShapeMismatch, layer.Location, layer.Name, kind, ShapeText(shape),
                    line ? $"a window of {size} does not fit in {extent}" : $"a {size}×{size} window does not fit in {extent}"));
                return 1;
            }
            // Ceil: a window that would start past the input is dropped, as in PyTorch.
            int windows = rounding == RoundingMode.Ceil ? (span + stride - 1) / stride + 1 : span / stride + 1;
            return rounding == RoundingMode.Ceil && (windows - 1) * stride >= extent ? windows - 1 : windows;
        }
        return line ? new ConvGeometry(channels, 1, width, 1, size, stride, 0, 0, 1, Output(width))
            : new ConvGeometry(channels, height, width, size, size, stride, 0, 0, Output(height), Output(width));
    }
}
