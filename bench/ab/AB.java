import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.*;
import java.util.function.DoubleSupplier;
import java.util.function.Function;

/**
 * Interleaved A/B of two or more builds of losskit in one JVM: each build's api and kernels-cpu classes in a class
 * loader of their own, each with a {@link Driver} that builds a workload's call on that build. Per workload: a
 * warm-up of each build (ab.warm ms, default 4000), then ROUNDS rounds in which every build runs SLICE ms, the
 * order reversed every other round; every call is timed. Prints per build the median and best slice rate, the
 * 10th percentile and best of the per-call rates (the calls least disturbed by other processes), the bytes the
 * calling thread allocated per call, and each build's ratios to the first.
 *
 *   java AB ROUNDS SLICE_MS DIR_A,DIR_B,... WORKLOAD...     (bench/ab/run-ab builds and calls it)
 *
 * Each DIR holds api/ and kernels/ class folders. Workloads: ce:ROWSxCOLS[:fwd][:bf16][:seg][:seggrad],
 * bce:N, sum:N, lse:ROWSxCOLS. System properties: ab.threads (engine parallelism), ab.warm, ab.driver (Driver's
 * class folder).
 */
public final class AB {
    public static void main(String[] a) throws Exception {
        int rounds = Integer.parseInt(a[0]);
        long slice = Long.parseLong(a[1]) * 1_000_000L;
        String[] dirs = a[2].split(",");
        String driverDir = System.getProperty("ab.driver");
        List<Function<String, DoubleSupplier>> drivers = new ArrayList<>();
        for (String d : dirs) {
            URL[] urls = {new File(d, "api/").toURI().toURL(), new File(d, "kernels/").toURI().toURL(), new File(driverDir + "/").toURI().toURL()};
            ClassLoader cl = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
            @SuppressWarnings("unchecked")
            Function<String, DoubleSupplier> f = (Function<String, DoubleSupplier>) cl.loadClass("Driver").getConstructor().newInstance();
            drivers.add(f);
        }
        double sink = 0;
        for (int w = 3; w < a.length; w++) {
            String spec = a[w];
            long elements = elements(spec);
            List<DoubleSupplier> calls = new ArrayList<>();
            for (var f : drivers) calls.add(f.apply(spec));
            // check agreement of the returned loss
            for (int v = 0; v < calls.size(); v++) System.out.printf("  %s value[%d] = %.9g%n", spec, v, calls.get(v).getAsDouble());
            for (var c : calls) { long end = System.nanoTime() + Long.getLong("ab.warm", 4000) * 1_000_000L; while (System.nanoTime() < end) sink += c.getAsDouble(); }
            var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long[] allocated = new long[calls.size()];
            long[] allocCalls = new long[calls.size()];
            double[][] rate = new double[calls.size()][rounds];
            double[][] perCall = new double[calls.size()][400_000];
            int[] counts = new int[calls.size()];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < calls.size(); k++) {
                    int v = (r % 2 == 0) ? k : calls.size() - 1 - k;
                    DoubleSupplier c = calls.get(v);
                    for (int i = 0; i < 3; i++) sink += c.getAsDouble();
                    long bytesBefore = bean.getCurrentThreadAllocatedBytes();
                    long start = System.nanoTime(), now, prev = start; int n = 0;
                    do {
                        sink += c.getAsDouble(); n++; now = System.nanoTime();
                        if (counts[v] < perCall[v].length) perCall[v][counts[v]++] = now - prev;
                        prev = now;
                    } while (now - start < slice);
                    rate[v][r] = elements * (double) n / (now - start);
                    if (r >= rounds / 2) { allocated[v] += bean.getCurrentThreadAllocatedBytes() - bytesBefore; allocCalls[v] += n; }
                }
            }
            StringBuilder sb = new StringBuilder(String.format("%-28s", spec));
            double base = median(rate[0]);
            for (int v = 0; v < calls.size(); v++) {
                double med = median(rate[v]);
                double max = Arrays.stream(rate[v]).max().getAsDouble();
                double[] ratios = new double[rounds];
                for (int r = 0; r < rounds; r++) ratios[r] = rate[v][r] / rate[0][r];
                double[] pc = Arrays.copyOf(perCall[v], counts[v]);
                double p10 = elements / quantile(pc, 0.10), best = elements / quantile(pc, 0.0);
                double p10base = elements / quantile(Arrays.copyOf(perCall[0], counts[0]), 0.10);
                sb.append(String.format(" | %s: med %.2f max %.2f G/s, per-call p10 %.2f best %.2f", new File(dirs[v]).getName(), med, max, p10, best));
                if (v > 0) sb.append(String.format(" p10 ratio %.3f", p10 / p10base));
                sb.append(String.format(" [%.1f B/call]", allocated[v] / (double) Math.max(1, allocCalls[v])));
                if (v > 0) sb.append(String.format(" ratio med %.3f [q1 %.3f q3 %.3f]", median(ratios), quantile(ratios, 0.25), quantile(ratios, 0.75)));
            }
            System.out.println(sb);
        }
        System.out.println(sink == 42 ? "!" : "");
        System.exit(0);
    }
    static long elements(String spec) {
        String[] p = spec.split(":");
        if (p[1].contains("x")) { String[] s = p[1].split("x"); return Long.parseLong(s[0]) * Long.parseLong(s[1]); }
        return Long.parseLong(p[1]);
    }
    static double median(double[] x) { return quantile(x, 0.5); }
    static double quantile(double[] x, double q) { double[] s = x.clone(); Arrays.sort(s); double pos = q * (s.length - 1); int i = (int) pos; return i + 1 < s.length ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i]; }
}
