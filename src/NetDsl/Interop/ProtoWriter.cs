using System.Buffers.Binary;
using System.Text;

namespace NetDsl.Interop;

/// <summary>The protocol-buffer wire format, as much of it as ONNX models and TensorBoard events need: varints,
/// length-delimited fields (strings, bytes, nested messages, packed arrays), 32-bit floats and 64-bit doubles. Field
/// numbers come from the message's own table.</summary>
internal sealed class ProtoWriter
{
    readonly MemoryStream bytes = new();

    public byte[] ToArray() => bytes.ToArray();

    void Tag(int field, int wireType) => Varint((ulong)(field << 3 | wireType));

    void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            bytes.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        bytes.WriteByte((byte)value);
    }

    /// <summary>An int32/int64/enum field (wire type 0); negative values take ten bytes, as protobuf writes them.</summary>
    public ProtoWriter Int(int field, long value)
    {
        Tag(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(word, value);
        bytes.Write(word);
        return this;
    }

    public ProtoWriter Double(int field, double value)
    {
        Tag(field, 1);
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(word, value);
        bytes.Write(word);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        bytes.Write(value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    /// <summary>A repeated int64 field, packed.</summary>
    public ProtoWriter Ints(int field, IEnumerable<long> values)
    {
        var packed = new ProtoWriter();
        foreach (long value in values) packed.Varint(unchecked((ulong)value));
        return Bytes(field, packed.ToArray());
    }

    /// <summary>A repeated float field, packed.</summary>
    public ProtoWriter Floats(int field, ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return Bytes(field, raw);
    }
}
