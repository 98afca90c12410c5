namespace NetDsl.Tests;

/// <summary>What data-parallel training needs from a network: a batch split into slices by sample gives, slice by slice,
/// the gradients of the whole batch, dropout masks included.</summary>
public class DataParallelTests
{
    /// <summary>dθ and the loss of <paramref name="batch"/> samples as one batch, and as the mean over slices
    /// [first, first + size) trained by separate instances (one per rank) whose masks are keyed from
    /// <paramref name="offsets"/>.</summary>
    static (float[] Whole, float[] Sliced, float WholeLoss, float SlicedLoss) Gradients(int batch, int[] starts, Func<int, long> offsets)
    {
        var x = TestData.Uniform(batch * 6, 11);
        var y = TestData.OneHot(batch, 3, 12);
        var whole = new SmallClassifier(seed: 4);
        float wholeLoss = whole.ComputeGradients(x, y);
        var sliced = new float[SmallClassifier.ParameterCount];
        float slicedLoss = 0;
        for (int r = 0; r < starts.Length; r++)
        {
            int first = starts[r], count = (r + 1 < starts.Length ? starts[r + 1] : batch) - first;
            var rank = new SmallClassifier(seed: 4) { DropoutSampleOffset = offsets(first) };
            float loss = rank.ComputeGradients(x.AsSpan(first * 6, count * 6), y.AsSpan(first * 3, count * 3));
            // Each slice's mean, weighted by its share of the batch, adds up to the batch's mean.
            slicedLoss += loss * count / batch;
            for (int i = 0; i < sliced.Length; i++) sliced[i] += rank.Gradients[i] * count / batch;
        }
        return (whole.Gradients.ToArray(), sliced, wholeLoss, slicedLoss);
    }

    [Fact]
    public void Slices_with_their_sample_offsets_draw_the_dropout_masks_of_the_whole_batch()
    {
        var (whole, sliced, wholeLoss, slicedLoss) = Gradients(10, [0, 4, 7], first => first);
        float scale = whole.Max(Math.Abs);
        Assert.Equal(wholeLoss, slicedLoss, 1e-5 * wholeLoss);
        for (int i = 0; i < whole.Length; i++) Assert.True(Math.Abs(whole[i] - sliced[i]) <= 1e-5 * scale, $"dθ[{i}]: {whole[i]} whole, {sliced[i]} sliced");
    }

    [Fact]
    public void Without_the_offsets_every_slice_repeats_the_first_rows_masks()
    {
        var (whole, sliced, _, _) = Gradients(10, [0, 4, 7], _ => 0);
        float scale = whole.Max(Math.Abs);
        Assert.Contains(Enumerable.Range(0, whole.Length), i => Math.Abs(whole[i] - sliced[i]) > 1e-3 * scale);
    }
}
