package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.ElementType;
import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.spi.BackendProbe;

/**
 * Every op the CUDA backend implements against the float64 reference, within the bounds of {@link Op}, at row
 * lengths that hit every kernel shape (warp per row, block per row, split rows) and every tail of the 128-bit
 * loads, with host and device-resident data. Skipped with "no CUDA device: ..." where the probe says CUDA is
 * unavailable. (When the shared DifferentialTestBase lands in the api test-jar, this becomes a subclass of it.)
 */
class CudaDifferentialTest {
    private static BackendProbe probe;
    private static LossEngine cuda;
    private static LossEngine reference;

    @BeforeAll
    static void open() {
        probe = new CudaProvider().probe();
        if (!probe.available()) {
            System.out.println("CudaDifferentialTest skipped: no CUDA device: " + probe.detail());
            return;
        }
        // Crossover 0: every host call runs on the GPU; no fallback: nothing silently runs elsewhere.
        cuda = LossEngine.builder().backend("cuda").cudaHostCrossoverElements(0).fallbackToReference(false).build();
        reference = LossEngine.builder().backend("reference").build();
        System.out.println("CudaDifferentialTest on " + cuda.backendDescription());
    }

    /** Each test is reported as skipped, with the reason, where there is no device. */
    @BeforeEach
    void requireDevice() {
        assumeTrue(probe.available(), "no CUDA device: " + probe.detail());
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        if (reference != null) reference.close();
    }

    /** (rows, cols): warp rows with every tail, the warp/block boundary, block rows, split rows, a vocabulary. */
    static Stream<Arguments> shapes() {
        int[][] shapes = {{1, 1}, {3, 7}, {5, 33}, {17, 1000}, {4, 1024}, {3, 1025}, {2, 4099}, {300, 4099},
                {1, 32000}, {2, 128256}, {1000, 3}};
        return Stream.of(shapes).map(s -> Arguments.of(s[0], s[1]));
    }

