package org.losskit.cpu;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.losskit.DiceOptions;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;

/**
 * Inputs where a float32 formula loses its accuracy to cancellation, each checked against the reference within the
 * op's documented bound: the Dice gradient on large logits (s (1 - s) when s rounds to 1) and the Poisson NLL
 * near a zero loss (exp(x) - t x, or x - t log(x + eps), with both terms near 150).
 */
class CancellationTest extends EngineTestBase {
    private static final int ROWS = 4;
    private static final int COLS = 1024;
    private static final int N = ROWS * COLS;

    /** Logits in [8, 14]: s = sigmoid(x) is within 2^-20 of 1, and s (1 - s) in float keeps few digits of 1 - s. */
    @Test
    void diceGradientOnLargeLogits() {
        SplittableRandom random = new SplittableRandom(6);
        Matrix logits = Matrix.of(Inputs.uniform(random, N, 8, 14), ROWS, COLS);
        Matrix target = Matrix.of(Inputs.uniform(random, N, 0, 1), ROWS, COLS);
        for (Reduction reduction : Reduction.values()) {
            if (reduction == Reduction.BATCHMEAN) continue;
            DiceOptions options = new DiceOptions(reduction, 1);
            float[] gradient = new float[N];
            float[] expected = new float[N];
            double loss = cpu.dice(logits, target, options, LossOutputs.withGradient(Matrix.of(gradient, ROWS, COLS)));
            double exact = reference.dice(logits, target, options, LossOutputs.withGradient(Matrix.of(expected, ROWS, COLS)));
            Agreement.loss("dice " + reduction, Op.DICE.float32Bound(), loss, exact);
            Agreement.gradient("dice gradient " + reduction, Op.DICE.float32Bound(), gradient, expected);
        }
    }

    /**
     * Counts near 30 and log-rates x near the larger root of exp(x) = t x (x near 5): both terms near 150, the loss
     * near 0. Element losses and the gradient against the reference, with and without Stirling's term.
     */
    @Test
    void poissonLogInputNearAZeroLoss() {
        SplittableRandom random = new SplittableRandom(7);
        float[] t = Inputs.uniform(random, N, 25, 35);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            double root = 5; // Newton on f(x) = exp(x) - t x from the right of the larger root
            for (int step = 0; step < 60; step++) root -= (Math.exp(root) - t[i] * root) / (Math.exp(root) - t[i]);
            x[i] = (float) (root * (1 + random.nextDouble(-1e-4, 1e-4)));
        }
        checkPoisson(true, Matrix.of(x, ROWS, COLS), Matrix.of(t, ROWS, COLS));
    }

    /** The same near x = t log(x + eps): counts near 30, rates near 150. */
    @Test
    void poissonRateInputNearAZeroLoss() {
        SplittableRandom random = new SplittableRandom(8);
        float[] t = Inputs.uniform(random, N, 25, 35);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            double root = 150; // fixed point of x = t log x, the larger root
            for (int step = 0; step < 200; step++) root = t[i] * Math.log(root);
            x[i] = (float) (root * (1 + random.nextDouble(-1e-4, 1e-4)));
        }
        checkPoisson(false, Matrix.of(x, ROWS, COLS), Matrix.of(t, ROWS, COLS));
    }

    private static void checkPoisson(boolean logInput, Matrix x, Matrix t) {
        for (boolean full : new boolean[] {false, true}) {
            PointwiseLoss loss = new PointwiseLoss.PoissonNll(Reduction.NONE, logInput, full, PointwiseLoss.PoissonNll.DEFAULT_EPS);
            float[] losses = new float[N];
            float[] gradient = new float[N];
            float[] expectedLosses = new float[N];
            float[] expectedGradient = new float[N];
            double value = cpu.pointwise(loss, x, t, null,
                    LossOutputs.withGradient(Matrix.of(gradient, ROWS, COLS)).losses(Matrix.vector(losses)));
            double exact = reference.pointwise(loss, x, t, null,
                    LossOutputs.withGradient(Matrix.of(expectedGradient, ROWS, COLS)).losses(Matrix.vector(expectedLosses)));
            String what = "poisson logInput " + logInput + " full " + full;
            Agreement.losses(what + " losses", Op.POISSON_NLL.float32Bound(), losses, expectedLosses);
            Agreement.loss(what + " sum", Op.POISSON_NLL.float32Bound(), value, exact);
            Agreement.gradient(what + " gradient", Op.POISSON_NLL.float32Bound(), gradient, expectedGradient);
        }
    }
}
