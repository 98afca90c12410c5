using System.Text;

namespace NetDsl.Generators.Tests;

/// <summary>Seeded declarations for the fuzz test: valid networks mutated the way a user types (half-typed attributes,
/// arguments of every type and extreme value, layers moved and renamed) and the way odd C# allows (class shapes, member
/// names the generator also uses). The same seed gives the same case, so a failure names what to rerun.</summary>
static class DeclarationFuzzer
{
    /// <summary>One layer: its attribute text (without brackets) and its member name.</summary>
    sealed record LayerLine(string Attribute, string Name, string Member = "public partial Layer {0} { get; }");

    /// <summary>A declaration being mutated: every part a mutation may change.</summary>
    sealed class Declaration
    {
        public string Namespace = "Samples";
        public string NetworkArguments = "";
        public string Modifiers = "public";
        public string Keyword = "class";
        public string TypeName = "Net";
        public string TypeSuffix = "";
        public string Outer = "";
        public string OuterSuffix = "";
        public List<LayerLine> Layers = [];
        public List<string> Members = [];
        public List<string> Types = [];
        public List<string> Mutations = [];

        public string Render()
        {
            var text = new StringBuilder("using NetDsl;\n");
            if (Namespace.Length > 0) text.Append("namespace ").Append(Namespace).Append(";\n");
            text.Append("// mutations: ").Append(string.Join("; ", Mutations)).Append('\n');
            if (Outer.Length > 0) text.Append(Outer).Append(" {\n");
            text.Append("[Network(").Append(NetworkArguments).Append(")]\n");
            text.Append(Modifiers).Append(" partial ").Append(Keyword).Append(' ').Append(TypeName).Append(TypeSuffix).Append("\n{\n");
            foreach (var layer in Layers)
                text.Append("    [").Append(layer.Attribute).Append("] ").Append(layer.Member.Replace("{0}", layer.Name)).Append('\n');
            foreach (var member in Members) text.Append("    ").Append(member.Replace("{T}", TypeName)).Append('\n');
            text.Append("}\n");
            if (Outer.Length > 0) text.Append('}').Append(OuterSuffix).Append('\n');
            foreach (var type in Types) text.Append(type).Append('\n');
            return text.ToString();
        }
    }

    static readonly (string Arguments, (string Attribute, string Name)[] Layers)[] Bases =
    [
        ("", [("Input(784)", "In"), ("Dense(128)", "Hidden"), ("ReLU", "Act"), ("Dropout(0.2)", "Drop"), ("Dense(10)", "Out")]),
        ("Classes = 10", [("Input(1, 28, 28)", "In"), ("Conv2D(8, 3)", "C1"), ("BatchNorm", "B1"), ("ReLU", "R1"), ("MaxPool(2)", "P1"),
            ("Conv2D(16, 3, Stride = 1, Padding = Padding.Valid)", "C2"), ("ReLU", "R2"), ("AvgPool(2, Stride = 2)", "P2"), ("Flatten", "F"),
            ("Dense(10)", "Out")]),
        ("", [("Input(16)", "In"), ("Dense(16)", "D1"), ("ReLU", "R1"), ("Dense(16)", "D2"), ("Add(nameof(R1))", "Skip"), ("ReLU", "R2"),
            ("Dense(4)", "Out")]),
        ("Loss = Loss.SoftmaxCrossEntropy, Classes = 3, LabelSmoothing = 0.1", [("Input(8)", "In"),
            ("Dense(12, Init = Init.Uniform, InitLow = -0.1, InitHigh = 0.1)", "D1"), ("PReLU(InitialSlope = 0.1)", "P"), ("Dense(12)", "D2"),
            ("LeakyReLU(0.1)", "L"), ("Dense(12, Init = Init.LeCun)", "D3"), ("SELU", "S"), ("Dense(8)", "D4"), ("ELU(0.5)", "E"),
            ("Maxout(2)", "M"), ("Dense(3)", "Out")]),
        ("Loss = Loss.BinaryCrossEntropy", [("Input(4)", "In"), ("Dense(8)", "D"), ("Tanh", "T"), ("Dense(1)", "Out"), ("Sigmoid", "Prob")]),
        ("Loss = Loss.MeanSquaredError, TargetMinimum = -1, TargetMaximum = 1", [("Input(3)", "In"),
            ("Dense(8, Init = Init.Normal, InitMean = 0, InitStandardDeviation = 0.1)", "D"), ("Sigmoid", "S"), ("Dense(1)", "Out"),
            ("Tanh", "Squash")]),
        ("", [("Input(3, 8, 8)", "In"), ("Conv2D(4, 3, Padding = Padding.Explicit, PaddingSize = 1, Init = Init.HeUniform)", "C"),
            ("BatchNorm(Momentum = 0.8, Epsilon = 1e-3)", "Norm"), ("ReLU", "R"), ("GlobalAveragePool", "G"), ("Dense(2, Init = Init.Constant, InitValue = 0.1)", "Out")]),
        ("Loss = Loss.MeanSquaredError", [("Input(6)", "In"), ("Dense(6, Bias = false)", "D"), ("BatchNorm", "B"), ("ReLU", "R"),
            ("Dense(2)", "Out")]),
        ("", [("Input(1, 7, 7)", "In"), ("Conv2D(2, 3)", "C"), ("ReLU", "R"), ("MaxPool(2, RoundingMode = RoundingMode.Ceil)", "P"),
            ("Flatten", "F"), ("Dense(2)", "Out")]),
        ("", [("Input(12)", "In"), ("Embedding(50, 8)", "E"), ("Conv1D(6, 3, Stride = 1, Padding = Padding.Same)", "C"), ("ReLU", "R"),
            ("MaxPool(2)", "P"), ("Conv1D(6, 3)", "C2"), ("Tanh", "T"), ("Concat(nameof(P))", "J"), ("GlobalAveragePool", "G"), ("Dense(3)", "Out")]),
    ];

