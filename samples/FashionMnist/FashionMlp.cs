using NetDsl;

namespace FashionMnist;

/// <summary>The sample network: 784-256-128-10 with ReLU, He initialization and dropout 0.2, trained on logits with
/// softmax cross-entropy.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class FashionMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(256, Init = Init.He)] public partial Layer Hidden1 { get; }
    [ReLU] public partial Layer Act1 { get; }
    [Dropout(0.2)] public partial Layer Drop1 { get; }
    [Dense(128, Init = Init.He)] public partial Layer Hidden2 { get; }
    [ReLU] public partial Layer Act2 { get; }
    [Dropout(0.2)] public partial Layer Drop2 { get; }
    [Dense(10, Init = Init.Xavier)] public partial Layer Logits { get; }
}
