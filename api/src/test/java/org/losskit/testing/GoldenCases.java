package org.losskit.testing;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.losskit.Op;

/**
 * Reads the golden loss vectors (PyTorch 1.13, float64 from float32 inputs) from the test class path, folder
 * {@code /golden}: one gzip JSON file per op, {@code {"generator": ..., "cases": [ {...}, ... ]}}. Arrays are
 * {@code {"dtype": "f32"|"f64"|"i32", "shape": [...], "b64": little-endian bytes}}; absent parameters are null;
 * scalars may be NaN or +-Infinity. The files travel in the api test-jar, so backend modules read the same data.
 */
public final class GoldenCases {
    /** Every golden file, one per op of the catalogue that PyTorch can compute. */
    public static final List<String> FILES = List.of(
            "cross_entropy", "cross_entropy_probs", "nll", "bce_with_logits", "mse", "l1", "smooth_l1", "huber",
            "log_cosh", "quantile", "hinge", "squared_hinge", "poisson_nll", "multi_margin", "kl_div",
            "sigmoid_focal", "softmax_focal", "dice", "gaussian_nll", "reductions");

    /** The catalogue op whose bound a golden file is checked against: the file name, except "reductions". */
    public static Op op(String file) {
        if (!FILES.contains(file)) throw new IllegalArgumentException("file: no golden file named '" + file + "'; the files are " + FILES);
        return file.equals("reductions") ? Op.REDUCTION : Op.valueOf(file.toUpperCase(java.util.Locale.ROOT));
    }

    private GoldenCases() {}

    /** The cases of {@code /golden/<file>.json.gz}, in file order. */
    public static List<GoldenCase> load(String file) {
        JsonNode root = EncodedArray.readGzipJsonResource("/golden/" + file + ".json.gz");
        List<GoldenCase> cases = new ArrayList<>();
        for (JsonNode node : root.path("cases")) cases.add(new GoldenCase(file, node));
        return List.copyOf(cases);
    }

    /** One case: its name, op, scalar parameters and decoded arrays. */
    public record GoldenCase(String file, JsonNode node) {

        public String name() {
            return node.path("name").asText();
        }

        public String op() {
            return node.path("op").asText();
        }

        /** True when the field is absent or JSON null. */
        public boolean isNull(String key) {
            return !node.hasNonNull(key);
        }

        public String text(String key) {
            return required(key).asText();
        }

        /** A scalar, NaN and infinities included. */
        public double number(String key) {
            return required(key).asDouble();
        }

        public int integer(String key) {
            return required(key).asInt();
        }

        public boolean bool(String key) {
            return required(key).asBoolean();
        }

        /** The shape of array {@code key}; {@code []} for a scalar. */
        public int[] shape(String key) {
            JsonNode shape = required(key).path("shape");
            int[] result = new int[shape.size()];
            for (int i = 0; i < result.length; i++) result[i] = shape.get(i).asInt();
            return result;
        }

        /** A JSON int list such as the {@code shape} parameter of element losses. */
        public int[] intList(String key) {
            JsonNode list = required(key);
            int[] result = new int[list.size()];
            for (int i = 0; i < result.length; i++) result[i] = list.get(i).asInt();
            return result;
        }

        /** Array {@code key} as float32 values (dtype f32), or null when the parameter is null. */
        public float[] floats(String key) {
            return isNull(key) ? null : array(key, "f32").floats();
        }

        /** Array {@code key} as float64 values (dtype f64, or f32 widened). */
        public double[] doubles(String key) {
            return isNull(key) ? null : array(key, "f64", "f32").doubles();
        }

        /** Array {@code key} as int32 values (dtype i32). */
        public int[] ints(String key) {
            return isNull(key) ? null : array(key, "i32").ints();
        }

        private EncodedArray array(String key, String... expectedDtypes) {
            EncodedArray array = EncodedArray.of(required(key));
            if (!List.of(expectedDtypes).contains(array.dtype())) {
                throw new IllegalStateException(this + ": array " + key + " has dtype " + array.dtype() + ", expected "
                        + String.join(" or ", expectedDtypes));
            }
            return array;
        }

        private JsonNode required(String key) {
            JsonNode value = node.get(key);
            if (value == null || value.isNull()) throw new IllegalStateException(this + " has no field " + key);
            return value;
        }

        @Override
        public String toString() {
            return file + ".json.gz case " + name();
        }
    }
}
