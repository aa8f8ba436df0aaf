package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * The life cycle of a cpu engine: {@code close()} while other threads are inside calls never leaves a caller parked
 * (a call in flight finishes with the right answer or fails with an {@link IllegalStateException} that says the
 * engine is closed; a call after close fails the same way), an engine dropped without {@code close()} gives its
 * worker threads back once it is unreachable, and calling threads that come and go (virtual threads) do not each
 * keep a scratch of their own.
 */
class EngineLifecycleTest {
    private static final int ROWS = 16;
    private static final int CLASSES = 32000;
    private static final Matrix LOGITS;
    private static final Matrix TARGETS;
    private static float[] expectedGradient;
    private static double expectedLoss;

    static {
        SplittableRandom random = new SplittableRandom(14);
        LOGITS = Matrix.of(Inputs.gaussian(random, ROWS * CLASSES, 3), ROWS, CLASSES);
        int[] t = new int[ROWS];
        for (int r = 0; r < ROWS; r++) t[r] = random.nextInt(CLASSES);
        TARGETS = Matrix.vector(t);
    }

    @BeforeAll
    static void expectedFromOneThread() {
        assumeTrue(new VectorProvider().probe().available(), () -> "Vector API backend unavailable: " + new VectorProvider().probe());
        assertTrue(Chunks.rowWork(ROWS, CLASSES) >= Chunks.PARALLEL_THRESHOLD, "the call must be large enough to use the workers");
        expectedGradient = new float[ROWS * CLASSES];
        try (LossEngine one = engine(1)) {
            expectedLoss = one.crossEntropy(LOGITS, TARGETS, CrossEntropyOptions.defaults(),
                    LossOutputs.withGradient(Matrix.of(expectedGradient, ROWS, CLASSES)));
        }
    }

    private static LossEngine engine(int parallelism) {
        return LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(parallelism).build();
    }

    /**
     * Two callers loop on a call large enough to be split across the workers while the test thread closes the engine
     * at a random moment; every caller must be done within seconds. Repeated many times at several parallelisms:
     * before the fix a worker that woke after close exited without counting down, and the caller waited forever
     * (about half the trials).
     */
    @Test
    void closeWhileCallsAreInFlightNeverHangsAndNeverGivesAWrongAnswer() throws InterruptedException {
        SplittableRandom random = new SplittableRandom(1);
        for (int parallelism : new int[] {2, 3, 8}) {
            for (int trial = 0; trial < 25; trial++) {
                LossEngine engine = engine(parallelism);
                AtomicReference<String> failure = new AtomicReference<>();
                CountDownLatch started = new CountDownLatch(2);
                List<Thread> callers = new ArrayList<>();
                for (int c = 0; c < 2; c++) {
                    Thread caller = Thread.ofPlatform().daemon().name("caller-" + c).start(() -> callUntilClosed(engine, started, failure));
                    callers.add(caller);
                }
                started.await();
                Thread.sleep(random.nextInt(4));
                engine.close();
                for (Thread caller : callers) {
                    caller.join(20_000);
                    if (caller.isAlive()) {
                        fail("parallelism " + parallelism + ", trial " + trial + ": a caller is still inside a call 20 s after close():\n"
                                + Arrays.stream(caller.getStackTrace()).map(String::valueOf).collect(Collectors.joining("\n  ")));
                    }
                }
                if (failure.get() != null) fail("parallelism " + parallelism + ", trial " + trial + ": " + failure.get());
            }
        }
    }

    /** Calls until the engine refuses; every answer must be the one-thread answer, every refusal an IllegalStateException. */
    private static void callUntilClosed(LossEngine engine, CountDownLatch started, AtomicReference<String> failure) {
        float[] gradient = new float[ROWS * CLASSES];
        LossOutputs out = LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES));
        started.countDown();
        while (true) {
            double loss;
            try {
                loss = engine.crossEntropy(LOGITS, TARGETS, CrossEntropyOptions.defaults(), out);
            } catch (IllegalStateException e) {
                if (!String.valueOf(e.getMessage()).contains("closed")) failure.compareAndSet(null, "refused without saying closed: " + e);
                return;
            } catch (Throwable e) {
                failure.compareAndSet(null, "threw " + e);
                return;
            }
            if (Double.doubleToRawLongBits(loss) != Double.doubleToRawLongBits(expectedLoss) || !Arrays.equals(gradient, expectedGradient)) {
                failure.compareAndSet(null, "a call in flight during close() returned another answer: " + loss + " for " + expectedLoss);
                return;
            }
        }
    }

    @Test
    void aCallAfterCloseFailsWithIllegalStateException() {
        LossEngine engine = engine(3);
        engine.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> engine.crossEntropy(LOGITS, TARGETS, CrossEntropyOptions.defaults(), LossOutputs.none()));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    /** Threads of this JVM whose name says they are cpu workers. */
    private static Set<Thread> workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(Chunks.WORKER_NAME_PREFIX))
                .collect(Collectors.toSet());
    }

    @Test
    void anEngineDroppedWithoutCloseGivesItsWorkersBack() throws InterruptedException {
        Set<Thread> before = workerThreads();
        List<LossEngine> engines = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            LossEngine engine = engine(3);
            engine.reduce(org.losskit.ReduceOp.SUM, LOGITS); // used once, then dropped below
            engines.add(engine);
        }
        Set<Thread> workers = workerThreads();
        workers.removeAll(before);
        assertEquals(40, workers.size(), "20 engines of parallelism 3 start 2 workers each");
        for (Thread worker : workers) assertTrue(worker.isDaemon(), worker + " must be a daemon thread");
        engines.clear(); // the engines are unreachable from here on, never closed
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (workers.stream().anyMatch(Thread::isAlive) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        long alive = workers.stream().filter(Thread::isAlive).count();
        assertEquals(0, alive, alive + " of the 40 workers of unreachable engines are still running 20 s later");
    }

    /**
     * Thousands of virtual threads each make one call: the scratch the calls use comes from a bounded pool, so the
     * scratch created stays near the number of calls that run at once, not the number of threads.
     */
    @Test
    void virtualThreadsShareABoundedPoolOfScratch() throws InterruptedException {
        Matrix small = Matrix.of(Arrays.copyOf(Inputs.gaussian(new SplittableRandom(3), 400, 2), 400), 4, 100);
        Matrix smallTargets = Matrix.vector(new int[] {1, 2, 3, 4});
        try (LossEngine engine = engine(2)) {
            long before = Scratch.created();
            int threads = 3000;
            List<Thread> started = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < threads; i++) {
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        float[] gradient = new float[400];
                        engine.crossEntropy(small, smallTargets, CrossEntropyOptions.defaults(),
                                LossOutputs.withGradient(Matrix.of(gradient, 4, 100)));
                        engine.reduce(org.losskit.ReduceOp.MAX, small);
                        engine.argmax(small);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread t : started) t.join();
            if (failure.get() != null) throw new AssertionError("a virtual-thread call failed", failure.get());
            long created = Scratch.created() - before;
            long bound = 4L * Runtime.getRuntime().availableProcessors() + 16;
            assertTrue(created <= bound, threads + " virtual threads created " + created + " scratches; at most " + bound + " expected");
        }
    }
}
