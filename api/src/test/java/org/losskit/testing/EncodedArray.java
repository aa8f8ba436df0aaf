package org.losskit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * One array of the PyTorch-generated test data (the golden vectors and the PyTorch test-suite samples):
 * {@code {"dtype": ..., "shape": [...], "b64": ...}}, whose {@code b64} holds the little-endian bytes of the values in
 * row-major order. Dtypes: {@code f32}, {@code f64}, {@code i32}, {@code i64}, and {@code bool} (one byte, 0 or 1).
 * A shape of {@code []} is a 0-dim tensor (one value); a shape with a 0 extent holds no values.
 */
public record EncodedArray(String dtype, int[] shape, byte[] bytes) {

    private static final JsonMapper JSON = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    public EncodedArray {
        int width = switch (dtype) {
            case "f32", "i32" -> 4;
            case "f64", "i64" -> 8;
            case "bool" -> 1;
            default -> throw new IllegalArgumentException("dtype: unknown array dtype '" + dtype + "'");
        };
        long elements = 1;
        for (int extent : shape) elements *= extent;
        if (bytes.length != elements * width) {
            throw new IllegalArgumentException("bytes: " + bytes.length + " bytes for " + elements + " " + dtype
                    + " values of shape " + Arrays.toString(shape));
        }
    }

    /** Decodes {@code {"dtype", "shape", "b64"}}. */
    public static EncodedArray of(JsonNode node) {
        JsonNode shapeNode = node.path("shape");
        int[] shape = new int[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asInt();
        return new EncodedArray(node.path("dtype").asText(), shape, Base64.getDecoder().decode(node.path("b64").asText()));
    }

    /** The JSON tree of a gzip-compressed JSON resource on the test class path (NaN and infinities allowed). */
    public static JsonNode readGzipJsonResource(String resource) {
        try (InputStream raw = EncodedArray.class.getResourceAsStream(resource)) {
            if (raw == null) throw new IllegalStateException("resource " + resource + " is not on the test class path");
            return JSON.readTree(new GZIPInputStream(raw, 1 << 16));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + resource, e);
        }
    }

    /** The number of values: the product of the extents, 1 for a 0-dim array. */
    public int numel() {
        int n = 1;
        for (int extent : shape) n *= extent;
        return n;
    }

    /** float32 values (dtype f32). */
    public float[] floats() {
        float[] result = new float[numel()];
        buffer("f32").asFloatBuffer().get(result);
        return result;
    }

    /** float64 values (dtype f64, or f32 widened exactly). */
    public double[] doubles() {
        if (dtype.equals("f32")) {
            float[] f = floats();
            double[] result = new double[f.length];
            for (int i = 0; i < f.length; i++) result[i] = f[i];
            return result;
        }
        double[] result = new double[numel()];
        buffer("f64").asDoubleBuffer().get(result);
        return result;
    }

    /** int32 values (dtype i32). */
    public int[] ints() {
        int[] result = new int[numel()];
        buffer("i32").asIntBuffer().get(result);
        return result;
    }

    /** int64 values (dtype i64, or i32 widened). */
    public long[] longs() {
        if (dtype.equals("i32")) {
            int[] i = ints();
            long[] result = new long[i.length];
            for (int k = 0; k < i.length; k++) result[k] = i[k];
            return result;
        }
        long[] result = new long[numel()];
        buffer("i64").asLongBuffer().get(result);
        return result;
    }

    /** bool values (dtype bool). */
    public boolean[] bools() {
        ByteBuffer b = buffer("bool");
        boolean[] result = new boolean[numel()];
        for (int i = 0; i < result.length; i++) result[i] = b.get(i) != 0;
        return result;
    }

    public boolean isFloatingPoint() {
        return dtype.equals("f32") || dtype.equals("f64");
    }

    private ByteBuffer buffer(String expected) {
        if (!dtype.equals(expected)) throw new IllegalStateException("array has dtype " + dtype + ", expected " + expected);
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
