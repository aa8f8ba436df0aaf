package org.losskit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.junit.jupiter.api.Test;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;

/** The Arrow example against the copying path (values read one by one into arrays), and proof that the views alias. */
class ArrowExampleTest {
    private static final int ROWS = 7;
    private static final int CLASSES = 19;

    @Test
    void crossEntropyOnArrowViewsMatchesTheCopyingPath() {
        SplittableRandom random = new SplittableRandom(3);
        try (BufferAllocator allocator = new RootAllocator();
             Float4Vector logits = new Float4Vector("logits", allocator);
             Float4Vector gradient = new Float4Vector("gradient", allocator);
             IntVector labels = new IntVector("labels", allocator);
             LossEngine engine = LossEngine.create();
             LossEngine reference = LossEngine.builder().backend("reference").build()) {
            logits.allocateNew(ROWS * CLASSES);
            gradient.allocateNew(ROWS * CLASSES);
            labels.allocateNew(ROWS);
            float[] copy = new float[ROWS * CLASSES];
            int[] labelCopy = new int[ROWS];
            for (int i = 0; i < copy.length; i++) {
                copy[i] = (float) (4 * random.nextDouble() - 2);
                logits.set(i, copy[i]);
                gradient.set(i, 0f);
            }
            for (int r = 0; r < ROWS; r++) labels.set(r, labelCopy[r] = random.nextInt(CLASSES));
            logits.setValueCount(copy.length);
            gradient.setValueCount(copy.length);
            labels.setValueCount(ROWS);

            double loss = ArrowExample.crossEntropy(engine, logits, labels, gradient, CLASSES);
            float[] exactGradient = new float[copy.length];
            double exact = reference.crossEntropy(Matrix.of(copy, ROWS, CLASSES), Matrix.vector(labelCopy), CrossEntropyOptions.defaults(),
                    LossOutputs.withGradient(Matrix.of(exactGradient, ROWS, CLASSES)));
            var bound = Op.CROSS_ENTROPY.float32Bound();
            assertTrue(bound.lossWithin(loss, exact), loss + " vs " + exact);
            double maxAbs = 0;
            for (float g : exactGradient) maxAbs = Math.max(maxAbs, Math.abs(g));
            for (int i = 0; i < copy.length; i++) {
                assertTrue(bound.gradientWithin(gradient.get(i), exactGradient[i], maxAbs), "gradient " + i + " in the Arrow vector");
            }
        }
    }

    @Test
    void theViewAliasesTheVector() {
        try (BufferAllocator allocator = new RootAllocator(); Float4Vector values = new Float4Vector("v", allocator)) {
            values.allocateNew(6);
            for (int i = 0; i < 6; i++) values.set(i, i);
            values.setValueCount(6);
            Matrix view = ArrowExample.view(values, 2, 3);
            values.set(5, 42f);
            assertEquals(42f, view.getFloat(1, 2));
            view.setFloat(0, 1, -3f);
            assertEquals(-3f, values.get(1));
        }
    }

    @Test
    void nullsAreRefusedAndInt64LabelsNarrowed() {
        try (BufferAllocator allocator = new RootAllocator();
             Float4Vector values = new Float4Vector("v", allocator);
             BigIntVector labels = new BigIntVector("labels", allocator)) {
            values.allocateNew(2);
            values.set(0, 1f);
            values.setNull(1);
            values.setValueCount(2);
            var e = assertThrows(IllegalArgumentException.class, () -> ArrowExample.view(values, 1, 2));
            assertTrue(e.getMessage().contains("1 nulls"), e.getMessage());

            labels.allocateNew(2);
            labels.set(0, 4L);
            labels.set(1, 1L << 33);
            labels.setValueCount(2);
            assertThrows(IllegalArgumentException.class, () -> ArrowExample.labels(labels));
            labels.set(1, 2L);
            assertEquals(2, ArrowExample.labels(labels)[1]);
        }
    }
}
