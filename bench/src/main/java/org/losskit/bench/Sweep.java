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
    static final String CUDA_HOST = "cuda host";
    static final String CUDA_DEVICE = "cuda device";

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

    /** Steps the progress bar takes for a sweep: one per point and series (see {@link #run}). */
    static int steps(List<String> backends, List<Peer> peers, List<Point> points) {
        int series = backends.size() + peers.size() + (backends.contains(CUDA) ? 1 : 0);
        return series * points.size();
    }

    /**
     * Times every point on every backend, then on every peer. The CUDA backend gives two series: "cuda host" (host
     * arrays, the copies to and from the device inside the timed call) and "cuda device" (buffers allocated and
     * filled once per size before the timing, freed after it: the kernels alone). A backend that cannot run here
     * gets no rows: the report's backends table says once why it is missing.
     */
    static List<Row> run(List<String> backends, List<Peer> peers, List<Point> points, QuickTimer timer,
                         long seed, ProgressBar progress) {
        List<Row> rows = new ArrayList<>();
        for (String backend : backends) {
            boolean cuda = backend.equals(CUDA);
            String hostSeries = cuda ? CUDA_HOST : backend;
            // Host data always goes to the GPU here (crossover 0): the sweep measures where the GPU starts to pay off.
            try (LossEngine engine = LossEngine.builder().backend(backend).fallbackToReference(false)
                    .cudaHostCrossoverElements(0).build()) {
                warmUpKernels(points, timer, (w, r, c) -> BackendCalls.prepare(engine, w, r, c, seed));
                for (Point p : points) {
                    progress.advance(1, p.workload().label() + " " + hostSeries + " " + p.shape());
                    rows.add(time(hostSeries, backend, HOST, p, timer,
                            () -> BackendCalls.prepare(engine, p.workload(), p.rows(), p.cols(), seed)));
                }
                if (cuda) {
                    warmUpKernels(points, timer, (w, r, c) -> DeviceCalls.prepare(engine, w, r, c, seed));
                    for (Point p : points) {
                        progress.advance(1, p.workload().label() + " " + CUDA_DEVICE + " " + p.shape());
                        rows.add(time(CUDA_DEVICE, backend, DEVICE, p, timer,
                                () -> DeviceCalls.prepare(engine, p.workload(), p.rows(), p.cols(), seed)));
                    }
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
            } catch (RuntimeException | LinkageError e) {
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
        } catch (RuntimeException | OutOfMemoryError | LinkageError e) {
            return Row.missing(series, backend, residency, p, "failed: " + e);
        }
    }

    /**
     * Where the GPU starts to beat the CPU for one workload and one GPU series ("cuda host": host data, copies
     * included; "cuda device": device-resident data): the smallest size from which on the GPU series is faster than
     * the CPU series at every size both measured, or null with a note that says why there is none.
     */
    record Crossover(String workload, String cpuSeries, String gpuSeries, Long gpuFasterFromElements,
                     String gpuFasterFromShape, String note) {}

    /** The crossover note of a run without CUDA; the reason is in the report's backends table, said once there. */
    static final String CUDA_NOT_AVAILABLE = "no crossover: cuda is not available here (the backends table says why)";

    /**
     * The crossovers of every workload measured: against the CPU backend (the reference where the CPU backend did
     * not run), for host data and for device-resident data. {@code cudaAvailable}: whether CUDA can run here.
     */
    static List<Crossover> crossovers(List<Row> rows, List<String> backends, boolean cudaAvailable) {
        String cpuSeries = backends.contains(CPU) ? CPU : CrossCheck.REFERENCE;
        List<Crossover> result = new ArrayList<>();
        List<String> workloads = rows.stream().map(Row::workload).distinct().toList();
        for (String w : workloads) {
            if (!backends.contains(CUDA)) {
                String note = cudaAvailable ? "no crossover: cuda was not among the backends run (--backend)" : CUDA_NOT_AVAILABLE;
                result.add(new Crossover(w, cpuSeries, CUDA_HOST, null, null, note));
                continue;
            }
            for (String gpuSeries : List.of(CUDA_HOST, CUDA_DEVICE)) result.add(crossover(rows, w, cpuSeries, gpuSeries));
        }
        return result;
    }

    private static Crossover crossover(List<Row> rows, String workload, String cpuSeries, String gpuSeries) {
        Map<Long, Double> cpu = secondsBySize(rows, workload, cpuSeries);
        Map<Long, Double> gpu = secondsBySize(rows, workload, gpuSeries);
        if (cpu.isEmpty() || gpu.isEmpty()) {
            String which = cpu.isEmpty() ? cpuSeries : gpuSeries;
            return new Crossover(workload, cpuSeries, gpuSeries, null, null, "no crossover: " + which + " has no figure for " + workload
                    + missingNote(rows, workload, which));
        }
        Long from = fasterFrom(cpu, gpu);
        if (from == null && cpu.keySet().stream().noneMatch(gpu::containsKey)) {
            return new Crossover(workload, cpuSeries, gpuSeries, null, null, "no crossover: no size measured on both " + cpuSeries + " and " + gpuSeries);
        }
        if (from == null) {
            return new Crossover(workload, cpuSeries, gpuSeries, null, null,
                    gpuSeries + " is not faster than " + cpuSeries + " at the largest size measured");
        }
        String shape = rows.stream().filter(r -> r.workload().equals(workload) && r.series().equals(gpuSeries) && r.elements() == from)
                .map(Row::shape).findFirst().orElse(Long.toString(from));
        return new Crossover(workload, cpuSeries, gpuSeries, from, shape,
                gpuSeries + " beats " + cpuSeries + " from " + shape + " (" + from + " elements) on");
    }

    private static String missingNote(List<Row> rows, String workload, String series) {
        return rows.stream().filter(r -> r.workload().equals(workload) && r.series().equals(series) && !r.hasFigure())
                .map(Row::note).findFirst().map(n -> " (" + n + ")").orElse("");
    }

    /**
     * The crossover of two series of seconds per call by size: the smallest size from which on {@code gpu} is
     * strictly faster than {@code cpu} at every size both measured, up to the largest such size; null when the GPU
     * is not faster at the largest shared size (or no size is shared). A GPU that wins at a small size, loses in
     * the middle and wins again at the top crosses over where its last winning run starts.
     */
    static Long fasterFrom(Map<Long, Double> cpuSecondsBySize, Map<Long, Double> gpuSecondsBySize) {
        List<Long> shared = cpuSecondsBySize.keySet().stream().filter(gpuSecondsBySize::containsKey).sorted().toList();
        Long from = null;
        for (int i = shared.size() - 1; i >= 0; i--) {
            long size = shared.get(i);
            if (gpuSecondsBySize.get(size) < cpuSecondsBySize.get(size)) from = size;
            else break;
        }
        return from;
    }

    private static Map<Long, Double> secondsBySize(List<Row> rows, String workload, String series) {
        Map<Long, Double> bySize = new LinkedHashMap<>();
        rows.stream().filter(r -> r.workload().equals(workload) && r.series().equals(series) && r.hasFigure())
                .sorted(Comparator.comparingLong(Row::elements))
                .forEach(r -> bySize.merge(r.elements(), r.medianSeconds(), Math::min));
        return bySize;
    }
}
