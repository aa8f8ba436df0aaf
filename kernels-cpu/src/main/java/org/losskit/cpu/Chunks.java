package org.losskit.cpu;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ExecutionException;

/**
 * Splits the work of one call into chunks and runs them on the backend's threads, deterministically.
 *
 * <p>The partition depends only on the shape of the call, never on the thread count: a chunk is about
 * {@link #TARGET_ELEMENTS} input elements (whole rows for row losses, a flat element range for element losses and
 * reductions). Each chunk returns its partial sum; partials are added in chunk order. One thread therefore gives
 * the same bits as sixteen. Calls below {@link #PARALLEL_THRESHOLD} elements run on the calling thread only,
 * with the same chunks, and allocate nothing.
 */
final class Chunks implements AutoCloseable {
    /** Elements per chunk: large enough to amortise a hand-off, small enough to balance 2-16 threads. */
    static final long TARGET_ELEMENTS = 1L << 16;
    /**
     * Below this many elements one thread is expected to be faster: waking a worker costs ~10-50 microseconds, the
     * time the cross-entropy kernel needs for ~10^5 elements on one core. An estimate, not yet measured on a quiet
     * machine (the bench module's size sweep is the place to confirm it); it changes speed only, never results.
     */
    static final long PARALLEL_THRESHOLD = 1L << 18;

    /** The work of one chunk; returns the chunk's partial sum. */
    @FunctionalInterface
    interface Work {
        double run(int chunk, Scratch scratch);
    }

    private final int parallelism;
    private final ExecutorService workers;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    Chunks(int parallelism) {
        this.parallelism = parallelism;
        this.workers = parallelism > 1 ? Executors.newFixedThreadPool(parallelism - 1, daemonThreads()) : null;
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread thread = new Thread(task, "losskit-cpu-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    int parallelism() {
        return parallelism;
    }

    /** The calling thread's scratch, for work that is not chunked. */
    Scratch scratch() {
        return scratch.get();
    }

    /** Rows per chunk for rows of {@code cols} elements. */
    static int rowsPerChunk(int cols) {
        return (int) Math.max(1, TARGET_ELEMENTS / Math.max(1, cols));
    }

    /** Number of chunks of {@code per} items over {@code items}. */
    static int count(long items, long per) {
        return (int) ((items + per - 1) / per);
    }

    /** Runs chunks [0, chunks) and returns the sum of their partials in chunk order. */
    double run(int chunks, long elements, Work work) {
        if (chunks <= 1 || workers == null || elements < PARALLEL_THRESHOLD) {
            Scratch own = scratch.get();
            double total = 0;
            for (int c = 0; c < chunks; c++) total += work.run(c, own);
            return total;
        }
        double[] partials = new double[chunks];
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            Scratch mine = scratch.get();
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) partials[c] = work.run(c, mine);
        };
        int helpers = Math.min(parallelism - 1, chunks - 1);
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[helpers];
        for (int i = 0; i < helpers; i++) futures[i] = workers.submit(drain);
        RuntimeException failure = null;
        try {
            drain.run();
        } catch (RuntimeException e) {
            failure = e;
            next.set(chunks);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                RuntimeException cause = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                if (failure == null) failure = cause;
                else failure.addSuppressed(cause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for losskit-cpu workers", e);
            }
        }
        if (failure != null) throw failure;
        double total = 0;
        for (double p : partials) total += p;
        return total;
    }

    @Override
    public void close() {
        if (workers != null) workers.shutdownNow();
    }
}
