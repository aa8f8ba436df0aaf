package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import org.losskit.cuda.LaunchPlan.Shape;

class LaunchPlanTest {
    private static final int H100_SMS = 132;

    @Test
    void shortRowsGetAWarpEach() {
        LaunchPlan plan = LaunchPlan.forRows(1000, 1024, H100_SMS, true);
        assertEquals(Shape.WARP_PER_ROW, plan.shape());
        assertEquals(125, plan.gridX()); // 8 rows per 256-thread block
        assertEquals(plan.gridX(), plan.partialCount());
        assertEquals(Shape.WARP_PER_ROW, LaunchPlan.forRows(1, 0, H100_SMS, true).shape());
    }

    @Test
    void manyLongRowsGetABlockEach() {
        LaunchPlan plan = LaunchPlan.forRows(16384, 131072, H100_SMS, true);
        assertEquals(Shape.BLOCK_PER_ROW, plan.shape());
        assertEquals(LaunchPlan.MAX_PARTIALS, plan.gridX()); // grid-strides over the rest
        assertEquals(LaunchPlan.WIDE_ROW_THREADS, plan.blockThreads());
        assertEquals(LaunchPlan.BLOCK_THREADS, LaunchPlan.forRows(1000, 1025, H100_SMS, true).blockThreads());
    }

    @Test
    void fewLongRowsAreSplitAcrossBlocks() {
        LaunchPlan plan = LaunchPlan.forRows(1, 128256, H100_SMS, true);
        assertEquals(Shape.SPLIT_ROW, plan.shape());
        // 4 blocks per SM wanted, but no chunk under 4096 columns: ceil(128256 / 4096) = 32 chunks
        assertEquals(32, plan.splits());
        assertEquals(32, plan.gridX());
        assertEquals(1, plan.gridY());
        assertEquals(1, plan.partialCount());
        assertEquals(32L * LaunchPlan.SPLIT_STATE_BYTES, plan.splitStateBytes());

        LaunchPlan few = LaunchPlan.forRows(100, 1 << 20, H100_SMS, true);
        assertEquals(Shape.SPLIT_ROW, few.shape());
        assertEquals(6, few.splits()); // ceil(4 * 132 / 100)
        assertEquals(100, few.gridY());
    }

    @Test
    void noSplitWhenNotAllowedOrWhenRowsFillTheDevice() {
        assertEquals(Shape.BLOCK_PER_ROW, LaunchPlan.forRows(1, 128256, H100_SMS, false).shape());
        assertEquals(Shape.BLOCK_PER_ROW, LaunchPlan.forRows(2 * H100_SMS, 128256, H100_SMS, true).shape());
        // A row just over the warp limit is too short to split into 4096-column chunks.
        assertEquals(Shape.BLOCK_PER_ROW, LaunchPlan.forRows(1, 4096, H100_SMS, true).shape());
    }

    @Test
    void elementGridsStayWithinLimitsAndCapThePartials() {
        LaunchPlan wide = LaunchPlan.forElements(1, Integer.MAX_VALUE);
        assertEquals(1024, wide.gridX());
        assertEquals(1, wide.gridY());
        LaunchPlan tall = LaunchPlan.forElements(Integer.MAX_VALUE, 1);
        assertEquals(1, tall.gridX());
        assertTrue(tall.gridY() <= LaunchPlan.MAX_GRID_Y);
        assertTrue(tall.partialCount() <= LaunchPlan.MAX_PARTIALS);
        LaunchPlan square = LaunchPlan.forElements(5000, 5000);
        assertEquals(20, square.gridX()); // ceil(5000 / 256)
        assertEquals(204, square.gridY()); // 4096 / 20
        assertEquals(20 * 204, square.partialCount());
        assertEquals(1, LaunchPlan.forElements(3, 0).gridX());
    }

    @Test
    void rowPlansCapTheGrid() {
        assertEquals(LaunchPlan.MAX_PARTIALS, LaunchPlan.forRows(Integer.MAX_VALUE, 10, 1, true).gridX());
        assertEquals(LaunchPlan.MAX_PARTIALS, LaunchPlan.forRows(Integer.MAX_VALUE, 100_000, 1, true).gridX());
    }

    @Test
    void badShapesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LaunchPlan.forRows(0, 10, H100_SMS, true));
        assertThrows(IllegalArgumentException.class, () -> LaunchPlan.forRows(1, -1, H100_SMS, true));
        assertThrows(IllegalArgumentException.class, () -> LaunchPlan.forRows(1, 10, 0, true));
        assertThrows(IllegalArgumentException.class, () -> LaunchPlan.forElements(0, 10));
        assertThrows(IllegalArgumentException.class, () -> new LaunchPlan(Shape.ELEMENTS, 1, 70000, 256, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchPlan(Shape.ELEMENTS, 1, 1, 100, 1, 1, 0));
    }
}
