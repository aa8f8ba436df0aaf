package org.losskit.cuda;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
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
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;
import org.losskit.spi.WeightedMeanDivisor;

/**
 * The CUDA backend: one PTX module loaded once into the device's primary context, every kernel looked up once,
 * a pool of call slots (stream + staging buffers) shared by the calling threads. Host data is staged through
 * pinned memory; device data ({@link DeviceBuffer}) is used in place. The engine validates every argument before
 * a call gets here; this class adds the limits of its own (device memory ownership, dense device vectors,
 * staging size) before any launch, and checks device-resident class-index targets on the device.
 */
final class CudaBackend implements LossBackend {
    /** PyTorch's weighted-mean divisor of a call with no rows (0 / 0 for a mean, as the host backends compute it). */
    private static final WeightedMeanDivisor NO_ROWS = new WeightedMeanDivisor(0, 0);

    /** The ops with kernels; every other op runs on the engine's next backend. */
    static final Set<Op> SUPPORTED = EnumSet.of(Op.CROSS_ENTROPY, Op.CROSS_ENTROPY_PROBS, Op.BCE_WITH_LOGITS,
            Op.SIGMOID_FOCAL, Op.SOFTMAX_FOCAL, Op.NLL, Op.DICE, Op.MSE, Op.L1, Op.SMOOTH_L1, Op.HUBER, Op.LOG_COSH, Op.QUANTILE, Op.HINGE,
            Op.SQUARED_HINGE, Op.POISSON_NLL, Op.REDUCTION);

    /** Gradient scale modes of the cross-entropy kernels (LK_SCALE_* in common.cuh). */
    static final int SCALE_FIXED = 0;
    static final int SCALE_BY_TARGET_WEIGHT = 1;
    /** Reduction codes beyond ReduceOp's ordinals (LK_ARGMAX, LK_DOT in reductions.cuh). */
    static final int REDUCE_ARGMAX = 7;
    static final int REDUCE_DOT = 8;

    private final CudaContext context;
    private final CUmodule module;
    private final Map<Kernel, CUfunction> functions;
    private final PtxModule ptx;
    private final long crossover;
    private final int maxSlots;
    private final ArrayBlockingQueue<CallSlot> idleSlots;
    private final AtomicInteger slotCount = new AtomicInteger();
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final WeightCache weightCache;
    private boolean closed;

    private CudaBackend(CudaContext context, CUmodule module, Map<Kernel, CUfunction> functions, PtxModule ptx,
                        EngineSettings settings) {
        this.context = context;
        this.module = module;
        this.functions = functions;
        this.ptx = ptx;
        this.crossover = HostCrossover.threshold(settings);
        this.maxSlots = Math.clamp(settings.parallelism(), 2, 16);
        this.idleSlots = new ArrayBlockingQueue<>(maxSlots);
        this.weightCache = new WeightCache(WeightCache.DEFAULT_CAPACITY, this::uploadWeights);
    }