    static readonly string[] Values =
    [
        "0", "-1", "1", "2", "3", "7", "1 << 30", "1 << 20", "int.MaxValue", "int.MinValue", "65536", "46341",
        "double.NaN", "double.PositiveInfinity", "double.NegativeInfinity", "1e300", "-1e300", "1e-320", "-0.0", "0.5", "0.999999",
        "1.0", "float.MaxValue", "null", "default", "\"2\"", "\"R1\"", "\"Nope\"", "\"\"", "true", "'c'", "(Init)99", "(Padding)7",
        "(Loss)5", "(RoundingMode)3", "Init.Constant", "Init.Zeros", "Padding.Explicit", "Padding.Valid", "RoundingMode.Ceil",
        "nameof(Out)", "nameof(In)", "new int[0]", "new[] { 2, 2 }", "2, 2, 2, 2",
    ];

    static readonly string[] NamedArguments =
    [
        "Init = Init.Constant", "Init = Init.Ones", "Init = Init.Normal", "Init = Init.Uniform", "InitValue = double.NaN", "InitValue = 1e300",
        "InitLow = double.NegativeInfinity", "InitHigh = double.PositiveInfinity", "InitLow = 1", "InitMean = double.NaN",
        "InitStandardDeviation = double.PositiveInfinity", "InitStandardDeviation = 0", "Stride = 0", "Stride = -2", "Stride = int.MaxValue",
        "Stride = 3", "Padding = Padding.Explicit", "Padding = Padding.Valid", "Padding = (Padding)9", "PaddingSize = -3", "PaddingSize = 1 << 30",
        "PaddingSize = 5", "Epsilon = double.PositiveInfinity", "Epsilon = 0", "Epsilon = double.NaN", "Momentum = double.NaN",
        "Momentum = 1", "InitialSlope = double.NaN", "InitialSlope = 1e300", "InitialSlope = double.NegativeInfinity", "Bias = false",
        "Bias = true", "RoundingMode = RoundingMode.Ceil", "RoundingMode = (RoundingMode)4", "Nope = 1",
    ];

    static readonly string[] NetworkArguments =
    [
        "Loss = (Loss)9", "Loss = Loss.MeanSquaredError", "Loss = Loss.BinaryCrossEntropy", "Classes = -1", "Classes = 1", "Classes = int.MaxValue",
        "Classes = 4", "LabelSmoothing = double.NaN", "LabelSmoothing = 1", "LabelSmoothing = 1e300", "TargetMinimum = double.NaN",
        "TargetMaximum = -1e300", "TargetMinimum = double.PositiveInfinity", "TargetMinimum = 0, TargetMaximum = 1",
    ];

