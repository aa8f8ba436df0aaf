package org.losskit.bench.tour;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;

/**
 * The tour's datasets, read from the gzipped CSV files of scikit-learn that {@code tour/SOURCES.md} describes, split
 * and prepared exactly as the PyTorch script does: every value that must be bit-identical on both sides is computed in
 * double, one operation at a time and summed left to right, then rounded to float32 once.
 */
final class TourData {
    private TourData() {}

    /**
     * Rows of features (row-major float32) with either real targets or class labels.
     *
     * @param x        rows x features, row-major
     * @param targets  regression targets, or null
     * @param labels   class labels, or null
     */
    record Dataset(float[] x, int rows, int features, float[] targets, int[] labels) {
        float feature(int row, int j) {
            return x[row * features + j];
        }
    }

    /**
     * Diabetes, standardised with the training rows' statistics; training targets with {@code corruptedRows} of them
     * multiplied by the corruption factor; targets in standard deviations of the clean training targets.
     *
     * @param corrupted  indices (into the training rows) of the corrupted targets
     * @param targetMean mean of the clean training targets (disease progression units)
     * @param targetSd   their standard deviation: a target t is {@code targetMean + t * targetSd} in those units
     */
    record Regression(Dataset train, Dataset validation, int[] corrupted, double targetMean, double targetSd) {}

    /** Digits, pixels standardised with the training rows' statistics, and the imbalanced training set. */
    record Classification(Dataset balanced, Dataset imbalanced, Dataset validation, int classes) {
        Dataset training(TourSpec.Run run) {
            return switch (run.data()) {
                case "balanced" -> balanced;
                case "imbalanced" -> imbalanced;
                default -> throw new IllegalArgumentException("run " + run.name() + ": data = " + run.data()
                        + ", expected balanced or imbalanced");
            };
        }
    }

    static Regression diabetes(TourSpec.Part spec) {
        List<double[]> features = readRows("diabetes_data_raw.csv.gz", WHITESPACE);
        List<double[]> targetRows = readRows("diabetes_target.csv.gz", WHITESPACE);
        int[] order = SplitMix64.shuffled(features.size(), spec.seed());
        int[] train = java.util.Arrays.copyOfRange(order, 0, spec.trainRows());
        int[] validation = java.util.Arrays.copyOfRange(order, spec.trainRows(), order.length);
        double[][] stats = columnStats(rowsOf(features, train));
        double[][] targetStats = columnStats(rowsOf(targetRows, train));   // of the clean targets
        double targetMean = targetStats[0][0];
        double targetSd = targetStats[1][0];
        // the first rows of a random order: a random subset
        Set<Integer> corrupted = IntStream.of(train).limit(spec.corruptedRows()).boxed().collect(Collectors.toSet());
        int[] corruptedPositions = IntStream.range(0, train.length).filter(k -> corrupted.contains(train[k])).toArray();
        return new Regression(
                regressionSet(features, targetRows, train, stats, corrupted, spec.corruptionFactor(), targetMean, targetSd),
                regressionSet(features, targetRows, validation, stats, Set.of(), 1, targetMean, targetSd),
                corruptedPositions, targetMean, targetSd);
    }

    private static Dataset regressionSet(List<double[]> features, List<double[]> targets, int[] rows, double[][] stats,
                                         Set<Integer> corrupted, double factor, double targetMean, double targetSd) {
        int d = features.getFirst().length;
        float[] x = new float[rows.length * d];
        float[] y = new float[rows.length];
        for (int k = 0; k < rows.length; k++) {
            int i = rows[k];
            for (int j = 0; j < d; j++) x[k * d + j] = (float) ((features.get(i)[j] - stats[0][j]) / stats[1][j]);
            double t = corrupted.contains(i) ? targets.get(i)[0] * factor : targets.get(i)[0];
            y[k] = (float) ((t - targetMean) / targetSd);
        }
        return new Dataset(x, rows.length, d, y, null);
    }