    /** A device copy of a host weight vector, as dense float32 (the weight cache's upload). */
    private WeightCache.DeviceCopy uploadWeights(Matrix weights) {
        float[] values = new float[Math.toIntExact(weights.size())];
        for (int i = 0; i < values.length; i++) values[i] = weights.getFloat(i);
        DeviceBuffer buffer = DeviceBuffer.allocateIn(context, 4L * Math.max(1, values.length));
        try {
            buffer.copyFrom(values);
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
        return new WeightCache.DeviceCopy() {
            @Override
            public long address() {
                return buffer.address();
            }

            @Override
            public void close() {
                buffer.close();
            }
        };
    }

    WeightCache weightCache() {
        return weightCache;
    }

    /** Retains the device's context, loads the module and looks up every kernel; frees what it took on failure. */
    static CudaBackend open(EngineSettings settings) {
        PtxModule ptx = PtxModule.shipped();
        CudaContext context = CudaContext.retain(settings.cudaDevice());
        try {
            context.makeCurrent();
            CUmodule module = new CUmodule();
            CudaException.check(JCudaDriver.cuModuleLoadData(module, ptx.image()), "cuModuleLoadData(" + PtxModule.RESOURCE + ")");
            try {
                Map<Kernel, CUfunction> functions = new EnumMap<>(Kernel.class);
                for (Kernel kernel : Kernel.values()) {
                    CUfunction function = new CUfunction();
                    CudaException.check(JCudaDriver.cuModuleGetFunction(function, module, kernel.entry()),
                            "cuModuleGetFunction(" + kernel.entry() + ")");
                    functions.put(kernel, function);
                }
                return new CudaBackend(context, module, functions, ptx, settings);
            } catch (RuntimeException e) {
                JCudaDriver.cuModuleUnload(module);
                throw e;
            }
        } catch (RuntimeException e) {
            context.release();
            throw e;
        }
    }

    @Override
    public String name() {
        return CudaProvider.NAME;
    }

    @Override
    public String description() {
        return "CUDA device " + context.ordinal + ": " + context.name + " (sm_" + context.computeCapability + ", "
                + context.multiprocessors + " SMs), PTX ISA " + ptx.version() + ", host data above " + crossover + " elements";
    }

    @Override
    public boolean supports(Op op) {
        return SUPPORTED.contains(op);
    }

    @Override
    public boolean wantsHostCall(Op op, long elements) {
        return elements >= crossover;
    }

    @Override
    public boolean acceptsDeviceMemory() {
        return true;
    }

    CUfunction function(Kernel kernel) {
        return functions.get(kernel);
    }

    /** The address of device memory this backend can use, or a clear exception. */
    long deviceAddressOf(Matrix m, String name) {
        if (!(m.device() instanceof DeviceBuffer buffer)) {
            throw new IllegalArgumentException(name + " is device memory of " + m.device().backendName()
                    + ", not a losskit DeviceBuffer; the cuda backend runs only on DeviceBuffer memory");
        }
        if (!buffer.belongsTo(context)) {
            throw new IllegalArgumentException(name + " lives on cuda:" + buffer.deviceOrdinal() + " but this engine runs on cuda:" + context.ordinal);
        }
        if (!buffer.isOpen()) throw new IllegalArgumentException(name + " is a DeviceBuffer that was already closed");
        return buffer.address();
    }

    // ------------------------------------------------------------------------------------------ calls and slots

    @FunctionalInterface
    private interface CallBody<T> {
        T run(Call call);
    }

    private <T> T call(CallBody<T> body) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("the cuda backend is closed");
            context.makeCurrent();
            CallSlot slot = acquire();
            try (Call call = new Call(this, slot)) {
                return body.run(call);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private CallSlot acquire() {
        CallSlot slot = idleSlots.poll();
        if (slot != null) return slot;
        if (slotCount.incrementAndGet() <= maxSlots) {
            try {
                return new CallSlot(context);
            } catch (RuntimeException e) {
                slotCount.decrementAndGet();
                throw e;
            }
        }
        slotCount.decrementAndGet();
        try {
            return idleSlots.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free CUDA stream", e);
        }
    }

    void release(CallSlot slot) {
        if (!idleSlots.offer(slot)) slot.close();
    }

    // ------------------------------------------------------------------------------------------ cross-entropy

    @Override
    public double crossEntropy(Matrix logits, Matrix targets, CrossEntropyOptions options, LossOutputs outputs) {
        return softmaxCrossEntropy(false, logits, targets, options, outputs);
    }

    @Override
    public double crossEntropyProbs(Matrix logits, Matrix targetProbs, CrossEntropyOptions options, LossOutputs outputs) {
        return softmaxCrossEntropy(true, logits, targetProbs, options, outputs);
    }

    private double softmaxCrossEntropy(boolean probs, Matrix logits, Matrix targets, CrossEntropyOptions o, LossOutputs out) {
        int rows = logits.rows();
        int cols = logits.cols();
        Reduction reduction = o.reduction();
        if (rows == 0) { // no rows to launch for: the value the host backends return for an empty batch
            return probs ? reduction.reduce(0, 0, 0) : NO_ROWS.reduce(reduction, 0, 0, o.allIgnoredMeanIsZero());
        }
        LaunchPlan plan = LaunchPlan.forRows(rows, cols, context.multiprocessors, out.entropy() == null);
        double weightSum = 0;
        for (int c = 0; c < cols; c++) weightSum += o.classWeight(c);
        // The gradient is of the returned value: index MEAN divides by sum w_y (known on the device), the others
        // by a count the host knows.
        int scaleMode = !probs && reduction == Reduction.MEAN ? SCALE_BY_TARGET_WEIGHT : SCALE_FIXED;
        float scale = reduction == Reduction.MEAN || reduction == Reduction.BATCHMEAN ? 1f / rows : 1f;
        float totalWeight = (float) weightSum;
        return call(call -> {
            HostStaging staging = call.staging;
            DeviceOperand x = staging.input(logits, "logits");
            DeviceOperand indexTargets = probs ? DeviceOperand.ABSENT : staging.indexVector(targets, "targets");
            DeviceOperand probTargets = probs ? staging.input(targets, "targetProbs") : DeviceOperand.ABSENT;
            DeviceOperand weights = call.weights(o.classWeights(), logits.isOnDevice());
            DeviceOperand gradient = out.isGradientInPlace() ? staging.inPlace(x, logits) : staging.output(out.gradient(), "gradient");
            DeviceOperand losses = staging.flatOutput(out.losses(), rows, "losses");
            DeviceOperand lse = staging.flatOutput(out.logSumExp(), rows, "logSumExp");
            DeviceOperand maxLogit = staging.flatOutput(out.maxLogit(), rows, "maxLogit");
            DeviceOperand argmax = staging.flatOutput(out.argmax(), rows, "argmax");
            DeviceOperand targetProbability = staging.flatOutput(out.targetProbability(), rows, "targetProbability");
            DeviceOperand entropy = staging.flatOutput(out.entropy(), rows, "entropy");
            call.scratch(plan.partialCount(), plan.splitStateBytes());
            call.start();
            if (!probs) {
                call.launch(Kernel.CE_CHECK_TARGETS, 1, 1, LaunchPlan.CHECK_THREADS, checkTargetsArgs(call.address(indexTargets),
                        rows, cols, true, o.ignoreIndex(), call.address(weights), call.statusAddress()));
            }
            KernelArgs args = crossEntropyArgs(call.address(x), x.typeCode(), x.rowStride(), rows, cols,
                    call.address(indexTargets), call.address(probTargets), probTargets.typeCode(), probTargets.rowStride(),
                    call.address(weights), totalWeight, o.ignoreIndex(), (float) o.labelSmoothing(), (float) o.zLoss(),
                    (float) o.softcap(), scaleMode, scale, call.address(gradient), gradient.rowStride(), call.address(losses),
                    call.address(lse), call.address(maxLogit), call.address(argmax), call.address(targetProbability),
                    call.address(entropy), call.statusAddress(), call.partialsAddress(), plan.splits(), call.splitStateAddress());
            switch (plan.shape()) {
                case WARP_PER_ROW -> call.launch(probs ? Kernel.CE_PROBS_WARP : Kernel.CE_INDEX_WARP, plan.gridX(), 1, plan.blockThreads(), args);
                case BLOCK_PER_ROW -> call.launch(probs ? Kernel.CE_PROBS_BLOCK : Kernel.CE_INDEX_BLOCK, plan.gridX(), 1, plan.blockThreads(), args);
                case SPLIT_ROW -> {
                    call.launch(probs ? Kernel.CE_PROBS_SPLIT_ACCUMULATE : Kernel.CE_INDEX_SPLIT_ACCUMULATE, plan.gridX(), plan.gridY(),
                            plan.blockThreads(), args);
                    call.launch(probs ? Kernel.CE_PROBS_SPLIT_FINISH : Kernel.CE_INDEX_SPLIT_FINISH, plan.gridX(), plan.gridY(),
                            plan.blockThreads(), args);
                }
                case ELEMENTS -> throw new AssertionError("row plan expected");
            }
            call.finish();
            CallStatus status = call.status();
            if (!probs) status.throwIfBadTarget(cols, o.ignoreIndex());
            call.deliver();
            double total = Partials.sum(call.partials(), call.partialCount());
            return switch (reduction) {
                case NONE, SUM -> total;
                case MEAN -> probs ? total / rows
                        : status.counted() == 0 && o.allIgnoredMeanIsZero() ? 0 : total / status.targetWeightSum();
                case BATCHMEAN -> total / rows;
            };
        });
    }

    /** lk_ce_check_targets: every class-index target checked (and sum w_y taken) before the loss kernels run. */
    static KernelArgs checkTargetsArgs(long targets, int rows, int classes, boolean hasIgnoreIndex, int ignoreIndex,
                                       long classWeights, long status) {
        return new KernelArgs().pointer(targets).i32(rows).i32(classes).i32(hasIgnoreIndex ? 1 : 0).i32(ignoreIndex)
                .pointer(classWeights).pointer(status).checkAgainst(Kernel.CE_CHECK_TARGETS);
    }

    /** The parameters of every lk_ce_* kernel, in the order of LK_CE_PARAMS (cross_entropy.cuh). */
    static KernelArgs crossEntropyArgs(long logits, int logitsType, long logitsStride, int rows, int cols, long targets,
                                       long probs, int probsType, long probsStride, long classWeights, float weightSum,
                                       int ignoreIndex, float smoothing, float zLoss, float softcap, int scaleMode,
                                       float scale, long gradient, long gradientStride, long losses, long lse,
                                       long maxLogit, long argmax, long targetProbability, long entropy, long status,
                                       long partials, int splits, long splitStates) {
        return new KernelArgs().pointer(logits).i32(logitsType).i64(logitsStride).i32(rows).i32(cols).pointer(targets)
                .pointer(probs).i32(probsType).i64(probsStride).pointer(classWeights).f32(weightSum)
                .i32(ignoreIndex).f32(smoothing).f32(zLoss).f32(softcap).i32(scaleMode).f32(scale)
                .pointer(gradient).i64(gradientStride).pointer(losses).pointer(lse).pointer(maxLogit).pointer(argmax)
                .pointer(targetProbability).pointer(entropy).pointer(status).pointer(partials).i32(splits).pointer(splitStates)
                .checkAgainst(Kernel.CE_INDEX_WARP);
    }

    // ------------------------------------------------------------------------------------------ NLL, softmax focal

    @Override
    public double nll(Matrix logProbs, Matrix targets, NllOptions o, LossOutputs out) {
        int rows = logProbs.rows();
        int cols = logProbs.cols();
        Reduction reduction = o.reduction();
        if (rows == 0) return NO_ROWS.reduce(reduction, 0, 0, o.allIgnoredMeanIsZero()); // as the host backends
        // Without a gradient the kernel needs one worker per row (the gather), not one per column.
        LaunchPlan plan = LaunchPlan.forElements(rows, out.gradientTarget(logProbs) == null ? 1 : cols);
        // MEAN divides by sum w_y over rows not ignored, which the target check sums on the device.
        int scaleMode = reduction == Reduction.MEAN ? SCALE_BY_TARGET_WEIGHT : SCALE_FIXED;
        float scale = (float) reduction.gradientScale(rows, rows);
        return call(call -> {
            HostStaging staging = call.staging;
            DeviceOperand x = staging.input(logProbs, "logProbs");
            DeviceOperand t = staging.indexVector(targets, "targets");
            DeviceOperand weights = call.weights(o.classWeights(), logProbs.isOnDevice());
            DeviceOperand gradient = out.isGradientInPlace() ? staging.inPlace(x, logProbs) : staging.output(out.gradient(), "gradient");
            DeviceOperand losses = staging.flatOutput(out.losses(), rows, "losses");
            call.scratch(plan.partialCount(), 0);
            call.start();
            call.launch(Kernel.CE_CHECK_TARGETS, 1, 1, LaunchPlan.CHECK_THREADS, checkTargetsArgs(call.address(t), rows, cols,
                    true, o.ignoreIndex(), call.address(weights), call.statusAddress()));
            call.launch(Kernel.NLL, plan.gridX(), plan.gridY(), plan.blockThreads(), nllArgs(call.address(x), x.typeCode(),
                    x.rowStride(), rows, cols, call.address(t), call.address(weights), o.ignoreIndex(), scaleMode, scale,
                    call.address(gradient), gradient.rowStride(), call.address(losses), call.statusAddress(), call.partialsAddress()));
            call.finish();
            CallStatus status = call.status();
            status.throwIfBadTarget(cols, o.ignoreIndex());
            call.deliver();
            double total = Partials.sum(call.partials(), call.partialCount());
            if (reduction != Reduction.MEAN) return total;
            return status.counted() == 0 && o.allIgnoredMeanIsZero() ? 0 : total / status.targetWeightSum();
        });
    }

    /** The parameters of lk_nll (nll.cuh), in order. */
    static KernelArgs nllArgs(long logProbs, int logProbsType, long logProbsStride, int rows, int cols, long targets,
                              long classWeights, int ignoreIndex, int scaleMode, float scale, long gradient,
                              long gradientStride, long losses, long status, long partials) {
        return new KernelArgs().pointer(logProbs).i32(logProbsType).i64(logProbsStride).i32(rows).i32(cols)
                .pointer(targets).pointer(classWeights).i32(ignoreIndex).i32(scaleMode).f32(scale).pointer(gradient)
                .i64(gradientStride).pointer(losses).pointer(status).pointer(partials).checkAgainst(Kernel.NLL);
    }

    @Override
    public double softmaxFocal(Matrix logits, Matrix targets, SoftmaxFocalOptions o, LossOutputs out) {
        int rows = logits.rows();
        int cols = logits.cols();
        if (rows == 0) return o.reduction().reduce(0, rows, rows);
        LaunchPlan plan = LaunchPlan.forRows(rows, cols, context.multiprocessors, false);
        float scale = (float) o.reduction().gradientScale(rows, rows);
        double total = call(call -> {
            HostStaging staging = call.staging;
            DeviceOperand x = staging.input(logits, "logits");
            DeviceOperand t = staging.indexVector(targets, "targets");
            DeviceOperand alpha = call.weights(o.alpha(), logits.isOnDevice());
            DeviceOperand gradient = out.isGradientInPlace() ? staging.inPlace(x, logits) : staging.output(out.gradient(), "gradient");
            DeviceOperand losses = staging.flatOutput(out.losses(), rows, "losses");
            call.scratch(plan.partialCount(), 0);
            call.start();
            // Softmax focal targets have no ignore index: every target must be a class.
            call.launch(Kernel.CE_CHECK_TARGETS, 1, 1, LaunchPlan.CHECK_THREADS, checkTargetsArgs(call.address(t), rows, cols,
                    false, 0, 0, call.statusAddress()));
            Kernel kernel = plan.shape() == LaunchPlan.Shape.WARP_PER_ROW ? Kernel.SOFTMAX_FOCAL_WARP : Kernel.SOFTMAX_FOCAL_BLOCK;
            call.launch(kernel, plan.gridX(), 1, plan.blockThreads(), softmaxFocalArgs(call.address(x), x.typeCode(),
                    x.rowStride(), rows, cols, call.address(t), call.address(alpha), (float) o.gamma(), scale,
                    call.address(gradient), gradient.rowStride(), call.address(losses), call.statusAddress(), call.partialsAddress()));
            call.finish();
            call.status().throwIfBadTarget(cols, null);
            call.deliver();
            return Partials.sum(call.partials(), call.partialCount());
        });
        return o.reduction().reduce(total, rows, rows);
    }

    /** The parameters of lk_softmax_focal_* (LK_FOCAL_PARAMS in softmax_focal.cuh), in order. */
    static KernelArgs softmaxFocalArgs(long logits, int logitsType, long logitsStride, int rows, int cols, long targets,
                                       long alpha, float gamma, float scale, long gradient, long gradientStride,
                                       long losses, long status, long partials) {
        return new KernelArgs().pointer(logits).i32(logitsType).i64(logitsStride).i32(rows).i32(cols).pointer(targets)
                .pointer(alpha).f32(gamma).f32(scale).pointer(gradient).i64(gradientStride).pointer(losses)
                .pointer(status).pointer(partials).checkAgainst(Kernel.SOFTMAX_FOCAL_WARP);
    }

    // ------------------------------------------------------------------------------------------ element losses

    @Override
    public double pointwise(PointwiseLoss loss, Matrix input, Matrix target, Matrix weight, LossOutputs out) {
        long n = input.size();
        int rows = input.rows();
        Reduction reduction = loss.reduction();
        if (n == 0) return reduction.reduce(0, n, rows);
        PointwiseKind.Launch kind = PointwiseKind.of(loss);
        LaunchPlan plan = LaunchPlan.forElements(rows, input.cols());
        float scale = (float) reduction.gradientScale(n, rows);
        double total = call(call -> {
            HostStaging staging = call.staging;
            DeviceOperand x = staging.input(input, "input");
            DeviceOperand t = staging.input(target, "target");
            DeviceOperand w = staging.input(weight, "weight");
            DeviceOperand posWeight = call.weights(kind.posWeight(), input.isOnDevice());
            DeviceOperand gradient = out.isGradientInPlace() ? staging.inPlace(x, input) : staging.output(out.gradient(), "gradient");
            DeviceOperand losses = staging.flatOutput(out.losses(), n, "losses");
            call.scratch(plan.partialCount(), 0);
            call.start();
            call.launch(Kernel.POINTWISE, plan.gridX(), plan.gridY(), plan.blockThreads(), pointwiseArgs(kind.kind().ordinal(),
                    kind.p1(), kind.p2(), kind.flags(), call.address(x), x.typeCode(), x.rowStride(), call.address(t),
                    t.typeCode(), t.rowStride(), call.address(w), w.typeCode(), w.rowStride(), call.address(posWeight),
                    rows, input.cols(), call.address(gradient), gradient.rowStride(), call.address(losses), scale,
                    call.partialsAddress()));
            call.finish();
            call.deliver();
            return Partials.sum(call.partials(), call.partialCount());
        });
        return reduction.reduce(total, n, rows);
    }

    /** The parameters of lk_pointwise (elementwise.cuh), in order. */
    static KernelArgs pointwiseArgs(int kind, float p1, float p2, int flags, long input, int inputType, long inputStride,
                                    long target, int targetType, long targetStride, long weight, int weightType,
                                    long weightStride, long posWeight, int rows, int cols, long gradient,
                                    long gradientStride, long losses, float scale, long partials) {
        return new KernelArgs().i32(kind).f32(p1).f32(p2).i32(flags).pointer(input).i32(inputType).i64(inputStride)
                .pointer(target).i32(targetType).i64(targetStride).pointer(weight).i32(weightType).i64(weightStride)
                .pointer(posWeight).i32(rows).i32(cols).pointer(gradient).i64(gradientStride).pointer(losses).f32(scale)
                .pointer(partials).checkAgainst(Kernel.POINTWISE);
    }

    @Override
    public double dice(Matrix logits, Matrix target, DiceOptions o, LossOutputs out) {
        int rows = logits.rows();
        if (rows == 0) return o.reduction().reduce(0, rows, rows);
        LaunchPlan plan = LaunchPlan.forRows(rows, logits.cols(), context.multiprocessors, false);
        float scale = (float) o.reduction().gradientScale(rows, rows);
        double total = call(call -> {
            HostStaging staging = call.staging;
            DeviceOperand x = staging.input(logits, "logits");
            DeviceOperand t = staging.input(target, "target");
            DeviceOperand gradient = out.isGradientInPlace() ? staging.inPlace(x, logits) : staging.output(out.gradient(), "gradient");
            DeviceOperand losses = staging.flatOutput(out.losses(), rows, "losses");
            call.scratch(plan.partialCount(), 0);
            call.start();
            Kernel kernel = plan.shape() == LaunchPlan.Shape.WARP_PER_ROW ? Kernel.DICE_WARP : Kernel.DICE_BLOCK;
            call.launch(kernel, plan.gridX(), 1, plan.blockThreads(), diceArgs(call.address(x), x.typeCode(), x.rowStride(),
                    call.address(t), t.typeCode(), t.rowStride(), rows, logits.cols(), (float) o.smooth(),
                    call.address(gradient), gradient.rowStride(), call.address(losses), scale, call.partialsAddress()));
            call.finish();
            call.deliver();
            return Partials.sum(call.partials(), call.partialCount());
        });
        return o.reduction().reduce(total, rows, rows);
    }

    /** The parameters of lk_dice_* (LK_DICE_PARAMS in dice.cuh), in order. */
    static KernelArgs diceArgs(long logits, int logitsType, long logitsStride, long target, int targetType,
                               long targetStride, int rows, int cols, float smooth, long gradient, long gradientStride,
                               long losses, float scale, long partials) {
        return new KernelArgs().pointer(logits).i32(logitsType).i64(logitsStride).pointer(target).i32(targetType)
                .i64(targetStride).i32(rows).i32(cols).f32(smooth).pointer(gradient).i64(gradientStride).pointer(losses)
                .f32(scale).pointer(partials).checkAgainst(Kernel.DICE_WARP);
    }

    // ------------------------------------------------------------------------------------------ reductions

    @Override
    public double reduce(ReduceOp op, Matrix x) {
        double[] partials = reduceAll(op.ordinal(), x, null);
        return Partials.reduce(op, partials, partials.length / 2, x.size());
    }

    @Override
    public long argmax(Matrix x) {
        double[] partials = reduceAll(REDUCE_ARGMAX, x, null);
        return Partials.argmax(partials, partials.length / 2);
    }

    @Override
    public double dot(Matrix a, Matrix b) {
        double[] partials = reduceAll(REDUCE_DOT, a, b);
        return Partials.sum(partials, partials.length / 2);
    }

    /** Launches lk_reduce_all and returns its partials; none for an empty matrix. */
    private double[] reduceAll(int code, Matrix x, Matrix y) {
        if (x.size() == 0) return new double[0];
        LaunchPlan plan = LaunchPlan.forElements(x.rows(), x.cols());
        return call(call -> {
            DeviceOperand xs = call.staging.input(x, "x");
            DeviceOperand ys = call.staging.input(y, "b");
            call.scratch(plan.partialCount(), 0);
            call.start();
            call.launch(Kernel.REDUCE_ALL, plan.gridX(), plan.gridY(), plan.blockThreads(), reduceAllArgs(code, call.address(xs),
                    xs.typeCode(), xs.rowStride(), call.address(ys), ys.typeCode(), ys.rowStride(), x.rows(), x.cols(),
                    call.partialsAddress()));
            call.finish();
            return call.partials();
        });
    }

    static KernelArgs reduceAllArgs(int op, long x, int xType, long xStride, long y, int yType, long yStride, int rows,
                                    int cols, long partials) {
        return new KernelArgs().i32(op).pointer(x).i32(xType).i64(xStride).pointer(y).i32(yType).i64(yStride).i32(rows)
                .i32(cols).pointer(partials).checkAgainst(Kernel.REDUCE_ALL);
    }

    @Override
    public void reduceRows(ReduceOp op, Matrix x, Matrix out) {
        reduceRows(op.ordinal(), x, out, null);
    }

    @Override
    public void argmaxRows(Matrix x, Matrix out) {
        reduceRows(REDUCE_ARGMAX, x, null, out);
    }

    private void reduceRows(int code, Matrix x, Matrix values, Matrix indices) {
        int rows = x.rows();
        if (rows == 0) return;
        LaunchPlan plan = LaunchPlan.forRows(rows, x.cols(), context.multiprocessors, false);
        call(call -> {
            DeviceOperand xs = call.staging.input(x, "x");
            DeviceOperand valueOut = call.staging.flatOutput(values, rows, "out");
            DeviceOperand indexOut = call.staging.flatOutput(indices, rows, "out");
            call.scratch(0, 0);
            call.start();
            Kernel kernel = plan.shape() == LaunchPlan.Shape.WARP_PER_ROW ? Kernel.REDUCE_ROWS_WARP : Kernel.REDUCE_ROWS_BLOCK;
            call.launch(kernel, plan.gridX(), 1, plan.blockThreads(), reduceRowsArgs(code, call.address(xs), xs.typeCode(),
                    xs.rowStride(), rows, x.cols(), call.address(valueOut), call.address(indexOut)));
            call.finish();
            call.deliver();
            return null;
        });
    }

    static KernelArgs reduceRowsArgs(int op, long x, int xType, long xStride, int rows, int cols, long out, long outIndex) {
        return new KernelArgs().i32(op).pointer(x).i32(xType).i64(xStride).i32(rows).i32(cols).pointer(out).pointer(outIndex)
                .checkAgainst(Kernel.REDUCE_ROWS_WARP);
    }

    // ------------------------------------------------------------------------------------------ not on the GPU

    private static UnsupportedOperationException noKernel(Op op) {
        return new UnsupportedOperationException(op + " has no CUDA kernel; supports(" + op + ") is false, so the engine runs it on its next backend");
    }

    @Override
    public double multiMargin(Matrix input, Matrix targets, MultiMarginOptions options, LossOutputs outputs) {
        throw noKernel(Op.MULTI_MARGIN);
    }

    @Override
    public double klDiv(Matrix input, Matrix target, KlDivOptions options, LossOutputs outputs) {
        throw noKernel(Op.KL_DIV);
    }

    @Override
    public double gaussianNll(Matrix input, Matrix target, Matrix variance, GaussianNllOptions options, LossOutputs outputs) {
        throw noKernel(Op.GAUSSIAN_NLL);
    }

    @Override
    public double penalty(Penalty penalty, Matrix parameters, Matrix gradient) {
        throw noKernel(Op.PENALTY);
    }

    // ------------------------------------------------------------------------------------------ shared pieces


    /** Waits for calls in flight, then frees the slots, the module and the context; idempotent. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            context.makeCurrent();
            RuntimeException first = null;
            try {
                weightCache.close();
            } catch (RuntimeException e) {
                first = e;
            }
            for (CallSlot slot; (slot = idleSlots.poll()) != null; ) {
                try {
                    slot.close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
            }
            try {
                CudaException.check(JCudaDriver.cuModuleUnload(module), "cuModuleUnload");
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
            try {
                context.release();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
            if (first != null) throw first;
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
