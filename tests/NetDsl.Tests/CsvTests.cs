using System.Text;
using NetDsl.Data;

namespace NetDsl.Tests;

public sealed class CsvTests : IDisposable
{
    readonly string path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".csv");

    public void Dispose() => File.Delete(path);

    void Write(string text, bool byteOrderMark = false) =>
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: byteOrderMark));

    InvalidDataException Rejected(string text)
    {
        Write(text);
        var error = Assert.Throws<InvalidDataException>(() => CsvReader.Read(path, "label"));
        Assert.Contains(path, error.Message);
        return error;
    }

    [Fact]
    public void Quoted_fields_CRLF_a_byte_order_mark_and_text_labels_read_as_RFC_4180_writes_them()
    {
        // Labels with a separator, a doubled quote and a line break inside quotes; quoted numbers; CRLF line ends.
        Write("width,\"label\",\"height, cm\"\r\n" +
              "1.5,\"virginica, large\",2\r\n" +
              "\"3\",\"say \"\"hi\"\"\",-4e1\r\n" +
              "5,\"two\nlines\",6\r\n" +
              "7,\"virginica, large\",8\r\n", byteOrderMark: true);
        var data = CsvReader.Read(path, "label");
        Assert.Equal([1.5f, 2f, 3f, -40f, 5f, 6f, 7f, 8f], data.Features);
        // Names become indices in ordinal order: "say \"hi\"" < "two\nlines" < "virginica, large".
        Assert.Equal(["say \"hi\"", "two\nlines", "virginica, large"], data.ClassNames!);
        Assert.Equal([2, 0, 1, 2], data.Labels);
        Assert.Equal(3, data.ClassCount);
        Assert.Equal(data.ClassNames, data.Subset([3, 0]).ClassNames);
    }

    [Fact]
    public void Numeric_labels_stay_class_indices_without_names()
    {
        Write("a,label\n0.5,2\n1,0\n");
        var data = CsvReader.Read(path, "label");
        Assert.Equal([2, 0], data.Labels);
        Assert.Equal(3, data.ClassCount);
        Assert.Null(data.ClassNames);
    }

    [Fact]
    public void Blank_lines_are_skipped_and_do_not_shift_the_line_an_error_names()
    {
        var error = Rejected("a,label\n\n1,0\n\n\n2,x,3\n");
        Assert.Contains("line 6", error.Message);
        Assert.Contains("3 columns where line 1 has 2", error.Message);
        Assert.Contains("line 5, column 1", Rejected("a,label\n1,0\n\n\nx,1\n").Message);
    }

    [Fact]
    public void A_bad_file_is_rejected_with_its_line_and_column()
    {
        Assert.Contains("header but no data rows", Rejected("a,label\n").Message);
        Assert.Contains("holds no records", Rejected("").Message);
        Assert.Contains("line 2, column 2: a quoted field is never closed", Rejected("a,label\n1,\"open\n2,0\n").Message);
        Assert.Contains("line 2, column 1", Rejected("a,label\n\"1\"x,0\n").Message);
        // A label that reads as a number among names, or a huge one, is a broken row rather than a class.
        Assert.Contains("line 3, column 2: the label '1e10'", Rejected("a,label\n1,cat\n2,1e10\n").Message);
        Assert.Contains("line 3, column 2: the label '-1'", Rejected("a,label\n1,0\n2,-1\n").Message);
        Assert.Contains("no column 'label'", Rejected("a,b\n1,0\n").Message);
    }
}
