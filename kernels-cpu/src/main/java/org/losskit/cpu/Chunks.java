package org.losskit.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.ArrayBlockingQueue;
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
 * fields, threads and partials array for every call. (A virtual thread borrows a scratch from a bounded pool; it
 * allocates one only when the pool is empty.)
 *
 * <p>Life cycle: the workers are daemon threads. {@link #close} waits for a parallel call in flight and then lets
 * them end; a call that was already on its way runs on its own thread, so no caller ever waits for a worker that
 * is gone. An engine dropped without {@code close()} has its workers stopped by a {@link Cleaner} once unreachable.
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

    /** Name of the worker threads, followed by their number. */
    static final String WORKER_NAME_PREFIX = "losskit-cpu-";

    /**
     * The scratch of a platform thread, made on its first call and kept while the thread lives (shared by every
     * engine the thread calls: a thread runs one call at a time).
     */
    private static final ThreadLocal<Scratch> THREAD_SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Scratch lent to virtual threads for one call each and then taken back. A virtual thread usually makes a few
     * calls and ends, so a scratch of its own (about 140 KiB) would be made and dropped per thread; the pool keeps
     * at most this many for the JVM, which is more than the calls that run at once (virtual threads run on about
     * one carrier thread per core). A call that finds the pool empty makes a scratch, which the pool keeps
     * afterwards if it has room.
     */
    static final int POOLED_SCRATCH = 4 * Runtime.getRuntime().availableProcessors();
    private static final ArrayBlockingQueue<Scratch> SCRATCH_POOL = new ArrayBlockingQueue<>(POOLED_SCRATCH);

    /**
     * Stops the workers of engines that were dropped without {@code close()}: the workers refer to their
     * {@link Workers} only, never to this object, so an unreachable engine's {@code Chunks} is cleaned.
     */
    private static final Cleaner CLEANER = Cleaner.create(task -> new Thread(task, "losskit-cleaner"));

    private final int parallelism;
    private final Workers workers;
    private final Cleaner.Cleanable stopWorkers;

    Chunks(int parallelism) {
        this.parallelism = parallelism;
        this.workers = new Workers(parallelism - 1);
        this.stopWorkers = CLEANER.register(this, workers::stop);
    }

    int parallelism() {
        return parallelism;
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
     * The frame for the arguments of a call of the calling thread, with the scratch the calling thread uses for it,
     * held until {@link #run} ends the call: fill it and pass it to {@code run} straight away (a frame that never
     * reaches {@code run} stays held, and the thread's later calls then each get a fresh one; a virtual thread's
     * scratch is then not returned to the pool and the garbage collector takes it). A platform thread reuses its own
     * frame; a fresh one should a call of this thread still hold it, so a nested call could not overwrite the
     * arguments of the call around it (kernels never call the engine back, so none does today). A virtual thread
     * borrows a scratch, frame included, from the pool.
     */
    CallFrame frame() {
        Scratch scratch = Thread.currentThread().isVirtual() ? borrowScratch() : THREAD_SCRATCH.get();
        CallFrame own = scratch.frame;
        CallFrame frame = own.inUse ? new CallFrame() : own;
        frame.inUse = true;
        frame.scratch = scratch;
        return frame;
    }

    private static Scratch borrowScratch() {
        Scratch pooled = SCRATCH_POOL.poll();
        return pooled != null ? pooled : new Scratch();
    }

    /**
     * Runs chunks [0, chunks) of {@code elements} elements of {@code work} on the arguments in {@code call} (from
     * {@link #frame}) and returns the sum of their partials in chunk order; ends the call ({@link CallFrame#clear})
     * and gives a borrowed scratch back. {@code run(1, 0, work, call)} runs {@code work} once on the calling thread
     * (work that is not chunked, with the call's scratch).
     *
     * <p>The call runs on the calling thread alone (same chunks, same bits) when it is small, when the engine has no
     * workers or another call of the engine holds them, when the engine was closed after the call began, or when
     * an operand is memory of a confined arena, which only its owner thread may touch.
     */
    double run(int chunks, long elements, Work work, CallFrame call) {
        Scratch scratch = call.scratch;
        try {
            return runChunks(chunks, elements, work, call, scratch);
        } finally {
            call.clear();
            if (Thread.currentThread().isVirtual() && call == scratch.frame) SCRATCH_POOL.offer(scratch);
        }
    }

    private double runChunks(int chunks, long elements, Work work, CallFrame call, Scratch scratch) {
        if (chunks <= 1 || workers.isEmpty() || elements < PARALLEL_THRESHOLD || !call.accessibleFrom(workers.anyThread())
                || !workers.handOff.tryLock()) {
            return onCallingThread(chunks, work, call, scratch);
        }
        try {
            // Closed while this call was on its way here: it finishes, on the calling thread.
            if (workers.stopped) return onCallingThread(chunks, work, call, scratch);
            return workers.runHeld(chunks, work, call, scratch);
        } finally {
            workers.handOff.unlock();
        }
    }

    private static double onCallingThread(int chunks, Work work, CallFrame call, Scratch scratch) {
        double total = 0;
        for (int c = 0; c < chunks; c++) total += work.run(call, c, scratch);
        return total;
    }

    /**
     * Stops the workers once no call holds them (a parallel call in flight finishes first, with its workers);
     * calls already past the engine's closed check then run on their own threads. Idempotent.
     */
    @Override
    public void close() {
        stopWorkers.clean();
    }

    /**
     * The worker threads and the hand-off to them, reused by every parallel call (no task, future or partials array
     * per call). Nothing here refers to the {@link Chunks} that owns it, so that an engine dropped without
     * {@code close()} becomes unreachable and its cleaner stops these threads.
     *
     * <p>The protocol: one parallel call at a time holds {@link #handOff}; a call that finds it taken runs on its
     * own thread. The holder writes the call's fields, sets {@link #remaining} to the number of workers and raises
     * the volatile {@link #generation}, which publishes the fields; every worker, on seeing a new generation, takes
     * chunks until none is left and then counts {@code remaining} down, so the caller (which takes chunks too) knows
     * when every partial is written and no worker still reads the call. {@link #stop} sets {@link #stopped} under the
     * same lock, so it waits for a call in flight, and no generation is raised after it: a worker that sees
     * {@code stopped} with no new generation has answered every call and may end.
     */
    private static final class Workers {
        private final Thread[] threads;
        final ReentrantLock handOff = new ReentrantLock();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger remaining = new AtomicInteger();
        private volatile int generation;
        volatile boolean stopped;
        private Work work;
        private CallFrame call;
        private int chunkCount;
        private double[] partials = new double[0];
        private Thread caller;
        private RuntimeException failure;

        Workers(int count) {
            threads = new Thread[count];
            for (int i = 0; i < count; i++) {
                threads[i] = new Thread(this::workerLoop, WORKER_NAME_PREFIX + (i + 1));
                threads[i].setDaemon(true);
                threads[i].start();
            }
        }

        boolean isEmpty() {
            return threads.length == 0;
        }

        Thread anyThread() {
            return threads[0];
        }

        /** Runs the chunks on the workers and the calling thread; the caller holds {@link #handOff}. */
        double runHeld(int chunks, Work work, CallFrame call, Scratch callerScratch) {
            if (partials.length < chunks) partials = new double[chunks];
            this.work = work;
            this.call = call;
            this.chunkCount = chunks;
            this.caller = Thread.currentThread();
            this.failure = null;
            next.set(0);
            remaining.set(threads.length);
            generation++; // publishes the fields above to the workers
            for (Thread worker : threads) LockSupport.unpark(worker);
            drain(callerScratch);
            while (remaining.get() != 0) LockSupport.park(this);
            this.work = null;
            this.call = null;
            this.caller = null;
            if (failure != null) throw failure;
            double total = 0;
            for (int c = 0; c < chunks; c++) total += partials[c];
            return total;
        }

        /** Takes chunks of the current call until none is left; the first failure stops the others from starting new ones. */
        private void drain(Scratch mine) {
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
            Scratch mine = THREAD_SCRATCH.get();
            int seen = 0;
            while (true) {
                int current = generation;
                if (current != seen) {
                    seen = current;
                    drain(mine);
                    if (remaining.decrementAndGet() == 0) LockSupport.unpark(caller);
                } else if (stopped) {
                    return;
                } else {
                    LockSupport.park(this);
                }
            }
        }

        /** Waits for a parallel call in flight, then lets the workers end. The cleaning action of {@link Chunks}. */
        void stop() {
            handOff.lock();
            try {
                stopped = true;
            } finally {
                handOff.unlock();
            }
            for (Thread worker : threads) LockSupport.unpark(worker);
        }
    }
}
