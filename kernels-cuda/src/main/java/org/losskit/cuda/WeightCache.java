package org.losskit.cuda;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.losskit.Matrix;

/**
 * Device copies of the options' host weight vectors (class weights, softmax-focal alpha, BCE pos_weight), so that
 * device-resident calls reusing an options object copy nothing from the host. Keys are the weight matrices by
 * identity: the options hold private read-only copies of the caller's weights (Arguments.weights), so a key's
 * contents never change, and an options object reused across calls hits the same entry (cross-entropy options
 * derived with a wither share their weights, and the entry, too).
 *
 * <p>Bounded: beyond {@code capacity} entries the least recently used one is evicted. A call holds a {@link Lease}
 * from {@link #acquire} until its stream is synchronized, and an evicted copy is freed only when its last lease is
 * returned, so eviction never frees memory a kernel in flight reads. Thread-safe (one lock; uploads happen under
 * it, so two threads never upload the same weights twice). {@link #close} frees every copy.
 *
 * <p>The device work is behind {@code upload}, so the bookkeeping is tested on machines without a GPU.
 */
final class WeightCache implements AutoCloseable {
    static final int DEFAULT_CAPACITY = 64;

    /** One device copy of a weight vector: its address, freed by close. */
    interface DeviceCopy extends AutoCloseable {
        long address();

        @Override
        void close();
    }

    /** What a call holds while its kernels may read the copy; returning it is idempotent. */
    final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean returned;

        private Lease(Entry entry) {
            this.entry = entry;
        }

        long address() {
            return entry.copy.address();
        }

        @Override
        public void close() {
            synchronized (WeightCache.this) {
                if (returned) return;
                returned = true;
                entry.leases--;
                if (entry.evicted && entry.leases == 0) entry.copy.close();
            }
        }
    }

    private static final class Entry {
        final DeviceCopy copy;
        int leases;
        boolean evicted;

        Entry(DeviceCopy copy) {
            this.copy = copy;
        }
    }

    /** Identity key: two equal-valued weight matrices of different options are different entries. */
    private record Key(Matrix weights) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.weights == weights;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(weights);
        }
    }

    private final int capacity;
    private final Function<Matrix, DeviceCopy> upload;
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private boolean closed;
    private long uploads;

    WeightCache(int capacity, Function<Matrix, DeviceCopy> upload) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        this.capacity = capacity;
        this.upload = upload;
    }

    /** A lease on the device copy of {@code weights}, uploading it on first use. */
    synchronized Lease acquire(Matrix weights) {
        if (closed) throw new IllegalStateException("the weight cache is closed");
        Key key = new Key(weights);
        Entry entry = entries.get(key);
        if (entry == null) {
            entry = new Entry(upload.apply(weights));
            uploads++;
            entries.put(key, entry);
            evictBeyondCapacity();
        }
        entry.leases++;
        return new Lease(entry);
    }

    private void evictBeyondCapacity() {
        Iterator<Map.Entry<Key, Entry>> eldest = entries.entrySet().iterator();
        while (entries.size() > capacity) {
            Entry e = eldest.next().getValue();
            eldest.remove();
            e.evicted = true;
            if (e.leases == 0) e.copy.close();
        }
    }

    synchronized int size() {
        return entries.size();
    }

    /** Uploads done so far (a hit does none). */
    synchronized long uploads() {
        return uploads;
    }

    /** Frees every copy; the backend closes it only when no call is in flight. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        for (Entry e : entries.values()) {
            e.evicted = true;
            if (e.leases > 0) continue; // freed when its lease is returned
            try {
                e.copy.close();
            } catch (RuntimeException ex) {
                failures.add(ex);
            }
        }
        entries.clear();
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }
}