    static readonly string[] LayerKinds =
    [
        "Input", "Dense", "Conv2D", "Conv1D", "Embedding", "MaxPool", "AvgPool", "GlobalAveragePool", "BatchNorm", "Add", "Concat", "PReLU", "Maxout", "ReLU", "LeakyReLU",
        "ELU", "SELU", "Sigmoid", "Tanh", "Softmax", "Linear", "Flatten", "Dropout", "Network", "Obsolete",
    ];

    static readonly string[] Keywords = ["event", "int", "class", "string", "this", "base", "value", "var", "partial", "Layer", "NetDsl", "System"];

    static readonly string[] UserMembers =
    [
        "public const int InputSize = 3;", "public const int OutputSize = 3;", "public void Predict(float[] x) { }",
        "public float[] Predict(System.ReadOnlySpan<float> x) => null!;", "public {T}(int seed) { }", "public {T}() { }",
        "private {T}(string s) : this() { }", "int _parameters;", "public override string ToString() => \"\";", "public void Forward() { }",
        "public static int ParameterCount => 0;", "public float[] Parameters = new float[0];", "public int Touch;", "class Kernels { }",
        "public int this[int i] => i;", "static {T}() { }", "~{T}() { }", "public event System.Action? Trained;",
        "public object InferencePrecision { get; set; } = 0;", "public void Dispose() { }", "public float LossOf() => 0;",
        "public double TrainingLoss;", "public int Seed;", "public const int Units = 3;",
    ];

    static readonly string[] Shapes =
    [
        "primary constructor", "file class", "sealed", "abstract", "static", "internal", "generic", "struct", "record", "record struct",
        "base without parameterless constructor", "base with parameterless constructor", "base is a network", "interface", "nested",
        "nested in generic", "nested in struct", "class @event", "class @int", "namespace @class", "global namespace",
        "namespace @event.@int", "layer @event", "layer @int", "indexer layer", "static layer", "layer with setter", "layer not partial",
        "layer of type int", "field layer", "method layer", "unsafe", "readonly struct", "class named like a layer", "ref struct",
        "layer named like the class", "layer private", "layer protected internal", "layer virtual", "layer new", "layer required",
    ];

    /// <summary>The unmutated networks the cases start from.</summary>
    public static IEnumerable<string> Valid() => Bases.Select(b => new Declaration
    {
        NetworkArguments = b.Arguments,
        Layers = b.Layers.Select(l => new LayerLine(l.Attribute, l.Name)).ToList(),
    }.Render());

    /// <summary>The declaration for case <paramref name="seed"/>; <paramref name="names"/> are the member and type names
    /// the generated code declares or uses, for renames that collide with them.</summary>
    public static string Case(int seed, IReadOnlyList<string> names)
    {
        var random = new Random(seed);
        var (arguments, layers) = Bases[random.Next(Bases.Length)];
        var declaration = new Declaration
        {
            NetworkArguments = arguments,
            Layers = layers.Select(l => new LayerLine(l.Attribute, l.Name)).ToList(),
        };
        int mutations = 1 + random.Next(3);
        for (int m = 0; m < mutations; m++) Mutate(declaration, random, names);
        return declaration.Render();
    }

