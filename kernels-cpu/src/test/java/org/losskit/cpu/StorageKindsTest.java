package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
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

/**
 * Every op besides class-index cross-entropy (see {@link CrossEntropyStorageTest}) on the storage kinds the shared
 * {@code VectorDifferentialTest} does not reach, which it runs on plain float arrays: strided arrays with NaN
 * padding, heap and unaligned native segments, bf16 and fp16 arrays and a bf16 segment, each at a width with a
 * vector tail, one spanning several vectors and one spanning several blocks.
 */
class StorageKindsTest extends EngineTestBase {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void freeSegments() {
        arena.close();
    }

    record Shape(int rows, int cols, Inputs.Storage storage) {
        /**
         * The seed of this shape's inputs for test {@code salt}: from the storage's name, not the record's hashCode,
         * which mixes in the enum constant's identity hash and so would draw other inputs in every JVM.
         */
        long seed(int salt) {
            return java.util.Objects.hash(rows, cols, storage.name(), salt);
        }
    }

    static Stream<Arguments> shapes() {
        List<Arguments> shapes = new ArrayList<>();
        for (Inputs.Storage storage : Inputs.Storage.values()) {
            if (storage == Inputs.Storage.ARRAY) continue; // the shared base's storage
            for (int cols : new int[] {VectorShapes.lanes() + 1, 702, 4098}) {
                shapes.add(Arguments.of(new Shape(cols > 1000 ? 2 : 3, cols, storage)));
            }
        }
        return shapes.stream();
    }

    /** Runs one loss on both engines, with gradient and unreduced losses, and compares. */
    interface Call {
        double run(LossEngine engine, LossOutputs outputs);
    }

    private static void compare(String name, ErrorBound bound, Shape shape, long lossCount, Call call) {
        int n = shape.rows() * shape.cols();
        float[] gradCpu = new float[n];
        float[] gradRef = new float[n];
        float[] lossesCpu = new float[(int) lossCount];
        float[] lossesRef = new float[(int) lossCount];
        double cpuValue = call.run(cpu, LossOutputs.withGradient(Matrix.of(gradCpu, shape.rows(), shape.cols())).losses(Matrix.vector(lossesCpu)));
        double refValue = call.run(reference, LossOutputs.withGradient(Matrix.of(gradRef, shape.rows(), shape.cols())).losses(Matrix.vector(lossesRef)));
        String what = name + " " + shape;
        Agreement.loss(what + " value", bound, cpuValue, refValue);
        Agreement.gradient(what + " gradient", bound, gradCpu, gradRef);
        Agreement.losses(what + " losses", bound, lossesCpu, lossesRef);
    }

    private Matrix in(Shape shape, float[] values) {
        return Inputs.in(shape.storage(), values, shape.rows(), shape.cols(), arena);
    }

