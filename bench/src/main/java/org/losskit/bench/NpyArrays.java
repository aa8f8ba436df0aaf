package org.losskit.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jetbrains.bio.npy.NpyArray;
import org.jetbrains.bio.npy.NpyFile;
import org.jetbrains.bio.npy.NpzEntry;
import org.jetbrains.bio.npy.NpzFile;

/**
 * NumPy files through org.jetbrains.bio:npy, and the conversions the check needs: any numeric array to float,
 * double or int32 values (int64 labels are narrowed with a range check), strings from 0-d arrays.
 */
final class NpyArrays {
    /** jetbrains npy reads a file in chunks of this many bytes; one chunk is fine for the small files compared here. */
    private static final int READ_STEP = Integer.MAX_VALUE;

    private NpyArrays() {}

    /** Every entry of an .npz file, by name, in the file's order. */
    static Map<String, NpyArray> readNpz(Path file) {
        requireFile(file);
        Map<String, NpyArray> entries = new LinkedHashMap<>();
        try (NpzFile.Reader reader = NpzFile.read(file)) {
            for (NpzEntry entry : reader.introspect()) {
                try {
                    entries.put(entry.getName(), reader.get(entry.getName(), READ_STEP));
                } catch (RuntimeException e) {
                    throw unreadable(file + ", entry " + entry.getName(), e);
                }
            }
        }
        return entries;
    }

    static NpyArray readNpy(Path file) {
        requireFile(file);
        try {
            return NpyFile.read(file, READ_STEP);
        } catch (RuntimeException e) {
            throw unreadable(file.toString(), e);
        }
    }

    /** The reader's own exceptions ("unexpected header type U", "Empty array can't be reduced") with the fix. */
    private static IllegalArgumentException unreadable(String where, RuntimeException e) {
        return new IllegalArgumentException("cannot read " + where + ": " + e.getMessage()
                + " (the reader takes no 0-d arrays and no unicode strings: save scalars with shape (1,) and strings as"
                + " bytes, e.g. np.array([0.1]), np.array([b'mean']))", e);
    }

    private static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("no such file: " + file);
    }

    /** The number of elements: the product of the shape (1 for a 0-d array). */
    static long size(NpyArray a) {
        long n = 1;
        for (int d : a.getShape()) n *= d;
        return n;
    }

    static float[] floats(String name, NpyArray a) {
        return switch (a.getData()) {
            case float[] f -> f;
            case double[] d -> { float[] f = new float[d.length]; for (int i = 0; i < d.length; i++) f[i] = (float) d[i]; yield f; }
            default -> { double[] d = doubles(name, a); float[] f = new float[d.length]; for (int i = 0; i < d.length; i++) f[i] = (float) d[i]; yield f; }
        };
    }

    static double[] doubles(String name, NpyArray a) {
        return switch (a.getData()) {
            case double[] d -> d;
            case float[] f -> { double[] d = new double[f.length]; for (int i = 0; i < f.length; i++) d[i] = f[i]; yield d; }
            case int[] v -> Arrays.stream(v).asDoubleStream().toArray();
            case long[] v -> Arrays.stream(v).asDoubleStream().toArray();
            case short[] v -> { double[] d = new double[v.length]; for (int i = 0; i < v.length; i++) d[i] = v[i]; yield d; }
            case byte[] v -> { double[] d = new double[v.length]; for (int i = 0; i < v.length; i++) d[i] = v[i]; yield d; }
            default -> throw new IllegalArgumentException(name + " must be numeric, got " + describe(a));
        };
    }

    /**
     * Class-index labels as int32. NumPy and PyTorch labels are int64; losskit takes int32 labels (int64 targets are
     * being added with the API redesign), so they are narrowed here, refusing a value that does not fit.
     */
    static int[] labels(String name, NpyArray a) {
        return switch (a.getData()) {
            case int[] v -> v;
            case long[] v -> {
                int[] narrowed = new int[v.length];
                for (int i = 0; i < v.length; i++) {
                    if (v[i] != (int) v[i]) throw new IllegalArgumentException(name + "[" + i + "] = " + v[i] + " does not fit in int32");
                    narrowed[i] = (int) v[i];
                }
                yield narrowed;
            }
            case short[] v -> { int[] n = new int[v.length]; for (int i = 0; i < v.length; i++) n[i] = v[i]; yield n; }
            case byte[] v -> { int[] n = new int[v.length]; for (int i = 0; i < v.length; i++) n[i] = v[i]; yield n; }
            default -> throw new IllegalArgumentException(name + " must hold integer class indices, got " + describe(a));
        };
    }

    static boolean isInteger(NpyArray a) {
        return a.getData() instanceof int[] || a.getData() instanceof long[] || a.getData() instanceof short[] || a.getData() instanceof byte[];
    }

    /** The string of a 0-d (or one-element) string array, e.g. np.array("mean"). */
    static String string(String name, NpyArray a) {
        if (!(a.getData() instanceof String[] s) || s.length != 1) throw new IllegalArgumentException(name + " must be one string, got " + describe(a));
        return s[0];
    }

    /** The value of a 0-d (or one-element) numeric array. */
    static double scalar(String name, NpyArray a) {
        double[] d = doubles(name, a);
        if (d.length != 1) throw new IllegalArgumentException(name + " must be one number, got " + describe(a));
        return d[0];
    }

    static String describe(NpyArray a) {
        return a.getData().getClass().getSimpleName() + " of shape " + Arrays.toString(a.getShape());
    }

    static void writeFloats(Path file, float[] values, int[] shape) {
        NpyFile.write(file, values, shape);
    }

    static void writeDoubles(Path file, double[] values, int[] shape) {
        NpyFile.write(file, values, shape);
    }
}
