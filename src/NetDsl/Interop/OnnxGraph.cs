using System.ComponentModel;

namespace NetDsl.Interop;

/// <summary>Builds an ONNX model (opset 17, IR version 8) node by node and writes it as the protobuf ONNX Runtime and
/// PyTorch read. Generated networks call it from <c>ExportOnnx</c>, one call per layer of their plan; the input takes a
/// symbolic batch dimension <c>N</c>. Field numbers are those of onnx.proto.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxGraph
{
    const long IrVersion = 8, Opset = 17;

    readonly string name;
    readonly List<ProtoWriter> nodes = [], initializers = [], inputs = [], outputs = [];
    int unnamed;

    /// <summary>Starts a graph whose input <paramref name="input"/> has shape [N, <paramref name="sampleShape"/>].</summary>
    public OnnxGraph(string name, string input, IReadOnlyList<int> sampleShape)
    {
        this.name = name;
        inputs.Add(ValueInfo(input, sampleShape));
    }

    static ProtoWriter ValueInfo(string tensor, IReadOnlyList<int> sampleShape)
    {
        var shape = new ProtoWriter().Message(1, new ProtoWriter().String(2, "N"));
        foreach (int d in sampleShape) shape.Message(1, new ProtoWriter().Int(1, d));
        var tensorType = new ProtoWriter().Int(1, (int)OnnxElementType.Float).Message(2, shape);
        return new ProtoWriter().String(1, tensor).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    /// <summary>Adds a float initializer (a weight) and returns its name.</summary>
    public string Initializer(string tensor, IReadOnlyList<int> shape, ReadOnlySpan<float> values)
    {
        if (values.Length != Shapes.Count(shape))
            throw new ArgumentException($"Initializer {tensor} of shape {Shapes.Format(shape)} got {values.Length} values.", nameof(values));
        initializers.Add(new ProtoWriter().Ints(1, shape.Select(d => (long)d)).Int(2, (int)OnnxElementType.Float).String(8, tensor).Floats(4, values));
        return tensor;
    }

    /// <summary>The fitted preprocessing at the graph's start, (x − shift) · scale per feature, so the model takes the raw
    /// features; returns the preprocessed tensor.</summary>
    public string Preprocess(string input, IReadOnlyList<int> sampleShape, Data.IFeatureScaling? preprocessing)
    {
        if (preprocessing is null) return input;
        int width = Shapes.Count(sampleShape);
        if (preprocessing.Shift.Length != width)
            throw new ArgumentException($"The preprocessing was fitted on {preprocessing.Shift.Length} features per sample but the network takes {width}, shape {Shapes.Format(sampleShape)}.", nameof(preprocessing));
        string centred = Node("Sub", "input.centred", [input, Initializer("preprocessing.shift", sampleShape, preprocessing.Shift)]);
        return Node("Mul", "input.scaled", [centred, Initializer("preprocessing.scale", sampleShape, preprocessing.Scale)]);
    }

    /// <summary>Adds an initializer of any ONNX element type from its little-endian bytes and returns its name.</summary>
    public string RawInitializer(string tensor, OnnxElementType elementType, IReadOnlyList<int> shape, ReadOnlySpan<byte> bytes)
    {
        initializers.Add(new ProtoWriter().Ints(1, shape.Select(d => (long)d)).Int(2, (int)elementType).String(8, tensor).Bytes(9, bytes));
        return tensor;
    }

    /// <summary>Adds an int64 initializer (a shape for Reshape) and returns its name.</summary>
    public string Int64Initializer(string tensor, IReadOnlyList<long> values)
    {
        initializers.Add(new ProtoWriter().Ints(1, [values.Count]).Int(2, (int)OnnxElementType.Int64).String(8, tensor).Ints(7, values));
        return tensor;
    }

    /// <summary>Adds a node and returns its output's name (<paramref name="output"/>, or a fresh one).</summary>
    public string Node(string opType, string? output, IEnumerable<string> nodeInputs, params OnnxAttribute[] attributes)
    {
        output ??= $"{opType}_{unnamed++}";
        Node(opType, [output], nodeInputs, attributes);
        return output;
    }

    /// <summary>Adds a node with several outputs (DynamicQuantizeLinear's value, scale and zero point).</summary>
    public void Node(string opType, IReadOnlyList<string> nodeOutputs, IEnumerable<string> nodeInputs, params OnnxAttribute[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in nodeInputs) node.String(1, input);
        foreach (var output in nodeOutputs) node.String(2, output);
        node.String(3, nodeOutputs[0]).String(4, opType);
        foreach (var attribute in attributes) node.Message(5, attribute.Write());
        nodes.Add(node);
    }

    /// <summary>Names <paramref name="tensor"/> as a graph output of shape [N, <paramref name="sampleShape"/>].</summary>
    public void Output(string tensor, string outputName, IReadOnlyList<int> sampleShape)
    {
        Node("Identity", outputName, [tensor]);
        outputs.Add(ValueInfo(outputName, sampleShape));
    }

    /// <summary>The model's bytes.</summary>
    public byte[] ToBytes(string docString)
    {
        var graph = new ProtoWriter();
        foreach (var node in nodes) graph.Message(1, node);
        graph.String(2, name);
        foreach (var initializer in initializers) graph.Message(5, initializer);
        graph.String(10, docString);
        foreach (var input in inputs) graph.Message(11, input);
        foreach (var output in outputs) graph.Message(12, output);
        return new ProtoWriter()
            .Int(1, IrVersion)
            .String(2, "NetDsl")
            .String(3, typeof(OnnxGraph).Assembly.GetName().Version?.ToString(3) ?? "0.0.0")
            .String(6, docString)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, Opset))
            .ToArray();
    }

    /// <summary>Writes the model to <paramref name="path"/> (beside it, then renamed over it, as checkpoints are).</summary>
    public void Save(string path, string docString)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, ToBytes(docString));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

/// <summary>The element types a NetDsl graph uses, numbered as onnx.proto's <c>TensorProto.DataType</c> (also the
/// value of a <c>Cast</c> node's <c>to</c>).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public enum OnnxElementType
{
    /// <summary>32-bit float: every input, output and weight.</summary>
    Float = 1,
    /// <summary>Unsigned byte: a dynamically quantized activation.</summary>
    UInt8 = 2,
    /// <summary>Signed byte: a quantized weight.</summary>
    Int8 = 3,
    /// <summary>64-bit integer: a shape given to Reshape.</summary>
    Int64 = 7,
}

/// <summary>One attribute of an ONNX node: a float, an int or a list of ints.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct OnnxAttribute(string Name, float? Float = null, long? Int = null, long[]? Ints = null)
{
    // AttributeProto.AttributeType
    const int FloatAttribute = 1, IntAttribute = 2, IntsAttribute = 7;

    internal ProtoWriter Write()
    {
        var attribute = new ProtoWriter().String(1, Name);
        if (Float is { } f) attribute.Float(2, f).Int(20, FloatAttribute);
        else if (Int is { } i) attribute.Int(3, i).Int(20, IntAttribute);
        else attribute.Ints(8, Ints ?? []).Int(20, IntsAttribute);
        return attribute;
    }

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Of(string name, float value) => new(name, Float: value);

    /// <summary>An int attribute.</summary>
    public static OnnxAttribute Of(string name, long value) => new(name, Int: value);

    /// <summary>A list-of-ints attribute.</summary>
    public static OnnxAttribute Of(string name, params long[] values) => new(name, Ints: values);
}
