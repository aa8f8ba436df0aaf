package org.losskit.testing;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntFunction;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.ElementType;
import org.losskit.ErrorBound;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.Penalty;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs every op of the catalogue on the engine under test and on the reference backend, with the same inputs,
 * and compares the returned values, gradients, per-row or per-element losses and diagnostics within the op's
 * bound ({@link #bound(Op)}, by default {@link Op#float32Bound()}).
 *
 * <p>Widths hit every tail of a vector loop: 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, L-1, L, L+1, 2L+1, 207, 702,
 * 4098, 32000 and 128256 columns, L = {@link #lanes()}; rows 1, 2, 5 and 64 where the width allows (widths from
 * 500 up get fewer rows, so the whole base stays fast on the reference). Data are random with a seed derived from the case, and
 * include edge rows: -inf masked entries, a row of only -inf, +-1e30, subnormals, NaN, ignored rows and all rows
 * ignored. A failure names the op, shape, options, index and both values.
 *
 * <p>A backend module subclasses this with {@link #engineUnderTest()} built with
 * {@code fallbackToReference(false)}, so that nothing silently runs on the reference. A backend that does not
 * implement every op names the ones it does in {@link #opsUnderTest()}; the tests of the others are skipped, each
 * with a message naming the op.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DifferentialTestBase {
    private static final Reduction[] REDUCTIONS = {Reduction.NONE, Reduction.MEAN, Reduction.SUM};

    private LossEngine underTest;
    private LossEngine reference;

    /** The engine to test, built with {@code fallbackToReference(false)}; called once per test class. */
    protected abstract LossEngine engineUnderTest();

    /** The bound the engine under test documents for {@code op}. */
    protected ErrorBound bound(Op op) {
        return op.float32Bound();
    }

    /**
     * The ops the engine under test implements (default: every op). A test that needs another op is skipped
     * (reported as skipped, with the op), never run on a fallback.
     */
    protected Set<Op> opsUnderTest() {
        return EnumSet.allOf(Op.class);
    }

    /** Skips the calling test unless the engine under test implements every one of {@code ops}. */
    private void assumeImplemented(Op... ops) {
        for (Op op : ops) {
            assumeTrue(opsUnderTest().contains(op), () -> underTest + " does not implement " + op + ": skipped");
        }
    }

    /** Float lanes of the backend's preferred vector species; the CPU backend overrides this. */
    protected int lanes() {
        return 16;
    }

    /** The widths every op runs at. */
    protected List<Integer> columnCounts() {
        int l = lanes();
        TreeSet<Integer> widths = new TreeSet<>(List.of(1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 207, 702, 4098, 32000, 128256));
        for (int w : new int[] {l - 1, l, l + 1, 2 * l + 1}) if (w >= 1) widths.add(w);
        return List.copyOf(widths);
    }

    /** The row counts tried at a width: few rows for big widths. */
    protected List<Integer> rowCounts(int cols) {
        if (cols >= 100_000) return List.of(1);
        if (cols >= 30_000) return List.of(2);
        if (cols >= 4_000) return List.of(1, 5);
        if (cols >= 500) return List.of(1, 2, 5);
        return List.of(1, 2, 5, 64);
    }

    @BeforeAll
    final void openEngines() {
        underTest = engineUnderTest();
        reference = LossEngine.builder().backend("reference").build();
    }

    @AfterAll
    final void closeEngines() {
        if (underTest != null) underTest.close();
        if (reference != null) reference.close();
    }

    /** The engine under test, open for the life of the test class. */
    protected final LossEngine underTest() {
        return underTest;
    }

    // ==================================================================================== softmax cross-entropy

    @Test
    @DisplayName("crossEntropy: every combination of weights, ignore, smoothing, z-loss, softcap and reduction at every size")
    void crossEntropyEveryOptionCombination() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("ce", rows, cols));
                float[] logits = in.gaussian(rows * cols, 4);
                int[] targets = in.targets(rows, cols);
                int[] someIgnored = targets.clone();
                for (int r = 1; r < rows; r += 3) someIgnored[r] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
                float[] weights = in.uniform(cols, 0.25, 2);
                for (CrossEntropyOptions o : crossEntropyOptionCombinations(weights)) {
                    for (int[] t : List.of(targets, someIgnored)) {
                        String where = "crossEntropy " + rows + "x" + cols + (t == someIgnored ? " with ignored rows " : " ") + o;
                        compare(d, where, Op.CROSS_ENTROPY, rows, cols, rows, true,
                                (e, out) -> e.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(t), o, out));
                    }
                }
            }
        }
        d.assertNone("crossEntropy vs reference, every option combination");
    }

    @Test
    @DisplayName("crossEntropy: an ignore index inside [0, classes) ignores that class's rows")
    void crossEntropyIgnoreIndexInsideTheClassRange() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            if (cols < 2) continue;
            int rows = 5;
            RandomInputs in = new RandomInputs(RandomInputs.seed("ce-ignore-in-range", cols));
            float[] logits = in.gaussian(rows * cols, 3);
            int[] targets = {1, 0, 1, cols - 1, 0};
            for (Reduction reduction : REDUCTIONS) {
                CrossEntropyOptions o = CrossEntropyOptions.defaults().ignoreIndex(1).reduction(reduction);
                compare(d, "crossEntropy " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY, rows, cols, rows, true,
                        (e, out) -> e.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(targets), o, out));
            }
        }
        d.assertNone("crossEntropy vs reference, ignore index inside the class range");
    }

    @Test
    @DisplayName("crossEntropyProbs: every combination of weights, smoothing, z-loss, softcap and reduction at every size")
    void crossEntropyProbsEveryOptionCombination() {
        assumeImplemented(Op.CROSS_ENTROPY_PROBS);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("ce-probs", rows, cols));
                float[] logits = in.gaussian(rows * cols, 4);
                float[] q = in.probabilities(rows, cols);
                float[] weights = in.uniform(cols, 0.25, 2);
                for (CrossEntropyOptions o : crossEntropyOptionCombinations(weights)) {
                    compare(d, "crossEntropyProbs " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY_PROBS, rows, cols, rows, true,
                            (e, out) -> e.crossEntropyProbs(Matrix.of(logits, rows, cols), Matrix.of(q, rows, cols), o, out));
                }
            }
        }
        d.assertNone("crossEntropyProbs vs reference, every option combination");
    }

    @Test
    @DisplayName("crossEntropy: bf16 and fp16 logits at every size")
    void crossEntropyHalfPrecisionLogits() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("ce-half", rows, cols));
                float[] logits = in.gaussian(rows * cols, 4);
                int[] targets = in.targets(rows, cols);
                float[] weights = in.uniform(cols, 0.25, 2);
                for (ElementType type : List.of(ElementType.BFLOAT16, ElementType.FLOAT16)) {
                    short[] half = toHalf(type, logits);
                    for (CrossEntropyOptions o : List.of(CrossEntropyOptions.defaults(), allCrossEntropyOptions(weights))) {
                        compare(d, "crossEntropy " + type + " " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY, rows, cols, rows, true,
                                (e, out) -> e.crossEntropy(Matrix.ofHalf(type, half, 0, rows, cols, cols), Matrix.vector(targets), o, out));
                    }
                }
            }
        }
        d.assertNone("crossEntropy vs reference, half-precision logits");
    }

    @Test
    @DisplayName("crossEntropy and crossEntropyProbs: the in-place gradient equals the reference's separate gradient")
    void crossEntropyGradientInPlace() {
        assumeImplemented(Op.CROSS_ENTROPY, Op.CROSS_ENTROPY_PROBS);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("ce-in-place", rows, cols));
                float[] logits = in.gaussian(rows * cols, 4);
                int[] targets = in.targets(rows, cols);
                float[] q = in.probabilities(rows, cols);
                float[] weights = in.uniform(cols, 0.25, 2);
                for (CrossEntropyOptions o : List.of(CrossEntropyOptions.defaults(), allCrossEntropyOptions(weights))) {
                    compareInPlace(d, "crossEntropy in place " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY, logits, rows, cols,
                            (e, x, out) -> e.crossEntropy(x, Matrix.vector(targets), o, out));
                    compareInPlace(d, "crossEntropyProbs in place " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY_PROBS, logits, rows, cols,
                            (e, x, out) -> e.crossEntropyProbs(x, Matrix.of(q, rows, cols), o, out));
                }
            }
        }
        d.assertNone("gradient in place vs reference");
    }

    @Test
    @DisplayName("crossEntropy: strided views with an offset, heap and native memory segments")
    void crossEntropyOnStridedAndSegmentViews() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            int rows = cols >= 30_000 ? 2 : 5;
            RandomInputs in = new RandomInputs(RandomInputs.seed("ce-views", rows, cols));
            long stride = cols + 3;
            long offset = 5;
            float[] padded = in.gaussian((int) (offset + rows * stride), 4);
            int[] targets = in.targets(rows, cols);
            CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).reduction(Reduction.SUM);
            compare(d, "crossEntropy strided " + rows + "x" + cols + " offset " + offset + " stride " + stride, Op.CROSS_ENTROPY, rows, cols, rows, true,
                    (e, out) -> e.crossEntropy(Matrix.of(padded, offset, rows, cols, stride), Matrix.vector(targets), o, out));
            MemorySegment heap = MemorySegment.ofArray(padded.clone());
            compare(d, "crossEntropy heap segment " + rows + "x" + cols, Op.CROSS_ENTROPY, rows, cols, rows, true,
                    (e, out) -> e.crossEntropy(Matrix.of(heap, ElementType.FLOAT32, offset, rows, cols, stride), Matrix.vector(targets), o, out));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment nativeLogits = arena.allocate(padded.length * 4L + 2); // +2: an odd base offset tests unaligned reads
                MemorySegment unaligned = nativeLogits.asSlice(2, padded.length * 4L);
                MemorySegment.copy(padded, 0, unaligned, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, padded.length);
                compare(d, "crossEntropy native unaligned segment " + rows + "x" + cols, Op.CROSS_ENTROPY, rows, cols, rows, true,
                        (e, out) -> e.crossEntropy(Matrix.of(unaligned, ElementType.FLOAT32, offset, rows, cols, stride), Matrix.vector(targets), o, out));
            }
        }
        d.assertNone("crossEntropy on strided and segment views vs reference");
    }

    @Test
    @DisplayName("crossEntropy: edge rows (-inf masks, all -inf, +-1e30, subnormals, NaN, ignored) and all rows ignored")
    void crossEntropyEdgeRows() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            int rows = 7;
            RandomInputs in = new RandomInputs(RandomInputs.seed("ce-edge", cols));
            float[] logits = in.gaussian(rows * cols, 3);
            int[] targets = in.targets(rows, cols);
            for (int c = 0; c < cols; c++) {
                if (c != targets[0] && in.nextInt(2) == 0) logits[c] = Float.NEGATIVE_INFINITY; // row 0: masked vocabulary
                logits[cols + c] = Float.NEGATIVE_INFINITY; // row 1: only -inf
                logits[2 * cols + c] = in.nextInt(2) == 0 ? 1e30f : -1e30f; // row 2: huge spread
                logits[3 * cols + c] *= 1e-40f; // row 3: subnormal logits
            }
            logits[4 * cols + in.nextInt(cols)] = Float.NaN; // row 4: NaN propagates to its loss and gradient
            targets[5] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX; // row 5: ignored; row 6: ordinary
            int[] allIgnored = new int[rows];
            Arrays.fill(allIgnored, CrossEntropyOptions.DEFAULT_IGNORE_INDEX);
            float[] weights = in.uniform(cols, 0.25, 2);
            // Every option combination up to 4098 columns; beyond, plain and all options, each reduction.
            List<CrossEntropyOptions> combinations = cols <= 4098 ? crossEntropyOptionCombinations(weights)
                    : Arrays.stream(REDUCTIONS).flatMap(r -> java.util.stream.Stream.of(CrossEntropyOptions.defaults().reduction(r),
                            allCrossEntropyOptions(weights).reduction(r))).toList();
            for (CrossEntropyOptions o : combinations) {
                compare(d, "crossEntropy edge rows " + rows + "x" + cols + " " + o, Op.CROSS_ENTROPY, rows, cols, rows, true,
                        (e, out) -> e.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(targets), o, out));
                for (boolean zero : new boolean[] {false, true}) {
                    CrossEntropyOptions all = o.allIgnoredMeanIsZero(zero);
                    compare(d, "crossEntropy all rows ignored " + rows + "x" + cols + " " + all, Op.CROSS_ENTROPY, rows, cols, rows, true,
                            (e, out) -> e.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(allIgnored), all, out));
                }
            }
        }
        d.assertNone("crossEntropy edge rows vs reference");
    }

    @Test
    @DisplayName("perplexity at every size")
    void perplexity() {
        assumeImplemented(Op.CROSS_ENTROPY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("perplexity", rows, cols));
                Matrix logits = Matrix.of(in.gaussian(rows * cols, 2), rows, cols);
                Matrix targets = Matrix.vector(in.targets(rows, cols));
                CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.05);
                d.loss("perplexity " + rows + "x" + cols, bound(Op.CROSS_ENTROPY), underTest.perplexity(logits, targets, o),
                        reference.perplexity(logits, targets, o));
            }
        }
        d.assertNone("perplexity vs reference");
    }

    // ==================================================================================== other row losses

    @Test
    @DisplayName("nll: weights x ignore x reduction at every size")
    void nll() {
        assumeImplemented(Op.NLL);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("nll", rows, cols));
                float[] logProbs = in.uniform(rows * cols, -12, 0);
                int[] targets = in.targets(rows, cols);
                targets[rows / 2] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
                float[] weights = in.uniform(cols, 0.25, 2);
                for (float[] w : Arrays.asList(null, weights)) {
                    for (Reduction reduction : REDUCTIONS) {
                        NllOptions o = new NllOptions(reduction, w == null ? null : Matrix.vector(w), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
                        compare(d, "nll " + rows + "x" + cols + " " + o, Op.NLL, rows, cols, rows, false,
                                (e, out) -> e.nll(Matrix.of(logProbs, rows, cols), Matrix.vector(targets), o, out));
                    }
                }
            }
        }
        d.assertNone("nll vs reference");
    }

    @Test
    @DisplayName("softmaxFocal: gamma x alpha x reduction at every size")
    void softmaxFocal() {
        assumeImplemented(Op.SOFTMAX_FOCAL);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("softmax-focal", rows, cols));
                float[] logits = in.gaussian(rows * cols, 3);
                int[] targets = in.targets(rows, cols);
                float[] alpha = in.uniform(cols, 0.1, 1);
                for (double gamma : new double[] {0, 0.5, 2}) {
                    for (float[] a : Arrays.asList(null, alpha)) {
                        for (Reduction reduction : REDUCTIONS) {
                            SoftmaxFocalOptions o = new SoftmaxFocalOptions(reduction, a == null ? null : Matrix.vector(a), gamma);
                            compare(d, "softmaxFocal " + rows + "x" + cols + " " + o, Op.SOFTMAX_FOCAL, rows, cols, rows, false,
                                    (e, out) -> e.softmaxFocal(Matrix.of(logits, rows, cols), Matrix.vector(targets), o, out));
                        }
                    }
                }
            }
        }
        d.assertNone("softmaxFocal vs reference");
    }

    @Test
    @DisplayName("multiMargin: p x margin x weights x reduction at every size")
    void multiMargin() {
        assumeImplemented(Op.MULTI_MARGIN);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("multi-margin", rows, cols));
                float[] x = onGrid(in.uniform(rows * cols, -2, 2));
                int[] targets = in.targets(rows, cols);
                float[] weights = in.uniform(cols, 0.25, 2);
                for (int p : new int[] {1, 2}) {
                    for (double margin : new double[] {1, 0.5}) {
                        for (float[] w : Arrays.asList(null, weights)) {
                            for (Reduction reduction : REDUCTIONS) {
                                MultiMarginOptions o = new MultiMarginOptions(reduction, p, margin, w == null ? null : Matrix.vector(w));
                                compare(d, "multiMargin " + rows + "x" + cols + " " + o, Op.MULTI_MARGIN, rows, cols, rows, false,
                                        (e, out) -> e.multiMargin(Matrix.of(x, rows, cols), Matrix.vector(targets), o, out));
                            }
                        }
                    }
                }
            }
        }
        d.assertNone("multiMargin vs reference");
    }

    @Test
    @DisplayName("klDiv: logTarget x reduction (with batchmean) at every size")
    void klDiv() {
        assumeImplemented(Op.KL_DIV);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("kl", rows, cols));
                float[] input = in.uniform(rows * cols, -8, 0);
                float[] probs = in.probabilities(rows, cols);
                for (int i = 0; i < probs.length; i += 7) probs[i] = 0; // 0 log 0 = 0
                float[] logProbs = in.uniform(rows * cols, -8, 0);
                for (boolean logTarget : new boolean[] {false, true}) {
                    float[] target = logTarget ? logProbs : probs;
                    for (Reduction reduction : Reduction.values()) {
                        KlDivOptions o = new KlDivOptions(reduction, logTarget);
                        compare(d, "klDiv " + rows + "x" + cols + " " + o, Op.KL_DIV, rows, cols, rows * cols, false,
                                (e, out) -> e.klDiv(Matrix.of(input, rows, cols), Matrix.of(target, rows, cols), o, out));
                    }
                }
            }
        }
        d.assertNone("klDiv vs reference");
    }

    @Test
    @DisplayName("dice: smooth x reduction at every size")
    void dice() {
        assumeImplemented(Op.DICE);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("dice", rows, cols));
                float[] logits = in.gaussian(rows * cols, 3);
                float[] target = in.uniform(rows * cols, 0, 1);
                for (double smooth : new double[] {1, 1e-6}) {
                    for (Reduction reduction : REDUCTIONS) {
                        DiceOptions o = new DiceOptions(reduction, smooth);
                        compare(d, "dice " + rows + "x" + cols + " " + o, Op.DICE, rows, cols, rows, false,
                                (e, out) -> e.dice(Matrix.of(logits, rows, cols), Matrix.of(target, rows, cols), o, out));
                    }
                }
            }
        }
        d.assertNone("dice vs reference");
    }

    // ==================================================================================== element losses

    @Test
    @DisplayName("every element loss, with and without per-element weights, every reduction, at every size")
    void elementLosses() {
        assumeImplemented(Op.MSE, Op.L1, Op.SMOOTH_L1, Op.HUBER, Op.LOG_COSH, Op.QUANTILE, Op.HINGE, Op.SQUARED_HINGE,
                Op.POISSON_NLL, Op.BCE_WITH_LOGITS, Op.SIGMOID_FOCAL);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                int n = rows * cols;
                RandomInputs in = new RandomInputs(RandomInputs.seed("pointwise", rows, cols));
                // Inputs and targets on a 1/256 grid: x - t, 1 - t x and the kinks are exact in float, so the
                // branch every backend takes is the reference's.
                float[] x = onGrid(in.uniform(n, -4, 4));
                float[] t = onGrid(in.uniform(n, -4, 4));
                float[] labels = in.signs(n);
                float[] soft = in.uniform(n, 0, 1);
                float[] positive = in.uniform(n, 0.01, 5);
                float[] counts = onGrid(in.uniform(n, 0, 6));
                float[] weight = in.uniform(n, 0.25, 2);
                float[] posWeight = in.uniform(cols, 0.5, 3);
                for (Reduction reduction : REDUCTIONS) {
                    record Case(PointwiseLoss loss, float[] input, float[] target) {}
                    List<Case> cases = List.of(
                            new Case(new PointwiseLoss.Mse(reduction), x, t),
                            new Case(new PointwiseLoss.L1(reduction), x, t),
                            new Case(new PointwiseLoss.SmoothL1(reduction, 1), x, t),
                            new Case(new PointwiseLoss.SmoothL1(reduction, 0.5), x, t),
                            new Case(new PointwiseLoss.SmoothL1(reduction, 0), x, t),
                            new Case(new PointwiseLoss.Huber(reduction, 1), x, t),
                            new Case(new PointwiseLoss.Huber(reduction, 2.5), x, t),
                            new Case(new PointwiseLoss.LogCosh(reduction), x, t),
                            new Case(new PointwiseLoss.Quantile(reduction, 0.1), x, t),
                            new Case(new PointwiseLoss.Quantile(reduction, 0.5), x, t),
                            new Case(new PointwiseLoss.Quantile(reduction, 0.9), x, t),
                            new Case(new PointwiseLoss.Hinge(reduction), x, labels),
                            new Case(new PointwiseLoss.SquaredHinge(reduction), x, labels),
                            new Case(new PointwiseLoss.PoissonNll(reduction, true, false, PointwiseLoss.PoissonNll.DEFAULT_EPS), x, counts),
                            new Case(new PointwiseLoss.PoissonNll(reduction, true, true, PointwiseLoss.PoissonNll.DEFAULT_EPS), x, counts),
                            new Case(new PointwiseLoss.PoissonNll(reduction, false, true, PointwiseLoss.PoissonNll.DEFAULT_EPS), positive, counts),
                            new Case(new PointwiseLoss.BceWithLogits(reduction), x, soft),
                            new Case(new PointwiseLoss.BceWithLogits(reduction, Matrix.vector(posWeight)), x, soft),
                            new Case(new PointwiseLoss.SigmoidFocal(reduction, 0.25, 2), x, soft),
                            new Case(new PointwiseLoss.SigmoidFocal(reduction, -1, 0), x, soft),
                            new Case(new PointwiseLoss.SigmoidFocal(reduction, 0.5, 1.5), x, soft));
                    for (Case c : cases) {
                        // Per-element weights scale loss and gradient alike: tried with one reduction.
                        for (float[] w : reduction == Reduction.MEAN ? Arrays.asList(null, weight) : Arrays.<float[]>asList((float[]) null)) {
                            compare(d, c.loss() + " " + rows + "x" + cols + (w == null ? "" : " weighted"), c.loss().op(), rows, cols, n, false,
                                    (e, out) -> e.pointwise(c.loss(), Matrix.of(c.input(), rows, cols), Matrix.of(c.target(), rows, cols),
                                            w == null ? null : Matrix.of(w, rows, cols), out));
                        }
                    }
                }
            }
        }
        d.assertNone("element losses vs reference");
    }

    @Test
    @DisplayName("gaussianNll: full x reduction at every size, variances below eps included")
    void gaussianNll() {
        assumeImplemented(Op.GAUSSIAN_NLL);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                int n = rows * cols;
                RandomInputs in = new RandomInputs(RandomInputs.seed("gaussian-nll", rows, cols));
                float[] x = in.gaussian(n, 2);
                float[] t = in.gaussian(n, 2);
                float[] variance = in.uniform(n, 1e-7, 3);
                for (boolean full : new boolean[] {false, true}) {
                    for (Reduction reduction : REDUCTIONS) {
                        GaussianNllOptions o = new GaussianNllOptions(reduction, full, GaussianNllOptions.DEFAULT_EPS);
                        compare(d, "gaussianNll " + rows + "x" + cols + " " + o, Op.GAUSSIAN_NLL, rows, cols, n, false,
                                (e, out) -> e.gaussianNll(Matrix.of(x, rows, cols), Matrix.of(t, rows, cols), Matrix.of(variance, rows, cols), o, out));
                    }
                }
            }
        }
        d.assertNone("gaussianNll vs reference");
    }

    @Test
    @DisplayName("penalties: L1, L2 and elastic net at every size")
    void penalties() {
        assumeImplemented(Op.PENALTY);
        Discrepancies d = new Discrepancies();
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("penalty", rows, cols));
                float[] w = in.gaussian(rows * cols, 1);
                w[0] = 0; // sign(0) = 0
                for (Penalty p : List.of(new Penalty.L1(0.01), new Penalty.L2(0.1), new Penalty.ElasticNet(0.05, 0.3))) {
                    compare(d, p + " " + rows + "x" + cols, Op.PENALTY, rows, cols, 0, false,
                            (e, out) -> e.penalty(p, Matrix.of(w, rows, cols), out.gradient()));
                }
            }
        }
        d.assertNone("penalties vs reference");
    }

    // ==================================================================================== reductions

    @Test
    @DisplayName("reductions: every ReduceOp whole-array and per row, argmax, dot at every size")
    void reductions() {
        assumeImplemented(Op.REDUCTION);
        Discrepancies d = new Discrepancies();
        ErrorBound bound = bound(Op.REDUCTION);
        for (int cols : columnCounts()) {
            for (int rows : rowCounts(cols)) {
                RandomInputs in = new RandomInputs(RandomInputs.seed("reductions", rows, cols));
                float[] x = in.gaussian(rows * cols, 3);
                float[] y = in.gaussian(rows * cols, 3);
                float[] withNaN = x.clone();
                withNaN[withNaN.length / 2] = Float.NaN;
                Matrix m = Matrix.of(x, rows, cols);
                String shape = rows + "x" + cols;
                for (ReduceOp op : ReduceOp.values()) {
                    double expected = reference.reduce(op, m);
                    double actual = underTest.reduce(op, m);
                    d.loss("reduce " + op + " " + shape, bound, actual, expected);
                    if (op == ReduceOp.MIN || op == ReduceOp.MAX) d.equal("reduce " + op + " " + shape + " is exact", actual, expected);
                    d.loss("reduce " + op + " with a NaN " + shape, bound, underTest.reduce(op, Matrix.of(withNaN, rows, cols)),
                            reference.reduce(op, Matrix.of(withNaN, rows, cols)));
                    float[] expectedRows = new float[rows];
                    float[] actualRows = new float[rows];
                    reference.reduceRows(op, m, Matrix.vector(expectedRows));
                    underTest.reduceRows(op, m, Matrix.vector(actualRows));
                    for (int r = 0; r < rows; r++) d.storedLoss("reduceRows " + op + " " + shape + " row " + r, bound, actualRows[r], expectedRows[r]);
                }
                // Compensated sums: for well-conditioned data the float32 rounding is the float nearest the exact sum.
                double exactSum = reference.reduce(ReduceOp.SUM, m);
                if (reference.reduce(ReduceOp.L1_NORM, m) <= 1e3 * Math.abs(exactSum)) {
                    d.equal("(float) reduce SUM " + shape, (float) underTest.reduce(ReduceOp.SUM, m), (float) exactSum);
                }
                d.equal("argmax " + shape, underTest.argmax(m), reference.argmax(m));
                d.equal("argmax with a NaN " + shape, underTest.argmax(Matrix.of(withNaN, rows, cols)), reference.argmax(Matrix.of(withNaN, rows, cols)));
                int[] expectedArgmax = new int[rows];
                int[] actualArgmax = new int[rows];
                reference.argmaxRows(m, Matrix.vector(expectedArgmax));
                underTest.argmaxRows(m, Matrix.vector(actualArgmax));
                d.equal("argmaxRows " + shape, Arrays.toString(actualArgmax), Arrays.toString(expectedArgmax));
                d.loss("dot " + shape, bound, underTest.dot(m, Matrix.of(y, rows, cols)), reference.dot(m, Matrix.of(y, rows, cols)));
            }
        }
        d.assertNone("reductions vs reference");
    }

    // ==================================================================================== concurrency

    @Test
    @DisplayName("16 threads sharing the engine get the same bits as one thread")
    void sameResultsAcrossThreads() throws InterruptedException {
        assumeImplemented(Op.CROSS_ENTROPY, Op.BCE_WITH_LOGITS, Op.REDUCTION); // ConcurrencyCheck's workloads
        ConcurrencyCheck.assertSameAcrossThreads(underTest, 16, 40);
    }

    // ==================================================================================== machinery

    /** One call of the public API on an engine, writing into the given outputs. */
    @FunctionalInterface
    protected interface Call {
        double run(LossEngine engine, LossOutputs outputs);
    }

    /** One call that takes its input view (so the in-place test can hand each engine its own copy). */
    @FunctionalInterface
    protected interface InputCall {
        double run(LossEngine engine, Matrix input, LossOutputs outputs);
    }

    /** What one call returned and wrote. */
    private record Result(double value, float[] gradient, float[] losses, float[] logSumExp, float[] maxLogit,
                          int[] argmax, float[] targetProbability, float[] entropy) {

        static Result of(LossEngine engine, int rows, int cols, long lossCount, boolean diagnostics, Call call) {
            float[] gradient = new float[rows * cols];
            float[] losses = new float[(int) lossCount];
            LossOutputs out = LossOutputs.withGradient(Matrix.of(gradient, rows, cols));
            if (lossCount > 0) out = out.losses(Matrix.vector(losses));
            float[] lse = null, max = null, p = null, h = null;
            int[] argmax = null;
            if (diagnostics) {
                out = out.logSumExp(Matrix.vector(lse = nanFilled(rows))).maxLogit(Matrix.vector(max = nanFilled(rows)))
                        .argmax(Matrix.vector(argmax = new int[rows])).targetProbability(Matrix.vector(p = nanFilled(rows)))
                        .entropy(Matrix.vector(h = nanFilled(rows)));
                Arrays.fill(argmax, Integer.MIN_VALUE);
            }
            double value = call.run(engine, out);
            return new Result(value, gradient, losses, lse, max, argmax, p, h);
        }
    }

    /** Runs {@code call} on the engine under test and on the reference and records every difference. */
    protected final void compare(Discrepancies d, String where, Op op, int rows, int cols, long lossCount, boolean diagnostics, Call call) {
        Result expected = Result.of(reference, rows, cols, lossCount, diagnostics, call);
        Result actual;
        try {
            actual = Result.of(underTest, rows, cols, lossCount, diagnostics, call);
        } catch (RuntimeException e) {
            d.add(where + ": threw " + e);
            return;
        }
        ErrorBound bound = bound(op);
        d.loss(where + ": returned value", bound, actual.value(), expected.value());
        d.gradient(where + ": gradient", bound, actual.gradient(), toDouble(expected.gradient()), cols);
        for (int i = 0; i < lossCount; i++) d.storedLoss(where + ": losses[" + i + "]", bound, actual.losses()[i], expected.losses()[i]);
        if (diagnostics) {
            for (int r = 0; r < rows; r++) {
                String row = "[" + r + "]";
                d.storedLoss(where + ": logSumExp" + row, bound, actual.logSumExp()[r], expected.logSumExp()[r]);
                d.equal(where + ": maxLogit" + row, actual.maxLogit()[r], expected.maxLogit()[r]);
                d.equal(where + ": argmax" + row, actual.argmax()[r], expected.argmax()[r]);
                d.storedLoss(where + ": targetProbability" + row, bound, actual.targetProbability()[r], expected.targetProbability()[r]);
                d.storedLoss(where + ": entropy" + row, bound, actual.entropy()[r], expected.entropy()[r]);
            }
        }
    }

    /**
     * The engine under test writes its gradient over a copy of {@code input}; the reference writes a separate
     * gradient from the untouched input. Both must agree, and so must the returned values.
     */
    protected final void compareInPlace(Discrepancies d, String where, Op op, float[] input, int rows, int cols, InputCall call) {
        float[] expectedGradient = new float[input.length];
        double expected = call.run(reference, Matrix.of(input, rows, cols), LossOutputs.withGradient(Matrix.of(expectedGradient, rows, cols)));
        float[] overwritten = input.clone();
        double actual;
        try {
            actual = call.run(underTest, Matrix.of(overwritten, rows, cols), LossOutputs.none().gradientInPlace());
        } catch (RuntimeException e) {
            d.add(where + ": threw " + e);
            return;
        }
        d.loss(where + ": returned value", bound(op), actual, expected);
        d.gradient(where + ": gradient written in place", bound(op), overwritten, toDouble(expectedGradient), cols);
    }

    /** Weights x ignore is varied by the caller's targets; this is every combination of the other options. */
    private static List<CrossEntropyOptions> crossEntropyOptionCombinations(float[] weights) {
        List<CrossEntropyOptions> all = new ArrayList<>();
        for (float[] w : Arrays.asList(null, weights)) {
            for (double smoothing : new double[] {0, 0.1}) {
                for (double zLoss : new double[] {0, 1e-4}) {
                    for (double softcap : new double[] {0, 15}) {
                        for (Reduction reduction : REDUCTIONS) {
                            all.add(CrossEntropyOptions.defaults().classWeights(w).labelSmoothing(smoothing).zLoss(zLoss)
                                    .softcap(softcap).reduction(reduction));
                        }
                    }
                }
            }
        }
        return all;
    }

    private static CrossEntropyOptions allCrossEntropyOptions(float[] weights) {
        return CrossEntropyOptions.defaults().classWeights(weights).labelSmoothing(0.1).zLoss(1e-4).softcap(15);
    }

    /** Rounds to multiples of 1/256, so sums and differences of a few such values are exact in float. */
    private static float[] onGrid(float[] x) {
        for (int i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 256f) / 256f;
        return x;
    }

    private static short[] toHalf(ElementType type, float[] x) {
        short[] half = new short[x.length];
        IntFunction<Short> convert = type == ElementType.BFLOAT16 ? i -> Matrix.floatToBfloat16(x[i]) : i -> Float.floatToFloat16(x[i]);
        for (int i = 0; i < x.length; i++) half[i] = convert.apply(i);
        return half;
    }

    private static float[] nanFilled(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }
}
