package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.losskit.CrossEntropyOptions;
import org.losskit.ElementType;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.spi.EngineSettings;
import org.losskit.testing.Discrepancies;
import org.losskit.testing.RandomInputs;

/**
 * What only the cuda backend has, and the shared bases do not test: device-resident data (results as with host
 * data, in place on the device, targets checked on the device, closed buffers refused), the weight cache of
 * device-resident calls, and bit-for-bit determinism (in place vs separate, across calls and threads, at a size
 * that takes a block per row). Skipped, with the probe's reason, where there is no device.
 */
class CudaDeviceMemoryTest {
    private static LossEngine cuda;
    private static LossEngine reference;

    @BeforeAll
    static void open() {
        cuda = CudaTestDevice.engineOrNull("CudaDeviceMemoryTest");
        reference = LossEngine.builder().backend("reference").build();
    }

    @BeforeEach
    void requireDevice() {
        CudaTestDevice.assumeDevice();
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
        reference.close();
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /** A device copy of {@code values} as a rows x cols float32 matrix. */
    private static Matrix onDevice(List<DeviceBuffer> owned, float[] values, int rows, int cols) {
        DeviceBuffer b = DeviceBuffer.allocate(4L * Math.max(1, values.length));
        owned.add(b);
        b.copyFrom(values);
        return b.matrix(ElementType.FLOAT32, rows, cols);
    }

    private static Matrix onDevice(List<DeviceBuffer> owned, int[] values) {
        DeviceBuffer b = DeviceBuffer.allocate(4L * values.length);
        owned.add(b);
        b.copyFrom(values);
        return b.matrix(ElementType.INT32, 1, values.length);
    }

    private static float[] read(Matrix deviceMatrix) {
        float[] out = new float[Math.toIntExact(deviceMatrix.size())];
        ((DeviceBuffer) deviceMatrix.device()).copyTo(out);
        return out;
    }

    private static void closeAll(List<DeviceBuffer> owned) {
        owned.forEach(DeviceBuffer::close);
    }

    // ---------------------------------------------------------------------------------------------- device-resident

    /** One loss with device-resident operands, compared with the reference on the same host data. */
    @FunctionalInterface
    private interface RowLoss {
        double run(LossEngine engine, Matrix input, Matrix targets, LossOutputs out);
    }

    private static void compareOnDevice(Discrepancies d, String where, Op op, float[] x, int[] t, int rows, int cols, RowLoss loss) {
        float[] expectedGradient = new float[x.length];
        float[] expectedLosses = new float[rows];
        double expected = loss.run(reference, Matrix.of(x, rows, cols), Matrix.vector(t),
                LossOutputs.withGradient(Matrix.of(expectedGradient, rows, cols)).losses(Matrix.vector(expectedLosses)));
        List<DeviceBuffer> owned = new ArrayList<>();
        try {
            Matrix input = onDevice(owned, x, rows, cols);
            Matrix targets = onDevice(owned, t);
            Matrix gradient = onDevice(owned, new float[x.length], rows, cols);
            Matrix losses = onDevice(owned, new float[rows], 1, rows);
            double actual = loss.run(cuda, input, targets, LossOutputs.withGradient(gradient).losses(losses));
            d.loss(where + ": returned value", op.float32Bound(), actual, expected);
            d.gradient(where + ": gradient", op.float32Bound(), read(gradient), toDouble(expectedGradient), cols);
            d.losses(where + ": losses", op.float32Bound(), read(losses), toDouble(expectedLosses));
            double inPlace = loss.run(cuda, input, targets, LossOutputs.none().gradientInPlace());
            d.loss(where + " in place: returned value", op.float32Bound(), inPlace, expected);
            d.gradient(where + " in place: gradient", op.float32Bound(), read(input), toDouble(expectedGradient), cols);
        } finally {
            closeAll(owned);
        }
    }

    @Test
    void deviceResidentRowLossesMatchTheReference() {
        Discrepancies d = new Discrepancies();
        for (int[] shape : new int[][] {{33, 32000}, {64, 50}}) {
            int rows = shape[0];
            int cols = shape[1];
            RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-device-resident", rows, cols));
            float[] x = in.gaussian(rows * cols, 3);
            float[] logProbs = in.uniform(rows * cols, -12, 0);
            int[] t = in.targets(rows, cols);
            int[] someIgnored = t.clone();
            for (int r = 1; r < rows; r += 3) someIgnored[r] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
            float[] weights = in.uniform(cols, 0.25, 2);
            String at = " " + rows + "x" + cols;
            CrossEntropyOptions ce = CrossEntropyOptions.defaults().classWeights(weights).labelSmoothing(0.05);
            compareOnDevice(d, "crossEntropy" + at, Op.CROSS_ENTROPY, x, someIgnored, rows, cols,
                    (e, input, targets, out) -> e.crossEntropy(input, targets, ce, out));
            NllOptions nll = new NllOptions(Reduction.MEAN, Matrix.vector(weights), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
            compareOnDevice(d, "nll" + at, Op.NLL, logProbs, someIgnored, rows, cols,
                    (e, input, targets, out) -> e.nll(input, targets, nll, out));
            SoftmaxFocalOptions focal = new SoftmaxFocalOptions(Reduction.SUM, Matrix.vector(weights), 2);
            compareOnDevice(d, "softmaxFocal" + at, Op.SOFTMAX_FOCAL, x, t, rows, cols,
                    (e, input, targets, out) -> e.softmaxFocal(input, targets, focal, out));
        }
        d.assertNone("device-resident row losses vs reference");
    }

    /** A bad target in device memory: the call throws naming the first bad row and value, and writes nothing. */
    private static void assertBadDeviceTarget(String expectedMessage, int[] t, int cols, RowLoss loss) {
        int rows = t.length;
        float[] sentinel = new float[rows * cols];
        Arrays.fill(sentinel, 42f);
        List<DeviceBuffer> owned = new ArrayList<>();
        try {
            Matrix input = onDevice(owned, new float[rows * cols], rows, cols);
            Matrix targets = onDevice(owned, t);
            Matrix gradient = onDevice(owned, sentinel, rows, cols);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> loss.run(cuda, input, targets, LossOutputs.withGradient(gradient)));
            assertTrue(e.getMessage().contains(expectedMessage), e.getMessage());
            assertArrayEquals(sentinel, read(gradient), "a call with a bad target writes nothing");
        } finally {
            closeAll(owned);
        }
    }

    @Test
    void badDeviceTargetIsReportedWithItsRowAndValue() {
        int cols = 50;
        int[] t = new int[10];
        t[6] = 50; // out of range
        t[8] = -7; // also bad, but later
        assertBadDeviceTarget("targets[6] = 50", t, cols,
                (e, x, targets, out) -> e.crossEntropy(x, targets, CrossEntropyOptions.defaults(), out));
        assertBadDeviceTarget("targets[6] = 50", t, cols, (e, x, targets, out) -> e.nll(x, targets, NllOptions.of(Reduction.MEAN), out));
        // Softmax focal has no ignore index: -100 is a bad target there, where cross-entropy and NLL ignore it.
        int[] ignoredElsewhere = new int[10];
        ignoredElsewhere[3] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
        assertBadDeviceTarget("targets[3] = -100 is out of range [0, 50) (row 3", ignoredElsewhere, cols,
                (e, x, targets, out) -> e.softmaxFocal(x, targets, new SoftmaxFocalOptions(Reduction.MEAN, null, 2), out));
    }

    @Test
    void closedDeviceBufferIsRefused() {
        DeviceBuffer buffer = DeviceBuffer.allocate(64);
        Matrix x = buffer.matrix(ElementType.FLOAT32, 1, 16);
        buffer.close();
        assertThrows(IllegalArgumentException.class, () -> cuda.reduce(ReduceOp.SUM, x));
    }

    // ---------------------------------------------------------------------------------------------- weight cache

    @Test
    void deviceResidentCallsUploadEachOptionsWeightsOnce() {
        int rows = 8;
        int cols = 100;
        RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-weight-cache"));
        float[] x = in.gaussian(rows * cols, 2);
        int[] t = in.targets(rows, cols);
        float[] w = in.uniform(cols, 0.5, 2);
        List<DeviceBuffer> owned = new ArrayList<>();
        try (CudaBackend backend = CudaBackend.open(new EngineSettings(2, -1, 0))) {
            Matrix logits = onDevice(owned, x, rows, cols);
            Matrix targets = onDevice(owned, t);
            CrossEntropyOptions weighted = CrossEntropyOptions.defaults().classWeights(w);
            double first = backend.crossEntropy(logits, targets, weighted, LossOutputs.none());
            for (int i = 0; i < 5; i++) assertEquals(first, backend.crossEntropy(logits, targets, weighted, LossOutputs.none()));
            // A wither keeps the options' weights, and so their cached copy.
            backend.crossEntropy(logits, targets, weighted.reduction(Reduction.SUM), LossOutputs.none());
            assertEquals(1, backend.weightCache().uploads(), "one upload for one options object's weights");
            CrossEntropyOptions sameValuesNewOptions = CrossEntropyOptions.defaults().classWeights(w);
            assertEquals(first, backend.crossEntropy(logits, targets, sameValuesNewOptions, LossOutputs.none()));
            assertEquals(2, backend.weightCache().uploads(), "identity keys: new options, new upload");
            // Host calls stage their weights with the other operands and leave the cache alone.
            backend.crossEntropy(Matrix.of(x, rows, cols), Matrix.vector(t), CrossEntropyOptions.defaults().classWeights(w), LossOutputs.none());
            assertEquals(2, backend.weightCache().uploads());
            // More options than the cache holds: it stays bounded, and every result is still right.
            for (int i = 0; i < WeightCache.DEFAULT_CAPACITY + 10; i++) {
                assertEquals(first, backend.crossEntropy(logits, targets, CrossEntropyOptions.defaults().classWeights(w), LossOutputs.none()));
            }
            assertEquals(WeightCache.DEFAULT_CAPACITY, backend.weightCache().size());
        } finally {
            closeAll(owned);
        }
    }

    // ---------------------------------------------------------------------------------------------- determinism

    @Test
    void inPlaceGradientEqualsTheSeparateOneBitForBit() {
        for (int cols : new int[] {100, 5000, 128256}) {
            int rows = cols > 10000 ? 1 : 64; // 1 row of 128k takes the split shape
            RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-in-place-bits", cols));
            float[] x = in.gaussian(rows * cols, 3);
            Matrix targets = Matrix.vector(in.targets(rows, cols));
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
    void resultsAreDeterministicAcrossCallsAndThreadsAtBlockPerRowSizes() throws Exception {
        int rows = 64;
        int cols = 32000;
        RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-determinism"));
        Matrix logits = Matrix.of(in.gaussian(rows * cols, 3), rows, cols);
        Matrix targets = Matrix.vector(in.targets(rows, cols));
        double first = cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults(), LossOutputs.none());
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Double>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> cuda.crossEntropy(logits, targets, CrossEntropyOptions.defaults(), LossOutputs.none())));
            }
            for (Future<Double> f : results) assertEquals(Double.doubleToRawLongBits(first), Double.doubleToRawLongBits(f.get()));
        }
    }

    @Test
    void reductionsOfEmptyAndSpecialArrays() {
        Matrix masked = Matrix.vector(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY});
        assertEquals(Double.NEGATIVE_INFINITY, cuda.reduce(ReduceOp.LOGSUMEXP, masked));
        assertEquals(0, cuda.argmax(masked));
        Matrix empty = Matrix.of(new float[0], 0, 0);
        assertEquals(-1, cuda.argmax(empty));
        assertEquals(0.0, cuda.reduce(ReduceOp.SUM, empty));
        assertEquals(Double.NaN, cuda.reduce(ReduceOp.MEAN, empty));
    }
}