    static Classification digits(TourSpec.Part spec) {
        List<double[]> rows = readRows("digits.csv.gz", COMMA);
        int pixels = 64;
        int classes = 10;
        int[] order = SplitMix64.shuffled(rows.size(), spec.seed());
        int[] train = java.util.Arrays.copyOfRange(order, 0, spec.trainRows());
        int[] validation = java.util.Arrays.copyOfRange(order, spec.trainRows(), order.length);
        // keep every k-th row of each minority class, in training order
        Set<Integer> minority = IntStream.of(spec.minorityClasses()).boxed().collect(Collectors.toSet());
        Map<Integer, Integer> seen = new HashMap<>();
        int[] imbalanced = IntStream.of(train).filter(i -> {
            int c = (int) rows.get(i)[pixels];
            int n = seen.merge(c, 1, Integer::sum);
            return !minority.contains(c) || (n - 1) % spec.minorityKeepEvery() == 0;
        }).toArray();
        List<double[]> trainPixels = new ArrayList<>();
        for (int i : train) trainPixels.add(java.util.Arrays.copyOf(rows.get(i), pixels));
        double[][] stats = columnStats(trainPixels);
        return new Classification(digitSet(rows, train, stats), digitSet(rows, imbalanced, stats),
                digitSet(rows, validation, stats), classes);
    }

    private static Dataset digitSet(List<double[]> rows, int[] indices, double[][] stats) {
        int d = stats[0].length;
        float[] x = new float[indices.length * d];
        int[] labels = new int[indices.length];
        for (int k = 0; k < indices.length; k++) {
            double[] row = rows.get(indices[k]);
            for (int j = 0; j < d; j++) {
                double sd = stats[1][j] > 0 ? stats[1][j] : 1.0;   // a constant pixel: divided by 1
                x[k * d + j] = (float) ((row[j] - stats[0][j]) / sd);
            }
            labels[k] = (int) row[d];
        }
        return new Dataset(x, indices.length, d, null, labels);
    }

    /** sklearn's "balanced" class weights {@code n / (C n_c)}, in double, rounded to float32. */
    static float[] balancedClassWeights(int[] labels, int classes) {
        int[] counts = new int[classes];
        for (int c : labels) counts[c]++;
        float[] weights = new float[classes];
        for (int c = 0; c < classes; c++) weights[c] = (float) ((double) labels.length / (classes * counts[c]));
        return weights;
    }

    /** Softmax regression's initial W (features x classes, row-major): uniform in [-a, a) from seed + 1; exact. */
    static float[] initialWeights(TourSpec.Part spec, int features, int classes) {
        SplitMix64 rng = new SplitMix64(spec.seed() + 1);
        float[] w = new float[features * classes];
        for (int i = 0; i < w.length; i++) w[i] = (float) ((2 * rng.uniform24() - 1) * spec.initScale());
        return w;
    }

    /** Mean and population standard deviation of each column ({@code [0]} and {@code [1]}), summed left to right. */
    private static double[][] columnStats(List<double[]> rows) {
        int n = rows.size();
        int d = rows.getFirst().length;
        double[][] stats = new double[2][d];
        for (int j = 0; j < d; j++) {
            double total = 0;
            for (double[] r : rows) total += r[j];
            double mean = total / n;
            double squares = 0;
            for (double[] r : rows) squares += (r[j] - mean) * (r[j] - mean);
            stats[0][j] = mean;
            stats[1][j] = Math.sqrt(squares / n);
        }
        return stats;
    }

    private static List<double[]> rowsOf(List<double[]> rows, int[] indices) {
        List<double[]> out = new ArrayList<>(indices.length);
        for (int i : indices) out.add(rows.get(i));
        return out;
    }

    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern COMMA = Pattern.compile(",");

    private static List<double[]> readRows(String name, Pattern separator) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(resource(name)),
                StandardCharsets.US_ASCII))) {
            List<double[]> rows = new ArrayList<>();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank()) continue;
                String[] fields = separator.split(line.strip());
                double[] row = new double[fields.length];
                for (int j = 0; j < fields.length; j++) row[j] = Double.parseDouble(fields[j]);
                rows.add(row);
            }
            return rows;
        } catch (IOException e) {
            throw new UncheckedIOException("tour/" + name, e);
        }
    }

    static InputStream resource(String name) {
        InputStream in = TourData.class.getResourceAsStream("/tour/" + name);
        if (in == null) throw new IllegalStateException("tour/" + name + " is not on the class path (bench resources)");
        return in;
    }

    /** SHA-256 of float32 (little-endian) and int32 arrays in order: the PyTorch script's {@code data_hash}. */
    static String hash(Object... arrays) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Object a : arrays) {
                ByteBuffer bytes;
                if (a instanceof float[] f) {
                    bytes = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (float v : f) bytes.putFloat(v);
                } else if (a instanceof int[] ints) {
                    bytes = ByteBuffer.allocate(4 * ints.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (int v : ints) bytes.putInt(v);
                } else {
                    throw new IllegalArgumentException("hash: float[] or int[], got " + a);
                }
                sha.update(bytes.array());
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
