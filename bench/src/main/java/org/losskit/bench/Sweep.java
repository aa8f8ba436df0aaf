package org.losskit.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.losskit.LossEngine;

/**
 * The report's throughput sweep: every workload at every size on every backend (and peer), timed with
 * {@link QuickTimer}. The CUDA backend is timed twice when present: with host arrays (the copies to and from the
 * device included) and with device-resident buffers.
 */
final class Sweep {
    static final String CPU = "cpu";
    static final String CUDA = "cuda";
    static final String HOST = "host";
    static final String DEVICE = "device";

    private Sweep() {}

    /** One size of one workload; rows = 1 for the flat workloads. */
    record Point(Workload workload, int rows, int cols) {
        long elements() {
            return (long) rows * cols;
        }

        String shape() {
            return workload.isRowWise() ? rows + "x" + cols : Long.toString(elements());
        }
    }

    /** Vocabularies of current language models: Llama 2, GPT-2, Llama 3, Qwen 2. */
    static final int[] VOCABULARIES = {32000, 50257, 128256, 151936};

    /**
     * The default sizes: cross-entropy at 1, 8 and 64 rows of each vocabulary, the flat workloads from 4K to 16M
     * elements (none a multiple of a vector length). {@code --quick} keeps a few, so the whole run stays under a
     * minute.
     */
    static List<Point> defaultPoints(boolean quick) {
        List<Point> points = new ArrayList<>();
        int[] rows = quick ? new int[] {1, 8} : new int[] {1, 8, 64};
        int[] vocabularies = quick ? new int[] {32000, 151936} : VOCABULARIES;
        for (int r : rows) {
            for (int v : vocabularies) points.add(new Point(Workload.CROSS_ENTROPY, r, v));
        }
        int[] flat = quick ? new int[] {65_539, 1_048_579} : new int[] {4_099, 65_539, 1_048_579, 16_777_219};
        for (Workload w : List.of(Workload.BCE_WITH_LOGITS, Workload.SUM)) {
            for (int n : flat) points.add(new Point(w, 1, n));
        }
        return points;
    }

    /**
     * One measured (or not measurable) figure. {@code series} names the line in charts: the backend, "cuda host" /
     * "cuda device", or a peer. Null figures come with a {@code note} that says why.
     */
    record Row(String series, String backend, String residency, String workload, String shape, int rows, int cols,
               long elements, Double medianSeconds, Double elementsPerSecond, List<Double> sampleSeconds, String note) {

        static Row measured(String series, String backend, String residency, Point p, QuickTimer.Timing t) {
            return new Row(series, backend, residency, p.workload().label(), p.shape(), p.rows(), p.cols(), p.elements(),
                    t.medianSeconds(), p.elements() / t.medianSeconds(), t.sampleSeconds(), null);
        }

        static Row missing(String series, String backend, String residency, Point p, String note) {
            return new Row(series, backend, residency, p.workload().label(), p.shape(), p.rows(), p.cols(), p.elements(),
                    null, null, List.of(), note);
        }

        boolean hasFigure() {
            return medianSeconds != null;
        }
    }

    /** Steps the progress bar takes for a sweep: one per point and series. */
    static int steps(List<String> backends, List<Peer> peers, List<Point> points) {
        int series = backends.size() + peers.size() + (backends.contains(CUDA) ? 1 : 0);
        return series * points.size();
    }

    static List<Row> run(List<String> backends, List<Peer> peers, List<Point> points, QuickTimer timer, long seed,
                         ProgressBar progress) {
        List<Row> rows = new ArrayList<>();
        for (String backend : backends) {
            boolean cuda = backend.equals(CUDA);
            String hostSeries = cuda ? "cuda host" : backend;
            // Host data always goes to the GPU here (crossover 0): the sweep measures where the GPU starts to pay off.
            try (LossEngine engine = LossEngine.builder().backend(backend).fallbackToReference(false)
                    .cudaHostCrossoverElements(0).build()) {
                warmUpKernels(points, timer, (w, r, c) -> BackendCalls.prepare(engine, w, r, c, seed));
                for (Point p : points) {
                    progress.advance(1, p.workload().label() + " " + hostSeries + " " + p.shape());
                    rows.add(time(hostSeries, backend, HOST, p, timer,
                            () -> BackendCalls.prepare(engine, p.workload(), p.rows(), p.cols(), seed)));
                }
            }
            if (cuda) {
                for (Point p : points) {
                    progress.advance(1, p.workload().label() + " cuda device " + p.shape());
                    rows.add(Row.missing("cuda device", backend, DEVICE, p,
                            "not measured: the report does not create CUDA device buffers yet"));
                }
            }
        }
        for (Peer peer : peers) {
            warmUpKernels(points, timer, (w, r, c) -> peer.prepare(w, r, c, seed));
            for (Point p : points) {
                progress.advance(1, p.workload().label() + " " + peer.name() + " " + p.shape());
                rows.add(time(peer.name(), peer.name(), HOST, p, timer,
                        () -> peer.prepare(p.workload(), p.rows(), p.cols(), seed)));
            }
        }
        return rows;
    }

