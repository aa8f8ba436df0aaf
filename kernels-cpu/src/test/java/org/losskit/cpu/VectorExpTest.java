package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import org.junit.jupiter.api.Test;

/**
 * FastExp and {@code VectorOperators.EXP} side by side, in the two ways a JVM runs a kernel: interpreted (the Vector
 * API's Java fallback, {@code -Xint}; C1 code runs the same fallback) and compiled by C2 (intrinsics: FastExp's
 * vector instructions, and for EXP a call into the JDK's SVML library). Each runs in a child JVM ({@link Probe}), so
 * which of the two executes is fixed by the flags and not by JIT timing.
 *
 * <p>What it shows: FastExp gives the same bits in both (the property the kernels rely on for results that do not
 * depend on warm-up or thread count; enforced here), while EXP's compiled results differ from its interpreted ones
 * (printed, not enforced: a fact about the JDK, recorded in FastExp's Javadoc). Accuracy of compiled EXP over every
 * 64th float of [UNDERFLOW, 0], measured like FastExpTest, is printed and enforced against FastExp's bound, the bound
 * the kernels document and an exp must meet to be chosen.
 */
class VectorExpTest {
    /** Every 65536th float of [UNDERFLOW, 0] (about 17000): small enough for the interpreter. */
    private static final int SAME_BITS_STRIDE = 1 << 16;
    /** Every 64th float, as FastExpTest. */
    private static final int ACCURACY_STRIDE = 64;

    @Test
    void fastExpHasTheSameBitsInterpretedAndCompiledAndVectorExpIsMeasured() throws Exception {
        Summary interpreted = Summary.of(runProbe(List.of("-Xint"), "" + SAME_BITS_STRIDE)).get(0);
        List<String> compiledOutput = runProbe(List.of("-XX:-TieredCompilation", "-Xbatch", "-XX:+PrintCompilation"),
                "warm", "" + SAME_BITS_STRIDE, "" + ACCURACY_STRIDE);
        for (String method : new String[] {"org.losskit.cpu.FastExp::expBlock", "org.losskit.cpu.VectorExpTest$Probe::vectorExp"}) {
            assertTrue(compiledOutput.stream().anyMatch(line -> line.contains(method)), method + " was not compiled by C2: " + compiledOutput);
        }
        Summary compiled = Summary.of(compiledOutput).get(0);
        Summary accuracy = Summary.of(compiledOutput).get(1);
        System.out.println("interpreted (-Xint), every " + SAME_BITS_STRIDE + "th float: " + interpreted);
        System.out.println("compiled (C2),       every " + SAME_BITS_STRIDE + "th float: " + compiled);
        System.out.println("compiled (C2),       every " + ACCURACY_STRIDE + "th float:    " + accuracy);
        System.out.println("VectorOperators.EXP " + (interpreted.vectorExpDigest == compiled.vectorExpDigest ? "gives the same bits"
                : "gives different bits") + " interpreted and compiled (" + compiled.vectorExpNotMathExp + " of " + compiled.count
                + " compiled results differ from (float) Math.exp, the interpreter's fallback)");

        assertEquals(0, interpreted.vectorExpNotMathExp, "interpreted EXP is the fallback (float) Math.exp");
        assertEquals(interpreted.fastExpDigest, compiled.fastExpDigest, "FastExp bits differ between interpreted and C2 code");
        assertTrue(accuracy.fastExpMaxUlp <= FastExp.MAX_ULP_ERROR, "FastExp error " + accuracy.fastExpMaxUlp + " ulp");
        assertTrue(accuracy.vectorExpMaxUlp <= FastExp.MAX_ULP_ERROR, "VectorOperators.EXP error " + accuracy.vectorExpMaxUlp + " ulp");
    }

