package org.losskit;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One test per validation rule: bad input throws the documented exception type, and the message names the
 * argument and the offending value, so a caller can fix the call from the message alone.
 */
class ValidationTest {
    private static final LossEngine ENGINE = LossEngine.builder().backend("reference").build();
    private static final int ROWS = 3;
    private static final int CLASSES = 5;
    private static final Matrix LOGITS = Matrix.of(new float[ROWS * CLASSES], ROWS, CLASSES);
    private static final Matrix TARGETS = Matrix.vector(new int[] {0, 4, 2});
    private static final Matrix SAME_SHAPE = Matrix.of(new float[ROWS * CLASSES], ROWS, CLASSES);
    private static final CrossEntropyOptions CE = CrossEntropyOptions.defaults();

    @AfterAll
    static void close() {
        ENGINE.close();
    }

    /** A rule: the call, the exception type it must throw, and the fragments its message must contain. */
    private record Rule(String name, Class<? extends Throwable> type, Executable call, String... fragments) {}

    private static Rule rule(String name, Class<? extends Throwable> type, Executable call, String... fragments) {
        return new Rule(name, type, call, fragments);
    }

    @TestFactory
    Stream<DynamicTest> everyRuleThrowsANamingMessage() {
        return rules().stream().map(r -> DynamicTest.dynamicTest(r.name(), () -> {
            Throwable thrown = assertThrows(r.type(), r.call(), r.name() + ": expected " + r.type().getSimpleName());
            String message = String.valueOf(thrown.getMessage());
            for (String fragment : r.fragments()) {
                assertTrue(message.contains(fragment), r.name() + ": the message should contain \"" + fragment + "\" but is: " + message);
            }
        }));
    }

