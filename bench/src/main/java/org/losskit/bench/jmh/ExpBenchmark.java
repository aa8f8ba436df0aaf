package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import org.losskit.cpu.BenchmarkAccess;
import org.losskit.cpu.VectorShapes;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The exp of the CPU kernels, FastExp (an inlined polynomial, called here through {@link BenchmarkAccess}: the
 * kernels' own code), against the same loops written with {@code VectorOperators.EXP} (in C2 code, a call into the
 * JDK's SVML library), with scalar {@code Math.exp} as the floor, all in one run.
 *
 * <ul>
 * <li>{@code expBlock*}: {@code out[i] = exp(x[i] - shift)} over n floats, shift = max x, so every argument lies in
 * [-7, 0] as in a softmax; n = 2048 (8 KiB, one kernel block, in L1) and 65536 (256 KiB, in L2).
 * <li>{@code rowSumExp*}: {@code sum_c exp(z_c - m)} over one row of 32000 logits (the Llama-2 vocabulary), m = the
 * row's max, read in blocks of {@link BenchmarkAccess#BLOCK_SIZE} as the kernels' statistics pass reads a row: a float
 * sum per block, the blocks added in double. {@code FastExp} is the kernels' own {@code SoftmaxRows.sumExp} (exps
 * staged in an L1 array, then summed); {@code VectorExpStaged} is the same with EXP in place of FastExp, what the
 * kernel would run with only the exp swapped; {@code VectorExpFused} adds EXP's results straight into two
 * accumulators, the best loop for EXP; {@code MathExp} is the naive loop's sum pass (double sum of {@code Math.exp}).
 * </ul>
 *
 * <p>{@code vectorBits}: {@code preferred} ({@code FloatVector.SPECIES_PREFERRED}, what the kernels use), or 128, 256,
 * 512 forced through the kernels' {@value VectorShapes#WIDTH_PROPERTY} switch, set in the fork before any kernel
 * class loads (so it needs forks: {@code -f 0} fails the trial); the EXP loops use the same width. Before anything is
 * timed, both vector exps must meet FastExp's documented bound against {@code StrictMath.exp} over [-87.3, 0].
 *
 * <p>Scores are calls per second; exps per second = score x n ({@code bench/run --jmh-summary} converts).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class ExpBenchmark {

    /** A block of arguments and its output: out[i] = exp(x[i] - shift). */
    @State(Scope.Benchmark)
    public static class Block {
        @Param({"2048", "65536"})
        public int n;

        float[] x;
        float shift;
        float[] out;

        @Setup(Level.Trial)
        public void fill() {
            x = logits(n);
            shift = max(x);
            out = new float[n];
        }
    }

    /** One row of logits and its max. */
    @State(Scope.Benchmark)
    public static class Row {
        @Param({"32000"})
        public int n;

        float[] z;
        float max;

        @Setup(Level.Trial)
        public void fill() {
            z = logits(n);
            max = max(z);
        }
    }

    /** The vector width, and the kernels' per-block scratch (allocated once the width is fixed). */
    @State(Scope.Benchmark)
    public static class Vectors {
        @Param({"preferred"})
        public String vectorBits;

        float[] stage;
        float[] lanes;

        @Setup(Level.Trial)
        public void chooseWidthAndCheck() {
            int expected = FloatVector.SPECIES_PREFERRED.vectorBitSize();
            if (!vectorBits.equals("preferred")) {
                System.setProperty(VectorShapes.WIDTH_PROPERTY, vectorBits);
                expected = Integer.parseInt(vectorBits);
            }
            if (VectorShapes.vectorBits() != expected) {
                throw new IllegalStateException("vectorBits=" + vectorBits + " but the kernels were already loaded at "
                        + VectorShapes.vectorBits() + " bits: each width needs its own fork (run with -f 1 or more)");
            }
            stage = new float[BenchmarkAccess.BLOCK_SIZE];
            lanes = new float[VectorShapes.lanes()];
            requireWithinBound("FastExp", false);
            requireWithinBound("VectorOperators.EXP", true);
        }
    }

    /** Logits as CrossEntropyBenchmark draws them: 3 (2u - 1) + u', in [-3, 4). */
    static float[] logits(int n) {
        SplittableRandom random = new SplittableRandom(20261122L);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
        return a;
    }

    static float max(float[] a) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : a) m = Math.max(m, v);
        return m;
    }

    /**
     * Fails the trial unless the exp is within FastExp's documented bound of StrictMath.exp at 4096 arguments spread
     * over [-87.3, 0] (FastExpTest and VectorExpTest measure every 64th float).
     */
    static void requireWithinBound(String name, boolean vectorExp) {
        int n = 4096;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -87.3f * i / (n - 1);
        float[] out = new float[n];
        if (vectorExp) vectorExpBlock(x, 0, n, 0f, out);
        else BenchmarkAccess.expBlock(x, 0, n, 0f, out);
        for (int i = 0; i < n; i++) {
            double exact = StrictMath.exp(x[i]);
            double ulps = Math.abs(out[i] - exact) / Math.ulp((float) exact);
            if (!(ulps <= BenchmarkAccess.FAST_EXP_MAX_ULP_ERROR)) {
                throw new IllegalStateException(name + ": exp(" + x[i] + ") = " + out[i] + ", " + ulps + " ulp from "
                        + exact + ", over the bound of " + BenchmarkAccess.FAST_EXP_MAX_ULP_ERROR + " ulp");
            }
        }
    }

    /** The species of the EXP loops, read once the width is fixed; a static final, so C2 treats it as a constant. */
    private static final class Species {
        static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, VectorShape.forBitSize(VectorShapes.vectorBits()));
    }

    /** FastExp.expBlock's loop with VectorOperators.EXP: out[i] = exp(in[off + i] - shift); scalar tail by Math.exp. */
    static void vectorExpBlock(float[] in, int off, int n, float shift, float[] out) {
        VectorSpecies<Float> species = Species.FLOATS;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector.fromArray(species, in, off + i).sub(shift).lanewise(VectorOperators.EXP).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = (float) Math.exp(in[off + i] - shift);
    }

    // ------------------------------------------------------------------ a block of exps

    @Benchmark
    public float[] expBlockFastExp(Block block, Vectors vectors) {
        BenchmarkAccess.expBlock(block.x, 0, block.n, block.shift, block.out);
        return block.out;
    }

    @Benchmark
    public float[] expBlockVectorExp(Block block, Vectors vectors) {
        vectorExpBlock(block.x, 0, block.n, block.shift, block.out);
        return block.out;
    }

    @Benchmark
    public float[] expBlockMathExp(Block block) {
        float[] x = block.x;
        float[] out = block.out;
        float shift = block.shift;
        for (int i = 0; i < x.length; i++) out[i] = (float) Math.exp(x[i] - shift);
        return out;
    }

    // ------------------------------------------------------------------ the softmax sum over a row

    @Benchmark
    public double rowSumExpFastExp(Row row, Vectors vectors) {
        double total = 0;
        for (int c0 = 0; c0 < row.n; c0 += BenchmarkAccess.BLOCK_SIZE) {
            int n = Math.min(BenchmarkAccess.BLOCK_SIZE, row.n - c0);
            total += BenchmarkAccess.sumExp(row.z, c0, n, row.max, vectors.lanes);
        }
        return total;
    }

    @Benchmark
    public double rowSumExpVectorExpStaged(Row row, Vectors vectors) {
        double total = 0;
        for (int c0 = 0; c0 < row.n; c0 += BenchmarkAccess.BLOCK_SIZE) {
            int n = Math.min(BenchmarkAccess.BLOCK_SIZE, row.n - c0);
            vectorExpBlock(row.z, c0, n, row.max, vectors.stage);
            total += BenchmarkAccess.sum(vectors.stage, n, vectors.lanes);
        }
        return total;
    }

    @Benchmark
    public double rowSumExpVectorExpFused(Row row, Vectors vectors) {
        VectorSpecies<Float> species = Species.FLOATS;
        int lanes = species.length();
        float[] z = row.z;
        float m = row.max;
        double total = 0;
        for (int c0 = 0; c0 < row.n; c0 += BenchmarkAccess.BLOCK_SIZE) {
            int end = Math.min(c0 + BenchmarkAccess.BLOCK_SIZE, row.n);
            FloatVector s0 = FloatVector.zero(species);
            FloatVector s1 = s0;
            int i = c0;
            for (int bound = end - 2 * lanes + 1; i < bound; i += 2 * lanes) {
                s0 = s0.add(FloatVector.fromArray(species, z, i).sub(m).lanewise(VectorOperators.EXP));
                s1 = s1.add(FloatVector.fromArray(species, z, i + lanes).sub(m).lanewise(VectorOperators.EXP));
            }
            float block = s0.add(s1).reduceLanes(VectorOperators.ADD);
            for (; i < end; i++) block += (float) Math.exp(z[i] - m);
            total += block;
        }
        return total;
    }

    @Benchmark
    public double rowSumExpMathExp(Row row) {
        float[] z = row.z;
        float m = row.max;
        double total = 0;
        for (int i = 0; i < row.n; i++) total += Math.exp(z[i] - m);
        return total;
    }
}
