using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.RuntimeSource;
using NetDsl.Generators.Shared;
using static NetDsl.Generators.Emit.CSharp;

namespace NetDsl.Generators.Emit;

// The fused passes of narrow Dense networks: a whole pass in one kernel, each layer's tile in shared memory.
internal static partial class GpuEmitter
{
    /// <summary>Widest layer a fused pass keeps in shared memory, and the threads of its group (one per unit).</summary>
    const int FusedWidth = NetworkLowering.FusedGpuWidth;

    /// <summary>Samples per group of a fused pass: two tiles of 32 × 128 floats are 32 KB of the 48 KB a group may use.</summary>
    const int FusedRows = 32;

    /// <summary>The fused passes: one group per tile of <see cref="FusedRows"/> samples, one thread per unit. Each layer
    /// reads the previous layer's tile from shared memory (the first reads the inputs), multiplies by its weights four
    /// samples at a time, runs the same epilogue as the unfused product (which also stores the element for the weight
    /// gradients) and writes the result to the other tile.</summary>
    static void EmitFusedPasses(SourceWriter w, List<BlockPlan> blocks)
    {
        string shared = "global::ILGPU.SharedMemory.Allocate<float>";
        w.Line();
        w.Line("/// <summary>The forward kernel's arguments: the batch, θ, the inputs and every layer's epilogue.</summary>");
        w.Line(GeneratedCode);
        using (w.Block("internal struct FusedForwardPass"))
        {
            w.Line("public int Batch;");
            w.Line($"public {View} Inputs, Parameters;");
            foreach (var block in blocks) w.Line($"public {block.Name}Forward {block.Name};");
        }
        w.Line();
        w.Line("/// <summary>The whole forward pass of one tile of samples, activations kept in shared memory.</summary>");
        using (w.Block("static void FusedForward(FusedForwardPass pass)"))
        {
            EmitTileStart(w, shared);
            for (int i = 0; i < blocks.Count; i++)
            {
                var block = blocks[i];
                string source(string s, string p) => i == 0 ? $"pass.Inputs[(first + {s}) * {InputWidth(blocks, block)} + {p}]" : $"{Tile(i - 1)}[({s}) * {FusedWidth} + {p}]";
                string store(string s, string value) => i == blocks.Count - 1
                    ? $"pass.{block.Name}.Activate(first + {s}, unit, {value});"
                    : $"{Tile(i)}[({s}) * {FusedWidth} + unit] = pass.{block.Name}.Activate(first + {s}, unit, {value});";
                w.Line($"// {Describe(block)}");
                EmitTileLayer(w, block.Outputs, block.Inputs, $"{block.Name}WeightOffset + unit * {InputWidth(blocks, block)} + p", source, store);
                if (i < blocks.Count - 1) w.Line("global::ILGPU.Group.Barrier();");
            }
        }
        if (blocks.Count < 2) return;
        var last = blocks[blocks.Count - 1];
        w.Line();
        w.Line("/// <summary>The backward kernel's arguments: the batch, θ, the last layer's dZ and the epilogue that forms each earlier dZ.</summary>");
        w.Line(GeneratedCode);
        using (w.Block("internal struct FusedBackwardPass"))
        {
            w.Line("public int Batch;");
            w.Line($"public {View} Parameters, LastGradient;");
            for (int i = 1; i < blocks.Count; i++) w.Line($"public {blocks[i].Name}InputGradient {blocks[i].Name}Input;");
        }
        w.Line();
        w.Line("/// <summary>dZ of every layer but the last for one tile of samples: each layer's dZ tile stays in shared memory for the next.</summary>");
        using (w.Block("static void FusedBackward(FusedBackwardPass pass)"))
        {
            EmitTileStart(w, shared);
            // The last layer's dZ goes to the tile the loop below reads first.
            int tile = blocks.Count - 1;
            w.Line($"if (unit < {Width(last)})");
            w.Line($"    for (int s = 0; s < rows; s++) {Tile(tile)}[s * {FusedWidth} + unit] = pass.LastGradient[(first + s) * {Width(last)} + unit];");
            w.Line("global::ILGPU.Group.Barrier();");
            for (int i = blocks.Count - 1; i >= 1; i--)
            {
                var block = blocks[i];
                var previous = blocks[i - 1];
                int from = i, to = i - 1;
                w.Line($"// dZ of {previous.Name} = (dZ of {block.Name} · W) ⊙ its dropout mask and activation derivative");
                EmitTileLayer(w, block.Inputs, block.Outputs, $"{block.Name}WeightOffset + p * {InputWidth(blocks, block)} + unit",
                    (s, p) => $"{Tile(from)}[({s}) * {FusedWidth} + {p}]",
                    (s, value) => i == 1
                        ? $"pass.{block.Name}Input.Form(first + {s}, unit, {value});"
                        : $"{Tile(to)}[({s}) * {FusedWidth} + unit] = pass.{block.Name}Input.Form(first + {s}, unit, {value});");
                if (i > 1) w.Line("global::ILGPU.Group.Barrier();");
            }
        }
    }

    /// <summary>Layer i writes tile i mod 2; layer i + 1 reads it.</summary>
    static string Tile(int layer) => layer % 2 == 0 ? "even" : "odd";

    static void EmitTileStart(SourceWriter w, string shared)
    {
        w.Line($"var even = {shared}({FusedRows * FusedWidth});");
        w.Line($"var odd = {shared}({FusedRows * FusedWidth});");
        w.Line($"int first = global::ILGPU.Grid.IdxX * {FusedRows}, unit = global::ILGPU.Group.IdxX;");
        w.Line($"int rows = pass.Batch - first < {FusedRows} ? pass.Batch - first : {FusedRows};");
    }

    /// <summary>Thread <c>unit</c> (below <paramref name="units"/>) sums <paramref name="depth"/> products for each sample of
    /// the tile, four samples per weight read.</summary>
    static void EmitTileLayer(SourceWriter w, int units, int depth, string weightIndex,
        System.Func<string, string, string> source, System.Func<string, string, string> store)
    {
        using (w.Block($"if (unit < {units})"))
        {
            w.Line("int s = 0;");
            using (w.Block("for (; s + 4 <= rows; s += 4)"))
            {
                w.Line("float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;");
                using (w.Block($"for (int p = 0; p < {depth}; p++)"))
                {
                    w.Line($"float weight = pass.Parameters[{weightIndex}];");
                    w.Line($"c0 += {source("s", "p")} * weight;");
                    w.Line($"c1 += {source("s + 1", "p")} * weight;");
                    w.Line($"c2 += {source("s + 2", "p")} * weight;");
                    w.Line($"c3 += {source("s + 3", "p")} * weight;");
                }
                w.Line(store("s", "c0"));
                w.Line(store("s + 1", "c1"));
                w.Line(store("s + 2", "c2"));
                w.Line(store("s + 3", "c3"));
            }
            using (w.Block("for (; s < rows; s++)"))
            {
                w.Line("float c = 0f;");
                w.Line($"for (int p = 0; p < {depth}; p++) c += {source("s", "p")} * pass.Parameters[{weightIndex}];");
                w.Line(store("s", "c"));
            }
        }
    }
}
