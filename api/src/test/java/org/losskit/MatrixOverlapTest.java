package org.losskit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

/** Overlap detection for every pairing of storage kinds, the check that guards outputs against aliasing inputs. */
class MatrixOverlapTest {

    @Test
    void arraysOverlapOnlyWhenTheSameArrayRangesMeet() {
        float[] data = new float[100];
        Matrix firstRows = Matrix.of(data, 0, 2, 10, 10); // elements [0, 20)
        Matrix nextRows = Matrix.of(data, 20, 2, 10, 10); // [20, 40)
        Matrix straddling = Matrix.of(data, 19, 1, 5, 5); // [19, 24)
        assertFalse(firstRows.overlaps(nextRows), "adjacent ranges of one array");
        assertTrue(firstRows.overlaps(straddling), "ranges sharing element 19");
        assertTrue(nextRows.overlaps(straddling), "ranges sharing elements 20..23");
        assertFalse(firstRows.overlaps(Matrix.of(new float[100], 0, 2, 10, 10)), "same range of another array");
    }

    @Test
    void anArrayOverlapsAHeapSegmentOverTheSameArray() {
        float[] data = new float[64];
        Matrix array = Matrix.of(data, 0, 4, 8, 8);
        Matrix segmentOverSameArray = Matrix.of(MemorySegment.ofArray(data), ElementType.FLOAT32, 16, 1, 8, 8);
        Matrix segmentOverTail = Matrix.of(MemorySegment.ofArray(data), ElementType.FLOAT32, 32, 1, 8, 8);
        assertTrue(array.overlaps(segmentOverSameArray), "array [0, 32) and a heap segment view of [16, 24)");
        assertTrue(segmentOverSameArray.overlaps(array), "symmetric");
        assertFalse(array.overlaps(segmentOverTail), "array [0, 32) and a heap segment view of [32, 40)");
    }

    @Test
    void nativeSegmentsCompareByAddressAndNeverOverlapTheHeap() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(400);
            Matrix low = Matrix.of(memory, ElementType.FLOAT32, 0, 5, 10, 10); // bytes [0, 200)
            Matrix high = Matrix.of(memory, ElementType.FLOAT32, 50, 5, 10, 10); // [200, 400)
            Matrix middle = Matrix.of(memory.asSlice(196), ElementType.FLOAT32, 0, 1, 2, 2); // [196, 204)
            assertFalse(low.overlaps(high), "adjacent native ranges");
            assertTrue(low.overlaps(middle), "native ranges sharing bytes 196..199, through another segment object");
            assertTrue(high.overlaps(middle), "native ranges sharing bytes 200..203");
            assertFalse(low.overlaps(Matrix.of(new float[100], 10, 10)), "native memory and a Java array");
        }
    }
}
