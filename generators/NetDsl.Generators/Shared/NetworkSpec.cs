using NetDsl.Generators.RuntimeSource;

namespace NetDsl.Generators.Shared;

/// <summary>Layer kinds the DSL knows, named as their attributes.</summary>
internal enum LayerKind { Input, Dense, Embedding, Conv2D, Conv1D, MaxPool, AvgPool, GlobalAveragePool, BatchNorm, Add, Concat, PReLU, Maxout, ReLU, LeakyReLU, ELU, SELU, Sigmoid, Tanh, Softmax, Linear, Flatten, Dropout }

/// <summary>The window of a convolution or a pooling layer, as declared.</summary>
/// <param name="Size">The kernel or window height and width.</param>
/// <param name="Stride">The step between windows; for pooling, 0 means the size.</param>
/// <param name="Padding">A convolution's padding kind.</param>
/// <param name="PaddingSize">Zeros per side with <see cref="Padding.Explicit"/>.</param>
/// <param name="Rounding">How pooling counts windows that do not tile the input.</param>
internal sealed record WindowSpec(int Size, int Stride, Padding Padding, int PaddingSize, RoundingMode Rounding);

/// <summary>One layer as declared: what its attribute said, read without judging it (Plan judges).</summary>
internal sealed record LayerSpec
{
    /// <summary>The property name.</summary>
    public required string Name { get; init; }

    /// <summary>From the attribute class.</summary>
    public required LayerKind Kind { get; init; }

    /// <summary>The property's modifiers without <c>partial</c>, repeated on the generated implementation.</summary>
    public required string Modifiers { get; init; }

    /// <summary>The member is an instance partial property of type Layer with only a getter.</summary>
    public required bool Implementable { get; init; }

    /// <summary>The layer attribute; null in the generator's model, which reports nothing.</summary>
    public LocationInfo? Location { get; init; }

    /// <summary>The attribute's arguments matched a constructor and were read; false while the user is still typing them.</summary>
    public bool ArgumentsRead { get; init; } = true;

    /// <summary>Input: the shape per sample.</summary>
    public EquatableArray<int> Shape { get; init; } = EquatableArray<int>.Empty;

    /// <summary>Dense, Embedding, Conv2D, Conv1D, BatchNorm, PReLU: whether the parameters train, as declared (<c>Trainable</c>).</summary>
    public bool Trainable { get; init; } = true;

    /// <summary>Dense: the unit count; Embedding: the vector dimension.</summary>
    public int Units { get; init; }

    /// <summary>Embedding: the number of ids.</summary>
    public int Vocabulary { get; init; }

    /// <summary>Conv2D, Conv1D: the filter count.</summary>
    public int Filters { get; init; }

    /// <summary>Maxout: the pieces per group.</summary>
    public int Pieces { get; init; }

    /// <summary>Conv2D, Conv1D, MaxPool, AvgPool: the window.</summary>
    public WindowSpec? Window { get; init; }

    /// <summary>Dropout: the rate; LeakyReLU: the slope; ELU: α; PReLU: the initial slope; BatchNorm: the momentum.</summary>
    public double Parameter { get; init; }

    /// <summary>BatchNorm: ε.</summary>
    public double Epsilon { get; init; }

    /// <summary>Add, Concat: the earlier layer whose output is added or joined.</summary>
    public string? Source { get; init; }

    /// <summary>Add: the skip passes through a learned 1×1 convolution.</summary>
    public bool Projection { get; init; }

    /// <summary>Dense, Conv2D, Conv1D: the initializer as declared.</summary>
    public Init Init { get; init; }

    /// <summary>Dense, Conv2D, Conv1D: Constant's value, Uniform's bounds or Normal's mean and standard deviation.</summary>
    public EquatableArray<double> InitArguments { get; init; } = EquatableArray<double>.Empty;

    /// <summary>Dense, Conv2D, Conv1D: whether the layer adds a bias.</summary>
    public bool Bias { get; init; } = true;
}

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
