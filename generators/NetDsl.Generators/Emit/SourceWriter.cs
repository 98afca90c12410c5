using System;
using System.Text;

namespace NetDsl.Generators.Emit;

/// <summary>A small indenting writer: generated code is written as text, line by line, not built as syntax trees.</summary>
internal sealed class SourceWriter
{
    readonly StringBuilder text = new();
    int indent;

    public SourceWriter Line(string line = "")
    {
        if (line.Length > 0) text.Append(' ', indent * 4).Append(line);
        text.Append('\n');
        return this;
    }

    public SourceWriter Lines(params string[] lines)
    {
        foreach (var line in lines) Line(line);
        return this;
    }

    /// <summary>Writes an XML documentation summary; the text is escaped.</summary>
    public SourceWriter Summary(string summary) => Line("/// <summary>" + Escape(summary) + "</summary>");

    /// <summary>A name as a C# identifier: a keyword the user wrote verbatim (<c>@event</c>) keeps its '@'.</summary>
    public static string Identifier(string name) =>
        Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + name : name;

    /// <summary>Text as it must appear inside an XML documentation comment.</summary>
    public static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>Writes <paramref name="header"/>, an opening brace, and indents until the returned scope is disposed.</summary>
    public IDisposable Block(string header, string closing = "}")
    {
        if (header.Length > 0) Line(header);
        Line("{");
        indent++;
        return new Scope(this, closing);
    }

    public override string ToString() => text.ToString();

    sealed class Scope(SourceWriter writer, string closing) : IDisposable
    {
        public void Dispose()
        {
            writer.indent--;
            writer.Line(closing);
        }
    }
}
