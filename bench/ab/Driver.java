import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.losskit.*;

/**
 * Loaded once per build's class loader by {@link AB}: builds a workload's call on that build's losskit, with the
 * inputs of the JMH benchmarks (same distributions, same seed).
 */
public final class Driver implements Function<String, DoubleSupplier> {
    final LossEngine engine;
    public Driver() {
        int threads = Integer.getInteger("ab.threads", Runtime.getRuntime().availableProcessors());
        engine = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(threads).build();
    }
    public DoubleSupplier apply(String spec) {
        String[] p = spec.split(":");
        String kind = p[0];
        SplittableRandom random = new SplittableRandom(20261122L);
        boolean fwd = spec.contains(":fwd"), bf16 = spec.contains(":bf16"), seg = spec.contains(":seg");
        switch (kind) {
            case "ce": {
                String[] s = p[1].split("x");
                int rows = Integer.parseInt(s[0]), cols = Integer.parseInt(s[1]);
                int n = rows * cols;
                float[] x = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
                int[] t = new int[rows];
                for (int r = 0; r < rows; r++) t[r] = random.nextInt(cols);
                Matrix logits;
                if (bf16) {
                    short[] h = new short[n];
                    for (int i = 0; i < n; i++) h[i] = Matrix.floatToBfloat16(x[i]);
                    logits = Matrix.ofHalf(ElementType.BFLOAT16, h, 0, rows, cols, cols);
                } else if (seg) {
                    MemorySegment m = Arena.global().allocate((long) n * 4, 64);
                    MemorySegment.copy(x, 0, m, ValueLayout.JAVA_FLOAT, 0, n);
                    logits = Matrix.of(m, rows, cols);
                } else logits = Matrix.of(x, rows, cols);
                Matrix targets = Matrix.vector(t);
                CrossEntropyOptions o = CrossEntropyOptions.defaults();
                LossOutputs out;
                if (fwd) out = LossOutputs.none();
                else if (spec.contains(":seggrad")) {
                    MemorySegment g = Arena.global().allocate((long) n * 4, 64);
                    out = LossOutputs.withGradient(Matrix.of(g, rows, cols));
                } else out = LossOutputs.withGradient(Matrix.of(new float[n], rows, cols));
                return () -> engine.crossEntropy(logits, targets, o, out);
            }
            case "bce": {
                int n = Integer.parseInt(p[1]);
                float[] x = new float[n], t = new float[n];
                for (int i = 0; i < n; i++) { x[i] = (float) (4 * (random.nextDouble() * 2 - 1)); t[i] = random.nextBoolean() ? 1f : 0f; }
                Matrix xm = Matrix.vector(x), tm = Matrix.vector(t);
                LossOutputs out = LossOutputs.withGradient(Matrix.vector(new float[n]));
                PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN);
                return () -> engine.bceWithLogits(xm, tm, null, bce, out);
            }
            case "sum": {
                int n = Integer.parseInt(p[1]);
                float[] x = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) (random.nextDouble() * 4 - 2);
                Matrix xm = Matrix.vector(x);
                return () -> engine.reduce(ReduceOp.SUM, xm);
            }
            case "lse": {
                String[] s = p[1].split("x");
                int rows = Integer.parseInt(s[0]), cols = Integer.parseInt(s[1]);
                float[] x = new float[rows * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
                Matrix xm = Matrix.of(x, rows, cols);
                float[] o = new float[rows];
                Matrix om = Matrix.vector(o);
                return () -> { engine.reduceRows(ReduceOp.LOGSUMEXP, xm, om); return o[0]; };
            }
            default: throw new IllegalArgumentException(spec);
        }
    }
}
