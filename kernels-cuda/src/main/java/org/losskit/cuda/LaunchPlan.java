package org.losskit.cuda;

/**
 * The grid of one launch, chosen by row length (see DESIGN.md, CUDA specifics). Pure arithmetic, so it is unit
 * tested on machines without a GPU.
 *
 * <ul>
 *   <li>{@link Shape#WARP_PER_ROW}: rows of at most {@value #WARP_ROW_MAX_COLUMNS} columns; a warp owns a row and
 *       a block of {@value #BLOCK_THREADS} threads takes 8 rows at a time.</li>
 *   <li>{@link Shape#BLOCK_PER_ROW}: longer rows when there are enough of them to fill the device (at least
 *       {@value #ROWS_PER_MULTIPROCESSOR} per multiprocessor); a block owns a row.</li>
 *   <li>{@link Shape#SPLIT_ROW}: few long rows; each row is cut into chunks of at least
 *       {@value #MIN_SPLIT_COLUMNS} columns, one block each, so about {@value #SPLIT_BLOCKS_PER_MULTIPROCESSOR}
 *       blocks per multiprocessor run (cross-entropy only, and not when entropy is asked for).</li>
 *   <li>{@link Shape#ELEMENTS}: element-wise kernels and whole-array reductions; blockIdx.y strides over rows,
 *       blockIdx.x over column tiles.</li>
 * </ul>
 * Every shape grid-strides, so the grid is capped ({@value #MAX_PARTIALS} blocks) and the number of per-block
 * partials the host combines stays small.
 *
 * @param partialCount     double2 partials the kernel writes (one per block, or one per row for SPLIT_ROW)
 * @param splitStateBytes  device bytes for the SPLIT_ROW chunk states, 0 otherwise
 */
record LaunchPlan(Shape shape, int gridX, int gridY, int blockThreads, int splits, int partialCount, long splitStateBytes) {
    enum Shape { WARP_PER_ROW, BLOCK_PER_ROW, SPLIT_ROW, ELEMENTS }

    static final int WARP_ROW_MAX_COLUMNS = 1024;
    static final int BLOCK_THREADS = 256;
    /** Long rows of 16k columns and more get 512 threads per row: more loads in flight per row. */
    static final int WIDE_ROW_COLUMNS = 16384;
    static final int WIDE_ROW_THREADS = 512;
    static final int ROWS_PER_MULTIPROCESSOR = 2;
    static final int MIN_SPLIT_COLUMNS = 4096;
    static final int SPLIT_BLOCKS_PER_MULTIPROCESSOR = 4;
    static final int MAX_PARTIALS = 4096;
    /** CUDA's limit on gridDim.y. */
    static final int MAX_GRID_Y = 65535;
    /** Size of the kernels' RowAccum (static_assert in cross_entropy.cuh). */
    static final int SPLIT_STATE_BYTES = 24;
    /** Threads of the one-block target check (lk_ce_check_targets). */
    static final int CHECK_THREADS = 1024;

    LaunchPlan {
        if (gridX < 1 || gridY < 1 || gridY > MAX_GRID_Y) throw new IllegalArgumentException("bad grid " + gridX + " x " + gridY);
        if (blockThreads < 32 || blockThreads > 1024 || blockThreads % 32 != 0) {
            throw new IllegalArgumentException("blockThreads must be a multiple of 32 in [32, 1024], got " + blockThreads);
        }
    }

    /**
     * A row kernel's plan (cross-entropy, Dice, per-row reductions).
     *
     * @param allowSplit whether the kernel has a split-row form and the call can use it
     */
    static LaunchPlan forRows(int rows, int cols, int multiprocessors, boolean allowSplit) {
        checkShape(rows, cols);
        if (multiprocessors < 1) throw new IllegalArgumentException("multiprocessors must be >= 1, got " + multiprocessors);
        if (cols <= WARP_ROW_MAX_COLUMNS) {
            int rowsPerBlock = BLOCK_THREADS / 32;
            int blocks = (int) Math.min(ceilDiv(rows, rowsPerBlock), MAX_PARTIALS);
            return new LaunchPlan(Shape.WARP_PER_ROW, blocks, 1, BLOCK_THREADS, 1, blocks, 0);
        }
        int threads = cols >= WIDE_ROW_COLUMNS ? WIDE_ROW_THREADS : BLOCK_THREADS;
        if (allowSplit && rows < (long) ROWS_PER_MULTIPROCESSOR * multiprocessors) {
            long wanted = ceilDiv((long) SPLIT_BLOCKS_PER_MULTIPROCESSOR * multiprocessors, rows);
            int splits = (int) Math.min(wanted, ceilDiv(cols, MIN_SPLIT_COLUMNS));
            if (splits > 1) {
                return new LaunchPlan(Shape.SPLIT_ROW, splits, rows, threads, splits, rows,
                        (long) rows * splits * SPLIT_STATE_BYTES);
            }
        }
        int blocks = Math.min(rows, MAX_PARTIALS);
        return new LaunchPlan(Shape.BLOCK_PER_ROW, blocks, 1, threads, 1, blocks, 0);
    }

    /** An element-wise kernel's or a whole-array reduction's plan. */
    static LaunchPlan forElements(int rows, int cols) {
        checkShape(rows, cols);
        int tiles = (int) Math.min(Math.max(1, ceilDiv(cols, BLOCK_THREADS)), 1024);
        int rowBlocks = Math.min(Math.min(rows, MAX_GRID_Y), Math.max(1, MAX_PARTIALS / tiles));
        return new LaunchPlan(Shape.ELEMENTS, tiles, rowBlocks, BLOCK_THREADS, 1, tiles * rowBlocks, 0);
    }

    private static void checkShape(int rows, int cols) {
        if (rows < 1) throw new IllegalArgumentException("a launch needs rows >= 1, got " + rows);
        if (cols < 0) throw new IllegalArgumentException("cols must be >= 0, got " + cols);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
