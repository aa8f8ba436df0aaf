package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
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

/**
 * Every op gives the same bits whatever the thread count, whatever other threads do with the same engine, and
 * whether its code still runs interpreted or already compiled: the expected bits are each op's first call on a
 * one-thread engine in a JVM where nothing of the kernels is compiled yet (this class runs first, {@code @Order(1)}
 * with the class orderer of junit-platform.properties), then 16 threads sharing one engine call every op until C2
 * has compiled the kernels, and engines of 2, 3 and 16 threads call them again. Shapes are above the parallel
 * threshold so the calls split into chunks.
 */
@Order(1)
class ThreadingTest {
    private static final int ROWS = 90;
    private static final int CLASSES = 4099;
    private static final int N = ROWS * CLASSES;

    /** What one call returned and wrote: the value's bits and every output array. */
    record Result(long valueBits, float[] outputs) {
        boolean sameBits(Result other) {
            return valueBits == other.valueBits && Arrays.equals(outputs, other.outputs);
        }
    }

    /** One op's call on an engine. */
    record Workload(String name, Op op, java.util.function.Function<LossEngine, Result> call) {}

    private static Result withGradient(double value, float[] gradient, float[] losses) {
        float[] all = Arrays.copyOf(gradient, gradient.length + losses.length);
        System.arraycopy(losses, 0, all, gradient.length, losses.length);
        return new Result(Double.doubleToRawLongBits(value), all);
    }

    interface Call {
        double run(LossEngine engine, LossOutputs out);
    }

    /** A call with a full-size gradient and {@code lossCount} unreduced losses. */
    private static Workload loss(String name, Op op, int lossCount, Call call) {
        return new Workload(name, op, engine -> {
            float[] gradient = new float[N];
            float[] losses = new float[lossCount];
            LossOutputs out = LossOutputs.withGradient(Matrix.of(gradient, ROWS, CLASSES));
            if (lossCount > 0) out = out.losses(Matrix.vector(losses));
            return withGradient(call.run(engine, out), gradient, losses);
        });
    }

