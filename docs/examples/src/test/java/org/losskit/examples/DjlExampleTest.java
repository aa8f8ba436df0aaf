package org.losskit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;

/** The DJL example against the copying path (toFloatArray), and proof that the views alias the tensors. */
class DjlExampleTest {

    @Test
    void crossEntropyOnTheViewMatchesTheCopyingPathAndTheGradientLandsInTheNdArray() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
             LossEngine engine = LossEngine.create();
             LossEngine reference = LossEngine.builder().backend("reference").build()) {
            manager.getEngine().setRandomSeed(7);
            NDArray logits = manager.randomNormal(new Shape(5, 33)).mul(3);
            NDArray labels = manager.create(new long[] {0, 32, 7, 7, 19});
            DjlExample.Result result = DjlExample.crossEntropy(engine, manager, logits, labels);

            float[] copy = logits.toFloatArray(); // DJL's copying accessor
            float[] exactGradient = new float[copy.length];
            double exact = reference.crossEntropy(Matrix.of(copy, 5, 33), Matrix.vector(new int[] {0, 32, 7, 7, 19}),
                    CrossEntropyOptions.defaults(), LossOutputs.withGradient(Matrix.of(exactGradient, 5, 33)));
            var bound = Op.CROSS_ENTROPY.float32Bound();
            assertTrue(bound.lossWithin(result.loss(), exact), result.loss() + " vs " + exact);
            float[] gradient = result.gradient().toFloatArray();
            double maxAbs = 0;
            for (float g : exactGradient) maxAbs = Math.max(maxAbs, Math.abs(g));
            for (int i = 0; i < gradient.length; i++) {
                assertTrue(bound.gradientWithin(gradient[i], exactGradient[i], maxAbs), "gradient " + i);
            }
            // the same as PyTorch's own cross-entropy on the tensor (libtorch, float32)
            NDArray torchLoss = logits.logSoftmax(1).mul(labels.oneHot(33)).sum(new int[] {1}).neg().mean();
            assertEquals(torchLoss.getFloat(), result.loss(), 1e-5 * Math.abs(exact));
        }
    }

    @Test
    void theViewAliasesTheTensor() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            NDArray array = manager.zeros(new Shape(2, 3));
            Matrix view = DjlExample.matrixView(array);
            array.addi(2.5f); // in place, through libtorch
            for (int i = 0; i < 6; i++) assertEquals(2.5f, view.getFloat(i));
            view.setFloat(4, -1f); // and back: a write through the view reaches the tensor
            assertEquals(-1f, array.toFloatArray()[4]);
        }
    }

    @Test
    void int64LabelsAreNarrowedWithARangeCheck() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            assertEquals(3, DjlExample.labels(manager.create(new long[] {1, 2, 3}))[2]);
            assertThrows(IllegalArgumentException.class, () -> DjlExample.labels(manager.create(new long[] {1L << 40})));
        }
    }

    @Test
    void theMainMethodRuns() {
        DjlExample.main(new String[0]);
    }
}
