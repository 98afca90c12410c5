using NetDsl;

namespace PackageConsumer;

/// <summary>A small MLP for three well-separated classes of four features.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class BlobMlp
{
    [Input(4)] public partial Layer Features { get; }
    [Dense(16, Init = Init.He)] public partial Layer Hidden { get; }
    [ReLU] public partial Layer Act { get; }
    [Dense(3)] public partial Layer Logits { get; }
}

/// <summary>A small CNN that tells a horizontal bar from a vertical one in an 8 × 8 image.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class BarCnn
{
    [Input(1, 8, 8)] public partial Layer Image { get; }
    [Conv2D(4, 3, Init = Init.He)] public partial Layer Conv { get; }
    [BatchNorm] public partial Layer Norm { get; }
    [ReLU] public partial Layer Act { get; }
    [MaxPool(2)] public partial Layer Pool { get; }
    [Flatten] public partial Layer Flat { get; }
    [Dense(2)] public partial Layer Logits { get; }
}
