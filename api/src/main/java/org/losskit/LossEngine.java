package org.losskit;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;

/**
 * Computes losses, their gradients and reductions on the best backend available at run time. Thread-safe: one
 * engine serves any number of threads. {@link AutoCloseable}: close it to free native resources (see
 * {@link #close()} for what happens to calls in flight).
 *
 * <pre>{@code
 * try (LossEngine engine = LossEngine.create()) {            // auto: CUDA, else Vector API, else reference
 *     double loss = engine.crossEntropy(Matrix.of(logits, rows, vocab), Matrix.vector(targets),
 *             CrossEntropyOptions.defaults(), LossOutputs.withGradient(Matrix.of(grad, rows, vocab)));
 * }
 * }</pre>
 *
 * <h2>Conventions of every loss call</h2>
 * <ul>
 *   <li>The return value is the reduced loss; for {@link Reduction#NONE} it is the sum of the unreduced losses.
 *       The gradient written is always the gradient of the returned value.</li>
 *   <li>Everything is checked before a backend sees it; bad input throws {@link IllegalArgumentException} or
 *       {@link NullPointerException} with a message that names the argument and the value. A call on a closed
 *       engine throws {@link IllegalStateException} before it looks at its arguments.</li>
 *   <li><b>On any exception, the caller's outputs are untouched.</b> Every check, including that each memory
 *       segment's arena is still open and usable by the calling thread, runs before the first write (device-side
 *       target checks too: a kernel that finds a bad target writes nothing). The one exception is misuse by another
 *       thread during the call (closing an arena the call uses, writing its buffers): the outputs are then
 *       unspecified, and the call fails or returns, but never crashes the JVM.</li>
 *   <li>Memory segments of a confined arena ({@code Arena.ofConfined()}) work from their owner thread at every
 *       size, on every backend; such a call runs on the calling thread only (the cpu backend does not split it
 *       across its workers, so a large call is slower). From any other thread they are refused by name. Use
 *       {@code Arena.ofShared()}, {@code ofAuto()} or {@code global()} for memory that several threads pass in.</li>
 *   <li>Each op's error bound against the exact value is {@link Op#float32Bound()} (float32 backends) or
 *       {@link ErrorBound#REFERENCE} (reference backend). {@code REFERENCE} covers what the reference returns as a
 *       {@code double} (the return value of every call); what it writes into float32 buffers (gradients, losses,
 *       diagnostics, per-row reductions) is that double rounded to float32, so it carries half a float32 ulp
 *       (2^-24 relative) on top.</li>
 *   <li>Results are deterministic: the same input on the same backend gives the same bits, whatever the thread
 *       count.</li>
 * </ul>
 *
 * <h2>Choosing the backend</h2>
 * {@link #create()} honours the system property {@code losskit.backend} and then the environment variable
 * {@code LOSSKIT_BACKEND} ({@code auto|cuda|cpu|reference}); {@link Builder#backend(String)} overrides both.
 * {@code auto} picks CUDA when a driver and a device exist, else the Vector API backend when
 * {@code jdk.incubator.vector} is readable, else the reference, and logs one line saying what it chose and why it
 * skipped the others. An explicitly requested backend that cannot run throws with the cause. Ops a backend does
 * not implement run on the next backend of the engine (finally the reference) unless fallback is turned off.
 */
public final class LossEngine implements AutoCloseable {
    private final List<LossBackend> backends;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LossEngine(List<LossBackend> backends) {
        this.backends = backends;
    }

    /** An engine with the backend named by {@code losskit.backend} / {@code LOSSKIT_BACKEND}, or {@code auto}. */
    public static LossEngine create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configures an engine; every setter validates its value. */
    public static final class Builder {
        private String backend;
        private int parallelism = Runtime.getRuntime().availableProcessors();
        private long cudaHostCrossoverElements = -1;
        private int cudaDevice;
        private boolean fallbackToReference = true;

        private Builder() {}

        /** {@code auto}, {@code cuda}, {@code cpu} or {@code reference}; overrides the property and environment. */
        public Builder backend(String backend) {
            this.backend = Arguments.notNull("backend", backend);
            return this;
        }

