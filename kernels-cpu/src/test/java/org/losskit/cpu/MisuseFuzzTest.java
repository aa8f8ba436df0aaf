package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
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

/**
 * The standing API-misuse check: a seeded run of a few thousand random calls through the public API, each made on
 * the cpu engine and on the reference with the same arguments, most of them wrong in one way (a closed arena, a
 * confined arena of another thread, a read-only or aliased or too short output, a view near the limits of a long,
 * a NaN or infinite option, an out-of-range target, a wrong shape or type, a null, a negative variance, a
 * concurrent {@code close()}), on random shapes and storages (arrays with offsets and strides, heap, shared and
 * confined segments, bf16 and fp16). The invariants:
 * <ul>
 *   <li>every call either returns the reference's answer within the op's bound (the value and every output) or
 *       throws, on both engines alike, an {@link IllegalArgumentException} or {@link NullPointerException} whose
 *       message names an argument, or (closed engine) an {@link IllegalStateException} saying so; a call with no
 *       misuse returns;</li>
 *   <li>when a call throws, every buffer it was given is untouched, byte for byte;</li>
 *   <li>nothing hangs: each call runs under a timeout;</li>
 *   <li>the run leaves no threads behind and the heap does not grow.</li>
 * </ul>
 * {@code -Dlosskit.misuse.seed=N} and {@code -Dlosskit.misuse.calls=N} replay or lengthen the run; a failure names
 * the seed and the call.
 */
class MisuseFuzzTest {
    private static final long SEED = Long.getLong("losskit.misuse.seed", 14);
    private static final int CALLS = Integer.getInteger("losskit.misuse.calls", 3000);
    private static final long CALL_TIMEOUT_SECONDS = 60;
    private static final float SENTINEL = -7.5f;

    /** Names an exception message may use for the argument it blames (a word of the message, or a prefix like "targets["). */
    private static final Pattern NAMES_AN_ARGUMENT = Pattern.compile("\\b(logits|targets|targetProbs|logProbs|input|target|weight|variance"
            + "|parameters|gradient|gradientInPlace|losses|logSumExp|maxLogit|argmax|targetProbability|entropy|out|x|a|b|options|outputs"
            + "|classWeights|posWeight|alpha|offset|rowStride|rows|cols|data|segment|labelSmoothing|zLoss|softcap|gamma|beta"
            + "|delta|tau|eps|smooth|margin|p|strength|l1Ratio|reduction|loss|op|penalty|diagnostics)\\b");

    enum Misuse {
        NONE, CLOSED_ARENA, FOREIGN_CONFINED, READ_ONLY_OUTPUT, ALIASED_OUTPUT, SHORT_OUTPUT, BAD_OPTION, BAD_TARGET,
        WRONG_SHAPE, WRONG_TYPE, NULL_ARGUMENT, VIEW_NEAR_LIMITS, NEGATIVE_VARIANCE, CONCURRENT_CLOSE
    }

    /** What an operand holds, for drawing well-scaled values. */
    enum Values { GAUSSIAN, UNIT, LOG_PROBABILITIES, POSITIVE, SIGNS, COUNTS, CLASS_INDEX, CLASS_INDEX_NO_IGNORE, OUTPUT }

    /**
     * One operand of a call: its name (as the API calls it), shape, type, what it holds, whether the call writes it,
     * and for class-index targets (an int32 vector, 1 x rows of the input) the number of classes.
     */
    record Spec(String name, int rows, int cols, ElementType type, Values values, boolean output, int classes) {
        Spec(String name, int rows, int cols, ElementType type, Values values, boolean output) {
            this(name, rows, cols, type, values, output, 0);
        }

        long size() {
            return (long) rows * cols;
        }

        /** The same operand with another shape. */
        Spec reshaped(int newRows, int newCols) {
            return new Spec(name, newRows, newCols, type, values, output, classes);
        }

        boolean classIndices() {
            return values == Values.CLASS_INDEX || values == Values.CLASS_INDEX_NO_IGNORE;
        }
    }

    /** A call of one op on given operands, and how to compare its outputs. */
    interface Invocation {
        double call(LossEngine engine, Matrix[] operands, SplittableRandom options);
    }

    record OpCase(String name, Op op, List<Spec> specs, Invocation invocation) {}

    // ------------------------------------------------------------------------------------------ the run

