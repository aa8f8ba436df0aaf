package org.losskit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

/** The README's code examples, as written there, so the front page cannot drift from the API. */
class ReadmeExamplesTest {

    @Test
    void crossEntropyExample() {
        Random random = new Random(7);
        int rows = 64, vocab = 320; // the README uses 32000; smaller keeps the reference fast
        float[] logits = new float[rows * vocab];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) random.nextGaussian();
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r % 5 == 0 ? -100 : random.nextInt(vocab);
        float[] grad = new float[rows * vocab];

        try (LossEngine engine = LossEngine.create()) {
            CrossEntropyOptions options = CrossEntropyOptions.defaults()
                    .labelSmoothing(0.1)
                    .zLoss(1e-4);
            double loss = engine.crossEntropy(
                    Matrix.of(logits, rows, vocab), Matrix.vector(targets), options,
                    LossOutputs.withGradient(Matrix.of(grad, rows, vocab)));
            // Uniform-ish logits over 320 classes: the loss is near log(320) = 5.77 plus a little spread.
            assertTrue(loss > 5 && loss < 8, "loss " + loss);
        }
        // Every fifth row was ignored (-100): its gradient row is exactly zero.
        for (int r = 0; r < rows; r += 5) {
            double rowSum = 0;
            for (int c = 0; c < vocab; c++) rowSum += Math.abs(grad[r * vocab + c]);
            assertEquals(0, rowSum, 0, "ignored row " + r + " has a gradient");
        }
    }

    @Test
    void bceWithLogitsExample() {
        Random random = new Random(11);
        int batch = 32, labels = 7;
        float[] x = new float[batch * labels], t = new float[batch * labels], grad = new float[batch * labels];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
            t[i] = random.nextBoolean() ? 1 : 0;
        }
        float[] posWeight = {1, 2, 3, 4, 5, 6, 7};

        try (LossEngine engine = LossEngine.create()) {
            Matrix logits = Matrix.of(x, batch, labels), targets = Matrix.of(t, batch, labels);
            var bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN, Matrix.vector(posWeight));
            double loss = engine.bceWithLogits(logits, targets, null, bce,
                    LossOutputs.withGradient(Matrix.of(grad, batch, labels)));
            assertTrue(loss > 0 && Double.isFinite(loss), "loss " + loss);
        }
        // d/dx of the mean: (s (1 + (pw - 1) t) - pw t) / n, checked at one element.
        int i = 3 * labels + 4;
        double s = 1 / (1 + Math.exp(-x[i]));
        double pw = posWeight[4];
        assertEquals((s * (1 + (pw - 1) * t[i]) - pw * t[i]) / x.length, grad[i], 1e-7);
    }
}
