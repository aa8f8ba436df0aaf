package org.losskit.reference;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.ElementType;
import org.losskit.ErrorBound;
import org.losskit.KlDivOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.testing.Discrepancies;
import org.losskit.testing.RandomInputs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

/**
 * The invariants of DESIGN.md, checked over many generated shapes and values, on the reference backend through
 * the public API. Both sides of each invariant are computed by the reference, so they agree to double rounding:
 * compared within {@link ErrorBound#REFERENCE} (plus the float32 rounding of stored outputs), or bit for bit
 * where the two sides do the same arithmetic.
 *
 * <p>Each invariant is a {@link TestFactory} over the {@link Case}s of {@link #cases}: the edge shapes first, then
 * random shapes, each case with its own fixed seed from which every value and option of the case is drawn. A case's
 * display name gives its shape, seed and options; the invariant's case method on {@code new Case(rows, cols, seed)}
 * gives back that test, to replay it exactly.
 */
class InvariantTest {
    private static final LossEngine ENGINE = LossEngine.builder().backend("reference").build();
    private static final ErrorBound EXACT = ErrorBound.REFERENCE;

    @AfterAll
    static void close() {
        ENGINE.close();
    }

    // ------------------------------------------------------------------------------------------ generated cases

    /** One generated case: the shape, and the seed that all of its values and options are drawn from. */
    record Case(int rows, int cols, long seed) {
        RandomInputs inputs() {
            return new RandomInputs(seed);
        }

        @Override
        public String toString() {
            return rows + "x" + cols + ", seed " + seed;
        }
    }

    /**
     * Column counts where a vectorised loop changes shape: one class, a few classes, and one either side of each
     * lane count up to 128 (tails of 1, L-1, L+1).
     */
    private static final List<Integer> EDGE_COLUMNS = List.of(1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129);