        /**
         * Threads a CPU backend may use for one call, in [1, {@link EngineSettings#maxParallelism()}] (4 x available
         * processors, at least 16); default: available
         * processors. The CPU backend starts {@code parallelism - 1} daemon worker threads.
         */
        public Builder parallelism(int parallelism) {
            this.parallelism = EngineSettings.checkParallelism(parallelism);
            return this;
        }

        /** Host-resident calls below this many input elements stay on the CPU even when CUDA is present. */
        public Builder cudaHostCrossoverElements(long elements) {
            if (elements < 0) throw new IllegalArgumentException("cudaHostCrossoverElements must be >= 0, got " + elements);
            this.cudaHostCrossoverElements = elements;
            return this;
        }

        public Builder cudaDevice(int ordinal) {
            if (ordinal < 0) throw new IllegalArgumentException("cudaDevice must be >= 0, got " + ordinal);
            this.cudaDevice = ordinal;
            return this;
        }

        /**
         * Whether ops the chosen backend does not implement run on the reference backend (default true). Tests of a
         * backend turn it off so that nothing silently runs elsewhere.
         */
        public Builder fallbackToReference(boolean fallback) {
            this.fallbackToReference = fallback;
            return this;
        }

        public LossEngine build() {
            EngineSettings settings = new EngineSettings(parallelism, cudaHostCrossoverElements, cudaDevice);
            return new LossEngine(BackendSelection.open(BackendSelection.request(backend), settings, fallbackToReference));
        }
    }

    /** Every backend provider found, with whether it can run here and, if not, why and the fix. */
    public static List<BackendStatus> availableBackends() {
        return BackendSelection.discover().stream()
                .map(c -> new BackendStatus(c.name(), c.probe().available(), c.probe().detail(), c.probe().fix()))
                .toList();
    }

    /** What {@link #availableBackends()} reports for one backend. */
    public record BackendStatus(String name, boolean available, String detail, String fix) {}

    /** Name of the primary backend ("cuda", "cpu" or "reference"). */
    public String backendName() {
        return backends.getFirst().name();
    }

    /** One line describing the primary backend. */
    public String backendDescription() {
        return backends.getFirst().description();
    }

    /** The backend that would run {@code op} on host data of {@code elements} elements. */
    public String backendFor(Op op, long elements) {
        return route(op, elements, false).name();
    }

    // ------------------------------------------------------------------------------------------ softmax losses

    /**
     * Softmax cross-entropy with class-index targets, fused: loss, gradient and diagnostics from one call.
     * Row loss, with z' = softcap(z), lse = log sum exp z', e the smoothing and w the class weights:
     * {@code (1-e) w_y (lse - z'_y) + (e/C) sum_c w_c (lse - z'_c) + zLoss lse^2}; ignored rows give 0.
     * {@code MEAN} divides by the sum of {@code w_y} over rows not ignored (PyTorch); over no rows it is NaN
     * (or 0 with {@link CrossEntropyOptions#allIgnoredMeanIsZero}). A row of only -inf logits has no
     * distribution: its loss and gradient are NaN, as in PyTorch. Diagnostics are written for every row,
     * ignored or not ({@code targetProbability} is NaN for ignored rows). Bound: {@link Op#CROSS_ENTROPY}.
     *
     * @param logits  rows x classes, float32, bf16 or fp16
     * @param targets int32, one per row, in [0, classes) or equal to the ignore index
     */
    public double crossEntropy(Matrix logits, Matrix targets, CrossEntropyOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("logits", logits);
        Arguments.notNull("options", options);
        CallChecks.indexTargets(targets, logits.rows(), logits.cols(), true, options.ignoreIndex());
        CallChecks.weightCount("classWeights", options.classWeights(), logits.cols(), "the number of classes");
        CallChecks.lossOutputs(outputs, logits, "logits", logits.rows(), true, targets, "targets", null, null);
        return route(Op.CROSS_ENTROPY, logits.size(), logits.isOnDevice()).crossEntropy(logits, targets, options, outputs);
    }

