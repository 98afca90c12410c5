using NetDsl;

namespace AnalyzerCheck;

/// <summary>Two linear layers in a row: one product of the same rank would do (ND0104).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class CollapsingLayers
{
    [Input(8)] public partial Layer Features { get; }
    [Dense(16)] public partial Layer First { get; }
    [Dense(4)] public partial Layer Second { get; }
}