    /**
     * The {@code count} cases of one invariant, the same on every run. First the edge shapes: the fewest and the
     * most rows, each with every edge column count that fits and with {@code maxCols - 1} and {@code maxCols}. Then
     * random shapes, rows uniform in [minRows, maxRows] and columns uniform in [1, maxCols], drawn from a stream
     * seeded by the invariant's name. Case i's seed is {@code RandomInputs.seed(invariant, i)}.
     */
    private static List<Case> cases(String invariant, int count, int minRows, int maxRows, int maxCols) {
        TreeSet<Integer> edgeColumns = new TreeSet<>(EDGE_COLUMNS);
        edgeColumns.add(maxCols - 1);
        edgeColumns.add(maxCols);
        edgeColumns.removeIf(c -> c < 1 || c > maxCols);
        List<int[]> shapes = new ArrayList<>();
        for (int rows : new TreeSet<>(List.of(minRows, maxRows))) {
            for (int cols : edgeColumns) shapes.add(new int[] {rows, cols});
        }
        if (shapes.size() > count) throw new IllegalArgumentException("count " + count + " is below the " + shapes.size() + " edge shapes");
        SplittableRandom shapeStream = new SplittableRandom(RandomInputs.seed(invariant, "shapes"));
        while (shapes.size() < count) shapes.add(new int[] {shapeStream.nextInt(minRows, maxRows + 1), shapeStream.nextInt(1, maxCols + 1)});
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < count; i++) cases.add(new Case(shapes.get(i)[0], shapes.get(i)[1], RandomInputs.seed(invariant, i)));
        return cases;
    }

    /** A cross-entropy call's outputs: returned value, gradient, per-row losses. */
    private record Outcome(double value, float[] gradient, float[] losses) {}

    private static Outcome crossEntropy(float[] logits, int rows, int cols, int[] targets, CrossEntropyOptions o) {
        float[] gradient = new float[rows * cols];
        float[] losses = new float[rows];
        double value = ENGINE.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(targets), o,
                LossOutputs.withGradient(Matrix.of(gradient, rows, cols)).losses(Matrix.vector(losses)));
        return new Outcome(value, gradient, losses);
    }

    private static Outcome crossEntropyProbs(float[] logits, int rows, int cols, float[] q, CrossEntropyOptions o) {
        float[] gradient = new float[rows * cols];
        float[] losses = new float[rows];
        double value = ENGINE.crossEntropyProbs(Matrix.of(logits, rows, cols), Matrix.of(q, rows, cols), o,
                LossOutputs.withGradient(Matrix.of(gradient, rows, cols)).losses(Matrix.vector(losses)));
        return new Outcome(value, gradient, losses);
    }

    private static void assertAgree(String what, ErrorBound bound, Outcome actual, Outcome expected, int cols) {
        Discrepancies d = new Discrepancies();
        d.loss(what + ": returned value", bound, actual.value(), expected.value());
        d.losses(what + ": losses", bound, actual.losses(), toDouble(expected.losses()));
        d.gradient(what + ": gradient", bound, actual.gradient(), toDouble(expected.gradient()), cols);
        d.assertNone(what);
    }

    /** Options that leave a softmax unchanged by a shift: weights, smoothing, reduction (not z-loss or softcap). */
    private static CrossEntropyOptions shiftFreeOptions(RandomInputs in, int cols) {
        CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(Reduction.values()[in.nextInt(3)]);
        if (in.nextInt(2) == 0) o = o.classWeights(in.uniform(cols, 0.25, 2));
        if (in.nextInt(2) == 0) o = o.labelSmoothing(0.15);
        return o;
    }

    // ------------------------------------------------------------------------------------------ softmax invariants

    @TestFactory
    Stream<DynamicTest> shiftingEveryLogitByAConstantChangesNothing() {
        return cases("shiftingEveryLogitByAConstantChangesNothing", 200, 1, 6, 40).stream().map(InvariantTest::shiftCase);
    }

    private static DynamicTest shiftCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        // Logits on a 2^-10 grid in [-8, 8] shifted by 1024 stay exact in float, so the shift is the only change.
        float[] logits = in.uniform(rows * cols, -8, 8);
        for (int i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i] * 1024f) / 1024f;
        float[] shifted = logits.clone();
        for (int i = 0; i < shifted.length; i++) shifted[i] += 1024f;
        int[] targets = in.targets(rows, cols);
        CrossEntropyOptions o = shiftFreeOptions(in, cols);
        float[] q = in.probabilities(rows, cols);
        return dynamicTest(c + ", " + o, () -> {
            assertAgree("crossEntropy with logits + 1024, " + c + " " + o, EXACT,
                    crossEntropy(shifted, rows, cols, targets, o), crossEntropy(logits, rows, cols, targets, o), cols);
            assertAgree("crossEntropyProbs with logits + 1024, " + c + " " + o, EXACT,
                    crossEntropyProbs(shifted, rows, cols, q, o), crossEntropyProbs(logits, rows, cols, q, o), cols);
        });
    }

    @TestFactory
    Stream<DynamicTest> unitClassWeightsEqualNoWeights() {
        return cases("unitClassWeightsEqualNoWeights", 200, 1, 6, 40).stream().map(InvariantTest::unitWeightsCase);
    }

    private static DynamicTest unitWeightsCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        int[] targets = in.targets(rows, cols);
        float[] ones = new float[cols];
        Arrays.fill(ones, 1f);
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).zLoss(1e-3).reduction(Reduction.values()[in.nextInt(3)]);
        float[] q = in.probabilities(rows, cols);
        float[] soft = in.uniform(rows * cols, 0, 1);
        return dynamicTest(c + ", " + o, () -> {
            assertAgree("crossEntropy, unit weights vs none, " + c, EXACT,
                    crossEntropy(logits, rows, cols, targets, o.classWeights(ones)), crossEntropy(logits, rows, cols, targets, o), cols);
            assertAgree("crossEntropyProbs, unit weights vs none, " + c, EXACT,
                    crossEntropyProbs(logits, rows, cols, q, o.classWeights(ones)), crossEntropyProbs(logits, rows, cols, q, o), cols);

            Matrix x = Matrix.of(logits, rows, cols);
            Matrix t = Matrix.vector(targets);
            Matrix unit = Matrix.vector(ones);
            assertEquals(ENGINE.nll(x, t, NllOptions.of(Reduction.MEAN), LossOutputs.none()),
                    ENGINE.nll(x, t, new NllOptions(Reduction.MEAN, unit, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false), LossOutputs.none()),
                    "nll with unit weights vs none, " + c);
            assertEquals(ENGINE.multiMargin(x, t, new MultiMarginOptions(Reduction.MEAN, 1, 1, null), LossOutputs.none()),
                    ENGINE.multiMargin(x, t, new MultiMarginOptions(Reduction.MEAN, 1, 1, unit), LossOutputs.none()),
                    "multiMargin with unit weights vs none, " + c);
            assertEquals(ENGINE.softmaxFocal(x, t, new SoftmaxFocalOptions(Reduction.MEAN, null, 2), LossOutputs.none()),
                    ENGINE.softmaxFocal(x, t, new SoftmaxFocalOptions(Reduction.MEAN, unit, 2), LossOutputs.none()),
                    "softmaxFocal with unit alpha vs none, " + c);
            float[] unitElements = new float[rows * cols];
            Arrays.fill(unitElements, 1f);
            Matrix target = Matrix.of(soft, rows, cols);
            assertEquals(ENGINE.bceWithLogits(x, target, null, new PointwiseLoss.BceWithLogits(Reduction.MEAN), LossOutputs.none()),
                    ENGINE.bceWithLogits(x, target, Matrix.of(unitElements, rows, cols), new PointwiseLoss.BceWithLogits(Reduction.MEAN, unit), LossOutputs.none()),
                    "bceWithLogits with unit weight and posWeight vs none, " + c);
        });
    }

    @TestFactory
    Stream<DynamicTest> indexTargetsEqualOneHotProbabilityTargets() {
        return cases("indexTargetsEqualOneHotProbabilityTargets", 200, 1, 6, 40).stream().map(InvariantTest::oneHotCase);
    }

    private static DynamicTest oneHotCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        int[] targets = in.targets(rows, cols);
        float[] oneHot = RandomInputs.oneHot(targets, cols);
        // With class weights only SUM and NONE agree: an index-target mean divides by sum w_y, a probability
        // mean by the row count (PyTorch).
        CrossEntropyOptions weighted = CrossEntropyOptions.defaults().classWeights(in.uniform(cols, 0.25, 2)).zLoss(1e-3).softcap(6)
                .reduction(in.nextInt(2) == 0 ? Reduction.SUM : Reduction.NONE);
        CrossEntropyOptions mean = CrossEntropyOptions.defaults().zLoss(1e-3).reduction(Reduction.MEAN);
        return dynamicTest(c + ", " + weighted + " and " + mean, () -> {
            for (CrossEntropyOptions o : List.of(weighted, mean)) {
                assertAgree("crossEntropy index vs one-hot targets, " + c + " " + o, EXACT,
                        crossEntropy(logits, rows, cols, targets, o), crossEntropyProbs(logits, rows, cols, oneHot, o), cols);
            }
        });
    }

    @TestFactory
    Stream<DynamicTest> labelSmoothingEqualsSmoothedProbabilityTargets() {
        return cases("labelSmoothingEqualsSmoothedProbabilityTargets", 200, 1, 6, 40).stream().map(InvariantTest::labelSmoothingCase);
    }

    private static DynamicTest labelSmoothingCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        int[] targets = in.targets(rows, cols);
        double e = 0.05 + 0.9 * in.nextDouble();
        CrossEntropyOptions smoothed = CrossEntropyOptions.defaults().labelSmoothing(e).classWeights(in.uniform(cols, 0.25, 2))
                .reduction(Reduction.SUM);
        String what = c + " " + smoothed;
        return dynamicTest(c + ", " + smoothed, () -> {
            Outcome index = crossEntropy(logits, rows, cols, targets, smoothed);
            assertAgree("label smoothing on index targets vs on one-hot probability targets, " + what, EXACT, index,
                    crossEntropyProbs(logits, rows, cols, RandomInputs.oneHot(targets, cols), smoothed), cols);
            // q' = (1 - e) onehot + e / C written out as float32 targets: each q'_c is rounded (6e-8 relative), so the
            // two sides agree to that, not to double rounding.
            float[] smoothedTargets = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int col = 0; col < cols; col++) smoothedTargets[r * cols + col] = (float) ((col == targets[r] ? 1 - e : 0) + e / cols);
            }
            ErrorBound floatTargets = new ErrorBound(1e-6, 1e-9, 1e-6, 1e-7);
            assertAgree("label smoothing vs explicitly smoothed float32 targets, " + what, floatTargets, index,
                    crossEntropyProbs(logits, rows, cols, smoothedTargets, smoothed.labelSmoothing(0)), cols);
        });
    }

    @TestFactory
    Stream<DynamicTest> ignoredRowsChangeNothing() {
        return cases("ignoredRowsChangeNothing", 200, 2, 8, 40).stream().map(InvariantTest::ignoredRowsCase);
    }

    private static DynamicTest ignoredRowsCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        int[] targets = in.targets(rows, cols);
        List<Integer> kept = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            if (in.nextInt(3) == 0 && r > 0) targets[r] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
            else kept.add(r);
        }
        float[] keptLogits = new float[kept.size() * cols];
        int[] keptTargets = new int[kept.size()];
        for (int k = 0; k < kept.size(); k++) {
            System.arraycopy(logits, kept.get(k) * cols, keptLogits, k * cols, cols);
            keptTargets[k] = targets[kept.get(k)];
        }
        CrossEntropyOptions o = CrossEntropyOptions.defaults().classWeights(in.uniform(cols, 0.25, 2)).labelSmoothing(0.1)
                .zLoss(1e-3).softcap(5).reduction(Reduction.values()[in.nextInt(3)]);
        String what = "ignored rows, " + c + " " + o + ", kept rows " + kept;
        return dynamicTest(c + ", " + o + ", kept rows " + kept, () -> {
            Outcome all = crossEntropy(logits, rows, cols, targets, o);
            Outcome only = crossEntropy(keptLogits, kept.size(), cols, keptTargets, o);
            Discrepancies d = new Discrepancies();
            d.loss(what + ": returned value vs the kept rows alone", EXACT, all.value(), only.value());
            for (int r = 0, k = 0; r < rows; r++) {
                float[] row = Arrays.copyOfRange(all.gradient(), r * cols, (r + 1) * cols);
                if (k < kept.size() && kept.get(k) == r) {
                    d.storedLoss(what + ": loss of row " + r, EXACT, all.losses()[r], only.losses()[k]);
                    d.gradient(what + ": gradient row " + r, EXACT, row, toDouble(Arrays.copyOfRange(only.gradient(), k * cols, (k + 1) * cols)), cols);
                    k++;
                } else {
                    d.equal(what + ": loss of ignored row " + r, all.losses()[r], 0f);
                    d.equal(what + ": gradient of ignored row " + r, Arrays.toString(row), Arrays.toString(new float[cols]));
                }
            }
            d.assertNone(what);
        });
    }

    @TestFactory
    Stream<DynamicTest> everyCrossEntropyGradientRowSumsToZero() {
        return cases("everyCrossEntropyGradientRowSumsToZero", 200, 1, 6, 200).stream().map(InvariantTest::gradientRowSumCase);
    }

    private static DynamicTest gradientRowSumCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 4);
        int[] targets = in.targets(rows, cols);
        if (rows > 1) targets[rows - 1] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
        // sum_c [(1-e) w_y (p_c - [c = y]) + (e/C)(W p_c - w_c)] = (1-e) w_y (1 - 1) + (e/C)(W - W) = 0
        // (z-loss and softcap do not keep this: their terms do not sum to zero).
        CrossEntropyOptions o = CrossEntropyOptions.defaults().classWeights(in.uniform(cols, 0.25, 2)).labelSmoothing(0.1)
                .reduction(Reduction.values()[in.nextInt(3)]);
        return dynamicTest(c + ", " + o, () -> {
            float[] gradient = crossEntropy(logits, rows, cols, targets, o).gradient();
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                double roundingAllowance = 1e-15; // each stored float is off by at most half an ulp of itself
                for (int col = 0; col < cols; col++) {
                    sum += gradient[r * cols + col];
                    roundingAllowance += Discrepancies.halfFloatUlp(gradient[r * cols + col]);
                }
                if (!(Math.abs(sum) <= roundingAllowance)) {
                    throw new AssertionError("crossEntropy gradient row " + r + " of " + c + " " + o + " sums to " + sum
                            + ", more than the float32 rounding of its entries allows (" + roundingAllowance + ")");
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------ storage invariants

    @TestFactory
    Stream<DynamicTest> halfPrecisionLogitsEqualFloatLogitsRoundedTheSameWay() {
        return cases("halfPrecisionLogitsEqualFloatLogitsRoundedTheSameWay", 200, 1, 5, 70).stream().map(InvariantTest::halfPrecisionCase);
    }

    private static DynamicTest halfPrecisionCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 4);
        int[] targets = in.targets(rows, cols);
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).zLoss(1e-4).softcap(10).reduction(Reduction.NONE);
        return dynamicTest(c + ", " + o, () -> {
            for (ElementType type : List.of(ElementType.BFLOAT16, ElementType.FLOAT16)) {
                short[] half = new short[logits.length];
                float[] widened = new float[logits.length];
                for (int i = 0; i < logits.length; i++) {
                    half[i] = type == ElementType.BFLOAT16 ? Matrix.floatToBfloat16(logits[i]) : Float.floatToFloat16(logits[i]);
                    widened[i] = type == ElementType.BFLOAT16 ? Matrix.bfloat16ToFloat(half[i]) : Float.float16ToFloat(half[i]);
                }
                float[] gradient = new float[logits.length];
                float[] losses = new float[rows];
                double value = ENGINE.crossEntropy(Matrix.ofHalf(type, half, 0, rows, cols, cols), Matrix.vector(targets), o,
                        LossOutputs.withGradient(Matrix.of(gradient, rows, cols)).losses(Matrix.vector(losses)));
                Outcome expected = crossEntropy(widened, rows, cols, targets, o);
                String what = "crossEntropy on " + type + " logits vs the same values as float32, " + c;
                assertEquals(expected.value(), value, what + ": returned value");
                assertArrayEquals(expected.gradient(), gradient, what + ": gradient");
                assertArrayEquals(expected.losses(), losses, what + ": losses");
            }
        });
    }

    /** The storage kinds a view can sit on; each must give the dense float[] results bit for bit. */
    enum Layout { DENSE, STRIDED_WITH_OFFSET, HEAP_SEGMENT, NATIVE_SEGMENT }

    /** Copies of dense row-major data in one layout, with outputs in the same layout. */
    private static final class Placed {
        final Matrix view;
        final MemorySegment segment; // for reading results back; null for arrays
        final float[] array;
        final long offset;
        final long stride;
        final int rows;
        final int cols;

        Placed(Layout layout, Arena arena, float[] dense, int rows, int cols) {
            this.rows = rows;
            this.cols = cols;
            this.offset = layout == Layout.DENSE ? 0 : 3;
            this.stride = layout == Layout.DENSE ? cols : cols + 5;
            int length = (int) (offset + rows * stride);
            float[] storage = new float[length];
            Arrays.fill(storage, Float.NaN); // padding that must never be read
            for (int r = 0; r < rows; r++) System.arraycopy(dense, r * cols, storage, (int) (offset + r * stride), cols);
            switch (layout) {
                case DENSE, STRIDED_WITH_OFFSET -> {
                    array = storage;
                    segment = null;
                    view = Matrix.of(storage, offset, rows, cols, stride);
                }
                case HEAP_SEGMENT -> {
                    array = null;
                    segment = MemorySegment.ofArray(storage);
                    view = Matrix.of(segment, ElementType.FLOAT32, offset, rows, cols, stride);
                }
                case NATIVE_SEGMENT -> {
                    array = null;
                    segment = arena.allocate(length * 4L, 4);
                    MemorySegment.copy(storage, 0, segment, ValueLayout.JAVA_FLOAT, 0, length);
                    view = Matrix.of(segment, ElementType.FLOAT32, offset, rows, cols, stride);
                }
                default -> throw new AssertionError(layout);
            }
        }

        float[] dense() {
            float[] out = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) out[r * cols + c] = view.getFloat(r, c);
            }
            return out;
        }
    }

    @TestFactory
    Stream<DynamicTest> stridedOffsetAndSegmentViewsGiveTheDenseResults() {
        return cases("stridedOffsetAndSegmentViewsGiveTheDenseResults", 200, 1, 5, 50).stream().map(InvariantTest::layoutCase);
    }

    private static DynamicTest layoutCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        float[] probs = in.probabilities(rows, cols);
        int[] targets = in.targets(rows, cols);
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).reduction(Reduction.NONE);
        return dynamicTest(c + ", " + o, () -> checkLayouts(c, logits, probs, targets, o));
    }

    private static void checkLayouts(Case c, float[] logits, float[] probs, int[] targets, CrossEntropyOptions o) {
        int rows = c.rows();
        int cols = c.cols();
        float[] zeros = new float[rows * cols];
        try (Arena arena = Arena.ofConfined()) {
            List<float[]> reference = null;
            for (Layout layout : Layout.values()) {
                Placed x = new Placed(layout, arena, logits, rows, cols);
                Placed q = new Placed(layout, arena, probs, rows, cols);
                Placed gradient = new Placed(layout, arena, zeros, rows, cols);
                Placed losses = new Placed(layout, arena, new float[rows], 1, rows);
                Placed klGradient = new Placed(layout, arena, zeros, rows, cols);
                Placed bceGradient = new Placed(layout, arena, zeros, rows, cols);
                double ce = ENGINE.crossEntropy(x.view, Matrix.vector(targets), o, LossOutputs.withGradient(gradient.view).losses(losses.view));
                double kl = ENGINE.klDiv(x.view, q.view, new KlDivOptions(Reduction.BATCHMEAN, false), LossOutputs.withGradient(klGradient.view));
                double bce = ENGINE.bceWithLogits(x.view, q.view, null, new PointwiseLoss.BceWithLogits(Reduction.MEAN), LossOutputs.withGradient(bceGradient.view));
                double sum = ENGINE.reduce(ReduceOp.SUM, x.view);
                float[] rowMax = new float[rows];
                ENGINE.reduceRows(ReduceOp.LOGSUMEXP, x.view, Matrix.vector(rowMax));
                List<float[]> results = List.of(new float[] {(float) ce, (float) kl, (float) bce, (float) sum}, gradient.dense(),
                        losses.dense(), klGradient.dense(), bceGradient.dense(), rowMax);
                if (reference == null) {
                    reference = results;
                } else {
                    for (int i = 0; i < results.size(); i++) {
                        assertArrayEquals(reference.get(i), results.get(i), layout + " vs DENSE, " + c + ": result " + i
                                + " of [values, CE gradient, CE losses, KL gradient, BCE gradient, row logsumexp]");
                    }
                }
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> inPlaceGradientEqualsTheSeparateGradient() {
        return cases("inPlaceGradientEqualsTheSeparateGradient", 200, 1, 5, 50).stream().map(InvariantTest::inPlaceCase);
    }

    private static DynamicTest inPlaceCase(Case c) {
        int rows = c.rows();
        int cols = c.cols();
        RandomInputs in = c.inputs();
        float[] logits = in.gaussian(rows * cols, 3);
        float[] other = in.uniform(rows * cols, 0, 1);
        int[] targets = in.targets(rows, cols);
        CrossEntropyOptions ce = CrossEntropyOptions.defaults().classWeights(in.uniform(cols, 0.5, 2)).labelSmoothing(0.1).zLoss(1e-3).softcap(8);
        return dynamicTest(c + ", " + ce, () -> checkInPlace(c, logits, other, targets, ce));
    }

    private static void checkInPlace(Case c, float[] logits, float[] other, int[] targets, CrossEntropyOptions ce) {
        int rows = c.rows();
        int cols = c.cols();
        record Op(String name, InPlaceCall call) {}
        List<Op> ops = List.of(
                new Op("crossEntropy", (x, out) -> ENGINE.crossEntropy(x, Matrix.vector(targets), ce, out)),
                new Op("crossEntropyProbs", (x, out) -> ENGINE.crossEntropyProbs(x, Matrix.of(other, rows, cols), ce, out)),
                new Op("nll", (x, out) -> ENGINE.nll(x, Matrix.vector(targets), NllOptions.of(Reduction.MEAN), out)),
                new Op("softmaxFocal", (x, out) -> ENGINE.softmaxFocal(x, Matrix.vector(targets), new SoftmaxFocalOptions(Reduction.MEAN, null, 2), out)),
                new Op("multiMargin", (x, out) -> ENGINE.multiMargin(x, Matrix.vector(targets), new MultiMarginOptions(Reduction.MEAN, 2, 1, null), out)),
                new Op("klDiv", (x, out) -> ENGINE.klDiv(x, Matrix.of(other, rows, cols), new KlDivOptions(Reduction.BATCHMEAN, false), out)),
                new Op("dice", (x, out) -> ENGINE.dice(x, Matrix.of(other, rows, cols), new DiceOptions(Reduction.MEAN, 1), out)),
                new Op("bceWithLogits", (x, out) -> ENGINE.pointwise(new PointwiseLoss.BceWithLogits(Reduction.SUM), x, Matrix.of(other, rows, cols), null, out)),
                new Op("huber", (x, out) -> ENGINE.pointwise(new PointwiseLoss.Huber(Reduction.MEAN, 1), x, Matrix.of(other, rows, cols), null, out)));
        for (Op op : ops) {
            float[] separate = new float[rows * cols];
            double expected = op.call().run(Matrix.of(logits, rows, cols), LossOutputs.withGradient(Matrix.of(separate, rows, cols)));
            float[] overwritten = logits.clone();
            double actual = op.call().run(Matrix.of(overwritten, rows, cols), LossOutputs.none().gradientInPlace());
            String what = op.name() + " with the gradient in place, " + c + " " + ce;
            assertEquals(expected, actual, what + ": returned value");
            assertArrayEquals(separate, overwritten, what + ": gradient");
        }
    }

    @FunctionalInterface
    interface InPlaceCall {
        double run(Matrix input, LossOutputs outputs);
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }
}