    static List<Workload> workloads() {
        SplittableRandom random = new SplittableRandom(11);
        Matrix logits = Matrix.of(Inputs.gaussian(random, N, 3), ROWS, CLASSES);
        int[] t = new int[ROWS];
        for (int r = 0; r < ROWS; r++) t[r] = random.nextInt(CLASSES);
        Matrix targets = Matrix.vector(t);
        int[] someIgnored = t.clone();
        for (int r = 4; r < ROWS; r += 9) someIgnored[r] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
        Matrix targetsSomeIgnored = Matrix.vector(someIgnored);
        float[] probabilities = Inputs.uniform(random, N, 0, 1);
        for (int r = 0; r < ROWS; r++) {
            double sum = 0;
            for (int c = 0; c < CLASSES; c++) sum += probabilities[r * CLASSES + c];
            for (int c = 0; c < CLASSES; c++) probabilities[r * CLASSES + c] /= (float) sum;
        }
        Matrix q = Matrix.of(probabilities, ROWS, CLASSES);
        Matrix x = Matrix.of(Inputs.gaussian(random, N, 2), ROWS, CLASSES);
        Matrix y = Matrix.of(Inputs.gaussian(random, N, 2), ROWS, CLASSES);
        Matrix soft = Matrix.of(Inputs.uniform(random, N, 0, 1), ROWS, CLASSES);
        float[] signs = new float[N];
        for (int i = 0; i < N; i++) signs[i] = random.nextBoolean() ? 1 : -1;
        Matrix labels = Matrix.of(signs, ROWS, CLASSES);
        Matrix counts = Matrix.of(Inputs.uniform(random, N, 0, 6), ROWS, CLASSES);
        Matrix positive = Matrix.of(Inputs.uniform(random, N, 1e-7, 3), ROWS, CLASSES);
        Matrix logProbs = Matrix.of(Inputs.uniform(random, N, -12, 0), ROWS, CLASSES);
        Matrix weights = Matrix.vector(Inputs.uniform(random, CLASSES, 0.25, 2));
        Matrix elementWeights = Matrix.of(Inputs.uniform(random, N, 0, 2), ROWS, CLASSES);
        CrossEntropyOptions ce = CrossEntropyOptions.defaults().classWeights(Inputs.uniform(random, CLASSES, 0.5, 2))
                .labelSmoothing(0.1).zLoss(1e-4).softcap(20);
        Reduction mean = Reduction.MEAN;

        List<Workload> list = new ArrayList<>();
        list.add(loss("crossEntropy", Op.CROSS_ENTROPY, ROWS, (e, out) -> e.crossEntropy(logits, targetsSomeIgnored, ce, out)));
        list.add(loss("crossEntropyProbs", Op.CROSS_ENTROPY_PROBS, ROWS, (e, out) -> e.crossEntropyProbs(logits, q, ce, out)));
        list.add(loss("nll", Op.NLL, ROWS, (e, out) -> e.nll(logProbs, targetsSomeIgnored,
                new NllOptions(mean, weights, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false), out)));
        for (double gamma : new double[] {0, 0.5, 2}) {
            list.add(loss("softmaxFocal gamma " + gamma, Op.SOFTMAX_FOCAL, ROWS,
                    (e, out) -> e.softmaxFocal(logits, targets, new SoftmaxFocalOptions(mean, weights, gamma), out)));
        }
        for (int p : new int[] {1, 2}) {
            list.add(loss("multiMargin p " + p, Op.MULTI_MARGIN, ROWS,
                    (e, out) -> e.multiMargin(logits, targets, new MultiMarginOptions(mean, p, 1, weights), out)));
        }
        list.add(loss("dice", Op.DICE, ROWS, (e, out) -> e.dice(logits, soft, new DiceOptions(mean, 1), out)));
        List<PointwiseLoss> differences = List.of(new PointwiseLoss.Mse(mean), new PointwiseLoss.L1(mean),
                new PointwiseLoss.SmoothL1(mean, 0.7), new PointwiseLoss.Huber(mean, 1.3), new PointwiseLoss.LogCosh(mean),
                new PointwiseLoss.Quantile(mean, 0.3));
        for (PointwiseLoss l : differences) list.add(loss(l.toString(), l.op(), N, (e, out) -> e.pointwise(l, x, y, elementWeights, out)));
        for (PointwiseLoss l : List.of(new PointwiseLoss.Hinge(mean), new PointwiseLoss.SquaredHinge(mean))) {
            list.add(loss(l.toString(), l.op(), N, (e, out) -> e.pointwise(l, x, labels, null, out)));
        }
        for (PointwiseLoss l : List.of(new PointwiseLoss.BceWithLogits(mean), new PointwiseLoss.BceWithLogits(mean, weights),
                new PointwiseLoss.SigmoidFocal(mean, 0.25, 2), new PointwiseLoss.SigmoidFocal(mean, 0.25, 0.5),
                new PointwiseLoss.SigmoidFocal(mean, 0.25, 1), new PointwiseLoss.SigmoidFocal(mean, -1, 0))) {
            list.add(loss(l.toString(), l.op(), N, (e, out) -> e.pointwise(l, x, soft, elementWeights, out)));
        }
        for (boolean full : new boolean[] {false, true}) {
            PointwiseLoss logInput = new PointwiseLoss.PoissonNll(mean, true, full, PointwiseLoss.PoissonNll.DEFAULT_EPS);
            PointwiseLoss rate = new PointwiseLoss.PoissonNll(mean, false, full, PointwiseLoss.PoissonNll.DEFAULT_EPS);
            list.add(loss(logInput.toString(), Op.POISSON_NLL, N, (e, out) -> e.pointwise(logInput, x, counts, null, out)));
            list.add(loss(rate.toString(), Op.POISSON_NLL, N, (e, out) -> e.pointwise(rate, positive, counts, null, out)));
            GaussianNllOptions g = new GaussianNllOptions(mean, full, GaussianNllOptions.DEFAULT_EPS);
            list.add(loss("gaussianNll full " + full, Op.GAUSSIAN_NLL, N, (e, out) -> e.gaussianNll(x, y, positive, g, out)));
        }
        list.add(loss("klDiv", Op.KL_DIV, N, (e, out) -> e.klDiv(x, soft, new KlDivOptions(Reduction.BATCHMEAN, false), out)));
        list.add(loss("klDiv logTarget", Op.KL_DIV, N, (e, out) -> e.klDiv(x, y, new KlDivOptions(Reduction.BATCHMEAN, true), out)));
        for (Penalty p : List.of(new Penalty.L1(0.3), new Penalty.L2(0.7), new Penalty.ElasticNet(0.5, 0.25))) {
            list.add(loss(p.toString(), Op.PENALTY, 0, (e, out) -> e.penalty(p, x, out.gradient())));
        }
        list.add(new Workload("reductions", Op.REDUCTION, engine -> {
            ReduceOp[] ops = ReduceOp.values();
            float[] all = new float[2 * ops.length + ops.length * ROWS + 2 + ROWS];
            int at = 0;
            for (ReduceOp op : ops) {
                long bits = Double.doubleToRawLongBits(engine.reduce(op, x));
                all[at++] = Float.intBitsToFloat((int) bits);
                all[at++] = Float.intBitsToFloat((int) (bits >>> 32));
                float[] rows = new float[ROWS];
                engine.reduceRows(op, x, Matrix.vector(rows));
                System.arraycopy(rows, 0, all, at, ROWS);
                at += ROWS;
            }
            all[at++] = engine.argmax(x);
            int[] rowArgmax = new int[ROWS];
            engine.argmaxRows(x, Matrix.vector(rowArgmax));
            for (int r = 0; r < ROWS; r++) all[at++] = rowArgmax[r];
            return new Result(Double.doubleToRawLongBits(engine.dot(x, y)), all);
        }));
        return list;
    }

