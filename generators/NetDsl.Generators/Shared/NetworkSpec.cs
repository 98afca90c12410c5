using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Layer kinds the DSL knows, named as their attributes.</summary>
internal enum LayerKind { Input, Dense, Conv2D, MaxPool, AvgPool, GlobalAveragePool, BatchNorm, Add, PReLU, Maxout, ReLU, LeakyReLU, ELU, SELU, Sigmoid, Tanh, Softmax, Linear, Flatten, Dropout }

/// <summary>One layer as declared: what its attribute said, read without judging it (Plan judges).</summary>
/// <param name="Name">The property name.</param>
/// <param name="Kind">From the attribute class.</param>
/// <param name="Sizes">Input: the shape; Dense: the unit count; Conv2D: filters, kernel, stride, padding kind, padding size;
/// MaxPool/AvgPool: size, stride, rounding mode.</param>
/// <param name="Parameter">Dropout: the rate; LeakyReLU: the slope; ELU: α; BatchNorm: the momentum.</param>
/// <param name="Epsilon">BatchNorm: ε.</param>
/// <param name="Source">Add: the layer whose output is added.</param>
/// <param name="Init">Dense: the initializer as declared.</param>
/// <param name="InitArguments">Dense: Constant's value, Uniform's bounds or Normal's mean and standard deviation.</param>
/// <param name="Modifiers">The property's modifiers without <c>partial</c>, repeated on the generated implementation.</param>
/// <param name="Implementable">The member is an instance partial property of type Layer with only a getter.</param>
/// <param name="Location">The layer attribute.</param>
/// <param name="Bias">Dense/Conv2D: whether the layer adds a bias.</param>
internal sealed record LayerSpec(
    string Name,
    LayerKind Kind,
    EquatableArray<int> Sizes,
    double Parameter,
    double Epsilon,
    string? Source,
    Init Init,
    EquatableArray<double> InitArguments,
    string Modifiers,
    bool Implementable,
    LocationInfo? Location,
    bool Bias = true);

/// <summary>A containing type of a nested network class, written back as <c>partial {Keyword} {Name}</c>.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>The network as declared. Holds no symbols or syntax: it is equatable, so unchanged declarations are cached.</summary>
/// <param name="Documented">A declaration of the type has an XML documentation comment, so the generated part adds
/// no summary of its own (the compiler would join the two).</param>
internal sealed record NetworkSpec(
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string TypeName,
    bool Documented,
    bool CanEmit,
    Loss Loss,
    double LabelSmoothing,
    int Classes,
    double? TargetMinimum,
    double? TargetMaximum,
    EquatableArray<LayerSpec> Layers,
    EquatableArray<Problem> Problems,
    LocationInfo? Location)
{
    /// <summary>The spec with every source location removed. The generator reports no diagnostics (the analyzer does),
    /// so it needs none, and without them an edit that only moves the declaration leaves its model equal and cached.</summary>
    public NetworkSpec WithoutLocations() => this with
    {
        Location = null,
        Layers = System.Linq.Enumerable.Select(Layers, l => l with { Location = null }).ToEquatableArray(),
        Problems = System.Linq.Enumerable.Select(Problems, p => p with { Location = null }).ToEquatableArray(),
    };

    /// <summary>The generated file's name: the full name without verbatim '@' and with any character a hint name may
    /// not hold replaced, then a hash of the exact full name, since hint names compare case-insensitively and two
    /// networks may differ only in case (Net and NET).</summary>
    public string HintName => HintNameBase + ".g.cs";

    /// <summary>The hint name without its extension; the GPU twin's file adds ".Gpu.g.cs".</summary>
    public string HintNameBase
    {
        get
        {
            string fullName = (Namespace is null ? "" : Namespace + ".") +
                string.Concat(System.Linq.Enumerable.Select(ContainingTypes, t => t.Name + ".")) + TypeName;
            fullName = fullName.Replace("@", "");
            var safe = new System.Text.StringBuilder(fullName.Length);
            foreach (char c in fullName) safe.Append(char.IsLetterOrDigit(c) || c is '_' or '.' ? c : '_');
            uint hash = 2166136261; // FNV-1a: stable across processes, unlike string.GetHashCode
            foreach (char c in fullName) hash = (hash ^ c) * 16777619;
            return $"{safe}.{hash:x8}";
        }
    }
}