    @Test
    void randomMisuseNeverHangsNeverWritesOnErrorAndNeverGivesAWrongAnswer() throws Exception {
        assumeTrue(new VectorProvider().probe().available(), () -> "Vector API backend unavailable: " + new VectorProvider().probe());
        SplittableRandom master = new SplittableRandom(SEED);
        ExecutorService caller = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("misuse-caller").daemon().unstarted(r));
        LossEngine reference = LossEngine.builder().backend("reference").build();
        LossEngine cpu = cpuEngine(master);
        Map<Misuse, int[]> outcomes = new EnumMap<>(Misuse.class); // {returned, threw}
        List<String> failures = new ArrayList<>();
        long threadsAtStart = 0;
        long heapAtStart = 0;
        int warmUp = Math.max(1, CALLS / 10);
        try (Arena foreignArena = Arena.ofConfined()) { // owned by this thread; the calls run on "misuse-caller"
            MemorySegment foreign = foreignArena.allocate(4L * 16 * 32001, 4);
            for (long i = 0; i < foreign.byteSize() / 4; i++) foreign.setAtIndex(ValueLayout.JAVA_FLOAT, i, SENTINEL);
            for (int call = 0; call < CALLS && failures.size() < 10; call++) {
                if (call == warmUp) {
                    threadsAtStart = liveThreads();
                    heapAtStart = usedHeapAfterGc();
                }
                long seed = master.nextLong();
                Misuse misuse = master.nextInt(3) == 0 ? Misuse.NONE : Misuse.values()[1 + master.nextInt(Misuse.values().length - 1)];
                String where = "seed " + SEED + ", call " + call + " (case seed " + seed + ", " + misuse + ")";
                Outcome expected = run(caller, reference, seed, misuse, foreign, null, where);
                LossEngine closing = misuse == Misuse.CONCURRENT_CLOSE ? cpu : null;
                Outcome actual = run(caller, cpu, seed, misuse, foreign, closing, where);
                String problem = compare(expected, actual, misuse);
                if (problem != null) failures.add(where + " " + actual.description + ": " + problem);
                outcomes.computeIfAbsent(actual.misuse, m -> new int[2])[actual.thrown == null ? 0 : 1]++;
                if (closing != null) cpu = cpuEngine(master);
            }
        } finally {
            cpu.close();
            reference.close();
            caller.shutdown();
        }
        if (!failures.isEmpty()) fail(failures.size() + " calls broke an invariant:\n" + String.join("\n", failures));
        assertTrue(caller.awaitTermination(10, TimeUnit.SECONDS), "the calling thread did not end");

