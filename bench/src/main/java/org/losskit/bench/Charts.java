package org.losskit.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.text.NumberFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's PNG charts, drawn headless with JFreeChart: throughput against size, one line per backend (and
 * peer), one chart per workload; and the CPU against GPU chart for cross-entropy that shows the crossover.
 */
final class Charts {
    private static final int WIDTH = 960;
    private static final int HEIGHT = 560;

    private Charts() {}

    /** Writes every chart into {@code folder}; returns the file names written. */
    static List<String> write(Path folder, List<Sweep.Row> rows, List<Sweep.Crossover> crossovers) throws IOException {
        List<String> written = new ArrayList<>();
        for (Workload w : Workload.values()) {
            List<Sweep.Row> ofWorkload = rows.stream().filter(r -> r.workload().equals(w.label()) && r.hasFigure()).toList();
            if (ofWorkload.isEmpty()) continue;
            String file = "throughput-" + w.fileName() + ".png";
            JFreeChart chart = throughputChart(w.label() + ": throughput against size (quick timing, median)", ofWorkload,
                    s -> true);
            ChartUtils.saveChartAsPNG(folder.resolve(file).toFile(), chart, WIDTH, HEIGHT);
            written.add(file);
        }
        List<Sweep.Row> crossEntropy = rows.stream()
                .filter(r -> r.workload().equals(Workload.CROSS_ENTROPY.label()) && r.hasFigure()).toList();
        if (!crossEntropy.isEmpty()) {
            String cpuSeries = crossovers.isEmpty() ? Sweep.CPU : crossovers.getFirst().cpuSeries();
            JFreeChart chart = throughputChart("cross-entropy fwd+grad: CPU against GPU", crossEntropy,
                    s -> s.equals(cpuSeries) || s.startsWith(Sweep.CUDA));
            String subtitle = crossovers.stream()
                    .filter(c -> c.workload().equals(Workload.CROSS_ENTROPY.label()))
                    .map(Sweep.Crossover::note).distinct().reduce((a, b) -> a + "; " + b).orElse("");
            chart.addSubtitle(new TextTitle(subtitle));
            markCrossovers(chart.getXYPlot(), crossovers);
            ChartUtils.saveChartAsPNG(folder.resolve("crossover.png").toFile(), chart, WIDTH, HEIGHT);
            written.add("crossover.png");
        }
        return written;
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

    private static JFreeChart throughputChart(String title, List<Sweep.Row> rows, java.util.function.Predicate<String> seriesFilter) {
        Map<String, XYSeries> bySeries = new LinkedHashMap<>();
        rows.stream().sorted(Comparator.comparingLong(Sweep.Row::elements)).forEach(r -> {
            if (!seriesFilter.test(r.series())) return;
            // Two shapes of the same size (1x151936 and 8x32000 are close, not equal) each get their own point.
            bySeries.computeIfAbsent(r.series(), s -> new XYSeries(s, true, true)).add(r.elements(), r.elementsPerSecond() / 1e9);
        });
        XYSeriesCollection data = new XYSeriesCollection();
        bySeries.values().forEach(data::addSeries);

        LogAxis size = new LogAxis("elements per call");
        size.setBase(10);
        size.setSmallestValue(1);
        size.setTickUnit(new NumberTickUnit(1.0)); // one tick per power of ten, labelled 10K, 100K, 1M
        size.setNumberFormatOverride(NumberFormat.getCompactNumberInstance(Locale.ROOT, NumberFormat.Style.SHORT));
        NumberAxis throughput = new NumberAxis("G elements / s");
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) renderer.setSeriesStroke(i, new BasicStroke(2f));
        XYPlot plot = new XYPlot(data, size, throughput, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
