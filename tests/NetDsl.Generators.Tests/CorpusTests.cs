namespace NetDsl.Generators.Tests;

/// <summary>A corpus of small declarations, correct and incorrect, each with the exact set of diagnostics it must
/// produce (the footprint ND0112 of valid networks aside).</summary>
public class CorpusTests
{
    const string In = "[Input(8)] public partial Layer In { get; }\n";
    const string Img = "[Input(1, 8, 8)] public partial Layer In { get; }\n";

    static string L(string attribute, string name) => $"[{attribute}] public partial Layer {name} {{ get; }}\n";

    public static TheoryData<string, string, string> Corpus => new()
    {
        // Correct networks: no diagnostics.
        { "mlp", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Dense(4)", "B"), "" },
        { "mlp dropout", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Dropout(0.3)", "D") + L("Dense(4)", "B"), "" },
        { "tanh", In + L("Dense(16)", "A") + L("Tanh", "T") + L("Dense(4)", "B"), "" },
        { "elu", In + L("Dense(16)", "A") + L("ELU(1.0)", "E") + L("Dense(4)", "B"), "" },
        { "selu lecun", In + L("Dense(16, Init = Init.LeCun)", "A") + L("SELU", "S") + L("Dense(4)", "B"), "" },
        { "leaky", In + L("Dense(16)", "A") + L("LeakyReLU(0.2)", "R") + L("Dense(4)", "B"), "" },
        { "prelu", In + L("Dense(16)", "A") + L("PReLU", "P") + L("Dense(4)", "B"), "" },
        { "maxout", In + L("Dense(16)", "A") + L("Maxout(4)", "M") + L("Dense(4)", "B"), "" },
        { "batchnorm", In + L("Dense(16)", "A") + L("BatchNorm", "N") + L("ReLU", "R") + L("Dense(4)", "B"), "" },
        { "residual", In + L("Dense(8)", "A") + L("ReLU", "R") + L("Dense(8)", "B") + L("Add(nameof(R))", "S") + L("ReLU", "R2") + L("Dense(4)", "C"), "" },
        { "cnn", Img + L("Conv2D(4, 3)", "C") + L("ReLU", "R") + L("MaxPool(2)", "P") + L("Flatten", "F") + L("Dense(4)", "B"), "" },
        { "cnn bn", Img + L("Conv2D(4, 3)", "C") + L("BatchNorm", "N") + L("ReLU", "R") + L("AvgPool(2)", "P") + L("Flatten", "F") + L("Dense(4)", "B"), "" },
        { "cnn gap", Img + L("Conv2D(4, 3, Stride = 2, Padding = Padding.Same)", "C") + L("ReLU", "R") + L("GlobalAveragePool", "G") + L("Dense(4)", "B"), "" },
        { "cnn valid", Img + L("Conv2D(4, 3, Padding = Padding.Valid)", "C") + L("ReLU", "R") + L("MaxPool(3)", "P") + L("Flatten", "F") + L("Dense(4)", "B"), "" },
        { "explicit padding", Img + L("Conv2D(4, 3, Padding = Padding.Explicit, PaddingSize = 1)", "C") + L("Tanh", "T") + L("Flatten", "F") + L("Dense(4)", "B"), "" },
        { "softmax mse", In + L("Dense(4)", "B") + L("Softmax", "P"), "" },
        { "input dropout", In + L("Dropout(0.2)", "D") + L("Dense(16)", "A") + L("ReLU", "R") + L("Dense(4)", "B"), "" },
        { "linear layer", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Linear", "I") + L("Dense(4)", "B"), "" },
        { "single dense", In + L("Dense(4)", "B"), "" },
        { "uniform init", In + L("Dense(16, Init = Init.Uniform, InitLow = -0.1, InitHigh = 0.1)", "A") + L("ReLU", "R") + L("Dense(4)", "B"), "" },

        // Errors.
        { "no input", L("Dense(4)", "B"), "ND0001" },
        { "two inputs", In + L("Input(8)", "Again") + L("Dense(4)", "B"), "ND0002" },
        { "negative units", In + L("Dense(-4)", "B"), "ND0003" },
        { "zero input", "[Input(0)] public partial Layer In { get; }\n" + L("Dense(4)", "B"), "ND0003" },
        { "dropout one", In + L("Dense(8)", "A") + L("ReLU", "R") + L("Dropout(1.0)", "D") + L("Dense(4)", "B"), "ND0004" },
        { "negative slope", In + L("Dense(8)", "A") + L("LeakyReLU(-1)", "R") + L("Dense(4)", "B"), "ND0004" },
        { "bad momentum", In + L("Dense(8)", "A") + L("BatchNorm(Momentum = 1.5)", "N") + L("ReLU", "R") + L("Dense(4)", "B"), "ND0004" },
        { "unknown init", In + L("Dense(4, Init = (Init)77)", "B"), "ND0005" },
        { "double attribute", In + "[Dense(4)][ReLU] public partial Layer B { get; }\n", "ND0008" },
        { "dense on image", Img + L("Dense(4)", "B"), "ND0011" },
        { "conv on vector", In + L("Conv2D(4, 3)", "C") + L("Flatten", "F") + L("Dense(4)", "B"), "ND0011" },
        { "pool window past the input", Img + L("Conv2D(4, 3)", "C") + L("ReLU", "R") + L("MaxPool(9)", "P") + L("Flatten", "F") + L("Dense(4)", "B"), "ND0011" },
        { "add shapes", In + L("Dense(6)", "A") + L("Add(nameof(In))", "S") + L("Dense(4)", "B"), "ND0011" },
        { "maxout width", In + L("Dense(10)", "A") + L("Maxout(4)", "M") + L("Dense(4)", "B"), "ND0011" },
        { "nothing to train", In + L("ReLU", "R"), "ND0012" },
        { "reserved name", In + L("Dense(4)", "Predict"), "ND0013" },
        { "unknown source", In + L("Dense(8)", "A") + L("Add(\"Nowhere\")", "S") + L("Dense(4)", "B"), "ND0015" },

        // Advice.
        { "linear collapse", In + L("Dense(16)", "A") + L("Dense(4)", "B"), "ND0104" },
        { "xavier relu", In + L("Dense(16, Init = Init.Xavier)", "A") + L("ReLU", "R") + L("Dense(4)", "B"), "ND0105" },
        { "he sigmoid", In + L("Dense(16, Init = Init.He)", "A") + L("Sigmoid", "S") + L("Dense(4)", "B"), "ND0105" },
        { "zeros", In + L("Dense(16, Init = Init.Zeros)", "A") + L("ReLU", "R") + L("Dense(4)", "B"), "ND0106" },
        { "dropout output", In + L("Dense(4)", "B") + L("Dropout(0.2)", "D"), "ND0109" },
        { "dropout before bn", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Dropout(0.2)", "D") + L("BatchNorm", "N") + L("Dense(4)", "B"), "ND0111" },
        { "relu then tanh", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Tanh", "T") + L("Dense(4)", "B"), "ND0120" },
        { "high dropout", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Dropout(0.7)", "D") + L("Dense(4)", "B"), "ND0122" },
        { "keep probability", In + L("Dense(16)", "A") + L("ReLU", "R") + L("Dropout(0.8)", "D") + L("Dense(4)", "B"), "ND0127" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Each_declaration_gets_exactly_its_diagnostics(string name, string members, string expected)
    {
        string source = "using NetDsl;\n[Network(Loss = Loss.MeanSquaredError)]\npublic partial class Net\n{\n" + members + "}\n";
        var ids = GeneratorHarness.AnalyzeSource(source).Select(d => d.Id).Where(id => id != "ND0112").Distinct().Order().ToArray();
        Assert.True(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order().SequenceEqual(ids),
            $"{name}: expected [{expected}], got [{string.Join(" ", ids)}]");
    }
}
