using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace NetDsl.Generators.Shared;

/// <summary>A source location as plain values (file, span, line span): a <see cref="Location"/> holds a syntax tree and
/// would defeat incremental caching.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());

    public static LocationInfo? From(Location location) =>
        location.SourceTree is null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);

    /// <summary>The location inside <paramref name="compilation"/>'s tree of the same file, so analyzers can report on it.</summary>
    public Location ToLocation(Compilation compilation)
    {
        var tree = compilation.SyntaxTrees.FirstOrDefault(t => t.FilePath == FilePath);
        return tree is null ? Location.Create(FilePath, Span, LineSpan) : Location.Create(tree, Span);
    }
}
