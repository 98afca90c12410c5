using System.Globalization;

namespace NetDsl.Data;

/// <summary>Reads numeric CSV: an optional header, comma-separated numbers, one integer class label column.</summary>
public static class CsvReader
{
    /// <summary>Loads <paramref name="path"/>; the label column is named (with a header) or numbered from 0. Errors name
    /// the file, line and column.</summary>
    public static Dataset Read(string path, string labelColumn, bool hasHeader = true, char separator = ',', int? classCount = null)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0) throw new InvalidDataException($"{path}: the file holds no rows.");
        var header = hasHeader ? lines[0].Split(separator).Select(h => h.Trim()).ToArray() : null;
        int label = header is not null ? Array.IndexOf(header, labelColumn)
            : int.TryParse(labelColumn, out int number) ? number : -1;
        if (label < 0)
            throw new InvalidDataException(header is null
                ? $"{path}: without a header the label column is a number, got '{labelColumn}'."
                : $"{path}: no column '{labelColumn}' in the header ({string.Join(", ", header)}).");
        var features = new List<float>();
        var labels = new List<int>();
        int columns = -1;
        for (int row = hasHeader ? 1 : 0; row < lines.Count; row++)
        {
            var cells = lines[row].Split(separator);
            if (columns < 0) columns = cells.Length;
            if (cells.Length != columns)
                throw new InvalidDataException($"{path}, line {row + 1}: {cells.Length} columns where the first row has {columns}.");
            if (label >= columns) throw new InvalidDataException($"{path}: label column {label} is beyond the {columns} columns.");
            for (int c = 0; c < cells.Length; c++)
            {
                if (!double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                    throw new InvalidDataException($"{path}, line {row + 1}, column {c + 1}: '{cells[c].Trim()}' is not a number.");
                if (c != label) features.Add((float)value);
                else if (value != Math.Floor(value) || value < 0)
                    throw new InvalidDataException($"{path}, line {row + 1}: the label {value} is not a class index ≥ 0.");
                else labels.Add((int)value);
            }
        }
        return new Dataset([.. features], [.. labels], [columns - 1], classCount ?? labels.Max() + 1);
    }
}