    private static LossEngine engine(int parallelism) {
        return LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(parallelism).build();
    }

    /** The shapes must stay above the parallel threshold, else the test below would compare one thread with itself. */
    @Test
    void shapesAreAboveTheParallelThreshold() {
        assertTrue(N >= Chunks.PARALLEL_THRESHOLD, "elements " + N + " < threshold " + Chunks.PARALLEL_THRESHOLD);
        assertTrue(Chunks.rowWork(ROWS, CLASSES) >= Chunks.PARALLEL_THRESHOLD,
                "row work " + Chunks.rowWork(ROWS, CLASSES) + " < threshold " + Chunks.PARALLEL_THRESHOLD);
    }

    @Test
    void everyOpGivesTheSameBitsColdAndCompiledOnOneThreadAndOnSixteen() throws Exception {
        List<Workload> workloads = workloads();
        Set<Op> covered = EnumSet.noneOf(Op.class);
        for (Workload w : workloads) covered.add(w.op());
        assertEquals(EnumSet.allOf(Op.class), covered, "a workload for every op");

        List<Result> expected = new ArrayList<>();
        try (LossEngine single = engine(1)) {
            for (Workload w : workloads) expected.add(w.call().apply(single)); // first calls: interpreted code
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        try (LossEngine shared = engine(2)) {
            int threads = 16;
            int rounds = 3;
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            for (int thread = 0; thread < threads; thread++) {
                int first = thread;
                pool.execute(() -> {
                    try {
                        start.await();
                        for (int call = 0; call < rounds * workloads.size(); call++) {
                            int index = (first + call) % workloads.size();
                            Result r = workloads.get(index).call().apply(shared);
                            if (!r.sameBits(expected.get(index))) failures.add(workloads.get(index).name() + " on thread " + first + ", call " + call);
                        }
                    } catch (Throwable e) {
                        failures.add("thread " + first + " threw " + e);
                    }
                });
            }
            start.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES), "16 threads did not finish within 5 minutes");
        }
        for (int parallelism : new int[] {1, 2, 3, 16}) {
            try (LossEngine engine = engine(parallelism)) {
                for (int i = 0; i < workloads.size(); i++) {
                    if (!workloads.get(i).call().apply(engine).sameBits(expected.get(i))) {
                        failures.add(workloads.get(i).name() + " at parallelism " + parallelism + " (compiled)");
                    }
                }
            }
        }
        if (!failures.isEmpty()) fail(failures.size() + " results differed from the cold one-thread run: " + failures.stream().limit(12).toList());
    }
}
