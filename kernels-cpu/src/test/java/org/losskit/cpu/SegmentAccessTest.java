package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.ElementType;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/**
 * Memory segments the calling thread cannot use are refused before anything is written (the caller's outputs are
 * untouched), and memory of a confined arena works from its owner thread at every size, on every backend: the cpu
 * backend then runs the call on the calling thread alone, with the same bits.
 */
class SegmentAccessTest extends EngineTestBase {
    /** Large enough that the cpu backend would split it across its threads. */
    private static final int ROWS = 16;
    private static final int CLASSES = 32000;
    private static final int N = ROWS * CLASSES;
    private static final float SENTINEL = -12345f;
    private static final float[] LOGITS = Inputs.gaussian(new SplittableRandom(4), N, 3);
    private static final int[] TARGETS = new SplittableRandom(5).ints(ROWS, 0, CLASSES).toArray();

    private static float[] sentinels(int n) {
        float[] a = new float[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    private static MemorySegment copyInto(Arena arena, float[] values) {
        MemorySegment segment = arena.allocate(4L * values.length, 4);
        MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return segment;
    }

    /** Losses in a segment of a closed arena: refused by name, and the gradient (written first by a kernel) untouched. */
    @Test
    void anOutputOfAClosedArenaIsRefusedBeforeAnyWrite() {
        assertTrue(Chunks.rowWork(ROWS, CLASSES) >= Chunks.PARALLEL_THRESHOLD);
        for (LossEngine engine : new LossEngine[] {cpu, reference}) {
            Arena arena = Arena.ofShared();
            MemorySegment losses = arena.allocate(4L * ROWS, 4);
            arena.close();
            float[] gradient = sentinels(N);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.crossEntropy(Matrix.of(LOGITS, ROWS, CLASSES),
                    Matrix.vector(TARGETS), CrossEntropyOptions.defaults(),
                    LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES)).losses(Matrix.of(losses, 1, ROWS))), engine.backendName());
            assertTrue(e.getMessage().contains("losses") && e.getMessage().contains("closed"), e.getMessage());
            assertArrayEquals(sentinels(N), gradient, engine.backendName() + ": the gradient was written before the call failed");
        }
    }

    /** An input of a closed arena (the per-element weight, read after earlier elements' outputs are written). */
    @Test
    void anInputOfAClosedArenaIsRefusedBeforeAnyWrite() {
        for (LossEngine engine : new LossEngine[] {cpu, reference}) {
            Arena arena = Arena.ofConfined();
            MemorySegment weight = copyInto(arena, new float[N]);
            arena.close();
            float[] gradient = sentinels(N);
            float[] losses = sentinels(N);
            Matrix x = Matrix.of(LOGITS, ROWS, CLASSES);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.pointwise(new PointwiseLoss.Mse(Reduction.SUM),
                    x, x, Matrix.of(weight, ROWS, CLASSES),
                    LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES)).losses(Matrix.vector(losses))), engine.backendName());
            assertTrue(e.getMessage().contains("weight") && e.getMessage().contains("closed"), e.getMessage());
            assertArrayEquals(sentinels(N), gradient, engine.backendName() + ": gradient written");
            assertArrayEquals(sentinels(N), losses, engine.backendName() + ": losses written");
        }
    }

    /** Confined memory from its owner thread, above the parallel threshold: the same bits as shared memory. */
    @Test
    void confinedMemoryWorksFromItsOwnerAtEverySize() {
        for (LossEngine engine : new LossEngine[] {cpu, reference}) {
            float[] expectedGradient;
            double expected;
            double expectedSum;
            try (Arena shared = Arena.ofShared()) { // the same storage kind, shared: split across the threads
                Matrix logits = Matrix.of(copyInto(shared, LOGITS), ROWS, CLASSES);
                MemorySegment gradient = shared.allocate(4L * N, 4);
                expected = engine.crossEntropy(logits, Matrix.vector(TARGETS), CrossEntropyOptions.defaults(),
                        LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES)));
                expectedGradient = gradient.toArray(ValueLayout.JAVA_FLOAT);
                expectedSum = engine.reduce(ReduceOp.SUM, logits);
            }
            try (Arena arena = Arena.ofConfined()) {
                Matrix logits = Matrix.of(copyInto(arena, LOGITS), ROWS, CLASSES);
                MemorySegment gradient = arena.allocate(4L * N, 4);
                double loss = engine.crossEntropy(logits, Matrix.vector(TARGETS), CrossEntropyOptions.defaults(),
                        LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES)));
                assertEquals(expected, loss, 0, engine.backendName());
                assertArrayEquals(expectedGradient, gradient.toArray(ValueLayout.JAVA_FLOAT), engine.backendName());
                assertEquals(expectedSum, engine.reduce(ReduceOp.SUM, logits), 0, engine.backendName());
            }
        }
    }

    /** Confined memory passed from another thread: refused by name before any write. */
    @Test
    void confinedMemoryOfAnotherThreadIsRefusedByName() throws InterruptedException {
        for (LossEngine engine : new LossEngine[] {cpu, reference}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment losses = arena.allocate(4L * ROWS, 4);
                float[] gradient = sentinels(N);
                AtomicReference<Throwable> thrown = new AtomicReference<>();
                Thread other = Thread.ofPlatform().start(() -> {
                    try {
                        engine.crossEntropy(Matrix.of(LOGITS, ROWS, CLASSES), Matrix.vector(TARGETS), CrossEntropyOptions.defaults(),
                                LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES)).losses(Matrix.of(losses, 1, ROWS)));
                    } catch (Throwable e) {
                        thrown.set(e);
                    }
                });
                other.join();
                assertTrue(thrown.get() instanceof IllegalArgumentException, engine.backendName() + ": " + thrown.get());
                assertTrue(thrown.get().getMessage().contains("losses") && thrown.get().getMessage().contains("confined"), thrown.get().getMessage());
                assertArrayEquals(sentinels(N), gradient, engine.backendName() + ": gradient written");
            }
        }
    }

    /** A read-only heap segment is refused as an output, as before; one from a closed arena as a reduction output too. */
    @Test
    void aRowReductionIntoAClosedArenaIsRefused() {
        for (LossEngine engine : new LossEngine[] {cpu, reference}) {
            Arena arena = Arena.ofShared();
            MemorySegment out = arena.allocate(4L * ROWS, 4);
            arena.close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.reduceRows(ReduceOp.SUM, Matrix.of(LOGITS, ROWS, CLASSES), Matrix.of(out, ElementType.FLOAT32, 0, 1, ROWS, ROWS)));
            assertTrue(e.getMessage().contains("out") && e.getMessage().contains("closed"), e.getMessage());
        }
    }
}
