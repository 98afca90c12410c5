using NetDsl;

namespace FashionMnist;

/// <summary>The layer issue's CNN: two Conv-BatchNorm-ReLU-MaxPool stages, then Dense 128 with dropout 0.3.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FashionCnn
{
    [Input(1, 28, 28)] public partial Layer Image { get; }
    [Conv2D(32, 3, Init = Init.He)] public partial Layer Conv1 { get; }
    [BatchNorm] public partial Layer Norm1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [MaxPool(2)] public partial Layer Pool1 { get; }
    [Conv2D(64, 3, Init = Init.He)] public partial Layer Conv2 { get; }
    [BatchNorm] public partial Layer Norm2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [MaxPool(2)] public partial Layer Pool2 { get; }
    [Flatten] public partial Layer Flat { get; }
    [Dense(128, Init = Init.He)] public partial Layer Hidden { get; }
    [ReLU] public partial Layer Act3 { get; }
    [Dropout(0.3)] public partial Layer Drop { get; }
    [Dense(10, Init = Init.Xavier)] public partial Layer Logits { get; }
}