    static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    static void Mutate(Declaration d, Random random, IReadOnlyList<string> names)
    {
        if (d.Layers.Count == 0) { d.Layers.Add(new LayerLine("Input(2)", "In")); return; }
        int index = random.Next(d.Layers.Count);
        var layer = d.Layers[index];
        switch (random.Next(12))
        {
            case 0 or 1: // an argument replaced by a value of any type
                var parts = SplitArguments(layer.Attribute, out string kind);
                string value = Pick(random, Values);
                if (parts.Count == 0) parts.Add(value);
                else
                {
                    int at = random.Next(parts.Count);
                    int equals = parts[at].IndexOf(" = ", StringComparison.Ordinal);
                    parts[at] = equals >= 0 ? parts[at].Substring(0, equals + 3) + value : value;
                }
                d.Layers[index] = layer with { Attribute = $"{kind}({string.Join(", ", parts)})" };
                d.Mutations.Add($"{layer.Name}: argument {value}");
                break;
            case 2: // a named argument added
                parts = SplitArguments(layer.Attribute, out kind);
                string named = Pick(random, NamedArguments);
                parts.Add(named);
                d.Layers[index] = layer with { Attribute = $"{kind}({string.Join(", ", parts)})" };
                d.Mutations.Add($"{layer.Name}: {named}");
                break;
            case 3: // half-typed: the attribute cut anywhere
                string full = layer.Attribute + "] " + layer.Member.Replace("{0}", layer.Name);
                int cut = 1 + random.Next(full.Length - 1);
                d.Layers[index] = layer with { Attribute = full.Substring(0, cut), Member = "" };
                d.Mutations.Add($"{layer.Name}: cut at {cut}");
                break;
            case 4: // renamed to a name the generated code declares or uses
                string name = random.Next(4) == 0 ? d.Layers[random.Next(d.Layers.Count)].Name + Pick(random, names)
                    : random.Next(3) == 0 ? Pick(random, d.Layers).Name + Pick(random, ["Size", "Units", "Inputs", "Weight", "Bias", "Column",
                        "ForwardEpilogue", "BackwardEpilogue", "WeightOffset", "BiasLength", "Mask", "Slope", "Statistics", "Geometry"])
                    : Pick(random, names);
                d.Layers[index] = layer with { Name = name };
                d.Mutations.Add($"{layer.Name} renamed {name}");
                break;
            case 5: // another layer kind with the same arguments
                parts = SplitArguments(layer.Attribute, out _);
                string other = Pick(random, LayerKinds);
                d.Layers[index] = layer with { Attribute = parts.Count == 0 ? other : $"{other}({string.Join(", ", parts)})" };
                d.Mutations.Add($"{layer.Name}: kind {other}");
                break;
            case 6: // removed, duplicated or moved
                int op = random.Next(3), to = random.Next(d.Layers.Count);
                if (op == 0) d.Layers.RemoveAt(index);
                else if (op == 1) d.Layers.Insert(to, layer with { Name = layer.Name + (random.Next(2) == 0 ? "" : "2") });
                else (d.Layers[index], d.Layers[to]) = (d.Layers[to], d.Layers[index]);
                d.Mutations.Add($"{layer.Name}: {(op == 0 ? "removed" : op == 1 ? "duplicated" : "moved")}");
                break;
            case 7: // a user member
                string member = random.Next(3) == 0
                    ? Pick(random, ["public int {0};", "public void {0}() {{ }}", "public const int {0} = 1;", "public class {0} {{ }}",
                        "public static float {0}(float x) => x;"]).Replace("{0}", Pick(random, names)).Replace("{{ }}", "{ }")
                    : Pick(random, UserMembers);
                d.Members.Add(member);
                d.Mutations.Add($"member {member}");
                break;
            case 8 or 9: // the class or a layer member shaped oddly
                Shape(d, index, Pick(random, Shapes));
                break;
            case 10: // the [Network] arguments
                string network = Pick(random, NetworkArguments);
                d.NetworkArguments = d.NetworkArguments.Length == 0 ? network : d.NetworkArguments + ", " + network;
                d.Mutations.Add($"network {network}");
                break;
            case 11: // a layer inserted with an extreme size
                string inserted = Pick(random, ["Dense(1 << 30)", "Dense(int.MaxValue)", "Dense(46341)", "Input(1 << 20, 16, 16)",
                    "Input(65536, 65536, 1)", "Input(3, 512, 512)", "Conv2D(1 << 20, 3)", "Conv2D(4, 1 << 16)", "MaxPool(1 << 30)",
                    "Maxout(int.MaxValue)", "Dropout(double.NaN)", "LeakyReLU(double.PositiveInfinity)", "ELU(1e300)", "Flatten",
                    "Add(\"\")", "Add(nameof(Add))", "Softmax", "BatchNorm", "GlobalAveragePool"]);
                d.Layers.Insert(random.Next(d.Layers.Count + 1), new LayerLine(inserted, "X" + random.Next(100)));
                d.Mutations.Add($"inserted {inserted}");
                break;
        }
    }

