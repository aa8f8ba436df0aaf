package org.losskit.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits the work of one call into chunks and runs them on the backend's threads, deterministically.
 *
 * <p>The partition depends only on the shape of the call, never on the thread count: a chunk is about
 * {@link #TARGET_ELEMENTS} input elements (whole rows for row losses, a flat element range for element losses and
 * reductions). Each chunk returns its partial sum; partials are added in chunk order. One thread therefore gives
 * the same bits as sixteen. Calls below {@link #PARALLEL_THRESHOLD} elements run on the calling thread only,
 * with the same chunks.
 *
 * <p>A call allocates nothing: its arguments travel in the calling thread's reusable {@link CallFrame}
 * ({@link #frame}), its work is a constant that captures nothing, and the hand-off to the workers reuses the same
 * fields, threads and partials array for every call.
 */
final class Chunks implements AutoCloseable {
    /** Elements per chunk: large enough to amortise a hand-off, small enough to balance 2-16 threads. */
    static final long TARGET_ELEMENTS = 1L << 16;
    /**
     * Below this many elements of work ({@link #rowWork} for row losses, the element count otherwise) a call runs on
     * the calling thread: waking the other threads costs more than they save. Measured 2026-11-22 on the 2-core
     * AMD EPYC (Zen 4) KVM guest of docs/BENCHMARKS.md, a shared machine, with {@code ParallelThresholdBenchmark}
     * (one thread against two, threshold forced to 0; {@code bench/run --jmh ParallelThresholdBenchmark -f 1 -wi 3
     * -w 1s -i 5 -r 1s} twice, then a run focused on 256K-512K; docs/BENCHMARKS.md has the table): two
     * threads gained at 384K-512K elements for every op (cross-entropy 12-16 x 32000: 1.27-1.55x, 4096 x 10:
     * 1.22-1.44x, 2048 x 100: 1.56x, BCE-with-logits 393K: 1.53x, sum 393K-524K: 1.14-1.34x) and not at 256K-262K
     * (sum 262144: 0.78-1.00x; BCE 262144: 0.18-1.44x, inconsistent; cross-entropy 8 x 32000: 1.03-1.28x). 327680
     * (5 chunks) lies between; one value serves every op within the noise of that machine. Speed only, never
     * results.
     */
    static final long DEFAULT_PARALLEL_THRESHOLD = 327_680;

    /**
     * Tuning and measurement knob: a threshold (elements of work, >= 0) that replaces
     * {@link #DEFAULT_PARALLEL_THRESHOLD} for the whole JVM, read once when this class loads. 0 splits every call
     * of two chunks or more across the threads, which is how {@code ParallelThresholdBenchmark} times two threads
     * below the default. Speed only: the chunks, and so the results, do not depend on it.
     */
    static final String PARALLEL_THRESHOLD_PROPERTY = "losskit.cpu.parallelThreshold";

    /** The threshold in force: {@value #PARALLEL_THRESHOLD_PROPERTY} if set, else {@link #DEFAULT_PARALLEL_THRESHOLD}. */
    static final long PARALLEL_THRESHOLD = parallelThreshold(System.getProperty(PARALLEL_THRESHOLD_PROPERTY));

    private static long parallelThreshold(String property) {
        if (property == null || property.isBlank()) return DEFAULT_PARALLEL_THRESHOLD;
        long threshold;
        try {
            threshold = Long.parseLong(property.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PARALLEL_THRESHOLD_PROPERTY + " must be a whole number of elements >= 0, got '"
                    + property + "'", e);
        }
        if (threshold < 0) throw new IllegalArgumentException(PARALLEL_THRESHOLD_PROPERTY + " must be >= 0, got " + threshold);
        return threshold;
    }

    /** The work of one chunk of the call whose arguments are in {@code call}; returns the chunk's partial sum. */
    @FunctionalInterface
    interface Work {
        double run(CallFrame call, int chunk, Scratch scratch);
    }

    private final int parallelism;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    // The hand-off to the workers, reused by every parallel call (no task, future or partials array per call).
    // One parallel call at a time holds it; a call that finds it taken runs on its own thread, with the same
    // chunks and so the same bits. Fields of a call are written before the volatile generation is raised and read
    // by workers after they see it; partials are written before remaining is decremented and read after it is 0.
    private final ReentrantLock handOff = new ReentrantLock();
    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger remaining = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private Work work;
    private CallFrame call;
    private int chunkCount;
    private double[] partials = new double[0];
    private Thread caller;
    private RuntimeException failure;

    Chunks(int parallelism) {
        this.parallelism = parallelism;
        this.workers = new Thread[parallelism - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Thread(this::workerLoop, "losskit-cpu-" + (i + 1));
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    int parallelism() {
        return parallelism;
    }

    /** The calling thread's scratch, for work that is not chunked. */
    Scratch scratch() {
        return scratch.get();
    }

    /**
     * The frame for the arguments of a call of the calling thread, held until {@link #run} ends the call: fill it and
     * pass it to {@code run} straight away (a frame that never reaches {@code run} stays held, and the thread's later
     * calls then each get a fresh one). The thread's own frame, reused; a fresh one should a call of this thread
     * still hold it, so a nested call could not overwrite the arguments of the call around it (kernels never call
     * the engine back, so none does today).
     */
    CallFrame frame() {
        CallFrame own = scratch.get().frame;
        if (own.inUse) return new CallFrame();
        own.inUse = true;
        return own;
    }

    /**
     * The fixed cost of one row, in elements of work (the row set-up, the target lookup, one log, the row's result),
     * counted so that many short rows are split into chunks and threads like the same work in long rows. Fitted to
     * {@code time = a rows (cols + k)} from the one-thread cross-entropy figures of the measurement above
     * ({@link #DEFAULT_PARALLEL_THRESHOLD}): a = 0.77-0.86 ns an element (4-16 rows of 32000); rows of 10 classes
     * (the scalar {@code ShortRows} loop) take 76-95 ns, k = 82-104; rows of 100 classes (the vector row) take
     * 290-400 ns, k = 280-370. One constant cannot fit both paths: 160 misjudges either by at most about 1.6x
     * (rows of 10: 170 counted for ~105 measured; rows of 100: 260 for ~420), and with the threshold it sends
     * rows of 10 to two threads from ~1900 rows (2048 x 10: 1.00-1.04x, 4096 x 10: 1.22-1.44x) and rows of 100
     * from ~1300 (1024 x 100: 1.10-1.61x).
     */
    static final int ROW_COST_ELEMENTS = 160;

    /** Rows per chunk for rows of {@code cols} elements. */
    static int rowsPerChunk(int cols) {
        return (int) Math.max(1, TARGET_ELEMENTS / rowWork(1, cols));
    }

    /** The work of {@code rows} rows of {@code cols} elements, in elements, for {@link #run}'s threshold. */
    static long rowWork(int rows, int cols) {
        return (long) rows * (cols + ROW_COST_ELEMENTS);
    }

    /** Number of chunks of {@code per} items over {@code items}. */
    static int count(long items, long per) {
        return (int) ((items + per - 1) / per);
    }

    /**
     * Runs chunks [0, chunks) of {@code elements} elements of {@code work} on the arguments in {@code call} (from
     * {@link #frame}) and returns the sum of their partials in chunk order; ends the call ({@link CallFrame#clear}).
     */
    double run(int chunks, long elements, Work work, CallFrame call) {
        try {
            return runChunks(chunks, elements, work, call);
        } finally {
            call.clear();
        }
    }

    private double runChunks(int chunks, long elements, Work work, CallFrame call) {
        if (chunks <= 1 || workers.length == 0 || elements < PARALLEL_THRESHOLD || !handOff.tryLock()) {
            Scratch own = scratch.get();
            double total = 0;
            for (int c = 0; c < chunks; c++) total += work.run(call, c, own);
            return total;
        }
        try {
            if (partials.length < chunks) partials = new double[chunks];
            this.work = work;
            this.call = call;
            this.chunkCount = chunks;
            this.caller = Thread.currentThread();
            this.failure = null;
            next.set(0);
            remaining.set(workers.length);
            generation++; // publishes the fields above to the workers
            for (Thread worker : workers) LockSupport.unpark(worker);
            drain();
            while (remaining.get() != 0) LockSupport.park(this);
            this.work = null;
            this.call = null;
            if (failure != null) throw failure;
            double total = 0;
            for (int c = 0; c < chunks; c++) total += partials[c];
            return total;
        } finally {
            handOff.unlock();
        }
    }

    /** Takes chunks of the current call until none is left; the first failure stops the others from starting new ones. */
    private void drain() {
        Scratch mine = scratch.get();
        try {
            for (int c = next.getAndIncrement(); c < chunkCount; c = next.getAndIncrement()) partials[c] = work.run(call, c, mine);
        } catch (RuntimeException | Error e) {
            next.set(chunkCount);
            synchronized (this) {
                RuntimeException cause = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                if (failure == null) failure = cause;
                else failure.addSuppressed(cause);
            }
        }
    }

    private void workerLoop() {
        int seen = 0;
        while (!closed) {
            int current = generation;
            if (current == seen) {
                LockSupport.park(this);
                continue;
            }
            seen = current;
            drain();
            if (remaining.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread worker : workers) LockSupport.unpark(worker);
    }
}
