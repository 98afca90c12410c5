using NetDsl.Data;
using NetDsl.Optimizers;
using NetDsl.Training;

namespace NetDsl.Tests;

public class ScheduleTests
{
    [Fact]
    public void Each_schedule_follows_its_formula()
    {
        const double a0 = 0.2;
        for (int e = 0; e < 12; e++)
        {
            Assert.Equal(a0 / (1 + 0.5 * e), LearningRateSchedule.InverseTime(0.5).RateAt(e, a0), 15);
            Assert.Equal(a0 * Math.Pow(0.95, e), LearningRateSchedule.Exponential(0.95).RateAt(e, a0), 15);
            Assert.Equal(a0 * 0.7 / Math.Sqrt(e + 1), LearningRateSchedule.InverseSquareRoot(0.7).RateAt(e, a0), 15);
            Assert.Equal(a0 * Math.Pow(0.5, e / 3), LearningRateSchedule.Staircase(3, 0.5).RateAt(e, a0), 15);
        }
        var cosine = LearningRateSchedule.Cosine(10, minimum: 0.01);
        Assert.Equal(a0, cosine.RateAt(0, a0), 15);
        Assert.Equal((a0 + 0.01) / 2, cosine.RateAt(5, a0), 15);
        Assert.Equal(0.01, cosine.RateAt(10, a0), 15);
        Assert.Equal(0.01 + (a0 - 0.01) * (1 + Math.Cos(Math.PI * 0.3)) / 2, cosine.RateAt(3, a0), 15);
    }

    [Fact]
    public void Bad_schedule_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Exponential(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Staircase(0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.InverseTime(-1));
    }

    [Fact]
    public void The_trainer_sets_each_epochs_rate_and_the_callback_may_override_it()
    {
        var network = new TinyTanh(seed: 1);
        var data = new Dataset(TestData.Uniform(12 * 4, 1), Enumerable.Range(0, 12).Select(i => i % 4).ToArray(), [4], 4);
        var seen = new List<double>();
        var sgd = new Sgd(0.4);
        Trainer.Fit(network, sgd, data, null, new TrainingOptions
        {
            Epochs = 4,
            BatchSize = 6,
            Schedule = LearningRateSchedule.Staircase(2, 0.5),
            BeforeEpoch = (epoch, optimizer) =>
            {
                if (epoch == 4) optimizer.LearningRate = 0.01;
                seen.Add(optimizer.LearningRate);
            },
        });
        Assert.Equal([0.4, 0.4, 0.2, 0.01], seen);
    }
}