    private static List<Rule> rules() {
        List<Rule> rules = new ArrayList<>();
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        Class<NullPointerException> npe = NullPointerException.class;

        // ---------------------------------------------------------------- class-index targets
        rules.add(rule("a target >= classes names its row and value", iae,
                () -> ENGINE.crossEntropy(LOGITS, Matrix.vector(new int[] {0, 1, 7}), CE, LossOutputs.none()), "targets[2]", "7", "row 2", "[0, 5)"));
        rules.add(rule("a negative target that is not the ignore index names its row and value", iae,
                () -> ENGINE.crossEntropy(LOGITS, Matrix.vector(new int[] {0, -1, 2}), CE, LossOutputs.none()), "row 1", "-1", "ignoreIndex (-100)"));
        rules.add(rule("nll targets out of range", iae,
                () -> ENGINE.nll(LOGITS, Matrix.vector(new int[] {5, 0, 0}), NllOptions.of(Reduction.MEAN), LossOutputs.none()), "row 0", "5"));
        rules.add(rule("softmaxFocal has no ignore index: -100 is out of range", iae,
                () -> ENGINE.softmaxFocal(LOGITS, Matrix.vector(new int[] {0, -100, 0}), new SoftmaxFocalOptions(Reduction.MEAN, null, 2), LossOutputs.none()),
                "row 1", "-100"));
        rules.add(rule("multiMargin targets out of range", iae,
                () -> ENGINE.multiMargin(LOGITS, Matrix.vector(new int[] {0, 0, 9}), new MultiMarginOptions(Reduction.MEAN, 1, 1, null), LossOutputs.none()),
                "row 2", "9"));
        rules.add(rule("one target per row", iae,
                () -> ENGINE.crossEntropy(LOGITS, Matrix.vector(new int[] {0, 1}), CE, LossOutputs.none()), "targets", "2 values", "3 rows"));

        // ---------------------------------------------------------------- views
        rules.add(rule("a buffer too short for its view", iae, () -> Matrix.of(new float[10], 3, 4), "data", "too short", "need 12", "holds 10"));
        rules.add(rule("a segment too short for its view", iae,
                () -> Matrix.of(MemorySegment.ofArray(new float[10]), ElementType.FLOAT32, 0, 3, 4, 4), "segment", "too short", "need 12", "holds 10"));
        rules.add(rule("a row stride smaller than the width", iae, () -> Matrix.of(new float[100], 0, 3, 4, 3), "rowStride (3)", "cols (4)"));
        rules.add(rule("a negative offset", iae, () -> Matrix.of(new float[100], -1, 3, 4, 4), "offset", "-1"));
        rules.add(rule("a negative row count", iae, () -> Matrix.of(new float[100], -2, 4), "rows", "-2"));
        rules.add(rule("a negative column count", iae, () -> Matrix.of(new float[100], 2, -4), "cols", "-4"));
        rules.add(rule("an offset past the end", iae, () -> Matrix.vector(new float[4], 3, 2), "data", "too short", "offset 3"));
        // Extents are exact: (rows - 1) rowStride + cols wrapping past 2^63 to a small number must not pass as "fits".
        rules.add(rule("a row stride of 2^62 over 3 rows (the extent wraps negative)", iae,
                () -> Matrix.of(new float[] {1, 2, 3, 4}, 0, 3, 1, 1L << 62), "rowStride", "4611686018427387904", "too large"));
        rules.add(rule("a row stride of Long.MAX_VALUE over 3 rows (the extent wraps to 1)", iae,
                () -> Matrix.of(new float[] {1, 2, 3, 4}, 0, 3, 1, Long.MAX_VALUE), "rowStride", "9223372036854775807"));
        rules.add(rule("a row stride of 2^62 over a native segment", iae,
                () -> Matrix.of(java.lang.foreign.Arena.global().allocate(16), ElementType.FLOAT32, 0, 3, 1, 1L << 62), "rowStride"));
        rules.add(rule("an offset of Long.MAX_VALUE names the offset, not a long overflow", iae,
                () -> Matrix.of(new float[4], Long.MAX_VALUE, 1, 2, 2), "data", "too short", "offset 9223372036854775807"));
        rules.add(rule("an offset of Long.MAX_VALUE over a segment", iae,
                () -> Matrix.of(MemorySegment.ofArray(new float[4]), ElementType.FLOAT32, Long.MAX_VALUE, 1, 1, 1), "segment", "too short"));
        rules.add(rule("a negative row stride", iae, () -> Matrix.of(new float[100], 0, 3, 4, -4), "rowStride", "-4"));

        // ---------------------------------------------------------------- options
        rules.add(rule("label smoothing above 1", iae, () -> CE.labelSmoothing(1.5), "labelSmoothing", "1.5"));
        rules.add(rule("label smoothing below 0", iae, () -> CE.labelSmoothing(-0.1), "labelSmoothing", "-0.1"));
        rules.add(rule("label smoothing NaN", iae, () -> CE.labelSmoothing(Double.NaN), "labelSmoothing", "NaN"));
        rules.add(rule("a negative z-loss", iae, () -> CE.zLoss(-1e-4), "zLoss", "-1.0E-4"));
        rules.add(rule("a NaN z-loss", iae, () -> CE.zLoss(Double.NaN), "zLoss", "NaN"));
        rules.add(rule("an infinite z-loss", iae, () -> CE.zLoss(Double.POSITIVE_INFINITY), "zLoss", "Infinity"));
        rules.add(rule("a negative softcap", iae, () -> CE.softcap(-30), "softcap", "-30"));
        rules.add(rule("a NaN softcap", iae, () -> CE.softcap(Double.NaN), "softcap", "NaN"));
        rules.add(rule("a non-finite class weight", iae, () -> CE.classWeights(new float[] {1, Float.NaN, 1}), "classWeights[1]", "NaN"));
        rules.add(rule("an infinite class weight", iae, () -> CE.classWeights(new float[] {1, 1, Float.POSITIVE_INFINITY}), "classWeights[2]", "Infinity"));
        MemorySegment closedWeights;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            closedWeights = arena.allocate(12);
        }
        rules.add(rule("class weights in a closed arena", iae,
                () -> new NllOptions(Reduction.MEAN, Matrix.of(closedWeights, ElementType.FLOAT32, 0, 1, 3, 3), -100, false), "classWeights", "closed"));
        rules.add(rule("a non-finite posWeight", iae,
                () -> new PointwiseLoss.BceWithLogits(Reduction.MEAN, Matrix.vector(new float[] {Float.NEGATIVE_INFINITY})), "posWeight[0]", "-Infinity"));
        rules.add(rule("a non-finite NLL class weight", iae,
                () -> new NllOptions(Reduction.MEAN, Matrix.vector(new float[] {Float.NaN}), -100, false), "classWeights[0]", "NaN"));
        rules.add(rule("a non-finite focal alpha", iae,
                () -> new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(new float[] {Float.NaN}), 2), "alpha[0]", "NaN"));
        rules.add(rule("a negative focal gamma", iae, () -> new SoftmaxFocalOptions(Reduction.MEAN, null, -1), "gamma", "-1"));
        rules.add(rule("sigmoid focal alpha above 1", iae, () -> new PointwiseLoss.SigmoidFocal(Reduction.MEAN, 1.5, 2), "alpha", "1.5"));
        rules.add(rule("sigmoid focal gamma NaN", iae, () -> new PointwiseLoss.SigmoidFocal(Reduction.MEAN, 0.25, Double.NaN), "gamma", "NaN"));
        rules.add(rule("a negative smooth L1 beta", iae, () -> new PointwiseLoss.SmoothL1(Reduction.MEAN, -1), "beta", "-1"));
        rules.add(rule("a Huber delta of 0", iae, () -> new PointwiseLoss.Huber(Reduction.MEAN, 0), "delta", "0"));
        rules.add(rule("a quantile tau outside [0, 1]", iae, () -> new PointwiseLoss.Quantile(Reduction.MEAN, 1.2), "tau", "1.2"));
        rules.add(rule("a Poisson eps of 0", iae, () -> new PointwiseLoss.PoissonNll(Reduction.MEAN, false, false, 0), "eps", "0"));
        rules.add(rule("a Gaussian NLL eps below 0", iae, () -> new GaussianNllOptions(Reduction.MEAN, false, -1e-6), "eps", "-1.0E-6"));
        rules.add(rule("a negative Dice smooth", iae, () -> new DiceOptions(Reduction.MEAN, -1), "smooth", "-1"));
        rules.add(rule("multi-margin p other than 1 or 2", iae, () -> new MultiMarginOptions(Reduction.MEAN, 3, 1, null), "p", "3"));
        rules.add(rule("a non-finite multi-margin margin", iae, () -> new MultiMarginOptions(Reduction.MEAN, 1, Double.NaN, null), "margin", "NaN"));
        rules.add(rule("a negative penalty strength", iae, () -> new Penalty.L2(-0.5), "strength", "-0.5"));
        rules.add(rule("an elastic-net l1Ratio above 1", iae, () -> new Penalty.ElasticNet(1, 2), "l1Ratio", "2"));
        rules.add(rule("an engine parallelism of 0", iae, () -> LossEngine.builder().parallelism(0), "parallelism", "0"));
        rules.add(rule("an engine parallelism of 2000 (1999 threads)", iae, () -> LossEngine.builder().parallelism(2000),
                "parallelism must be <= " + org.losskit.spi.EngineSettings.maxParallelism(), "2000", "available processors"));
        rules.add(rule("engine settings with a parallelism above the limit", iae,
                () -> new org.losskit.spi.EngineSettings(org.losskit.spi.EngineSettings.maxParallelism() + 1, -1, 0), "parallelism"));
        rules.add(rule("a negative CUDA crossover", iae, () -> LossEngine.builder().cudaHostCrossoverElements(-1), "cudaHostCrossoverElements", "-1"));
        rules.add(rule("a negative CUDA device", iae, () -> LossEngine.builder().cudaDevice(-1), "cudaDevice", "-1"));

        // ---------------------------------------------------------------- weights and shapes against the call
        rules.add(rule("class weights of the wrong length", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE.classWeights(new float[4]), LossOutputs.none()), "classWeights", "4 values", "classes is 5"));
        rules.add(rule("NLL class weights of the wrong length", iae,
                () -> ENGINE.nll(LOGITS, TARGETS, new NllOptions(Reduction.MEAN, Matrix.vector(new float[6]), -100, false), LossOutputs.none()),
                "classWeights", "6 values", "5"));
        rules.add(rule("focal alpha of the wrong length", iae,
                () -> ENGINE.softmaxFocal(LOGITS, TARGETS, new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(new float[2]), 2), LossOutputs.none()),
                "alpha", "2 values", "5"));
        rules.add(rule("posWeight of the wrong length", iae,
                () -> ENGINE.bceWithLogits(LOGITS, SAME_SHAPE, null, new PointwiseLoss.BceWithLogits(Reduction.MEAN, Matrix.vector(new float[3])), LossOutputs.none()),
                "posWeight", "3 values", "columns is 5"));
        rules.add(rule("probability targets of another shape", iae,
                () -> ENGINE.crossEntropyProbs(LOGITS, Matrix.of(new float[12], 3, 4), CE, LossOutputs.none()), "targetProbs", "3x4", "logits", "3x5"));
        rules.add(rule("an element-loss target of another shape", iae,
                () -> ENGINE.pointwise(new PointwiseLoss.Mse(Reduction.MEAN), LOGITS, Matrix.of(new float[15], 5, 3), null, LossOutputs.none()),
                "target", "5x3", "input", "3x5"));
        rules.add(rule("an element weight of another shape", iae,
                () -> ENGINE.pointwise(new PointwiseLoss.Mse(Reduction.MEAN), LOGITS, SAME_SHAPE, Matrix.of(new float[15], 1, 15), LossOutputs.none()),
                "weight", "1x15", "3x5"));
        rules.add(rule("a variance of another shape", iae,
                () -> ENGINE.gaussianNll(LOGITS, SAME_SHAPE, Matrix.of(new float[12], 3, 4), new GaussianNllOptions(Reduction.MEAN, false, 1e-6), LossOutputs.none()),
                "variance", "3x4"));
        rules.add(rule("a negative variance names its index, row and column", iae,
                () -> ENGINE.gaussianNll(LOGITS, SAME_SHAPE, Matrix.of(new float[] {1, 1, 1, 1, 1, 1, -0.5f, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 5),
                        new GaussianNllOptions(Reduction.MEAN, false, 1e-6), LossOutputs.none()),
                "variance[6] = -0.5", "negative", "row 1", "column 1"));
        rules.add(rule("dot of two shapes", iae, () -> ENGINE.dot(LOGITS, Matrix.of(new float[15], 5, 3)), "b", "5x3", "a", "3x5"));
        rules.add(rule("a gradient of another shape", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.withGradient(Matrix.of(new float[15], 5, 3))), "gradient", "5x3", "logits", "3x5"));

        // ---------------------------------------------------------------- element types
        rules.add(rule("int targets passed as logits", iae,
                () -> ENGINE.crossEntropy(Matrix.vector(new int[5]), TARGETS, CE, LossOutputs.none()), "logits", "floating point", "INT32"));
        rules.add(rule("float targets passed as class indices", iae,
                () -> ENGINE.crossEntropy(LOGITS, Matrix.vector(new float[3]), CE, LossOutputs.none()), "targets", "INT32", "FLOAT32"));
        rules.add(rule("a bf16 gradient buffer", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.withGradient(Matrix.ofHalf(ElementType.BFLOAT16, new short[15], 0, 3, 5, 5))),
                "gradient", "FLOAT32", "BFLOAT16"));
        rules.add(rule("an in-place gradient over bf16 logits", iae,
                () -> ENGINE.crossEntropy(Matrix.ofHalf(ElementType.BFLOAT16, new short[15], 0, 3, 5, 5), TARGETS, CE, LossOutputs.none().gradientInPlace()),
                "gradientInPlace", "logits", "BFLOAT16"));
        rules.add(rule("an int32 argmax output of the wrong type", iae,
                () -> ENGINE.argmaxRows(LOGITS, Matrix.vector(new float[3])), "out", "INT32", "FLOAT32"));
        rules.add(rule("a float diagnostics output of int type", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.none().logSumExp(Matrix.vector(new int[3]))), "logSumExp", "FLOAT32", "INT32"));
        rules.add(rule("short data of a type other than bf16/fp16", iae,
                () -> Matrix.ofHalf(ElementType.FLOAT32, new short[4], 0, 1, 4, 4), "type", "FLOAT32"));

        // ---------------------------------------------------------------- outputs
        MemorySegment readOnly = MemorySegment.ofArray(new float[15]).asReadOnly();
        rules.add(rule("a read-only gradient", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.withGradient(Matrix.of(readOnly, ElementType.FLOAT32, 0, 3, 5, 5))), "gradient", "read-only"));
        rules.add(rule("read-only losses", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.none().losses(Matrix.of(readOnly, ElementType.FLOAT32, 0, 1, 3, 3))), "losses", "read-only"));
        rules.add(rule("an in-place gradient over read-only logits", iae,
                () -> ENGINE.crossEntropy(Matrix.of(readOnly, ElementType.FLOAT32, 0, 3, 5, 5), TARGETS, CE, LossOutputs.none().gradientInPlace()),
                "gradientInPlace", "read-only"));
        float[] shared = new float[15];
        rules.add(rule("a gradient overlapping the logits without gradientInPlace", iae,
                () -> ENGINE.crossEntropy(Matrix.of(shared, 3, 5), TARGETS, CE, LossOutputs.withGradient(Matrix.of(shared, 3, 5))),
                "gradient overlaps logits", "gradientInPlace"));
        float[] outputs = new float[20];
        rules.add(rule("losses overlapping the gradient", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.withGradient(Matrix.of(outputs, 3, 5)).losses(Matrix.vector(outputs, 14, 3))),
                "overlaps"));
        rules.add(rule("losses too short for the rows", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.none().losses(Matrix.vector(new float[2]))), "losses", "too short", "holds 2", "3 are needed"));
        rules.add(rule("element losses too short for the elements", iae,
                () -> ENGINE.pointwise(new PointwiseLoss.L1(Reduction.NONE), LOGITS, SAME_SHAPE, null, LossOutputs.none().losses(Matrix.vector(new float[14]))),
                "losses", "holds 14", "15 are needed"));
        rules.add(rule("a diagnostics output too short", iae,
                () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.none().entropy(Matrix.vector(new float[1]))), "entropy", "holds 1", "3 are needed"));
        rules.add(rule("diagnostics on an op other than cross-entropy", iae,
                () -> ENGINE.nll(LOGITS, TARGETS, NllOptions.of(Reduction.MEAN), LossOutputs.none().maxLogit(Matrix.vector(new float[3]))),
                "diagnostics", "crossEntropy"));
        rules.add(rule("a per-row reduction output too short", iae,
                () -> ENGINE.reduceRows(ReduceOp.SUM, LOGITS, Matrix.vector(new float[2])), "out", "holds 2", "3 are needed"));
        rules.add(rule("a per-row reduction output overlapping its input", iae,
                () -> ENGINE.reduceRows(ReduceOp.SUM, Matrix.of(shared, 3, 5), Matrix.vector(shared, 0, 3)), "out overlaps x"));

        // ---------------------------------------------------------------- null arguments
        rules.add(rule("null logits", npe, () -> ENGINE.crossEntropy(null, TARGETS, CE, LossOutputs.none()), "logits"));
        rules.add(rule("null targets", npe, () -> ENGINE.crossEntropy(LOGITS, null, CE, LossOutputs.none()), "targets"));
        rules.add(rule("null cross-entropy options", npe, () -> ENGINE.crossEntropy(LOGITS, TARGETS, null, LossOutputs.none()), "options"));
        rules.add(rule("null outputs", npe, () -> ENGINE.crossEntropy(LOGITS, TARGETS, CE, null), "outputs"));
        rules.add(rule("null target probabilities", npe, () -> ENGINE.crossEntropyProbs(LOGITS, null, CE, LossOutputs.none()), "targetProbs"));
        rules.add(rule("null perplexity options", npe, () -> ENGINE.perplexity(LOGITS, TARGETS, null), "options"));
        rules.add(rule("null log-probabilities", npe, () -> ENGINE.nll(null, TARGETS, NllOptions.of(Reduction.MEAN), LossOutputs.none()), "logProbs"));
        rules.add(rule("null NLL options", npe, () -> ENGINE.nll(LOGITS, TARGETS, null, LossOutputs.none()), "options"));
        rules.add(rule("null focal options", npe, () -> ENGINE.softmaxFocal(LOGITS, TARGETS, null, LossOutputs.none()), "options"));
        rules.add(rule("null multi-margin options", npe, () -> ENGINE.multiMargin(LOGITS, TARGETS, null, LossOutputs.none()), "options"));
        rules.add(rule("null KL input", npe, () -> ENGINE.klDiv(null, SAME_SHAPE, new KlDivOptions(Reduction.SUM, false), LossOutputs.none()), "input"));
        rules.add(rule("null KL target", npe, () -> ENGINE.klDiv(LOGITS, null, new KlDivOptions(Reduction.SUM, false), LossOutputs.none()), "target"));
        rules.add(rule("null KL options", npe, () -> ENGINE.klDiv(LOGITS, SAME_SHAPE, null, LossOutputs.none()), "options"));
        rules.add(rule("null Dice target", npe, () -> ENGINE.dice(LOGITS, null, new DiceOptions(Reduction.MEAN, 1), LossOutputs.none()), "target"));
        rules.add(rule("null Dice options", npe, () -> ENGINE.dice(LOGITS, SAME_SHAPE, null, LossOutputs.none()), "options"));
        rules.add(rule("null element loss", npe, () -> ENGINE.pointwise(null, LOGITS, SAME_SHAPE, null, LossOutputs.none()), "loss"));
        rules.add(rule("null element-loss input", npe, () -> ENGINE.pointwise(new PointwiseLoss.Mse(Reduction.MEAN), null, SAME_SHAPE, null, LossOutputs.none()), "input"));
        rules.add(rule("null element-loss target", npe, () -> ENGINE.pointwise(new PointwiseLoss.Mse(Reduction.MEAN), LOGITS, null, null, LossOutputs.none()), "target"));
        rules.add(rule("null element-loss outputs", npe, () -> ENGINE.pointwise(new PointwiseLoss.Mse(Reduction.MEAN), LOGITS, SAME_SHAPE, null, null), "outputs"));
        rules.add(rule("null Gaussian variance", npe,
                () -> ENGINE.gaussianNll(LOGITS, SAME_SHAPE, null, new GaussianNllOptions(Reduction.MEAN, false, 1e-6), LossOutputs.none()), "variance"));
        rules.add(rule("null penalty", npe, () -> ENGINE.penalty(null, LOGITS, null), "penalty"));
        rules.add(rule("null penalty parameters", npe, () -> ENGINE.penalty(new Penalty.L1(1), null, null), "parameters"));
        rules.add(rule("null reduce op", npe, () -> ENGINE.reduce(null, LOGITS), "op"));
        rules.add(rule("null reduce input", npe, () -> ENGINE.reduce(ReduceOp.SUM, null), "x"));
        rules.add(rule("null reduceRows output", npe, () -> ENGINE.reduceRows(ReduceOp.SUM, LOGITS, null), "out"));
        rules.add(rule("null argmax input", npe, () -> ENGINE.argmax(null), "x"));
        rules.add(rule("null argmaxRows output", npe, () -> ENGINE.argmaxRows(LOGITS, null), "out"));
        rules.add(rule("null dot operand", npe, () -> ENGINE.dot(LOGITS, null), "b"));
        rules.add(rule("null reduction in options", npe, () -> CE.reduction(null), "reduction"));
        rules.add(rule("null reduction of an element loss", npe, () -> new PointwiseLoss.Mse(null), "reduction"));
        rules.add(rule("null gradient buffer", npe, () -> LossOutputs.withGradient(null), "gradient"));
        rules.add(rule("null losses buffer", npe, () -> LossOutputs.none().losses(null), "losses"));
        rules.add(rule("null array behind a view", npe, () -> Matrix.of((float[]) null, 1, 1), "data"));
        rules.add(rule("null segment behind a view", npe, () -> Matrix.of((MemorySegment) null, 1, 1), "segment"));
        rules.add(rule("null backend name", npe, () -> LossEngine.builder().backend(null), "backend"));

        // ---------------------------------------------------------------- engine and backends
        rules.add(rule("an unknown backend requested by the builder", IllegalStateException.class,
                () -> LossEngine.builder().backend("quantum").build(), "'quantum'", "engine builder", "reference"));
        rules.add(rule("an explicit backend that is not on the class path", IllegalStateException.class,
                () -> LossEngine.builder().backend("cpu").build(), "'cpu'", "no such backend is on the class path", "losskit-kernels-cpu"));
        return rules;
    }

    @Test
    void aClosedEngineRefusesEveryCall() {
        LossEngine engine = LossEngine.builder().backend("reference").build();
        engine.close();
        engine.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> engine.crossEntropy(LOGITS, TARGETS, CE, LossOutputs.none()), "a call on a closed engine");
        assertTrue(e.getMessage().contains("closed"), "the message should say the engine is closed: " + e.getMessage());
        assertThrows(IllegalStateException.class, () -> engine.reduce(ReduceOp.SUM, LOGITS), "reduce on a closed engine");
    }

    @Test
    void aClosedEngineSaysSoBeforeItLooksAtTheArguments() {
        LossEngine engine = LossEngine.builder().backend("reference").build();
        engine.close();
        Matrix badTargets = Matrix.vector(new int[] {0, 1, 7});
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> engine.crossEntropy(LOGITS, badTargets, CE, LossOutputs.none()), "a bad target on a closed engine");
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> engine.reduce(ReduceOp.SUM, null), "a null input on a closed engine");
        assertThrows(IllegalStateException.class, () -> engine.penalty(null, null, null), "a null penalty on a closed engine");
    }

    /** The in-place hint only where in place is possible: a gradient over the input of a call that takes LossOutputs. */
    @Test
    void theInPlaceHintAppearsOnlyWhereInPlaceCouldHelp() {
        float[] shared = new float[15];
        IllegalArgumentException penalty = assertThrows(IllegalArgumentException.class,
                () -> ENGINE.penalty(new Penalty.L2(1), Matrix.of(shared, 3, 5), Matrix.of(shared, 3, 5)));
        assertTrue(penalty.getMessage().contains("gradient overlaps parameters"), penalty.getMessage());
        assertTrue(!penalty.getMessage().contains("gradientInPlace"), "penalty() has no in-place gradient: " + penalty.getMessage());
        IllegalArgumentException target = assertThrows(IllegalArgumentException.class,
                () -> ENGINE.crossEntropyProbs(LOGITS, Matrix.of(shared, 3, 5), CE, LossOutputs.withGradient(Matrix.of(shared, 3, 5))));
        assertTrue(target.getMessage().contains("gradient overlaps targetProbs"), target.getMessage());
        assertTrue(!target.getMessage().contains("gradientInPlace"), "in place over the logits cannot help: " + target.getMessage());
        IllegalArgumentException input = assertThrows(IllegalArgumentException.class,
                () -> ENGINE.crossEntropy(Matrix.of(shared, 3, 5), TARGETS, CE, LossOutputs.withGradient(Matrix.of(shared, 3, 5))));
        assertTrue(input.getMessage().contains("gradientInPlace"), "the hint where it helps: " + input.getMessage());
    }

    /** A variance of NaN passes (PyTorch checks var < 0 only) and one of 0 is clamped to eps. */
    @Test
    void aNaNOrZeroVarianceIsNotRefused() {
        Matrix variance = Matrix.of(new float[] {1, 1, 1, Float.NaN, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 5);
        double loss = ENGINE.gaussianNll(LOGITS, SAME_SHAPE, variance, new GaussianNllOptions(Reduction.SUM, false, 1e-6), LossOutputs.none());
        assertTrue(Double.isNaN(loss), "NaN variance propagates: " + loss);
    }

    @Test
    void aBackendRequestedByTheSystemPropertyIsNamedWithItsSource() {
        String previous = System.getProperty("losskit.backend");
        System.setProperty("losskit.backend", "warp-drive");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, LossEngine::create, "an unknown backend in losskit.backend");
            assertTrue(e.getMessage().contains("'warp-drive'") && e.getMessage().contains("system property losskit.backend"),
                    "the message should name the value and the property: " + e.getMessage());
        } finally {
            if (previous == null) System.clearProperty("losskit.backend");
            else System.setProperty("losskit.backend", previous);
        }
    }
}
