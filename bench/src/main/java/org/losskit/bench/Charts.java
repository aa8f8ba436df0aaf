package org.losskit.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.text.NumberFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's PNG charts, drawn headless with JFreeChart: throughput against size, one chart per workload, with
 * one line per backend (and peer) and shape family, each point labelled with its shape; and the CPU against GPU
 * chart for cross-entropy that shows the crossover, drawn only when both sides were measured. Both axes are
 * logarithmic: sizes span four decades and the reference runs some 50 times slower than the CPU backend.
 */
public final class Charts {
    private static final int WIDTH = 960;
    private static final int HEIGHT = 560;
    static final String CROSSOVER_CHART = "crossover.png";

    private Charts() {}

    /** Writes every chart into {@code folder}; returns the file names written. */
    static List<String> write(Path folder, List<Sweep.Row> rows, List<Sweep.Crossover> crossovers) throws IOException {
        List<String> written = new ArrayList<>();
        for (Workload w : Workload.values()) {
            List<Sweep.Row> ofWorkload = rows.stream().filter(r -> r.workload().equals(w.label()) && r.hasFigure()).toList();
            if (ofWorkload.isEmpty()) continue;
            String file = "throughput-" + w.fileName() + ".png";
            JFreeChart chart = throughputChart(w.label() + ": throughput against size (quick timing, median)", ofWorkload, s -> true);
            ChartUtils.saveChartAsPNG(folder.resolve(file).toFile(), chart, WIDTH, HEIGHT);
            written.add(file);
        }
        List<Sweep.Row> crossEntropy = rows.stream()
                .filter(r -> r.workload().equals(Workload.CROSS_ENTROPY.label()) && r.hasFigure()).toList();
        String cpuSeries = crossovers.isEmpty() ? Sweep.CPU : crossovers.getFirst().cpuSeries();
        Predicate<String> cpuOrGpu = s -> s.equals(cpuSeries) || s.startsWith(Sweep.CUDA);
        if (bothSidesMeasured(crossEntropy, cpuSeries)) {
            JFreeChart chart = throughputChart("cross-entropy fwd+grad: CPU against GPU", crossEntropy, cpuOrGpu);
            String subtitle = crossovers.stream()
                    .filter(c -> c.workload().equals(Workload.CROSS_ENTROPY.label()))
                    .map(Sweep.Crossover::note).distinct().reduce((a, b) -> a + "; " + b).orElse("");
            chart.addSubtitle(new TextTitle(subtitle));
            markCrossovers(chart.getXYPlot(), crossovers);
            ChartUtils.saveChartAsPNG(folder.resolve(CROSSOVER_CHART).toFile(), chart, WIDTH, HEIGHT);
            written.add(CROSSOVER_CHART);
        }
        return written;
    }

    /** True when cross-entropy has figures on the CPU series and on a GPU series: a crossover chart has two sides. */
    static boolean bothSidesMeasured(List<Sweep.Row> crossEntropy, String cpuSeries) {
        return crossEntropy.stream().anyMatch(r -> r.series().equals(cpuSeries))
                && crossEntropy.stream().anyMatch(r -> r.series().startsWith(Sweep.CUDA));
    }

    /** A vertical line at each cross-entropy crossover, labelled with its GPU series (host or device data). */
    private static void markCrossovers(XYPlot plot, List<Sweep.Crossover> crossovers) {
        for (Sweep.Crossover c : crossovers) {
            if (c.gpuFasterFromElements() == null || !c.workload().equals(Workload.CROSS_ENTROPY.label())) continue;
            ValueMarker marker = new ValueMarker(c.gpuFasterFromElements(),
                    c.gpuSeries().equals(Sweep.CUDA_HOST) ? new Color(0xC0392B) : Color.GRAY, new BasicStroke(1.5f,
                    BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            marker.setLabel("crossover, " + c.gpuSeries() + " (" + c.gpuFasterFromShape() + ")");
            marker.setLabelAnchor(RectangleAnchor.TOP_LEFT);
            marker.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
            plot.addDomainMarker(marker);
        }
    }

    /**
     * The line a row belongs to: its series, and for row-wise workloads its number of rows, so that 1x151936 and
     * 8x32000 (close in size, different in shape) do not share a line. Flat workloads have one family.
     */
    static String lineName(Sweep.Row r) {
        return r.rows() > 1 || Workload.CROSS_ENTROPY.label().equals(r.workload())
                ? r.series() + ", " + r.rows() + (r.rows() == 1 ? " row" : " rows")
                : r.series();
    }

    private static JFreeChart throughputChart(String title, List<Sweep.Row> rows, Predicate<String> seriesFilter) {
        Map<String, XYSeries> byLine = new LinkedHashMap<>();
        Map<String, List<String>> shapesByLine = new HashMap<>();
        rows.stream().filter(r -> seriesFilter.test(r.series()))
                .sorted(Comparator.comparing(Sweep.Row::series).thenComparingInt(Sweep.Row::rows).thenComparingLong(Sweep.Row::elements))
                .forEach(r -> {
                    String line = lineName(r);
                    // autoSort off: points keep the order of the shapes list, which the labels index
                    byLine.computeIfAbsent(line, s -> new XYSeries(s, false, true)).add(r.elements(), r.elementsPerSecond() / 1e9);
                    shapesByLine.computeIfAbsent(line, s -> new ArrayList<>()).add(r.shape());
                });
        XYSeriesCollection data = new XYSeriesCollection();
        byLine.values().forEach(data::addSeries);

        LogAxis size = new LogAxis("elements per call");
        size.setBase(10);
        size.setSmallestValue(1);
        size.setTickUnit(new NumberTickUnit(1.0)); // one tick per power of ten, labelled 10K, 100K, 1M
        size.setNumberFormatOverride(NumberFormat.getCompactNumberInstance(Locale.ROOT, NumberFormat.Style.SHORT));
        LogAxis throughput = new LogAxis("G elements / s (log scale)");
        throughput.setBase(10);
        throughput.setSmallestValue(1e-6);
        throughput.setNumberFormatOverride(NumberFormat.getNumberInstance(Locale.ROOT));
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) renderer.setSeriesStroke(i, new BasicStroke(2f));
        renderer.setDefaultItemLabelGenerator((dataset, series, item) ->
                shapesByLine.get((String) dataset.getSeriesKey(series)).get(item));
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        renderer.setDefaultPositiveItemLabelPosition(new ItemLabelPosition(ItemLabelAnchor.OUTSIDE12, TextAnchor.BOTTOM_CENTER));
        return withLegend(title, new XYPlot(data, size, throughput, renderer));
    }

    /** The chart of {@code plot} in the project's style: white background, light grey grid, legend below. */
    public static JFreeChart withLegend(String title, XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
