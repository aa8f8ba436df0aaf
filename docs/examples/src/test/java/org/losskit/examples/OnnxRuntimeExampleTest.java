package org.losskit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;

/** The ONNX Runtime example against the copying path: same logits, same losses, and the view really aliases ORT's output. */
class OnnxRuntimeExampleTest {
    private static final int BATCH = 6;

    private static float[] features(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] f = new float[BATCH * OnnxRuntimeExample.FEATURES];
        for (int i = 0; i < f.length; i++) f[i] = (float) (2 * random.nextDouble() - 1);
        return f;
    }

    @Test
    void lossesOnTheZeroCopyViewMatchTheCopyingPath() throws Exception {
        int[] targets = {0, 9, 3, 3, 7, 1};
        try (OnnxRuntimeExample example = new OnnxRuntimeExample(BATCH);
             LossEngine engine = LossEngine.create();
             LossEngine reference = LossEngine.builder().backend("reference").build()) {
            example.forward(features(1));
            float[] copy = example.copyOfLogits();
            assertTrue(example.logits().segment().isNative(), "the view is over ORT's direct output buffer");
            for (int i = 0; i < copy.length; i++) assertEquals(copy[i], example.logits().getFloat(i), "logit " + i);

            float[] viewGradient = new float[copy.length];
            double viewLoss = example.crossEntropy(engine, targets, viewGradient);
            float[] copyGradient = new float[copy.length];
            Matrix copied = Matrix.of(copy, BATCH, OnnxRuntimeExample.CLASSES);
            double exactLoss = reference.crossEntropy(copied, Matrix.vector(targets), CrossEntropyOptions.defaults(),
                    LossOutputs.withGradient(Matrix.of(copyGradient, BATCH, OnnxRuntimeExample.CLASSES)));
            var bound = Op.CROSS_ENTROPY.float32Bound();
            assertTrue(bound.lossWithin(viewLoss, exactLoss), viewLoss + " vs " + exactLoss);
            double maxAbs = 0;
            for (float g : copyGradient) maxAbs = Math.max(maxAbs, Math.abs(g));
            for (int i = 0; i < copyGradient.length; i++) {
                assertTrue(bound.gradientWithin(viewGradient[i], copyGradient[i], maxAbs), "gradient " + i);
            }
            double perplexity = example.perplexity(engine, targets);
            assertEquals(Math.exp(exactLoss), perplexity, 1e-4 * perplexity);
            // on one backend the view and the copy hold the same floats, so they give the same result
            assertEquals(reference.crossEntropy(copied, Matrix.vector(targets), CrossEntropyOptions.defaults(), LossOutputs.none()),
                    reference.crossEntropy(example.logits(), Matrix.vector(targets), CrossEntropyOptions.defaults(), LossOutputs.none()));
        }
    }

    @Test
    void theViewSeesEachNewForwardPassWithoutBeingMadeAgain() throws Exception {
        try (OnnxRuntimeExample example = new OnnxRuntimeExample(BATCH)) {
            Matrix view = example.logits();
            example.forward(features(1));
            float[] first = example.copyOfLogits();
            example.forward(features(2));
            float[] second = example.copyOfLogits();
            assertFalse(Arrays.equals(first, second));
            for (int i = 0; i < second.length; i++) assertEquals(second[i], view.getFloat(i), "logit " + i + " after the second pass");
        }
    }

    @Test
    void theMainMethodRuns() throws Exception {
        OnnxRuntimeExample.main(new String[0]);
    }
}