    @FunctionalInterface
    private interface CallFactory {
        PreparedCall prepare(Workload workload, int rows, int cols);
    }

    /** Rows x columns of the small inputs the kernels are warmed up on: a few rows, no multiple of a vector length. */
    private static final int WARMUP_ROWS = 4;
    private static final int WARMUP_COLS = 4099;

    /**
     * Runs each workload of {@code points} on a small input, sharing the timer's kernel warm-up time, so that the
     * first sizes are not measured while the JIT still interprets the kernels. Failures are left to the
     * measurement, which records them.
     */
    private static void warmUpKernels(List<Point> points, QuickTimer timer, CallFactory factory) {
        List<Workload> workloads = points.stream().map(Point::workload).distinct().toList();
        for (Workload w : workloads) {
            int rows = w.isRowWise() ? WARMUP_ROWS : 1;
            int cols = w.isRowWise() ? WARMUP_COLS : WARMUP_ROWS * WARMUP_COLS;
            try (PreparedCall call = factory.prepare(w, rows, cols)) {
                if (call != null) QuickTimer.run(call, timer.kernelWarmupNanos() / workloads.size());
            } catch (RuntimeException e) {
                // the measurement of each size will fail the same way and say why
            }
        }
    }

    @FunctionalInterface
    private interface Preparation {
        PreparedCall prepare();
    }

    private static Row time(String series, String backend, String residency, Point p, QuickTimer timer, Preparation preparation) {
        try (PreparedCall call = preparation.prepare()) {
            if (call == null) return Row.missing(series, backend, residency, p, "not implemented by " + series);
            return Row.measured(series, backend, residency, p, timer.measure(call));
        } catch (RuntimeException | OutOfMemoryError e) {
            return Row.missing(series, backend, residency, p, "failed: " + e);
        }
    }

    /**
     * Where the GPU starts to beat the CPU for one workload: the smallest size from which on the GPU series is
     * faster than the CPU series at every measured size, or null with a note.
     */
    record Crossover(String workload, String cpuSeries, String gpuSeries, Long gpuFasterFromElements, String note) {}

    static List<Crossover> crossovers(List<Row> rows, List<String> backends) {
        String cpuSeries = backends.contains(CPU) ? CPU : CrossCheck.REFERENCE;
        List<Crossover> result = new ArrayList<>();
        for (Workload w : Workload.values()) {
            if (!backends.contains(CUDA)) {
                result.add(new Crossover(w.label(), cpuSeries, CUDA, null, "no CUDA backend here: no crossover measured"));
                continue;
            }
            for (String gpuSeries : List.of("cuda host", "cuda device")) result.add(crossover(rows, w.label(), cpuSeries, gpuSeries));
        }
        return result;
    }

    private static Crossover crossover(List<Row> rows, String workload, String cpuSeries, String gpuSeries) {
        Map<Long, Double> cpu = secondsBySize(rows, workload, cpuSeries);
        Map<Long, Double> gpu = secondsBySize(rows, workload, gpuSeries);
        List<Long> shared = cpu.keySet().stream().filter(gpu::containsKey).sorted().toList();
        if (shared.isEmpty()) return new Crossover(workload, cpuSeries, gpuSeries, null, "no size measured on both");
        Long from = null;
        for (int i = shared.size() - 1; i >= 0; i--) {
            long size = shared.get(i);
            if (gpu.get(size) < cpu.get(size)) from = size;
            else break;
        }
        String note = from == null ? gpuSeries + " is not faster than " + cpuSeries + " at the largest size measured"
                : gpuSeries + " beats " + cpuSeries + " from " + from + " elements on";
        return new Crossover(workload, cpuSeries, gpuSeries, from, note);
    }

    private static Map<Long, Double> secondsBySize(List<Row> rows, String workload, String series) {
        Map<Long, Double> bySize = new LinkedHashMap<>();
        rows.stream().filter(r -> r.workload().equals(workload) && r.series().equals(series) && r.hasFigure())
                .sorted(Comparator.comparingLong(Row::elements))
                .forEach(r -> bySize.merge(r.elements(), r.medianSeconds(), Math::min));
        return bySize;
    }
}