    /**
     * Softmax cross-entropy with probability targets q: row loss {@code -sum_c w_c q'_c log p_c + zLoss lse^2},
     * q' = (1-e) q + e/C; terms with q'_c = 0 count 0 even where p_c = 0. {@code MEAN} divides by rows; the ignore
     * index does not apply. Bound: {@link Op#CROSS_ENTROPY_PROBS}.
     */
    public double crossEntropyProbs(Matrix logits, Matrix targetProbs, CrossEntropyOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("logits", logits);
        CallChecks.floatInput("targetProbs", targetProbs);
        Arguments.notNull("options", options);
        CallChecks.sameShape("targetProbs", targetProbs, "logits", logits);
        CallChecks.weightCount("classWeights", options.classWeights(), logits.cols(), "the number of classes");
        CallChecks.lossOutputs(outputs, logits, "logits", logits.rows(), true, targetProbs, "targetProbs", null, null);
        return route(Op.CROSS_ENTROPY_PROBS, logits.size(), logits.isOnDevice()).crossEntropyProbs(logits, targetProbs, options, outputs);
    }

    /** Perplexity {@code exp(mean cross-entropy)} with the options' weights, ignore index and smoothing. */
    public double perplexity(Matrix logits, Matrix targets, CrossEntropyOptions options) {
        requireOpen();
        Arguments.notNull("options", options);
        return Math.exp(crossEntropy(logits, targets, options.reduction(Reduction.MEAN), LossOutputs.none()));
    }

    /** NLL on log-probabilities; see {@link NllOptions}. Bound: {@link Op#NLL}. */
    public double nll(Matrix logProbs, Matrix targets, NllOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("logProbs", logProbs);
        Arguments.notNull("options", options);
        CallChecks.indexTargets(targets, logProbs.rows(), logProbs.cols(), true, options.ignoreIndex());
        CallChecks.weightCount("classWeights", options.classWeights(), logProbs.cols(), "the number of classes");
        CallChecks.lossOutputs(outputs, logProbs, "logProbs", logProbs.rows(), false, targets, "targets", null, null);
        return route(Op.NLL, logProbs.size(), logProbs.isOnDevice()).nll(logProbs, targets, options, outputs);
    }

    /** Softmax focal loss; see {@link SoftmaxFocalOptions}. Bound: {@link Op#SOFTMAX_FOCAL}. */
    public double softmaxFocal(Matrix logits, Matrix targets, SoftmaxFocalOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("logits", logits);
        Arguments.notNull("options", options);
        CallChecks.indexTargets(targets, logits.rows(), logits.cols(), false, 0);
        CallChecks.weightCount("alpha", options.alpha(), logits.cols(), "the number of classes");
        CallChecks.lossOutputs(outputs, logits, "logits", logits.rows(), false, targets, "targets", null, null);
        return route(Op.SOFTMAX_FOCAL, logits.size(), logits.isOnDevice()).softmaxFocal(logits, targets, options, outputs);
    }

    /** Multi-class margin loss; see {@link MultiMarginOptions}. Bound: {@link Op#MULTI_MARGIN}. */
    public double multiMargin(Matrix input, Matrix targets, MultiMarginOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("input", input);
        Arguments.notNull("options", options);
        CallChecks.indexTargets(targets, input.rows(), input.cols(), false, 0);
        CallChecks.weightCount("classWeights", options.classWeights(), input.cols(), "the number of classes");
        CallChecks.lossOutputs(outputs, input, "input", input.rows(), false, targets, "targets", null, null);
        return route(Op.MULTI_MARGIN, input.size(), input.isOnDevice()).multiMargin(input, targets, options, outputs);
    }

    /** KL divergence; element losses for {@code NONE}; see {@link KlDivOptions}. Bound: {@link Op#KL_DIV}. */
    public double klDiv(Matrix input, Matrix target, KlDivOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("input", input);
        CallChecks.floatInput("target", target);
        Arguments.notNull("options", options);
        CallChecks.sameShape("target", target, "input", input);
        CallChecks.lossOutputs(outputs, input, "input", input.size(), false, target, "target", null, null);
        return route(Op.KL_DIV, input.size(), input.isOnDevice()).klDiv(input, target, options, outputs);
    }

