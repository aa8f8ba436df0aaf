package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the GPU starts to beat the CPU, on synthetic figures (seconds per call by size). */
class SweepCrossoverTest {

    @Test
    void theGpuFasterFromSomeSizeOnCrossesThere() {
        Map<Long, Double> cpu = Map.of(1_000L, 1e-6, 10_000L, 1e-5, 100_000L, 1e-4, 1_000_000L, 1e-3);
        Map<Long, Double> gpu = Map.of(1_000L, 2e-5, 10_000L, 2e-5, 100_000L, 5e-5, 1_000_000L, 2e-4);
        assertEquals(100_000L, Sweep.fasterFrom(cpu, gpu));
    }

    @Test
    void aGpuFasterEverywhereCrossesAtTheSmallestSizeAndOneNeverFasterDoesNotCross() {
        Map<Long, Double> cpu = Map.of(10L, 1.0, 20L, 2.0);
        assertEquals(10L, Sweep.fasterFrom(cpu, Map.of(10L, 0.5, 20L, 1.0)));
        assertNull(Sweep.fasterFrom(cpu, Map.of(10L, 2.0, 20L, 4.0)));
    }

    @Test
    void onlyTheLastWinningRunCountsAndATieIsNoWin() {
        // faster at 10, slower at 20, equal at 30, faster at 40 and 50: the GPU pays from 40 on.
        Map<Long, Double> cpu = Map.of(10L, 1.0, 20L, 1.0, 30L, 1.0, 40L, 1.0, 50L, 1.0);
        Map<Long, Double> gpu = Map.of(10L, 0.5, 20L, 2.0, 30L, 1.0, 40L, 0.9, 50L, 0.1);
        assertEquals(40L, Sweep.fasterFrom(cpu, gpu));
        // slower at the largest size: no crossover, however many smaller sizes it wins
        assertNull(Sweep.fasterFrom(Map.of(10L, 1.0, 20L, 1.0), Map.of(10L, 0.1, 20L, 1.5)));
    }

    @Test
    void onlySizesMeasuredOnBothSeriesCount() {
        Map<Long, Double> cpu = Map.of(10L, 1.0, 20L, 1.0, 40L, 1.0);
        Map<Long, Double> gpu = Map.of(5L, 9.0, 20L, 0.5, 30L, 9.0, 40L, 0.5);
        assertEquals(20L, Sweep.fasterFrom(cpu, gpu));
        assertNull(Sweep.fasterFrom(Map.of(1L, 1.0), Map.of(2L, 0.1)));
    }

    @TempDir
    Path folder;

    @Test
    void crossoversFromRowsMarkHostAndDeviceSeriesTheTableRowAndTheChart() throws IOException {
        List<Sweep.Row> rows = new ArrayList<>();
        long[] vocab = {1_000, 32_000, 151_936};
        double[] cpuSeconds = {1e-6, 3e-5, 1.5e-4};
        double[] hostSeconds = {5e-5, 6e-5, 1e-4};   // copies included: pays from the largest size only
        double[] deviceSeconds = {5e-6, 6e-6, 1e-5}; // pays from 32000 on
        for (int i = 0; i < vocab.length; i++) {
            Sweep.Point p = new Sweep.Point(Workload.CROSS_ENTROPY, 1, (int) vocab[i]);
            rows.add(Sweep.Row.measured(Sweep.CPU, Sweep.CPU, Sweep.HOST, p, timing(cpuSeconds[i])));
            rows.add(Sweep.Row.measured(Sweep.CUDA_HOST, Sweep.CUDA, Sweep.HOST, p, timing(hostSeconds[i])));
            rows.add(Sweep.Row.measured(Sweep.CUDA_DEVICE, Sweep.CUDA, Sweep.DEVICE, p, timing(deviceSeconds[i])));
        }
        List<Sweep.Crossover> crossovers = Sweep.crossovers(rows, List.of(Sweep.CUDA, Sweep.CPU), true);
        assertEquals(2, crossovers.size());
        Sweep.Crossover host = crossovers.stream().filter(c -> c.gpuSeries().equals(Sweep.CUDA_HOST)).findFirst().orElseThrow();
        Sweep.Crossover device = crossovers.stream().filter(c -> c.gpuSeries().equals(Sweep.CUDA_DEVICE)).findFirst().orElseThrow();
        assertEquals(151_936L, host.gpuFasterFromElements());
        assertEquals("1x151936", host.gpuFasterFromShape());
        assertEquals(32_000L, device.gpuFasterFromElements());

        Sweep.Row crossingRow = rows.stream().filter(r -> r.series().equals(Sweep.CUDA_HOST) && r.elements() == 151_936).findFirst().orElseThrow();
        assertTrue(ConsoleTables.noteWithCrossover(crossingRow, crossovers).contains("CROSSOVER"));
        Sweep.Row before = rows.stream().filter(r -> r.series().equals(Sweep.CUDA_HOST) && r.elements() == 32_000).findFirst().orElseThrow();
        assertEquals("", ConsoleTables.noteWithCrossover(before, crossovers));

        // the crossover chart draws both crossover lines
        System.setProperty("java.awt.headless", "true");
        assertTrue(Charts.write(folder, rows, crossovers).contains("crossover.png"));
        assertNotNull(ImageIO.read(folder.resolve("crossover.png").toFile()));
    }

    @Test
    void withoutCudaTheCrossoverPointsToTheBackendsTableAndNoCrossoverChartIsDrawn() throws IOException {
        List<Sweep.Row> rows = new ArrayList<>();
        for (int vocab : new int[] {32_000, 151_936}) {
            rows.add(Sweep.Row.measured(Sweep.CPU, Sweep.CPU, Sweep.HOST, new Sweep.Point(Workload.CROSS_ENTROPY, 1, vocab), timing(1e-4)));
        }
        List<Sweep.Crossover> crossovers = Sweep.crossovers(rows, List.of(Sweep.CPU), false);
        assertEquals(1, crossovers.size());
        assertNull(crossovers.getFirst().gpuFasterFromElements());
        assertEquals(Sweep.CUDA_NOT_AVAILABLE, crossovers.getFirst().note());
        System.setProperty("java.awt.headless", "true");
        assertEquals(List.of("throughput-cross-entropy.png"), Charts.write(folder, rows, crossovers));
    }

    @Test
    void chartLinesAreOneShapeFamilyEach() {
        QuickTimer.Timing t = timing(1e-4);
        assertEquals("cpu, 8 rows", Charts.lineName(Sweep.Row.measured(Sweep.CPU, Sweep.CPU, Sweep.HOST,
                new Sweep.Point(Workload.CROSS_ENTROPY, 8, 32_000), t)));
        assertEquals("cpu, 1 row", Charts.lineName(Sweep.Row.measured(Sweep.CPU, Sweep.CPU, Sweep.HOST,
                new Sweep.Point(Workload.CROSS_ENTROPY, 1, 151_936), t)));
        assertEquals("reference", Charts.lineName(Sweep.Row.measured("reference", "reference", Sweep.HOST,
                new Sweep.Point(Workload.SUM, 1, 65_539), t)));
    }

    private static QuickTimer.Timing timing(double seconds) {
        return new QuickTimer.Timing(seconds, List.of(seconds));
    }
}
