using NetDsl.Data;

namespace NetDsl.Tests;

public class AugmentationTests
{
    static float[] Ramp() => Enumerable.Range(0, 2 * 3 * 4).Select(i => (float)i).ToArray(); // (2, 3, 4)

    static float[] Augmented(Augmentation augmentation, int seed = 1)
    {
        var sample = Ramp();
        augmentation.Apply(sample, 1, 2, 3, 4, new Rng((ulong)seed), new float[24]);
        return sample;
    }

    [Fact]
    public void A_certain_horizontal_flip_mirrors_each_row()
    {
        var flipped = Augmented(new Augmentation { HorizontalFlip = 1 });
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    Assert.Equal((c * 3 + y) * 4 + (3 - x), flipped[(c * 3 + y) * 4 + x]);
        var vertical = Augmented(new Augmentation { VerticalFlip = 1 });
        Assert.Equal(2 * 4 + 0, vertical[0]);
    }

    [Fact]
    public void A_translation_moves_pixels_by_whole_steps_and_fills_zeros()
    {
        var image = Augmented(new Augmentation { MaxTranslation = 1 }, seed: 3);
        var original = Ramp();
        // Some shift (dx, dy) in [-1, 1]² was drawn: every pixel equals the original at (x − dx, y − dy) or 0 off-image.
        bool Matches(int dx, int dy)
        {
            for (int c = 0; c < 2; c++)
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 4; x++)
                    {
                        int sx = x - dx, sy = y - dy;
                        float expected = sx is >= 0 and < 4 && sy is >= 0 and < 3 ? original[(c * 3 + sy) * 4 + sx] : 0;
                        if (Math.Abs(image[(c * 3 + y) * 4 + x] - expected) > 1e-5) return false;
                    }
            return true;
        }
        Assert.Contains(true, from dx in new[] { -1, 0, 1 } from dy in new[] { -1, 0, 1 } select Matches(dx, dy));
    }

    [Fact]
    public void A_zero_rotation_and_no_options_leave_the_sample_alone_and_noise_has_its_deviation()
    {
        Assert.Equal(Ramp(), Augmented(new Augmentation()));
        var noisy = new float[100_000];
        new Augmentation { NoiseStandardDeviation = 0.5 }.Apply(noisy, 1, 1, 100, 1000, new Rng(2), new float[100_000]);
        double variance = noisy.Average(v => (double)v * v);
        Assert.InRange(variance, 0.25 * 0.99, 0.25 * 1.01);
    }

    [Fact]
    public void A_negligible_rotation_leaves_the_image_as_it_was()
    {
        var square = Enumerable.Range(0, 9).Select(i => (float)i).ToArray();
        new Augmentation { MaxRotationDegrees = 1e-9 }.Apply(square, 1, 1, 3, 3, new Rng(1), new float[9]);
        for (int i = 0; i < 9; i++) Assert.Equal(i, square[i], 4);
    }

    [Fact]
    public void The_same_seed_augments_the_same_way()
    {
        var options = new Augmentation { HorizontalFlip = 0.5, CropPadding = 2, MaxRotationDegrees = 10, NoiseStandardDeviation = 0.1 };
        Assert.Equal(Augmented(options, 7), Augmented(options, 7));
        Assert.NotEqual(Augmented(options, 7), Augmented(options, 8));
    }
}