    /** Soft Dice from logits, one loss per row; see {@link DiceOptions}. Bound: {@link Op#DICE}. */
    public double dice(Matrix logits, Matrix target, DiceOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("logits", logits);
        CallChecks.floatInput("target", target);
        Arguments.notNull("options", options);
        CallChecks.sameShape("target", target, "logits", logits);
        CallChecks.lossOutputs(outputs, logits, "logits", logits.rows(), false, target, "target", null, null);
        return route(Op.DICE, logits.size(), logits.isOnDevice()).dice(logits, target, options, outputs);
    }

    // ------------------------------------------------------------------------------------------ element losses

    /**
     * An element-wise loss (MSE, L1, smooth L1, Huber, log-cosh, quantile, hinge, squared hinge, Poisson NLL,
     * BCE-with-logits, sigmoid focal); see {@link PointwiseLoss}. {@code weight}, when not null, multiplies each
     * element's loss (and gradient); {@code MEAN} still divides by the element count, as PyTorch. Bound: the
     * loss's {@link PointwiseLoss#op()}.
     */
    public double pointwise(PointwiseLoss loss, Matrix input, Matrix target, Matrix weight, LossOutputs outputs) {
        requireOpen();
        Arguments.notNull("loss", loss);
        CallChecks.floatInput("input", input);
        CallChecks.floatInput("target", target);
        CallChecks.sameShape("target", target, "input", input);
        if (weight != null) {
            CallChecks.floatInput("weight", weight);
            CallChecks.sameShape("weight", weight, "input", input);
        }
        if (loss instanceof PointwiseLoss.BceWithLogits bce) {
            CallChecks.weightCount("posWeight", bce.posWeight(), input.cols(), "the number of columns");
        }
        CallChecks.lossOutputs(outputs, input, "input", input.size(), false, target, "target", weight, "weight");
        return route(loss.op(), input.size(), input.isOnDevice()).pointwise(loss, input, target, weight, outputs);
    }

    /** BCE with logits: {@link PointwiseLoss.BceWithLogits}; {@code weight} per element or null. */
    public double bceWithLogits(Matrix logits, Matrix targets, Matrix weight, PointwiseLoss.BceWithLogits options, LossOutputs outputs) {
        return pointwise(options, logits, targets, weight, outputs);
    }

    /** Gaussian NLL; see {@link GaussianNllOptions}. Bound: {@link Op#GAUSSIAN_NLL}. */
    public double gaussianNll(Matrix input, Matrix target, Matrix variance, GaussianNllOptions options, LossOutputs outputs) {
        requireOpen();
        CallChecks.floatInput("input", input);
        CallChecks.floatInput("target", target);
        CallChecks.floatInput("variance", variance);
        Arguments.notNull("options", options);
        CallChecks.sameShape("target", target, "input", input);
        CallChecks.sameShape("variance", variance, "input", input);
        CallChecks.lossOutputs(outputs, input, "input", input.size(), false, target, "target", variance, "variance");
        CallChecks.nonNegativeVariance(variance);
        return route(Op.GAUSSIAN_NLL, input.size(), input.isOnDevice()).gaussianNll(input, target, variance, options, outputs);
    }

    /**
     * A penalty on {@code parameters}. The gradient (if not null) is <em>overwritten</em> with the penalty's gradient,
     * not added to: to combine it with a loss gradient, compute it into a buffer of its own and add the two (the
     * gradient must not overlap the parameters). Bound: {@link Op#PENALTY}.
     */
    public double penalty(Penalty penalty, Matrix parameters, Matrix gradient) {
        requireOpen();
        Arguments.notNull("penalty", penalty);
        CallChecks.floatInput("parameters", parameters);
        CallChecks.penaltyGradient(gradient, parameters);
        return route(Op.PENALTY, parameters.size(), parameters.isOnDevice()).penalty(penalty, parameters, gradient);
    }

    // ------------------------------------------------------------------------------------------ reductions

    /** A whole-array reduction; see {@link ReduceOp}. Bound: {@link Op#REDUCTION}. */
    public double reduce(ReduceOp op, Matrix x) {
        requireOpen();
        Arguments.notNull("op", op);
        CallChecks.floatInput("x", x);
        return route(Op.REDUCTION, x.size(), x.isOnDevice()).reduce(op, x);
    }