    /** Runs {@link Probe} in a child JVM with the same vector width and class path; returns its output, line by line. */
    private static List<String> runProbe(List<String> jvmFlags, String... args) throws IOException, InterruptedException, URISyntaxException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-modules=jdk.incubator.vector");
        command.addAll(jvmFlags);
        command.add("-D" + VectorShapes.WIDTH_PROPERTY + "=" + System.getProperty(VectorShapes.WIDTH_PROPERTY, ""));
        command.add("-cp");
        command.add(classDirectory(FastExp.class) + java.io.File.pathSeparator + classDirectory(Probe.class));
        command.add(Probe.class.getName());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe did not finish: " + command);
        assertEquals(0, process.exitValue(), "probe failed: " + command + "\n" + output);
        return output.lines().toList();
    }

    private static String classDirectory(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** One line of the probe's output. */
    record Summary(int count, long fastExpDigest, double fastExpMaxUlp, long vectorExpDigest, double vectorExpMaxUlp, int vectorExpNotMathExp) {
        /** The probe's result lines ("stride ..."), in order. */
        static List<Summary> of(List<String> output) {
            return output.stream().filter(line -> line.startsWith("stride ")).map(Summary::parse).toList();
        }

        static Summary parse(String line) {
            String[] f = line.split(" ");
            return new Summary(Integer.parseInt(f[3]), Long.parseLong(f[5]), Double.parseDouble(f[7]),
                    Long.parseLong(f[9]), Double.parseDouble(f[11]), Integer.parseInt(f[13]));
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%d arguments; FastExp max %.3f ulp; VectorOperators.EXP max %.3f ulp, %d results != (float) Math.exp",
                    count, fastExpMaxUlp, vectorExpMaxUlp, vectorExpNotMathExp);
        }
    }

    /**
     * Child JVM: for each stride argument, FastExp.expBlock and EXP over every stride-th float of [UNDERFLOW, 0) a
     * vector at a time; prints a digest of each one's bits, its worst error against StrictMath.exp in ulps, and how
     * many EXP results differ from {@code (float) Math.exp}. {@code warm} first runs both loops until C2 compiles them.
     */
    static final class Probe {
        private static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, VectorShape.forBitSize(VectorShapes.vectorBits()));

        private Probe() {}

        static void vectorExp(float[] in, float[] out) {
            for (int i = 0; i < in.length; i += FLOATS.length()) {
                FloatVector.fromArray(FLOATS, in, i).lanewise(VectorOperators.EXP).intoArray(out, i);
            }
        }

        public static void main(String[] args) {
            int lanes = FLOATS.length();
            float[] in = new float[lanes];
            float[] fast = new float[lanes];
            float[] vector = new float[lanes];
            for (String arg : args) {
                if (arg.equals("warm")) {
                    // -XX:-TieredCompilation -Xbatch: C2 compiles a method after 10000 calls, before the call returns.
                    java.util.Arrays.fill(in, -1.5f);
                    for (int k = 0; k < 15_000; k++) {
                        FastExp.expBlock(in, 0, lanes, 0f, fast);
                        vectorExp(in, vector);
                    }
                    continue;
                }
                int stride = Integer.parseInt(arg);
                long fastDigest = 1;
                long vectorDigest = 1;
                double fastWorst = 0;
                double vectorWorst = 0;
                int count = 0;
                int notMathExp = 0;
                int k = 0;
                int to = Float.floatToRawIntBits(FastExp.UNDERFLOW);
                for (int bits = Float.floatToRawIntBits(-0f) + 1; bits <= to; bits += stride) {
                    in[k++] = Float.intBitsToFloat(bits);
                    if (k < lanes) continue;
                    k = 0;
                    FastExp.expBlock(in, 0, lanes, 0f, fast);
                    vectorExp(in, vector);
                    for (int i = 0; i < lanes; i++) {
                        double exact = StrictMath.exp(in[i]);
                        double ulp = Math.ulp((float) exact);
                        fastWorst = Math.max(fastWorst, Math.abs(fast[i] - exact) / ulp);
                        vectorWorst = Math.max(vectorWorst, Math.abs(vector[i] - exact) / ulp);
                        fastDigest = 31 * fastDigest + Float.floatToRawIntBits(fast[i]);
                        vectorDigest = 31 * vectorDigest + Float.floatToRawIntBits(vector[i]);
                        if (Float.floatToRawIntBits(vector[i]) != Float.floatToRawIntBits((float) Math.exp(in[i]))) notMathExp++;
                        count++;
                    }
                }
                System.out.println("stride " + stride + " count " + count + " fastExpDigest " + fastDigest + " fastExpMaxUlp " + fastWorst
                        + " vectorExpDigest " + vectorDigest + " vectorExpMaxUlp " + vectorWorst + " vectorExpNotMathExp " + notMathExp);
            }
        }
    }
}
