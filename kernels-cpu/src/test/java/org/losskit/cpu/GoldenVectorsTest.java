package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.ErrorBound;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/**
 * The golden vectors (PyTorch float64 results and exact math.fsum sums, in the api test resources) through the cpu
 * backend. Until the shared GoldenTestBase lands, this reads the reduction and cross-entropy files itself.
 */
class GoldenVectorsTest extends EngineTestBase {
    private static final JsonMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    static JsonNode cases(String file) throws IOException {
        try (InputStream in = GoldenVectorsTest.class.getResourceAsStream("/golden/" + file)) {
            assertNotNull(in, "golden/" + file + " is on the test class path (api's test-jar)");
            return JSON.readTree(new GZIPInputStream(in)).get("cases");
        }
    }

    static ByteBuffer bytes(JsonNode array) {
        return ByteBuffer.wrap(Base64.getDecoder().decode(array.get("b64").asText())).order(ByteOrder.LITTLE_ENDIAN);
    }

    static float[] floats(JsonNode array) {
        ByteBuffer b = bytes(array);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static double[] doubles(JsonNode array) {
        ByteBuffer b = bytes(array);
        double[] out = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(out);
        return out;
    }

    static int[] ints(JsonNode array) {
        ByteBuffer b = bytes(array);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    @Test
    void reductions() throws IOException {
        ErrorBound bound = Op.REDUCTION.float32Bound();
        for (JsonNode c : cases("reductions.json.gz")) {
            String name = c.get("name").asText();
            float[] x = floats(c.get("input"));
            Matrix m = Matrix.vector(x);
            // sum, mean and l1 are compensated: the float nearest the exact (math.fsum) value
            assertEquals((float) c.get("sum").asDouble(), (float) cpu.reduce(ReduceOp.SUM, m), name + " sum");
            assertEquals((float) c.get("mean").asDouble(), (float) cpu.reduce(ReduceOp.MEAN, m), name + " mean");
            assertEquals((float) c.get("l1").asDouble(), (float) cpu.reduce(ReduceOp.L1_NORM, m), name + " l1");
            assertEquals(c.get("max").asDouble(), cpu.reduce(ReduceOp.MAX, m), name + " max");
            assertEquals(c.get("min").asDouble(), cpu.reduce(ReduceOp.MIN, m), name + " min");
            assertEquals(c.get("argmax").asLong(), cpu.argmax(m), name + " argmax");
            Agreement.loss(name + " logsumexp", bound, cpu.reduce(ReduceOp.LOGSUMEXP, m), c.get("logsumexp").asDouble());
            // The golden l2 of an all -inf input is NaN (a max-scaled norm); the reference documents sqrt(sum x^2) = inf.
            double l2 = Double.isNaN(c.get("l2").asDouble()) ? reference.reduce(ReduceOp.L2_NORM, m) : c.get("l2").asDouble();
            Agreement.loss(name + " l2", bound, cpu.reduce(ReduceOp.L2_NORM, m), l2);
        }
    }

    /**
     * PyTorch's float64 gradient of the target class is p_y - 1, which cancels when the prediction is confident: for
     * logits (30, 0, 0, 0) it is off by 2.6 double ulps of 1, 0.1% of the value -2.8e-13. The kernels compute
     * -sum_{c != y} p_c instead; this replaces the golden target entries (no smoothing) by that sum in double, with a
     * max shift, so the comparison is against the exact value.
     */
    private static void exactTargetGradients(float[] logits, int[] targets, JsonNode c, Reduction reduction, int rows, int classes,
                                             float[] expected) {
        int ignore = c.get("ignore_index").asInt();
        float[] weights = c.get("weight").isNull() ? null : floats(c.get("weight"));
        double denominator = 0;
        for (int y : targets) if (y != ignore) denominator += weights == null ? 1 : weights[y];
        double scale = reduction == Reduction.MEAN ? 1 / denominator : 1;
        for (int r = 0; r < rows; r++) {
            int y = targets[r];
            if (y == ignore) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < classes; k++) max = Math.max(max, logits[r * classes + k]);
            double sum = 0;
            double others = 0;
            for (int k = 0; k < classes; k++) {
                double e = Math.exp(logits[r * classes + k] - max);
                sum += e;
                if (k != y) others += e;
            }
            expected[r * classes + y] = (float) (-(weights == null ? 1 : weights[y]) * scale * others / sum);
        }
    }

    @Test
    void crossEntropy() throws IOException {
        ErrorBound bound = Op.CROSS_ENTROPY.float32Bound();
        int count = 0;
        for (JsonNode c : cases("cross_entropy.json.gz")) {
            String name = c.get("name").asText();
            int rows = c.get("rows").asInt();
            int classes = c.get("classes").asInt();
            Reduction reduction = Reduction.valueOf(c.get("reduction").asText().toUpperCase(java.util.Locale.ROOT));
            CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(reduction).ignoreIndex(c.get("ignore_index").asInt())
                    .labelSmoothing(c.get("label_smoothing").asDouble());
            if (!c.get("weight").isNull()) o = o.classWeights(floats(c.get("weight")));
            float[] grad = new float[rows * classes];
            float[] losses = new float[rows];
            double value = cpu.crossEntropy(Matrix.of(floats(c.get("logits")), rows, classes), Matrix.vector(ints(c.get("target"))), o,
                    LossOutputs.withGradient(Matrix.of(grad, rows, classes)).losses(Matrix.vector(losses)));
            double[] expectedLoss = doubles(c.get("loss"));
            double[] expectedGrad = doubles(c.get("grad"));
            if (reduction == Reduction.NONE) {
                float[] expected = new float[rows];
                for (int r = 0; r < rows; r++) expected[r] = (float) expectedLoss[r];
                Agreement.losses(name + " losses", bound, losses, expected);
            } else {
                Agreement.loss(name + " loss", bound, value, expectedLoss[0]);
            }
            // PyTorch's gradient of reduction none is that of sum(losses): the value this library returns
            float[] expected = new float[expectedGrad.length];
            for (int i = 0; i < expected.length; i++) expected[i] = (float) expectedGrad[i];
            if (c.get("label_smoothing").asDouble() == 0) {
                exactTargetGradients(floats(c.get("logits")), ints(c.get("target")), c, reduction, rows, classes, expected);
            }
            Agreement.gradient(name + " gradient", bound, grad, expected);
            count++;
        }
        assertEquals(164, count, "every cross-entropy case ran");
    }
}