    private static int[] classTargets(SplittableRandom random, Shape shape) {
        int[] t = new int[shape.rows()];
        for (int r = 0; r < t.length; r++) t[r] = random.nextInt(shape.cols());
        return t;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void softmaxRowLosses(Shape shape) {
        SplittableRandom random = new SplittableRandom(shape.seed(0));
        int rows = shape.rows();
        int cols = shape.cols();
        Matrix logits = in(shape, Inputs.gaussian(random, rows * cols, 2));
        Matrix targets = Matrix.vector(classTargets(random, shape));
        float[] probs = Inputs.uniform(random, rows * cols, 0, 1);
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += probs[r * cols + c];
            for (int c = 0; c < cols; c++) probs[r * cols + c] /= (float) sum;
        }
        Matrix targetProbs = in(shape, probs);
        for (Reduction reduction : new Reduction[] {Reduction.MEAN, Reduction.SUM}) {
            CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(reduction).labelSmoothing(0.05).zLoss(1e-3).softcap(4)
                    .classWeights(Inputs.uniform(random, cols, 0.5, 2));
            compare("crossEntropyProbs " + reduction, Op.CROSS_ENTROPY_PROBS.float32Bound(), shape, rows,
                    (e, out) -> e.crossEntropyProbs(logits, targetProbs, o, out));
            CrossEntropyOptions plain = CrossEntropyOptions.defaults().reduction(reduction);
            compare("crossEntropyProbs plain " + reduction, Op.CROSS_ENTROPY_PROBS.float32Bound(), shape, rows,
                    (e, out) -> e.crossEntropyProbs(logits, targetProbs, plain, out));
            NllOptions nll = new NllOptions(reduction, Matrix.vector(Inputs.uniform(random, cols, 0.5, 2)), 0, false);
            compare("nll " + reduction, Op.NLL.float32Bound(), shape, rows, (e, out) -> e.nll(logits, targets, nll, out));
            for (double gamma : new double[] {0, 2, 0.5}) {
                SoftmaxFocalOptions focal = new SoftmaxFocalOptions(reduction, Matrix.vector(Inputs.uniform(random, cols, 0.1, 1)), gamma);
                compare("softmaxFocal gamma " + gamma + " " + reduction, Op.SOFTMAX_FOCAL.float32Bound(), shape, rows,
                        (e, out) -> e.softmaxFocal(logits, targets, focal, out));
            }
            for (int p : new int[] {1, 2}) {
                MultiMarginOptions mm = new MultiMarginOptions(reduction, p, 1.0, Matrix.vector(Inputs.uniform(random, cols, 0.5, 2)));
                compare("multiMargin p " + p + " " + reduction, Op.MULTI_MARGIN.float32Bound(), shape, rows,
                        (e, out) -> e.multiMargin(logits, targets, mm, out));
            }
            Matrix diceTarget = in(shape, Inputs.uniform(random, rows * cols, 0, 1));
            compare("dice " + reduction, Op.DICE.float32Bound(), shape, rows,
                    (e, out) -> e.dice(logits, diceTarget, new DiceOptions(reduction, 1), out));
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void elementLosses(Shape shape) {
        SplittableRandom random = new SplittableRandom(shape.seed(1));
        int rows = shape.rows();
        int cols = shape.cols();
        int n = rows * cols;
        Matrix x = in(shape, Inputs.gaussian(random, n, 2));
        Matrix t = in(shape, Inputs.gaussian(random, n, 2));
        Matrix probability = in(shape, Inputs.uniform(random, n, 0, 1));
        float[] labelValues = new float[n];
        for (int i = 0; i < n; i++) labelValues[i] = random.nextBoolean() ? 1 : -1;
        Matrix labels = in(shape, labelValues);
        Matrix counts = in(shape, Inputs.uniform(random, n, 0, 4));
        Matrix positive = in(shape, Inputs.uniform(random, n, 0.1, 3));
        Matrix weight = Matrix.of(Inputs.uniform(random, n, 0, 2), rows, cols);
        Matrix posWeight = Matrix.vector(Inputs.uniform(random, cols, 0.5, 3));
        for (Reduction reduction : new Reduction[] {Reduction.MEAN, Reduction.SUM, Reduction.NONE}) {
            List<PointwiseLoss> losses = List.of(new PointwiseLoss.Mse(reduction), new PointwiseLoss.L1(reduction),
                    new PointwiseLoss.SmoothL1(reduction, 0.7), new PointwiseLoss.SmoothL1(reduction, 0),
                    new PointwiseLoss.Huber(reduction, 1.3), new PointwiseLoss.LogCosh(reduction),
                    new PointwiseLoss.Quantile(reduction, 0.3));
            for (PointwiseLoss loss : losses) {
                compare(loss.toString(), loss.op().float32Bound(), shape, n, (e, out) -> e.pointwise(loss, x, t, null, out));
                compare(loss + " weighted", loss.op().float32Bound(), shape, n, (e, out) -> e.pointwise(loss, x, t, weight, out));
            }
            for (PointwiseLoss loss : List.of(new PointwiseLoss.Hinge(reduction), new PointwiseLoss.SquaredHinge(reduction))) {
                compare(loss.toString(), loss.op().float32Bound(), shape, n, (e, out) -> e.pointwise(loss, x, labels, weight, out));
            }
            for (PointwiseLoss loss : List.of(new PointwiseLoss.BceWithLogits(reduction), new PointwiseLoss.BceWithLogits(reduction, posWeight),
                    new PointwiseLoss.SigmoidFocal(reduction, 0.25, 2), new PointwiseLoss.SigmoidFocal(reduction, -1, 0),
                    new PointwiseLoss.SigmoidFocal(reduction, 0.6, 1.5))) {
                compare(loss.toString(), loss.op().float32Bound(), shape, n, (e, out) -> e.pointwise(loss, x, probability, weight, out));
            }
            for (boolean full : new boolean[] {false, true}) {
                PointwiseLoss logInput = new PointwiseLoss.PoissonNll(reduction, true, full, PointwiseLoss.PoissonNll.DEFAULT_EPS);
                PointwiseLoss rate = new PointwiseLoss.PoissonNll(reduction, false, full, PointwiseLoss.PoissonNll.DEFAULT_EPS);
                compare(logInput.toString(), Op.POISSON_NLL.float32Bound(), shape, n, (e, out) -> e.pointwise(logInput, x, counts, null, out));
                compare(rate.toString(), Op.POISSON_NLL.float32Bound(), shape, n, (e, out) -> e.pointwise(rate, positive, counts, null, out));
                GaussianNllOptions g = new GaussianNllOptions(reduction, full, GaussianNllOptions.DEFAULT_EPS);
                compare("gaussianNll " + full + " " + reduction, Op.GAUSSIAN_NLL.float32Bound(), shape, n,
                        (e, out) -> e.gaussianNll(x, t, positive, g, out));
            }
        }
        for (Reduction reduction : Reduction.values()) {
            compare("klDiv " + reduction, Op.KL_DIV.float32Bound(), shape, n,
                    (e, out) -> e.klDiv(x, probability, new KlDivOptions(reduction, false), out));
            compare("klDiv logTarget " + reduction, Op.KL_DIV.float32Bound(), shape, n,
                    (e, out) -> e.klDiv(x, t, new KlDivOptions(reduction, true), out));
        }
        for (Penalty penalty : List.of(new Penalty.L1(0.3), new Penalty.L2(0.7), new Penalty.ElasticNet(0.5, 0.25))) {
            float[] gradCpu = new float[n];
            float[] gradRef = new float[n];
            double vCpu = cpu.penalty(penalty, x, Matrix.of(gradCpu, rows, cols));
            double vRef = reference.penalty(penalty, x, Matrix.of(gradRef, rows, cols));
            Agreement.loss(penalty + " " + shape, Op.PENALTY.float32Bound(), vCpu, vRef);
            Agreement.gradient(penalty + " gradient " + shape, Op.PENALTY.float32Bound(), gradCpu, gradRef);
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void reductions(Shape shape) {
        SplittableRandom random = new SplittableRandom(shape.seed(2));
        int rows = shape.rows();
        float[] values = Inputs.gaussian(random, rows * shape.cols(), 10);
        Matrix x = in(shape, values);
        Matrix y = in(shape, Inputs.gaussian(random, rows * shape.cols(), 1));
        ErrorBound bound = Op.REDUCTION.float32Bound();
        for (ReduceOp op : ReduceOp.values()) {
            double c = cpu.reduce(op, x);
            double r = reference.reduce(op, x);
            switch (op) {
                case SUM, MEAN, L1_NORM -> assertEquals((float) r, (float) c, op + " " + shape + ": the float nearest the exact value");
                case MIN, MAX -> assertEquals(r, c, op + " " + shape);
                default -> Agreement.loss(op + " " + shape, bound, c, r);
            }
            float[] rowsCpu = new float[rows];
            float[] rowsRef = new float[rows];
            cpu.reduceRows(op, x, Matrix.vector(rowsCpu));
            reference.reduceRows(op, x, Matrix.vector(rowsRef));
            Agreement.losses(op + " rows " + shape, bound, rowsCpu, rowsRef);
        }
        assertEquals(reference.argmax(x), cpu.argmax(x), "argmax " + shape);
        int[] argCpu = new int[rows];
        int[] argRef = new int[rows];
        cpu.argmaxRows(x, Matrix.vector(argCpu));
        reference.argmaxRows(x, Matrix.vector(argRef));
        for (int r = 0; r < rows; r++) assertEquals(argRef[r], argCpu[r], "argmax of row " + r + " " + shape);
        assertEquals((float) reference.dot(x, y), (float) cpu.dot(x, y), "dot " + shape);
    }
}