        // Every misuse was exercised, and most wrong calls were refused (so the run is not vacuous).
        String tally = outcomes.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()[0] + " returned/" + e.getValue()[1] + " threw")
                .collect(Collectors.joining(", "));
        System.out.println("MisuseFuzzTest: seed " + SEED + ", " + CALLS + " calls: " + tally);
        for (Misuse m : Misuse.values()) assertTrue(outcomes.containsKey(m), m + " never drawn: " + tally);
        assertTrue(outcomes.get(Misuse.NONE)[1] == 0, "a call with no misuse threw: " + tally);
        for (Misuse m : List.of(Misuse.CLOSED_ARENA, Misuse.FOREIGN_CONFINED, Misuse.READ_ONLY_OUTPUT, Misuse.VIEW_NEAR_LIMITS,
                Misuse.WRONG_TYPE)) {
            assertTrue(outcomes.get(m)[0] == 0, m + " calls must all be refused: " + tally);
        }

        // Nothing left behind: no thread more than after the warm-up, no heap growth beyond noise.
        long threadsAtEnd = settledThreads(threadsAtStart);
        assertTrue(threadsAtEnd <= threadsAtStart, "threads grew from " + threadsAtStart + " to " + threadsAtEnd + ": "
                + Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList());
        long heapGrowth = usedHeapAfterGc() - heapAtStart;
        assertTrue(heapGrowth < 64L << 20, "the heap grew by " + (heapGrowth >> 20) + " MiB over the run");
    }

    private static LossEngine cpuEngine(SplittableRandom random) {
        return LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(1 + random.nextInt(3)).build();
    }

    private static long liveThreads() {
        return Thread.getAllStackTraces().size();
    }

    /** The live threads once the workers of closed engines have ended (they end on their own, shortly). */
    private static long settledThreads(long target) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long threads = liveThreads();
        while (threads > target && System.nanoTime() < deadline) {
            Thread.sleep(20);
            threads = liveThreads();
        }
        return threads;
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) System.gc();
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }

    // ------------------------------------------------------------------------------------------ one call

    /** What a call did: its value and outputs, or what it threw, and whether its buffers were left as they were. */
    static final class Outcome {
        String description = "";
        /** The misuse the call had: NONE where the drawn one fits none of its operands (a read-only output for dot). */
        Misuse misuse = Misuse.NONE;
        OpCase opCase;
        double value;
        Throwable thrown;
        float[][] outputs;
        boolean untouched = true;
        String touched = "";
    }

    /**
     * Builds the call of {@code seed} (the same operands for either engine), runs it on the calling thread under
     * the timeout (with {@code closing} closed from here meanwhile), and checks the buffers of a failed call.
     */
    private static Outcome run(ExecutorService caller, LossEngine engine, long seed, Misuse misuse, MemorySegment foreign, LossEngine closing,
                               String where) throws Exception {
        Outcome outcome = new Outcome();
        Call built = new Call(seed, misuse, foreign);
        Future<?> future = caller.submit(() -> built.run(engine, outcome));
        if (closing != null) {
            Thread.sleep(java.time.Duration.ofNanos(new SplittableRandom(seed).nextInt(2_000_000)));
            closing.close();
        }
        try {
            future.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail(where + ": the call " + outcome.description + " did not end within " + CALL_TIMEOUT_SECONDS + " s");
        } catch (ExecutionException e) {
            throw new AssertionError(where + ": the test harness failed", e.getCause());
        }
        if (misuse == Misuse.FOREIGN_CONFINED) { // the foreign arena's memory can only be read from this thread
            for (long i = 0; i < foreign.byteSize() / 4; i++) {
                if (foreign.getAtIndex(ValueLayout.JAVA_FLOAT, i) != SENTINEL) {
                    outcome.untouched = false;
                    outcome.touched = "the confined memory of another thread, element " + i;
                    foreign.setAtIndex(ValueLayout.JAVA_FLOAT, i, SENTINEL);
                }
            }
        }
        return outcome;
    }

    /** Null when {@code actual} (cpu) keeps the invariants against {@code expected} (reference), else what broke. */
    private static String compare(Outcome expected, Outcome actual, Misuse misuse) {
        for (Outcome o : List.of(expected, actual)) {
            if (o.thrown != null && !o.untouched) return "threw " + o.thrown + " after writing " + o.touched;
            if (o.thrown != null && !namesAnArgument(o.thrown)) return "threw without naming an argument: " + describe(o.thrown);
        }
        if (misuse == Misuse.CONCURRENT_CLOSE && actual.thrown instanceof IllegalStateException) return null;
        if ((expected.thrown == null) != (actual.thrown == null)) {
            return "reference " + (expected.thrown == null ? "returned" : "threw " + describe(expected.thrown)) + " but cpu "
                    + (actual.thrown == null ? "returned" : "threw " + describe(actual.thrown));
        }
        if (expected.thrown != null) {
            return expected.thrown.getClass() == actual.thrown.getClass() ? null
                    : "reference threw " + describe(expected.thrown) + " but cpu threw " + describe(actual.thrown);
        }
        return agreement(expected, actual);
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static boolean namesAnArgument(Throwable e) {
        String message = String.valueOf(e.getMessage());
        return switch (e) {
            case IllegalStateException s -> message.contains("LossEngine is closed") || message.contains("backend is closed");
            case IllegalArgumentException a -> NAMES_AN_ARGUMENT.matcher(message).find();
            case NullPointerException n -> NAMES_AN_ARGUMENT.matcher(message).find();
            default -> false;
        };
    }

    /** The value and every output within the op's bound; argmax outputs and values exact. */
    private static String agreement(Outcome expected, Outcome actual) {
        OpCase c = actual.opCase;
        ErrorBound bound = c.op().float32Bound();
        boolean exactValue = c.name().equals("argmax");
        if (exactValue ? Double.compare(expected.value, actual.value) != 0 : !bound.lossWithin(actual.value, expected.value)) {
            return "value " + actual.value + " vs reference " + expected.value;
        }
        int o = 0;
        for (Spec spec : c.specs()) {
            if (!spec.output()) continue;
            float[] e = expected.outputs[o];
            float[] a = actual.outputs[o++];
            if (e == null) continue;
            double max = 0;
            for (float v : e) if (Float.isFinite(v)) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < e.length; i++) {
                boolean ok = spec.type() == ElementType.INT32 ? e[i] == a[i]
                        : spec.name().equals("gradient") || spec.name().equals("logits") ? bound.gradientWithin(a[i], e[i], max)
                        : bound.lossWithin(a[i], e[i]);
                if (!ok) return spec.name() + "[" + i + "] = " + a[i] + " vs reference " + e[i];
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ building a call

    /** A kind of storage behind a view. */
    enum Storage { ARRAY, STRIDED_ARRAY, AT_THE_END, HEAP_SEGMENT, SHARED_SEGMENT, CONFINED_SEGMENT, HALF }

    /** The random call of one seed: the op, its operands (with the misuse applied) and the snapshot of every buffer. */
    static final class Call {
        private final SplittableRandom random;
        private final Misuse misuse;
        private final MemorySegment foreign;
        private final long seed;
        private final List<Object> storages = new ArrayList<>();
        private final List<byte[]> before = new ArrayList<>();

        Call(long seed, Misuse misuse, MemorySegment foreign) {
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            this.misuse = misuse;
            this.foreign = foreign;
        }

        /** On the calling thread: builds the operands, snapshots the buffers, calls, and records what happened. */
        void run(LossEngine engine, Outcome outcome) {
            try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
                OpCase opCase = opCase(random);
                outcome.opCase = opCase;
                outcome.description = opCase.name() + " " + opCase.specs().stream().map(s -> s.name() + " " + s.rows() + "x" + s.cols())
                        .collect(Collectors.joining(", "));
                int victim = victimFor(opCase.specs(), random.nextInt(opCase.specs().size()));
                boolean applies = victim >= 0 || misuse == Misuse.BAD_OPTION || misuse == Misuse.CONCURRENT_CLOSE;
                outcome.misuse = applies ? misuse : Misuse.NONE;
                Matrix[] operands;
                try {
                    operands = materialize(opCase, victim, shared, confined);
                } catch (RuntimeException e) {
                    outcome.thrown = e; // a view refused at construction: nothing was called
                    return;
                }
                snapshot();
                SplittableRandom options = new SplittableRandom(seed ^ 0x5DEECE66DL);
                try {
                    outcome.value = opCase.invocation().call(engine, operands, misuse == Misuse.BAD_OPTION ? null : options);
                } catch (RuntimeException e) {
                    outcome.thrown = e;
                    outcome.untouched = untouched(outcome);
                    return;
                }
                outcome.outputs = new float[opCase.specs().size()][];
                int o = 0;
                for (int i = 0; i < operands.length; i++) {
                    if (opCase.specs().get(i).output()) outcome.outputs[o++] = read(operands[i], opCase.specs().get(i));
                }
            }
        }

        /** The operands of {@code c}, with the misuse applied to operand {@code victim} (none if -1). */
        private Matrix[] materialize(OpCase c, int victim, Arena shared, Arena confined) {
            List<Spec> specs = c.specs();
            Matrix[] m = new Matrix[specs.size()];
            for (int i = 0; i < specs.size(); i++) {
                Spec spec = specs.get(i);
                m[i] = i == victim ? misused(spec, m, shared) : view(spec, storageFor(spec), shared, confined);
            }
            return m;
        }

        /** The operand the misuse applies to: {@code preferred} if the misuse fits it, else the first one it fits, else -1. */
        private int victimFor(List<Spec> specs, int preferred) {
            for (int k = 0; k < specs.size(); k++) {
                int i = (preferred + k) % specs.size();
                if (fits(specs.get(i), i)) return i;
            }
            return -1;
        }

        private boolean fits(Spec spec, int index) {
            return switch (misuse) {
                case NONE, BAD_OPTION, CONCURRENT_CLOSE -> false;
                case READ_ONLY_OUTPUT, SHORT_OUTPUT -> spec.output();
                case ALIASED_OUTPUT -> spec.output() && index > 0;
                case BAD_TARGET -> spec.classIndices();
                case NEGATIVE_VARIANCE -> spec.name().equals("variance");
                case WRONG_SHAPE -> index > 0;
                default -> true;
            };
        }

        private Storage storageFor(Spec spec) {
            Storage[] kinds = Storage.values();
            Storage s = kinds[random.nextInt(kinds.length)];
            if (s == Storage.HALF && (spec.output() || spec.type() != ElementType.FLOAT32)) s = Storage.ARRAY;
            return s;
        }

        /** Operand {@code spec} made wrong in the way of the misuse. */
        private Matrix misused(Spec spec, Matrix[] earlier, Arena shared) {
            return switch (misuse) {
                case CLOSED_ARENA -> {
                    Arena gone = Arena.ofShared();
                    MemorySegment segment = gone.allocate(Math.max(4, 4 * spec.size()), 4);
                    gone.close();
                    yield segmentView(spec, segment);
                }
                case FOREIGN_CONFINED -> segmentView(spec, foreign.asSlice(0, 4 * spec.size())); // slicing reads nothing
                case READ_ONLY_OUTPUT -> segmentView(spec, fill(spec, shared.allocate(Math.max(4, 4 * spec.size()), 4)).asReadOnly());
                case ALIASED_OUTPUT -> aliasOf(spec, earlier);
                case SHORT_OUTPUT -> view(spec.reshaped(spec.rows(), Math.max(0, spec.cols() - 1)), Storage.ARRAY, shared, null);
                case BAD_TARGET -> {
                    int[] t = classIndices(spec);
                    if (t.length == 0) yield Matrix.vector(new int[] {spec.classes()}); // one value too many, and out of range
                    t[random.nextInt(t.length)] = random.nextBoolean() ? spec.classes() + random.nextInt(3) : -1 - random.nextInt(50);
                    yield track(Matrix.vector(t), t);
                }
                case WRONG_SHAPE -> view(spec.classIndices() ? spec.reshaped(1, spec.cols() + 1) : spec.reshaped(spec.rows() + 1, spec.cols()),
                        Storage.ARRAY, shared, null);
                case WRONG_TYPE -> spec.type() == ElementType.INT32
                        ? track(Matrix.vector(new float[(int) spec.size()]), null)
                        : track(Matrix.vector(new int[(int) spec.size()]), null);
                case NULL_ARGUMENT -> null;
                case VIEW_NEAR_LIMITS -> nearTheLimits(spec);
                case NEGATIVE_VARIANCE -> {
                    float[] v = values(spec);
                    if (v.length == 0) yield Matrix.of(v, spec.rows(), spec.cols());
                    v[random.nextInt(v.length)] = -random.nextFloat(0.001f, 2f);
                    yield track(Matrix.of(v, spec.rows(), spec.cols()), v);
                }
                case NONE, BAD_OPTION, CONCURRENT_CLOSE -> throw new AssertionError(misuse);
            };
        }

        /** A view that does not fit: an offset or row stride so large that exact arithmetic must refuse it. */
        private Matrix nearTheLimits(Spec spec) {
            float[] data = new float[(int) Math.max(4, spec.size())];
            int rows = Math.max(2, spec.rows());
            int cols = Math.max(1, spec.cols());
            return switch (random.nextInt(4)) {
                case 0 -> Matrix.of(data, Long.MAX_VALUE - random.nextInt(4), rows, cols, cols);
                case 1 -> Matrix.of(data, 0, rows, cols, 1L << (61 + random.nextInt(2)));
                case 2 -> Matrix.of(data, 0, 3, cols, Long.MAX_VALUE - random.nextInt(3));
                default -> Matrix.of(MemorySegment.ofArray(data), ElementType.FLOAT32, Long.MAX_VALUE / 2, rows, cols, Long.MAX_VALUE / 4);
            };
        }

        /** An output over the storage of an earlier operand, from its first element. */
        private Matrix aliasOf(Spec spec, Matrix[] earlier) {
            for (Matrix m : earlier) {
                if (m == null || m.floatArray() == null) continue;
                float[] a = m.floatArray();
                if (spec.type() == ElementType.INT32) break;
                return Matrix.of(a, m.offset(), spec.rows(), spec.cols(), spec.cols()); // may also be too short: refused by name
            }
            int[] ints = new int[(int) Math.max(1, spec.size())];
            Matrix firstInt = null;
            for (Matrix m : earlier) if (m != null && m.intArray() != null) firstInt = m;
            if (firstInt != null && spec.type() == ElementType.INT32) return Matrix.vector(firstInt.intArray(), 0, (int) spec.size());
            return track(spec.type() == ElementType.INT32 ? Matrix.vector(ints, 0, (int) spec.size())
                    : Matrix.of(new float[(int) spec.size()], spec.rows(), spec.cols()), null); // nothing to alias: a valid output
        }

        /** A view of {@code spec} in {@code storage}, filled with its values (outputs with a sentinel). */
        private Matrix view(Spec spec, Storage storage, Arena shared, Arena confined) {
            if (spec.type() == ElementType.INT32) {
                int[] t = spec.classIndices() ? classIndices(spec) : new int[(int) spec.size()];
                if (spec.output()) Arrays.fill(t, -3);
                return track(Matrix.vector(t), t);
            }
            int rows = spec.rows();
            int cols = spec.cols();
            float[] values = values(spec);
            int stride = storage == Storage.STRIDED_ARRAY ? cols + 1 + random.nextInt(5) : cols;
            int offset = storage == Storage.STRIDED_ARRAY ? random.nextInt(7) : 0;
            long length = offset + (rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * stride + cols);
            int tail = storage == Storage.AT_THE_END ? 0 : random.nextInt(3);
            return switch (storage) {
                case ARRAY, STRIDED_ARRAY, AT_THE_END -> {
                    float[] a = new float[(int) length + tail];
                    Arrays.fill(a, SENTINEL);
                    for (int r = 0; r < rows; r++) System.arraycopy(values, r * cols, a, offset + r * stride, cols);
                    yield track(Matrix.of(a, offset, rows, cols, stride), a);
                }
                case HEAP_SEGMENT -> segmentView(spec, MemorySegment.ofArray(values));
                case SHARED_SEGMENT -> segmentView(spec, copy(values, shared));
                case CONFINED_SEGMENT -> segmentView(spec, copy(values, confined == null ? shared : confined));
                case HALF -> {
                    boolean bf16 = random.nextBoolean();
                    short[] h = new short[values.length];
                    for (int i = 0; i < h.length; i++) h[i] = bf16 ? Matrix.floatToBfloat16(values[i]) : Float.floatToFloat16(values[i]);
                    yield track(Matrix.ofHalf(bf16 ? ElementType.BFLOAT16 : ElementType.FLOAT16, h, 0, rows, cols, cols), h);
                }
            };
        }

        /** A dense view of {@code spec} over {@code segment} from its start. */
        private Matrix segmentView(Spec spec, MemorySegment segment) {
            return track(Matrix.of(segment, spec.type(), 0, spec.rows(), spec.cols(), spec.cols()), segment);
        }

        private MemorySegment copy(float[] values, Arena arena) {
            MemorySegment s = arena.allocate(Math.max(4, 4L * values.length), 4);
            MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
            return s;
        }

        private MemorySegment fill(Spec spec, MemorySegment s) {
            float[] values = values(spec);
            MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
            return s;
        }

        private Matrix track(Matrix m, Object storage) {
            if (storage != null) storages.add(storage);
            return m;
        }

        private float[] values(Spec spec) {
            int n = (int) spec.size();
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (spec.values()) {
                    case GAUSSIAN -> (float) (Inputs.nextGaussian(random) * 2);
                    case UNIT -> random.nextFloat();
                    case LOG_PROBABILITIES -> (float) -random.nextDouble(0, 8);
                    case POSITIVE -> (float) random.nextDouble(0.1, 4);
                    case SIGNS -> random.nextBoolean() ? 1 : -1;
                    case COUNTS -> random.nextInt(7);
                    case OUTPUT -> SENTINEL;
                    case CLASS_INDEX, CLASS_INDEX_NO_IGNORE -> throw new AssertionError("class indices are int32");
                };
            }
            return v;
        }

        /** Class indices in [0, classes), one per element of the spec, some of them the ignore index where it has one. */
        private int[] classIndices(Spec spec) {
            int[] t = new int[(int) spec.size()];
            boolean ignore = spec.values() == Values.CLASS_INDEX;
            for (int i = 0; i < t.length; i++) {
                t[i] = ignore && random.nextInt(10) == 0 ? CrossEntropyOptions.DEFAULT_IGNORE_INDEX : random.nextInt(spec.classes());
            }
            return t;
        }

        private void snapshot() {
            for (Object s : storages) before.add(accessibleHere(s) ? bytes(s) : null);
        }

        private boolean untouched(Outcome outcome) {
            for (int i = 0; i < storages.size(); i++) {
                Object s = storages.get(i);
                if (before.get(i) != null && accessibleHere(s) && !Arrays.equals(before.get(i), bytes(s))) {
                    outcome.touched = "buffer " + i + " (" + s.getClass().getSimpleName() + ")";
                    return false;
                }
            }
            return true;
        }

        private static boolean accessibleHere(Object s) {
            return !(s instanceof MemorySegment m) || m.scope().isAlive() && m.isAccessibleBy(Thread.currentThread());
        }

        private static byte[] bytes(Object s) {
            return switch (s) {
                case float[] a -> MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
                case short[] a -> MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
                case int[] a -> MemorySegment.ofArray(a).toArray(ValueLayout.JAVA_BYTE);
                case MemorySegment m -> m.toArray(ValueLayout.JAVA_BYTE);
                default -> throw new AssertionError(s);
            };
        }

        /** The values of an output after a successful call: the elements the op writes, by flat index. */
        private static float[] read(Matrix m, Spec spec) {
            if (m == null) return null;
            int n = (int) Math.min(m.size(), spec.size());
            float[] out = new float[n];
            for (int i = 0; i < n; i++) out[i] = spec.type() == ElementType.INT32 ? m.getInt(i) : m.getFloat(i);
            return out;
        }
    }

    // ------------------------------------------------------------------------------------------ the ops

    private static Spec input(String name, int rows, int cols, Values values) {
        return new Spec(name, rows, cols, ElementType.FLOAT32, values, false);
    }

    private static Spec output(String name, int rows, int cols) {
        return new Spec(name, rows, cols, ElementType.FLOAT32, Values.OUTPUT, true);
    }

    /** Class-index targets of {@code rows} rows over {@code classes} classes, some rows ignored: an int32 vector. */
    private static Spec targets(int classes, int rows) {
        return new Spec("targets", 1, rows, ElementType.INT32, Values.CLASS_INDEX, false, classes);
    }

    private static Reduction reduction(SplittableRandom r, boolean batchMean) {
        Reduction[] all = Reduction.values();
        Reduction red = all[r.nextInt(all.length)];
        return red == Reduction.BATCHMEAN && !batchMean ? Reduction.MEAN : red;
    }

    /** A value the options validate: {@code good} usually, or (when {@code r} is null: a BAD_OPTION call) NaN or infinity. */
    private static double option(SplittableRandom r, double good) {
        return r != null ? good : Double.NaN;
    }

    private static Matrix weightsOrNull(SplittableRandom r, int n) {
        if (r == null || r.nextBoolean()) return r == null ? Matrix.vector(new float[] {Float.POSITIVE_INFINITY}) : null;
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) r.nextDouble(0.25, 2);
        return Matrix.vector(w);
    }

    /** A random op with random shapes; the options are drawn at call time from the generator the call is given. */
    static OpCase opCase(SplittableRandom random) {
        boolean big = random.nextInt(60) == 0; // above the parallel threshold: the workers take part
        int rows = big ? 16 : random.nextInt(13);
        int cols = big ? 32000 : 1 + random.nextInt(random.nextBoolean() ? 20 : 300);
        int n = rows * cols;
        boolean gradient = random.nextInt(4) != 0;
        boolean losses = random.nextBoolean();
        int kind = random.nextInt(15);
        List<Spec> specs = new ArrayList<>();
        switch (kind) {
            case 0, 1 -> { // cross-entropy, index or probability targets, with diagnostics
                boolean probs = kind == 1;
                specs.add(input("logits", rows, cols, Values.GAUSSIAN));
                specs.add(probs ? input("targetProbs", rows, cols, Values.UNIT) : targets(cols, rows));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, rows));
                if (random.nextBoolean()) {
                    specs.add(output("logSumExp", 1, rows));
                    specs.add(new Spec("argmax", 1, rows, ElementType.INT32, Values.OUTPUT, true));
                    specs.add(output("entropy", 1, rows));
                }
                return new OpCase(probs ? "crossEntropyProbs" : "crossEntropy", probs ? Op.CROSS_ENTROPY_PROBS : Op.CROSS_ENTROPY, specs,
                        (e, m, r) -> {
                            SplittableRandom g = orDefault(r);
                            CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(reduction(g, false))
                                    .labelSmoothing(option(r, g.nextBoolean() ? 0 : 0.1))
                                    .zLoss(g.nextBoolean() ? 1e-4 : 0)
                                    .softcap(g.nextInt(4) == 0 ? 20 : 0);
                            if (g.nextBoolean()) o = o.classWeights(randomWeights(g, cols));
                            LossOutputs out = outputs(specs, m);
                            return probs ? e.crossEntropyProbs(m[0], m[1], o, out) : e.crossEntropy(m[0], m[1], o, out);
                        });
            }
            case 2 -> {
                specs.add(input("logProbs", rows, cols, Values.LOG_PROBABILITIES));
                specs.add(targets(cols, rows));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, rows));
                return new OpCase("nll", Op.NLL, specs, (e, m, r) -> e.nll(m[0], m[1],
                        new NllOptions(reduction(orDefault(r), false), weightsOrNull(r, cols), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false),
                        outputs(specs, m)));
            }
            case 3 -> {
                specs.add(input("logits", rows, cols, Values.GAUSSIAN));
                specs.add(targetsWithoutIgnore(cols, rows));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, rows));
                return new OpCase("softmaxFocal", Op.SOFTMAX_FOCAL, specs, (e, m, r) -> e.softmaxFocal(m[0], m[1],
                        new SoftmaxFocalOptions(reduction(orDefault(r), false), r == null ? null : weightsOrNull(r, cols), r == null ? -1 : r.nextInt(3)),
                        outputs(specs, m)));
            }
            case 4 -> {
                specs.add(input("input", rows, cols, Values.GAUSSIAN));
                specs.add(targetsWithoutIgnore(cols, rows));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, rows));
                return new OpCase("multiMargin", Op.MULTI_MARGIN, specs, (e, m, r) -> e.multiMargin(m[0], m[1],
                        new MultiMarginOptions(reduction(orDefault(r), false), 1 + orDefault(r).nextInt(2), option(r, 1), weightsOrNull(r, cols)),
                        outputs(specs, m)));
            }
            case 5 -> {
                boolean logTarget = random.nextBoolean();
                specs.add(input("input", rows, cols, Values.LOG_PROBABILITIES));
                specs.add(input("target", rows, cols, logTarget ? Values.LOG_PROBABILITIES : Values.UNIT));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, n));
                return new OpCase("klDiv", Op.KL_DIV, specs, (e, m, r) -> e.klDiv(m[0], m[1],
                        new KlDivOptions(r == null ? null : reduction(r, true), logTarget), outputs(specs, m)));
            }
            case 6 -> {
                specs.add(input("logits", rows, cols, Values.GAUSSIAN));
                specs.add(input("target", rows, cols, Values.UNIT));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, rows));
                return new OpCase("dice", Op.DICE, specs, (e, m, r) -> e.dice(m[0], m[1],
                        new DiceOptions(reduction(orDefault(r), false), option(r, 1)), outputs(specs, m)));
            }
            case 7, 8 -> {
                int which = random.nextInt(11);
                Values x = which == 8 && random.nextBoolean() ? Values.POSITIVE : Values.GAUSSIAN;
                boolean rateInput = x == Values.POSITIVE;
                Values t = switch (which) {
                    case 6, 7 -> Values.SIGNS;
                    case 8 -> Values.COUNTS;
                    case 9, 10 -> Values.UNIT;
                    default -> Values.GAUSSIAN;
                };
                specs.add(input("input", rows, cols, x));
                specs.add(input("target", rows, cols, t));
                boolean weighted = random.nextBoolean();
                if (weighted) specs.add(input("weight", rows, cols, Values.POSITIVE));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, n));
                PointwiseLoss sample = pointwise(which, Reduction.SUM, new SplittableRandom(1), rateInput, cols);
                return new OpCase("pointwise " + sample.getClass().getSimpleName(), sample.op(), specs, (e, m, r) -> {
                    PointwiseLoss loss = pointwise(which, r == null ? Reduction.MEAN : reduction(r, false), r, rateInput, cols);
                    return e.pointwise(loss, m[0], m[1], weighted ? m[2] : null, outputs(specs, m));
                });
            }
            case 9 -> {
                specs.add(input("input", rows, cols, Values.GAUSSIAN));
                specs.add(input("target", rows, cols, Values.GAUSSIAN));
                specs.add(input("variance", rows, cols, Values.POSITIVE));
                if (gradient) specs.add(output("gradient", rows, cols));
                if (losses) specs.add(output("losses", 1, n));
                return new OpCase("gaussianNll", Op.GAUSSIAN_NLL, specs, (e, m, r) -> e.gaussianNll(m[0], m[1], m[2],
                        new GaussianNllOptions(reduction(orDefault(r), false), orDefault(r).nextBoolean(), option(r, 1e-6)), outputs(specs, m)));
            }
            case 10 -> {
                specs.add(input("parameters", rows, cols, Values.GAUSSIAN));
                if (gradient) specs.add(output("gradient", rows, cols));
                return new OpCase("penalty", Op.PENALTY, specs, (e, m, r) -> {
                    Penalty p = switch (orDefault(r).nextInt(3)) {
                        case 0 -> new Penalty.L1(option(r, 0.5));
                        case 1 -> new Penalty.L2(option(r, 0.5));
                        default -> new Penalty.ElasticNet(0.5, option(r, 0.3));
                    };
                    return e.penalty(p, m[0], gradient ? m[1] : null);
                });
            }
            case 11 -> {
                specs.add(input("x", rows, cols, Values.GAUSSIAN));
                ReduceOp op = ReduceOp.values()[random.nextInt(ReduceOp.values().length)];
                return new OpCase("reduce " + op, Op.REDUCTION, specs, (e, m, r) -> e.reduce(r == null ? null : op, m[0]));
            }
            case 12 -> {
                specs.add(input("x", rows, cols, Values.GAUSSIAN));
                specs.add(output("out", 1, rows));
                ReduceOp op = ReduceOp.values()[random.nextInt(ReduceOp.values().length)];
                return new OpCase("reduceRows " + op, Op.REDUCTION, specs, (e, m, r) -> {
                    e.reduceRows(r == null ? null : op, m[0], m[1]);
                    return 0;
                });
            }
            case 13 -> {
                specs.add(input("x", rows, cols, Values.GAUSSIAN));
                boolean perRow = random.nextBoolean();
                if (perRow) specs.add(new Spec("out", 1, rows, ElementType.INT32, Values.OUTPUT, true));
                return new OpCase(perRow ? "argmaxRows" : "argmax", Op.REDUCTION, specs, (e, m, r) -> {
                    if (!perRow) return e.argmax(m[0]);
                    e.argmaxRows(m[0], m[1]);
                    return 0;
                });
            }
            default -> {
                specs.add(input("a", rows, cols, Values.GAUSSIAN));
                specs.add(input("b", rows, cols, Values.GAUSSIAN));
                return new OpCase("dot", Op.REDUCTION, specs, (e, m, r) -> e.dot(m[0], r == null ? null : m[1]));
            }
        }
    }

    private static SplittableRandom orDefault(SplittableRandom r) {
        return r == null ? new SplittableRandom(1) : r;
    }

    /** Class-index targets for an op with no ignore index. */
    private static Spec targetsWithoutIgnore(int classes, int rows) {
        return new Spec("targets", 1, rows, ElementType.INT32, Values.CLASS_INDEX_NO_IGNORE, false, classes);
    }

    private static float[] randomWeights(SplittableRandom r, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) r.nextDouble(0.25, 2);
        return w;
    }

    /** Element loss {@code which}; {@code r} null (a BAD_OPTION call) gives a parameter the loss refuses where it has one. */
    private static PointwiseLoss pointwise(int which, Reduction reduction, SplittableRandom r, boolean rateInput, int cols) {
        return switch (which) {
            case 0 -> new PointwiseLoss.Mse(r == null ? null : reduction);
            case 1 -> new PointwiseLoss.L1(r == null ? null : reduction);
            case 2 -> new PointwiseLoss.SmoothL1(reduction, option(r, 0.7));
            case 3 -> new PointwiseLoss.Huber(reduction, option(r, 1.3));
            case 4 -> new PointwiseLoss.LogCosh(r == null ? null : reduction);
            case 5 -> new PointwiseLoss.Quantile(reduction, option(r, 0.3));
            case 6 -> new PointwiseLoss.Hinge(r == null ? null : reduction);
            case 7 -> new PointwiseLoss.SquaredHinge(r == null ? null : reduction);
            case 8 -> new PointwiseLoss.PoissonNll(reduction, !rateInput, r != null && r.nextBoolean(), option(r, PointwiseLoss.PoissonNll.DEFAULT_EPS));
            case 9 -> new PointwiseLoss.BceWithLogits(reduction, r == null ? Matrix.vector(new float[] {Float.NaN}) : weightsOrNull(r, cols));
            default -> new PointwiseLoss.SigmoidFocal(reduction, option(r, 0.25), r == null ? 2 : r.nextInt(3));
        };
    }

    /** The LossOutputs of the output specs of a loss call, in order: gradient, losses, diagnostics. */
    private static LossOutputs outputs(List<Spec> specs, Matrix[] m) {
        LossOutputs out = LossOutputs.none();
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            if (!s.output()) continue;
            Matrix v = m[i]; // null for a NULL_ARGUMENT call: LossOutputs refuses it by name
            out = switch (s.name()) {
                case "gradient" -> out.gradient(v);
                case "losses" -> out.losses(v);
                case "logSumExp" -> out.logSumExp(v);
                case "argmax" -> out.argmax(v);
                case "entropy" -> out.entropy(v);
                default -> throw new AssertionError(s.name());
            };
        }
        return out;
    }
}
