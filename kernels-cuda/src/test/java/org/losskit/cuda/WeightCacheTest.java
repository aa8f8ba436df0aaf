package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import org.losskit.Matrix;

/** The weight cache's bookkeeping, with fake device copies: runs on any machine. */
class WeightCacheTest {
    /** A fake device copy that records whether it was freed (and fails if freed twice). */
    private static final class FakeCopy implements WeightCache.DeviceCopy {
        private static final AtomicLong NEXT = new AtomicLong(0x1000);
        final long address = NEXT.getAndAdd(0x100);
        volatile boolean freed;

        @Override
        public long address() {
            assertFalse(freed, "address of a freed copy");
            return address;
        }

        @Override
        public void close() {
            assertFalse(freed, "freed twice");
            freed = true;
        }
    }

    private final List<FakeCopy> uploaded = new ArrayList<>();

    private WeightCache cache(int capacity) {
        return new WeightCache(capacity, m -> {
            FakeCopy c = new FakeCopy();
            synchronized (uploaded) {
                uploaded.add(c);
            }
            return c;
        });
    }

    private static Matrix weights(float... w) {
        return Matrix.vector(w).readOnlyCopy();
    }

    @Test
    void theSameWeightsObjectHitsAndAnEqualOneDoesNot() {
        WeightCache cache = cache(4);
        Matrix w = weights(1, 2, 3);
        long address;
        try (WeightCache.Lease a = cache.acquire(w); WeightCache.Lease b = cache.acquire(w)) {
            address = a.address();
            assertEquals(address, b.address());
        }
        assertEquals(1, cache.uploads());
        try (WeightCache.Lease c = cache.acquire(weights(1, 2, 3))) {
            assertNotEquals(address, c.address(), "keys are identities, not values");
        }
        assertEquals(2, cache.uploads());
    }

    @Test
    void staysBoundedAndFreesTheLeastRecentlyUsed() {
        WeightCache cache = cache(2);
        Matrix a = weights(1), b = weights(2), c = weights(3);
        cache.acquire(a).close();
        cache.acquire(b).close();
        cache.acquire(a).close(); // a is now more recent than b
        cache.acquire(c).close(); // evicts b
        assertEquals(2, cache.size());
        assertFalse(uploaded.get(0).freed, "a stays");
        assertTrue(uploaded.get(1).freed, "b was least recently used");
        cache.acquire(a).close();
        assertEquals(3, cache.uploads(), "a was still cached");
    }

    @Test
    void anEvictedCopyIsFreedOnlyWhenItsLastLeaseIsReturned() {
        WeightCache cache = cache(1);
        Matrix a = weights(1), b = weights(2);
        WeightCache.Lease inFlight = cache.acquire(a);
        cache.acquire(b).close(); // evicts a while a call still reads it
        FakeCopy copyOfA = uploaded.get(0);
        assertFalse(copyOfA.freed, "a kernel in flight may still read it");
        inFlight.close();
        assertTrue(copyOfA.freed);
        inFlight.close(); // idempotent: no double free
    }

    @Test
    void closeFreesEveryCopyAndRefusesLaterUse() {
        WeightCache cache = cache(8);
        for (int i = 0; i < 5; i++) cache.acquire(weights(i)).close();
        cache.close();
        assertTrue(uploaded.stream().allMatch(c -> c.freed));
        assertThrows(IllegalStateException.class, () -> cache.acquire(weights(9)));
        cache.close(); // idempotent
    }

    @Test
    void threadsSharingOptionsUploadOnce() throws Exception {
        WeightCache cache = cache(4);
        Matrix shared = weights(1, 2, 3, 4);
        CountDownLatch start = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Long>> addresses = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                addresses.add(pool.submit(() -> {
                    start.await();
                    long address = 0;
                    for (int i = 0; i < 1000; i++) {
                        try (WeightCache.Lease lease = cache.acquire(shared)) {
                            address = lease.address();
                        }
                    }
                    return address;
                }));
            }
            start.countDown();
            long first = addresses.getFirst().get();
            for (Future<Long> f : addresses) assertEquals(first, f.get());
        }
        assertEquals(1, cache.uploads());
    }

    @Test
    void capacityMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new WeightCache(0, m -> new FakeCopy()));
        assertTrue(e.getMessage().contains("capacity"), e.getMessage());
    }
}
