using System.Globalization;
using System.Text;

namespace NetDsl.Data;

/// <summary>Reads CSV as RFC 4180 writes it (quoted fields with embedded separators, quotes written twice and line
/// breaks; CRLF or LF line ends; a UTF-8 byte-order mark), with an optional header: every column but the label is a
/// number, and the label column holds either class indices (0, 1, 2, ...) or class names, which become indices in
/// ordinal order and are kept in <see cref="Dataset.ClassNames"/>. Blank lines are skipped. Errors name the file, the
/// line and the column.</summary>
public static class CsvReader
{
    /// <summary>Loads <paramref name="path"/>; the label column is named (with a header) or numbered from 0.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="labelColumn">The header name of the label column, or its number from 0 without a header.</param>
    /// <param name="hasHeader">The first record names the columns.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="classCount">The class count when the file may lack the highest class indices; by default the
    /// largest index + 1 (or the number of class names).</param>
    public static Dataset Read(string path, string labelColumn, bool hasHeader = true, char separator = ',', int? classCount = null)
    {
        if (separator is '"' or '\r' or '\n') throw new ArgumentException($"'{separator}' cannot separate CSV fields.", nameof(separator));
        var records = Records(path, File.ReadAllText(path), separator);
        if (records.Count == 0) throw new InvalidDataException($"{path}: the file holds no records.");
        var header = hasHeader ? records[0].Fields.Select(f => f.Text.Trim()).ToArray() : null;
        int label = header is not null ? Array.IndexOf(header, labelColumn)
            : int.TryParse(labelColumn, NumberStyles.None, CultureInfo.InvariantCulture, out int number) ? number : -1;
        if (label < 0)
            throw new InvalidDataException(header is null
                ? $"{path}: without a header the label column is a number from 0, got '{labelColumn}'."
                : $"{path}: no column '{labelColumn}' in the header ({string.Join(", ", header)}).");
        int columns = records[0].Fields.Count;
        if (label >= columns)
            throw new InvalidDataException($"{path}: label column {label} is beyond the {columns} columns of line {records[0].Line}.");
        int first = hasHeader ? 1 : 0;
        if (records.Count == first) throw new InvalidDataException($"{path}: the file holds a header but no data rows.");

        var features = new float[(records.Count - first) * (columns - 1)];
        var labelTexts = new Field[records.Count - first];
        int at = 0;
        for (int r = first; r < records.Count; r++)
        {
            var record = records[r];
            if (record.Fields.Count != columns)
                throw new InvalidDataException($"{path}, line {record.Line}: {record.Fields.Count} columns where line {records[0].Line} has {columns}.");
            for (int c = 0; c < columns; c++)
            {
                var field = record.Fields[c];
                if (c == label) { labelTexts[r - first] = field; continue; }
                if (!double.TryParse(field.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                    throw new InvalidDataException($"{path}, line {field.Line}, column {c + 1}: '{field.Text.Trim()}' is not a number.");
                features[at++] = (float)value;
            }
        }

        var (labels, classNames) = Labels(path, labelTexts, label);
        int classes = classCount ?? classNames?.Length ?? labels.Max() + 1;
        if (labels.FirstOrDefault(l => l >= classes) is var outside && outside >= classes)
            throw new InvalidDataException($"{path}: the label {outside} is not below the class count {classes}.");
        return new Dataset(features, labels, [columns - 1], classes) { ClassNames = classNames };
    }

    /// <summary>Class indices when every label is a whole number ≥ 0 (written as digits), else class names mapped to
    /// indices in ordinal order.</summary>
    static (int[] Labels, string[]? ClassNames) Labels(string path, Field[] texts, int column)
    {
        var labels = new int[texts.Length];
        bool numeric = true;
        for (int i = 0; i < texts.Length && numeric; i++)
            numeric = int.TryParse(texts[i].Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out labels[i]);
        if (numeric) return (labels, null);
        static bool LooksNumeric(string text) =>
            text.Trim().Length == 0 || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        // Numbers that are not class indices, or a number among names, are broken rows rather than a class called "3".
        bool named = texts.Any(t => !LooksNumeric(t.Text));
        foreach (var text in texts)
            if (named ? LooksNumeric(text.Text) : !int.TryParse(text.Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw new InvalidDataException($"{path}, line {text.Line}, column {column + 1}: the label '{text.Text.Trim()}' is " +
                    (named ? "neither a class index (a whole number ≥ 0) nor a class name like the other labels." : "not a class index (a whole number ≥ 0)."));
        var names = texts.Select(t => t.Text.Trim()).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var index = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        for (int i = 0; i < texts.Length; i++) labels[i] = index[texts[i].Text.Trim()];
        return (labels, names);
    }

    /// <summary>One field and the line it starts on (a quoted field may span lines).</summary>
    readonly record struct Field(string Text, int Line);

    sealed record Record(List<Field> Fields, int Line);

    /// <summary>Splits the text into records of fields by RFC 4180, skipping blank lines.</summary>
    static List<Record> Records(string path, string text, char separator)
    {
        var records = new List<Record>();
        var fields = new List<Field>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1, fieldLine = 1, i = 0;
        bool recordQuoted = false;
        if (text.Length > 0 && text[0] == '\uFEFF') i = 1;

        void EndField()
        {
            fields.Add(new Field(field.ToString(), fieldLine));
            field.Clear();
        }
        void EndRecord()
        {
            EndField();
            bool blank = fields.Count == 1 && fields[0].Text.Length == 0 && !recordQuoted;
            if (!blank) records.Add(new Record([.. fields], recordLine));
            fields.Clear();
            recordQuoted = false;
        }

        while (i < text.Length)
        {
            char c = text[i];
            if (c == '"' && field.Length == 0)
            {
                // A quoted field: up to the closing quote, "" standing for one quote; separators and line breaks are text.
                int startLine = line, column = fields.Count + 1;
                recordQuoted = true;
                i++;
                while (true)
                {
                    if (i >= text.Length)
                        throw new InvalidDataException($"{path}, line {startLine}, column {column}: a quoted field is never closed.");
                    char q = text[i];
                    if (q == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    if (q == '\n') line++;
                    field.Append(q);
                    i++;
                }
                if (i < text.Length && text[i] != separator && text[i] != '\r' && text[i] != '\n')
                    throw new InvalidDataException($"{path}, line {line}, column {column}: '{text[i]}' follows a closing quote; " +
                        "a quote inside a quoted field is written twice (\"\").");
                continue;
            }
            if (c == separator)
            {
                EndField();
                fieldLine = line;
                i++;
                continue;
            }
            if (c == '\r' || c == '\n')
            {
                EndRecord();
                i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
                line++;
                recordLine = fieldLine = line;
                continue;
            }
            field.Append(c);
            i++;
        }
        if (field.Length > 0 || fields.Count > 0 || recordQuoted) EndRecord();
        return records;
    }
}