    /** One reduction per row into {@code out} (float32, at least one value per row). */
    public void reduceRows(ReduceOp op, Matrix x, Matrix out) {
        requireOpen();
        Arguments.notNull("op", op);
        CallChecks.floatInput("x", x);
        Arguments.notNull("out", out);
        CallChecks.writable("out", out, ElementType.FLOAT32);
        CallChecks.outputSize("out", out, x.rows());
        checkReductionOutput(x, out);
        route(Op.REDUCTION, x.size(), x.isOnDevice()).reduceRows(op, x, out);
    }

    /** Flat index of the first largest element (NaN counts as largest, as PyTorch); -1 for no elements. */
    public long argmax(Matrix x) {
        requireOpen();
        CallChecks.floatInput("x", x);
        return route(Op.REDUCTION, x.size(), x.isOnDevice()).argmax(x);
    }

    /** Column of the first largest element of each row into {@code out} (int32). */
    public void argmaxRows(Matrix x, Matrix out) {
        requireOpen();
        CallChecks.floatInput("x", x);
        Arguments.notNull("out", out);
        CallChecks.writable("out", out, ElementType.INT32);
        CallChecks.outputSize("out", out, x.rows());
        checkReductionOutput(x, out);
        route(Op.REDUCTION, x.size(), x.isOnDevice()).argmaxRows(x, out);
    }

    /** Compensated dot product of two views of the same shape. */
    public double dot(Matrix a, Matrix b) {
        requireOpen();
        CallChecks.floatInput("a", a);
        CallChecks.floatInput("b", b);
        CallChecks.sameShape("b", b, "a", a);
        CallChecks.sameSide(b, "b", a, "a");
        return route(Op.REDUCTION, a.size(), a.isOnDevice()).dot(a, b);
    }

    private static void checkReductionOutput(Matrix x, Matrix out) {
        CallChecks.sameSide(out, "out", x, "x");
        if (out.overlaps(x)) throw new IllegalArgumentException("out overlaps x");
    }

    // ------------------------------------------------------------------------------------------ routing

    /** The first check of every call: a closed engine says so before it looks at the arguments. */
    private void requireOpen() {
        if (closed.get()) throw new IllegalStateException("this LossEngine is closed");
    }

    private LossBackend route(Op op, long elements, boolean onDevice) {
        requireOpen(); // again: close() may have run while the arguments were checked
        for (int i = 0; i < backends.size(); i++) { // indexed: no iterator on the hot path
            LossBackend backend = backends.get(i);
            if (!backend.supports(op)) continue;
            if (onDevice) {
                if (backend.acceptsDeviceMemory()) return backend;
                continue;
            }
            if (backend == backends.getLast() || backend.wantsHostCall(op, elements)) return backend;
        }
        if (onDevice) {
            throw new IllegalArgumentException("the data of this " + op + " call is in device memory, but no backend of this engine "
                    + backends.stream().map(LossBackend::name).toList() + " runs " + op + " on device memory");
        }
        throw new UnsupportedOperationException(op + " is not implemented by backend " + backendName()
                + " and this engine does not fall back to the reference backend");
    }

    /**
     * Closes every backend. Idempotent. The contract for other threads:
     * <ul>
     *   <li>a call that starts after {@code close()} began throws {@link IllegalStateException} ("this LossEngine is
     *       closed");</li>
     *   <li>a call already in flight either finishes normally, with the same answer as ever, or throws
     *       {@link IllegalStateException} saying the backend is closed, before writing any output; it never
     *       hangs. The cpu backend lets it finish ({@code close()} waits for a call its worker threads are running;
     *       a call that had not reached them yet runs on its own thread); the cuda backend waits for calls on the
     *       device and refuses those that had not reached it.</li>
     * </ul>
     * An engine dropped without {@code close()} still gives back the cpu backend's worker threads (daemon threads)
     * once it is unreachable; close engines anyway, since device resources are freed only by {@code close()}.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        RuntimeException first = null;
        for (LossBackend backend : backends) {
            try {
                backend.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return "LossEngine[" + String.join(" -> ", backends.stream().map(LossBackend::name).toList()) + "]";
    }
}