    static float[] randomFloats(Random random, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * scale);
        return x;
    }

    static int[] randomTargets(Random random, int rows, int classes, boolean someIgnored) {
        int[] t = new int[rows];
        for (int r = 0; r < rows; r++) t[r] = someIgnored && r % 3 == 1 ? CrossEntropyOptions.DEFAULT_IGNORE_INDEX : random.nextInt(classes);
        return t;
    }

    static List<CrossEntropyOptions> crossEntropyOptions(int classes, Random random) {
        float[] weights = new float[classes];
        for (int c = 0; c < classes; c++) weights[c] = 0.5f + random.nextFloat();
        CrossEntropyOptions d = CrossEntropyOptions.defaults();
        return List.of(d, d.reduction(Reduction.SUM), d.reduction(Reduction.NONE), d.classWeights(weights),
                d.labelSmoothing(0.1), d.zLoss(1e-4), d.softcap(30),
                d.classWeights(weights).labelSmoothing(0.2).zLoss(1e-3).softcap(15).reduction(Reduction.MEAN));
    }

    // ---------------------------------------------------------------------------------------------- comparisons

    static void assertLoss(String what, ErrorBound bound, double exact, double actual) {
        assertTrue(bound.lossWithin(actual, exact), what + ": cuda " + actual + " vs reference " + exact
                + " (" + bound.lossErrorFraction(actual, exact) + " of the bound)");
    }

    static void assertLosses(String what, ErrorBound bound, float[] exact, float[] actual) {
        for (int i = 0; i < exact.length; i++) assertLoss(what + "[" + i + "]", bound, exact[i], actual[i]);
    }

    static void assertGradient(String what, ErrorBound bound, float[] exact, float[] actual) {
        double maxAbs = 0;
        for (float e : exact) if (Float.isFinite(e)) maxAbs = Math.max(maxAbs, Math.abs(e));
        for (int i = 0; i < exact.length; i++) {
            double m = maxAbs;
            int at = i;
            assertTrue(bound.gradientWithin(actual[i], exact[i], m), () -> what + "[" + at + "]: cuda " + actual[at]
                    + " vs reference " + exact[at] + " (" + bound.gradientErrorFraction(actual[at], exact[at], m) + " of the bound)");
        }
    }

    /** Everything a cross-entropy call writes. */
    record CeResult(double loss, float[] grad, float[] losses, float[] lse, float[] max, int[] argmax, float[] targetP, float[] entropy) {
        static CeResult run(LossEngine engine, Matrix logits, Matrix targets, boolean probs, CrossEntropyOptions o) {
            int rows = logits.rows();
            float[] grad = new float[rows * logits.cols()];
            float[] losses = new float[rows];
            float[] lse = new float[rows];
            float[] max = new float[rows];
            int[] argmax = new int[rows];
            float[] targetP = new float[rows];
            float[] entropy = new float[rows];
            LossOutputs out = LossOutputs.withGradient(Matrix.of(grad, rows, logits.cols())).losses(Matrix.vector(losses))
                    .logSumExp(Matrix.vector(lse)).maxLogit(Matrix.vector(max)).argmax(Matrix.vector(argmax))
                    .targetProbability(Matrix.vector(targetP)).entropy(Matrix.vector(entropy));
            double loss = probs ? engine.crossEntropyProbs(logits, targets, o, out) : engine.crossEntropy(logits, targets, o, out);
            return new CeResult(loss, grad, losses, lse, max, argmax, targetP, entropy);
        }

        void assertMatches(String what, CeResult exact, Op op) {
            ErrorBound b = op.float32Bound();
            assertLoss(what + " loss", b, exact.loss, loss);
            assertGradient(what + " gradient", b, exact.grad, grad);
            assertLosses(what + " losses", b, exact.losses, losses);
            assertLosses(what + " lse", b, exact.lse, lse);
            assertArrayEquals(exact.max, max, what + " maxLogit");
            assertArrayEquals(exact.argmax, argmax, what + " argmax");
            assertLosses(what + " targetProbability", b, exact.targetP, targetP);
            assertLosses(what + " entropy", b, exact.entropy, entropy);
        }
    }

    // ---------------------------------------------------------------------------------------------- cross-entropy

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("shapes")
    void crossEntropyMatchesReference(int rows, int cols) {
        Random random = new Random(31L * rows + cols);
        Matrix logits = Matrix.of(randomFloats(random, rows * cols, 3), rows, cols);
        Matrix targets = Matrix.vector(randomTargets(random, rows, cols, rows > 2));
        for (CrossEntropyOptions o : crossEntropyOptions(cols, random)) {
            CeResult exact = CeResult.run(reference, logits, targets, false, o);
            CeResult.run(cuda, logits, targets, false, o).assertMatches(rows + "x" + cols + " " + o, exact, Op.CROSS_ENTROPY);
        }
    }

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("shapes")
    void crossEntropyProbsMatchesReference(int rows, int cols) {
        Random random = new Random(17L * rows + cols);
        Matrix logits = Matrix.of(randomFloats(random, rows * cols, 3), rows, cols);
        float[] q = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += q[r * cols + c] = random.nextFloat() < 0.3 ? 0 : random.nextFloat();
            for (int c = 0; c < cols; c++) q[r * cols + c] = sum == 0 ? 1f / cols : (float) (q[r * cols + c] / sum);
        }
        Matrix probs = Matrix.of(q, rows, cols);
        for (CrossEntropyOptions o : crossEntropyOptions(cols, random)) {
            CeResult exact = CeResult.run(reference, logits, probs, true, o);
            CeResult.run(cuda, logits, probs, true, o).assertMatches(rows + "x" + cols + " " + o, exact, Op.CROSS_ENTROPY_PROBS);
        }
    }

    @Test
    void maskedLogitsAndEdgeRows() {
        int rows = 4;
        int cols = 37;
        Random random = new Random(5);
        float[] x = randomFloats(random, rows * cols, 2);
        for (int c = 0; c < cols; c++) x[c] = Float.NEGATIVE_INFINITY; // row 0: all masked (NaN loss, as PyTorch)
        for (int c = 0; c < cols; c += 2) x[cols + c] = Float.NEGATIVE_INFINITY; // row 1: half masked
        x[2 * cols + 5] = Float.NaN; // row 2: NaN propagates
        x[3 * cols + 3] = 1e30f; // row 3: huge logit
        Matrix logits = Matrix.of(x, rows, cols);
        Matrix targets = Matrix.vector(new int[] {0, 1, 2, 3});
        CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(Reduction.NONE);
        CeResult exact = CeResult.run(reference, logits, targets, false, o);
        CeResult.run(cuda, logits, targets, false, o).assertMatches("edge rows", exact, Op.CROSS_ENTROPY);
    }

    @Test
    void allRowsIgnored() {
        Matrix logits = Matrix.of(new float[6], 2, 3);
        Matrix targets = Matrix.vector(new int[] {-100, -100});
        assertEquals(Double.NaN, cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults(), LossOutputs.none()));
        assertEquals(0.0, cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults().allIgnoredMeanIsZero(true), LossOutputs.none()));
    }

    @Test
    void inPlaceGradientEqualsTheSeparateOne() {
        for (int cols : new int[] {100, 5000, 128256}) {
            int rows = cols > 10000 ? 1 : 64; // 1 row of 128k takes the split shape
            Random random = new Random(cols);
            float[] x = randomFloats(random, rows * cols, 3);
            Matrix targets = Matrix.vector(randomTargets(random, rows, cols, false));
            float[] grad = new float[x.length];
            CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1);
            double separate = cuda.crossEntropy(Matrix.of(x, rows, cols), targets, o, LossOutputs.withGradient(Matrix.of(grad, rows, cols)));
            float[] inPlace = x.clone();
            double fused = cuda.crossEntropy(Matrix.of(inPlace, rows, cols), targets, o, LossOutputs.none().gradientInPlace());
            assertEquals(separate, fused, "loss, " + cols + " cols");
            assertArrayEquals(grad, inPlace, "in-place gradient, " + cols + " cols");
        }
    }

    @Test
    void halfPrecisionAndStridedLogits() {
        int rows = 7;
        int cols = 1500;
        long stride = 1504;
        Random random = new Random(3);
        short[] bf16 = new short[(int) (rows * stride)];
        short[] fp16 = new short[bf16.length];
        for (int i = 0; i < bf16.length; i++) {
            float v = (float) random.nextGaussian() * 2;
            bf16[i] = Matrix.floatToBfloat16(v);
            fp16[i] = Float.floatToFloat16(v);
        }
        Matrix targets = Matrix.vector(randomTargets(random, rows, cols, false));
        CrossEntropyOptions o = CrossEntropyOptions.defaults().zLoss(1e-4);
        for (Matrix logits : new Matrix[] {Matrix.ofHalf(ElementType.BFLOAT16, bf16, 1, rows, cols, stride),
                Matrix.ofHalf(ElementType.FLOAT16, fp16, 3, rows, cols, stride)}) {
            CeResult exact = CeResult.run(reference, logits, targets, false, o);
            CeResult.run(cuda, logits, targets, false, o).assertMatches(logits.toString(), exact, Op.CROSS_ENTROPY);
        }
    }

    @Test
    void resultsAreDeterministicAcrossCallsAndThreads() throws Exception {
        Random random = new Random(11);
        int rows = 64;
        int cols = 32000;
        Matrix logits = Matrix.of(randomFloats(random, rows * cols, 3), rows, cols);
        Matrix targets = Matrix.vector(randomTargets(random, rows, cols, true));
        double first = cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults(), LossOutputs.none());
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Double>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults(), LossOutputs.none())));
            }
            for (Future<Double> f : results) assertEquals(Double.doubleToRawLongBits(first), Double.doubleToRawLongBits(f.get()));
        }
    }

    // ---------------------------------------------------------------------------------------------- device memory

    @Test
    void deviceResidentCrossEntropyMatchesHost() {
        int rows = 33;
        int cols = 32000;
        Random random = new Random(8);
        float[] x = randomFloats(random, rows * cols, 3);
        int[] t = randomTargets(random, rows, cols, true);
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.05);
        CeResult exact = CeResult.run(reference, Matrix.of(x, rows, cols), Matrix.vector(t), false, o);
        try (DeviceBuffer logits = DeviceBuffer.allocate(4L * x.length);
             DeviceBuffer targets = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer grad = DeviceBuffer.allocate(4L * x.length);
             DeviceBuffer losses = DeviceBuffer.allocate(4L * rows)) {
            logits.copyFrom(x);
            targets.copyFrom(t);
            double loss = cuda.crossEntropy(logits.matrix(ElementType.FLOAT32, rows, cols), targets.matrix(ElementType.INT32, 1, rows), o,
                    LossOutputs.withGradient(grad.matrix(ElementType.FLOAT32, rows, cols)).losses(losses.matrix(ElementType.FLOAT32, 1, rows)));
            float[] g = new float[x.length];
            float[] l = new float[rows];
            grad.copyTo(g);
            losses.copyTo(l);
            ErrorBound b = Op.CROSS_ENTROPY.float32Bound();
            assertLoss("device loss", b, exact.loss(), loss);
            assertGradient("device gradient", b, exact.grad(), g);
            assertLosses("device losses", b, exact.losses(), l);
            // in place, on the device
            double inPlace = cuda.crossEntropy(logits.matrix(ElementType.FLOAT32, rows, cols), targets.matrix(ElementType.INT32, 1, rows), o,
                    LossOutputs.none().gradientInPlace());
            assertLoss("device in-place loss", b, exact.loss(), inPlace);
            logits.copyTo(g);
            assertGradient("device in-place gradient", b, exact.grad(), g);
        }
    }

    @Test
    void badDeviceTargetIsReportedWithItsRowAndValue() {
        int rows = 10;
        int cols = 50;
        int[] t = new int[rows];
        t[6] = 50; // out of range
        t[8] = -7; // also bad, but later
        float[] grad = new float[rows * cols];
        java.util.Arrays.fill(grad, 42f);
        try (DeviceBuffer logits = DeviceBuffer.allocate(4L * rows * cols);
             DeviceBuffer targets = DeviceBuffer.allocate(4L * rows);
             DeviceBuffer gradient = DeviceBuffer.allocate(4L * rows * cols)) {
            logits.copyFrom(new float[rows * cols]);
            targets.copyFrom(t);
            gradient.copyFrom(grad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.crossEntropy(
                    logits.matrix(ElementType.FLOAT32, rows, cols), targets.matrix(ElementType.INT32, 1, rows),
                    CrossEntropyOptions.defaults(), LossOutputs.withGradient(gradient.matrix(ElementType.FLOAT32, rows, cols))));
            assertTrue(e.getMessage().contains("targets[6] = 50"), e.getMessage());
            float[] after = new float[grad.length];
            gradient.copyTo(after);
            assertArrayEquals(grad, after, "a call with a bad target writes nothing");
        }
    }

    @Test
    void closedDeviceBufferIsRefused() {
        DeviceBuffer buffer = DeviceBuffer.allocate(64);
        Matrix x = buffer.matrix(ElementType.FLOAT32, 1, 16);
        buffer.close();
        assertThrows(IllegalArgumentException.class, () -> cuda.reduce(ReduceOp.SUM, x));
    }

    // ---------------------------------------------------------------------------------------------- element losses

    static List<PointwiseLoss> pointwiseLosses(int cols, Reduction reduction) {
        float[] posWeight = new float[cols];
        for (int c = 0; c < cols; c++) posWeight[c] = 0.5f + c % 3;
        return List.of(new PointwiseLoss.Mse(reduction), new PointwiseLoss.L1(reduction), new PointwiseLoss.SmoothL1(reduction, 0.5),
                new PointwiseLoss.SmoothL1(reduction, 0), new PointwiseLoss.Huber(reduction, 1.5), new PointwiseLoss.LogCosh(reduction),
                new PointwiseLoss.Quantile(reduction, 0.3), new PointwiseLoss.PoissonNll(reduction, true, true, 1e-8),
                new PointwiseLoss.PoissonNll(reduction, false, false, 1e-8), new PointwiseLoss.BceWithLogits(reduction),
                new PointwiseLoss.BceWithLogits(reduction, Matrix.vector(posWeight)), new PointwiseLoss.SigmoidFocal(reduction, 0.25, 2),
                new PointwiseLoss.SigmoidFocal(reduction, -1, 0));
    }

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("shapes")
    void pointwiseLossesMatchReference(int rows, int cols) {
        Random random = new Random(7L * rows + cols);
        int n = rows * cols;
        Matrix input = Matrix.of(randomFloats(random, n, 2), rows, cols);
        float[] t01 = new float[n];
        float[] tSign = new float[n];
        float[] counts = new float[n];
        for (int i = 0; i < n; i++) {
            t01[i] = random.nextFloat();
            tSign[i] = random.nextBoolean() ? 1 : -1;
            counts[i] = random.nextInt(5);
        }
        float[] positive = new float[n];
        for (int i = 0; i < n; i++) positive[i] = Math.abs(input.getFloat(i)) + 0.1f;
        Matrix weight = Matrix.of(randomFloats(random, n, 1), rows, cols);
        for (Reduction reduction : new Reduction[] {Reduction.MEAN, Reduction.SUM, Reduction.NONE}) {
            List<PointwiseLoss> losses = new ArrayList<>(pointwiseLosses(cols, reduction));
            losses.add(new PointwiseLoss.Hinge(reduction));
            losses.add(new PointwiseLoss.SquaredHinge(reduction));
            for (PointwiseLoss loss : losses) {
                Matrix target = switch (loss) {
                    case PointwiseLoss.Hinge h -> Matrix.of(tSign, rows, cols);
                    case PointwiseLoss.SquaredHinge h -> Matrix.of(tSign, rows, cols);
                    case PointwiseLoss.PoissonNll p -> Matrix.of(counts, rows, cols);
                    default -> Matrix.of(t01, rows, cols);
                };
                Matrix x = loss instanceof PointwiseLoss.PoissonNll p && !p.logInput() ? Matrix.of(positive, rows, cols) : input;
                for (Matrix w : new Matrix[] {null, weight}) {
                    float[] gExact = new float[n];
                    float[] lExact = new float[n];
                    float[] g = new float[n];
                    float[] l = new float[n];
                    double exact = reference.pointwise(loss, x, target, w,
                            LossOutputs.withGradient(Matrix.of(gExact, rows, cols)).losses(Matrix.vector(lExact)));
                    double actual = cuda.pointwise(loss, x, target, w, LossOutputs.withGradient(Matrix.of(g, rows, cols)).losses(Matrix.vector(l)));
                    String what = loss + (w == null ? "" : " weighted") + " " + rows + "x" + cols;
                    ErrorBound b = loss.op().float32Bound();
                    assertLoss(what, b, exact, actual);
                    assertGradient(what + " gradient", b, gExact, g);
                    assertLosses(what + " losses", b, lExact, l);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("shapes")
    void diceMatchesReference(int rows, int cols) {
        Random random = new Random(13L * rows + cols);
        int n = rows * cols;
        Matrix logits = Matrix.of(randomFloats(random, n, 2), rows, cols);
        float[] t = new float[n];
        for (int i = 0; i < n; i++) t[i] = random.nextBoolean() ? 1 : 0;
        Matrix target = Matrix.of(t, rows, cols);
        for (DiceOptions o : new DiceOptions[] {new DiceOptions(Reduction.MEAN, 1), new DiceOptions(Reduction.NONE, 0)}) {
            float[] gExact = new float[n];
            float[] g = new float[n];
            double exact = reference.dice(logits, target, o, LossOutputs.withGradient(Matrix.of(gExact, rows, cols)));
            double actual = cuda.dice(logits, target, o, LossOutputs.withGradient(Matrix.of(g, rows, cols)));
            assertLoss("dice " + o, Op.DICE.float32Bound(), exact, actual);
            assertGradient("dice gradient " + o, Op.DICE.float32Bound(), gExact, g);
        }
    }

    // ---------------------------------------------------------------------------------------------- reductions

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("shapes")
    void reductionsMatchReference(int rows, int cols) {
        Random random = new Random(19L * rows + cols);
        Matrix x = Matrix.of(randomFloats(random, rows * cols, 5), rows, cols);
        Matrix y = Matrix.of(randomFloats(random, rows * cols, 5), rows, cols);
        ErrorBound b = Op.REDUCTION.float32Bound();
        for (ReduceOp op : ReduceOp.values()) {
            double exact = reference.reduce(op, x);
            double actual = cuda.reduce(op, x);
            switch (op) {
                case MIN, MAX -> assertEquals(exact, actual, op.name());
                // compensated sums: the float nearest the exact value
                case SUM, MEAN, L1_NORM -> assertEquals((float) exact, (float) actual, op + " " + rows + "x" + cols);
                default -> assertLoss(op + " " + rows + "x" + cols, b, exact, actual);
            }
            float[] rowsExact = new float[rows];
            float[] rowsActual = new float[rows];
            reference.reduceRows(op, x, Matrix.vector(rowsExact));
            cuda.reduceRows(op, x, Matrix.vector(rowsActual));
            assertLosses(op + " per row", b, rowsExact, rowsActual);
        }
        assertEquals(reference.argmax(x), cuda.argmax(x), "argmax");
        int[] argExact = new int[rows];
        int[] argActual = new int[rows];
        reference.argmaxRows(x, Matrix.vector(argExact));
        cuda.argmaxRows(x, Matrix.vector(argActual));
        assertArrayEquals(argExact, argActual, "argmax per row");
        assertEquals((float) reference.dot(x, y), (float) cuda.dot(x, y), "dot");
    }

    @Test
    void reductionsOfSpecialValues() {
        float[] data = {1, Float.NaN, 3, Float.NaN, -2};
        Matrix x = Matrix.vector(data);
        assertEquals(1, cuda.argmax(x), "first NaN wins");
        assertEquals(Double.NaN, cuda.reduce(ReduceOp.MAX, x));
        Matrix masked = Matrix.vector(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY});
        assertEquals(Double.NEGATIVE_INFINITY, cuda.reduce(ReduceOp.LOGSUMEXP, masked));
        assertEquals(0, cuda.argmax(masked));
        Matrix empty = Matrix.of(new float[0], 0, 0);
        assertEquals(-1, cuda.argmax(empty));
        assertEquals(0.0, cuda.reduce(ReduceOp.SUM, empty));
        assertEquals(Double.NaN, cuda.reduce(ReduceOp.MEAN, empty));
    }
}
