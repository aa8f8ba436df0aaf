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
     * Below this many elements one thread is expected to be faster: waking a worker costs ~10-50 microseconds, the
     * time the cross-entropy kernel needs for ~10^5 elements on one core. An estimate, not yet measured on a quiet
     * machine (the bench module's size sweep is the place to confirm it); it changes speed only, never results.
     */
    static final long PARALLEL_THRESHOLD = 1L << 18;

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
     * The fixed cost of one row, in elements of work: the row set-up, the target lookup, one log and the row's
     * result (~80 ns a row at 4096x10 against ~0.7 ns an element in long rows). Counted so that many short rows
     * are split into chunks and threads like the same work in long rows.
     */
    static final int ROW_COST_ELEMENTS = 120;

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