    static void Shape(Declaration d, int index, string shape)
    {
        d.Mutations.Add(shape);
        var layer = d.Layers[index];
        void Member(string member) => d.Layers[index] = layer with { Member = member };
        switch (shape)
        {
            case "primary constructor": d.TypeSuffix = "(int width)"; break;
            case "file class": d.Modifiers = "file"; break;
            case "sealed" or "abstract" or "static" or "internal" or "unsafe": d.Modifiers = (shape == "internal" ? "" : "public ") + shape; break;
            case "generic": d.TypeSuffix = "<T>"; break;
            case "struct" or "record" or "record struct" or "interface" or "readonly struct" or "ref struct":
                if (shape == "readonly struct" || shape == "ref struct") { d.Modifiers = "public " + shape.Split(' ')[0]; d.Keyword = "struct"; }
                else d.Keyword = shape;
                break;
            case "base without parameterless constructor":
                d.TypeSuffix = " : Base"; d.Types.Add("public class Base { public Base(int width) { } }"); break;
            case "base with parameterless constructor":
                d.TypeSuffix = " : Base"; d.Types.Add("public class Base { public int Predict; public Base() { } }"); break;
            case "base is a network":
                d.TypeSuffix = " : Other"; d.Types.Add("[Network] public partial class Other { [Input(2)] public partial Layer A { get; } [Dense(2)] public partial Layer B { get; } }");
                break;
            case "nested": d.Outer = "public partial class Outer"; break;
            case "nested in generic": d.Outer = "public partial class Outer<T>"; break;
            case "nested in struct": d.Outer = "public partial struct Outer"; break;
            case "class @event": d.TypeName = "@event"; break;
            case "class @int": d.TypeName = "@int"; break;
            case "namespace @class": d.Namespace = "@class"; break;
            case "global namespace": d.Namespace = ""; break;
            case "namespace @event.@int": d.Namespace = "@event.@int"; break;
            case "layer @event": d.Layers[index] = layer with { Name = "@event" }; break;
            case "layer @int": d.Layers[index] = layer with { Name = "@int" }; break;
            case "indexer layer": Member("public partial Layer this[int i] { get; }"); break;
            case "static layer": Member("public static partial Layer {0} { get; }"); break;
            case "layer with setter": Member("public partial Layer {0} { get; set; }"); break;
            case "layer not partial": Member("public Layer {0} { get; }"); break;
            case "layer of type int": Member("public partial int {0} { get; }"); break;
            case "field layer": Member("public Layer {0};"); break;
            case "method layer": Member("public partial Layer {0}();"); break;
            case "class named like a layer": d.TypeName = layer.Name; break;
            case "layer named like the class": d.Layers[index] = layer with { Name = d.TypeName }; break;
            case "layer private": Member("private partial Layer {0} { get; }"); break;
            case "layer protected internal": Member("protected internal partial Layer {0} { get; }"); break;
            case "layer virtual": Member("public virtual partial Layer {0} { get; }"); break;
            case "layer new": Member("public new partial Layer {0} { get; }"); break;
            case "layer required": Member("public required partial Layer {0} { get; }"); break;
        }
    }

    /// <summary>The top-level arguments of an attribute text, and its kind.</summary>
    static List<string> SplitArguments(string attribute, out string kind)
    {
        int open = attribute.IndexOf('(');
        kind = open < 0 ? attribute : attribute.Substring(0, open);
        if (open < 0) return [];
        string inside = attribute.Substring(open + 1, Math.Max(attribute.LastIndexOf(')') - open - 1, 0));
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < inside.Length; i++)
        {
            if (inside[i] is '(' or '[' or '{') depth++;
            else if (inside[i] is ')' or ']' or '}') depth--;
            else if (inside[i] == ',' && depth == 0) { parts.Add(inside.Substring(start, i - start).Trim()); start = i + 1; }
        }
        if (inside.Trim().Length > 0) parts.Add(inside.Substring(start).Trim());
        return parts;
    }
}
