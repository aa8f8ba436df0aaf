package org.losskit.bench.tour;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Paint;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.statistics.HistogramDataset;
import org.jfree.data.statistics.HistogramType;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import org.losskit.bench.Charts;

/** The tour's PNG charts, drawn headless with JFreeChart. */
final class TourCharts {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 520;
    private static final Paint[] PALETTE = {new Color(0x1F77B4), new Color(0xD62728), new Color(0x2CA02C),
            new Color(0xFF7F0E), new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x17BECF)};

    static final String REGRESSION_MAE = "regression-validation-mae.png";
    static final String REGRESSION_CURVES = "regression-loss-curves.png";
    static final String REGRESSION_FIT = "regression-fit.png";
    static final String REGRESSION_INTERVAL = "regression-quantile-interval.png";
    static final String CLASSIFICATION_CURVES = "classification-loss-curves.png";
    static final String CLASSIFICATION_ACCURACY = "classification-accuracy.png";
    static final String CALIBRATION = "classification-calibration.png";
    static final String DIAGNOSTICS = "diagnostics-%s.png";

    private TourCharts() {}

    /** Writes every chart into {@code folder}; returns the file names written. */
    static List<String> write(Path folder, Tour.Results r) throws IOException {
        List<String> written = new ArrayList<>();
        save(folder, REGRESSION_MAE, regressionMae(r), written);
        save(folder, REGRESSION_CURVES, regressionCurves(r), written);
        save(folder, REGRESSION_FIT, regressionFit(r), written);
        save(folder, REGRESSION_INTERVAL, quantileInterval(r), written);
        save(folder, CLASSIFICATION_CURVES, classificationCurves(r), written);
        save(folder, CLASSIFICATION_ACCURACY, classificationAccuracy(r), written);
        save(folder, CALIBRATION, calibration(r), written);
        save(folder, DIAGNOSTICS.formatted("log-sum-exp"), histogram("Log-sum-exp of the logits per validation row",
                "lse", r.untrained().logSumExp(), r.trained().logSumExp(), r), written);
        save(folder, DIAGNOSTICS.formatted("target-probability"), histogram(
                "Probability of the right class per validation row", "p(target)", r.untrained().targetProbability(),
                r.trained().targetProbability(), r), written);
        save(folder, DIAGNOSTICS.formatted("entropy"), histogram("Entropy of the softmax per validation row (nats)",
                "entropy", r.untrained().entropy(), r.trained().entropy(), r), written);
        return written;
    }

    private static void save(Path folder, String name, JFreeChart chart, List<String> written) throws IOException {
        ChartUtils.saveChartAsPNG(folder.resolve(name).toFile(), chart, WIDTH, HEIGHT);
        written.add(name);
    }

    private static JFreeChart regressionMae(Tour.Results r) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.RegressionRun run : r.regression()) {
            if (run.loss().run().loss().equals("quantile") && run.loss().run().tau() != 0.5) continue;
            data.addSeries(series(run.name(), run.result().metric()));
        }
        JFreeChart chart = lines("Diabetes: validation MAE (clean targets) while training on corrupted ones",
                "gradient descent step", "mean absolute error (disease progression units)", data, false);
        chart.addSubtitle(new TextTitle(r.diabetes().corrupted().length + " of " + r.diabetes().train().rows()
                + " training targets multiplied by " + fmt(r.spec().regression().corruptionFactor())
                + " (a slipped decimal point); the validation targets are clean"));
        return chart;
    }

    private static JFreeChart regressionCurves(Tour.Results r) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.RegressionRun run : r.regression()) {
            double[] curve = run.result().train();
            double first = curve[0];
            data.addSeries(series(run.name(), IntStream.range(0, curve.length).mapToDouble(k -> curve[k] / first).toArray()));
        }
        return lines("Diabetes: each loss's training curve, divided by its value at step 0", "gradient descent step",
                "training loss / training loss at step 0", data, false);
    }

    /** Predicted against true progression on the validation set for MSE, Huber and L1, with the diagonal. */
    private static JFreeChart regressionFit(Tour.Results r) {
        TourData.Regression d = r.diabetes();
        TourData.Dataset v = d.validation();
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.RegressionRun run : r.regression()) {
            String loss = run.loss().run().loss();
            if (!loss.equals("mse") && !loss.equals("huber") && !loss.equals("l1")) continue;
            XYSeries s = new XYSeries(run.name() + String.format(Locale.ROOT, " (MAE %.1f)", last(run.result().metric())),
                    false, true);
            float[] z = run.result().validationLogits();
            for (int i = 0; i < v.rows(); i++) s.add(units(d, v.targets()[i]), units(d, z[i]));
            data.addSeries(s);
        }
        XYSeries diagonal = new XYSeries("prediction = truth", false, true);
        diagonal.add(0, 0);
        diagonal.add(400, 400);
        data.addSeries(diagonal);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        style(renderer, data.getSeriesCount());
        renderer.setSeriesLinesVisible(data.getSeriesCount() - 1, true);
        renderer.setSeriesShapesVisible(data.getSeriesCount() - 1, false);
        renderer.setSeriesPaint(data.getSeriesCount() - 1, Color.GRAY);
        XYPlot plot = new XYPlot(data, new NumberAxis("true progression (validation rows)"),
                new NumberAxis("predicted progression"), renderer);
        return chart("Diabetes: fitted values on the validation set", plot);
    }

    /** The quantile models' 10%, 50% and 90% predictions on the validation rows, sorted by the median's. */
    private static JFreeChart quantileInterval(Tour.Results r) {
        TourData.Regression d = r.diabetes();
        TourData.Dataset v = d.validation();
        List<Tour.RegressionRun> quantiles = r.regression().stream()
                .filter(run -> run.loss().run().loss().equals("quantile"))
                .sorted(Comparator.comparingDouble(run -> run.loss().run().tau())).toList();
        Tour.RegressionRun median = quantiles.stream().filter(q -> q.loss().run().tau() == 0.5).findFirst().orElseThrow();
        float[] m = median.result().validationLogits();
        Integer[] order = IntStream.range(0, v.rows()).boxed().sorted(Comparator.comparingDouble(i -> m[i])).toArray(Integer[]::new);
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.RegressionRun q : quantiles) {
            XYSeries s = new XYSeries("quantile loss, tau " + fmt(q.loss().run().tau()), false, true);
            float[] z = q.result().validationLogits();
            for (int k = 0; k < order.length; k++) s.add(k, units(d, z[order[k]]));
            data.addSeries(s);
        }
        XYSeries truth = new XYSeries("true progression", false, true);
        for (int k = 0; k < order.length; k++) truth.add(k, units(d, v.targets()[order[k]]));
        data.addSeries(truth);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        style(renderer, data.getSeriesCount());
        int t = data.getSeriesCount() - 1;
        renderer.setSeriesLinesVisible(t, false);
        renderer.setSeriesShapesVisible(t, true);
        renderer.setSeriesPaint(t, Color.DARK_GRAY);
        XYPlot plot = new XYPlot(data, new NumberAxis("validation rows, sorted by the median prediction"),
                new NumberAxis("disease progression"), renderer);
        JFreeChart chart = chart("Diabetes: an 80% interval from the quantile losses at tau 0.1 and 0.9", plot);
        chart.addSubtitle(new TextTitle(String.format(Locale.ROOT,
                "%.0f%% of the validation targets lie inside [q0.1, q0.9]", 100 * TourPage.coverage(r))));
        return chart;
    }

    private static JFreeChart classificationCurves(Tour.Results r) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.ClassificationRun run : r.classification()) {
            data.addSeries(series(run.name() + " train", run.result().train()));
            data.addSeries(series(run.name() + " validation", run.result().validation()));
        }
        JFreeChart chart = lines("Digits: training (solid) and validation (dashed) loss", "gradient descent step",
                "loss (log scale)", data, true);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        for (int s = 0; s < data.getSeriesCount(); s++) {
            renderer.setSeriesPaint(s, PALETTE[(s / 2) % PALETTE.length]);
            renderer.setSeriesStroke(s, s % 2 == 0 ? new BasicStroke(2f) : new BasicStroke(2f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        }
        return chart;
    }

    private static JFreeChart classificationAccuracy(Tour.Results r) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.ClassificationRun run : r.classification()) data.addSeries(series(run.name(), run.result().metric()));
        JFreeChart chart = lines("Digits: validation accuracy", "gradient descent step", "accuracy", data, false);
        ((NumberAxis) chart.getXYPlot().getRangeAxis()).setRange(0.5, 1.0);
        return chart;
    }

    private static JFreeChart calibration(Tour.Results r) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Tour.ClassificationRun run : r.classification()) {
            if (!run.loss().run().data().equals("balanced")) continue;
            Calibration c = run.calibration();
            XYSeries s = new XYSeries(run.name() + String.format(Locale.ROOT, " (ECE %.3f)", c.expectedCalibrationError()),
                    false, true);
            for (int b = 0; b < Calibration.BINS; b++) if (c.count()[b] > 0) s.add(c.meanConfidence()[b], c.accuracy()[b]);
            data.addSeries(s);
        }
        XYSeries diagonal = new XYSeries("perfectly calibrated", false, true);
        diagonal.add(0, 0);
        diagonal.add(1, 1);
        data.addSeries(diagonal);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        style(renderer, data.getSeriesCount());
        renderer.setSeriesPaint(data.getSeriesCount() - 1, Color.GRAY);
        renderer.setSeriesShapesVisible(data.getSeriesCount() - 1, false);
        NumberAxis x = new NumberAxis("confidence (largest softmax probability), mean per bin");
        x.setRange(0, 1);
        NumberAxis y = new NumberAxis("accuracy in the bin");
        y.setRange(0, 1);
        JFreeChart chart = chart("Digits: reliability diagram of the validation predictions (10 bins)",
                new XYPlot(data, x, y, renderer));
        chart.addSubtitle(new TextTitle("below the diagonal: overconfident; above: underconfident"));
        return chart;
    }

    private static JFreeChart histogram(String title, String axis, float[] untrained, float[] trained, Tour.Results r) {
        HistogramDataset data = new HistogramDataset();
        data.setType(HistogramType.RELATIVE_FREQUENCY);
        double lo = Math.min(min(untrained), min(trained)), hi = Math.max(max(untrained), max(trained));
        if (hi <= lo) hi = lo + 1;
        data.addSeries("untrained (initial weights)", doubles(untrained), 40, lo, hi);
        data.addSeries("trained (ce, " + r.spec().classification().steps() + " steps)", doubles(trained), 40, lo, hi);
        XYBarRenderer renderer = new XYBarRenderer(0.1);
        renderer.setBarPainter(new StandardXYBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, new Color(0x80D62728, true));
        renderer.setSeriesPaint(1, new Color(0x801F77B4, true));
        XYPlot plot = new XYPlot(data, new NumberAxis(axis), new NumberAxis("fraction of validation rows"), renderer);
        JFreeChart chart = chart(title, plot);
        chart.addSubtitle(new TextTitle(String.format(Locale.ROOT,
                "one crossEntropy call per model; perplexity %.3f untrained, %.3f trained", r.untrained().perplexity(),
                r.trained().perplexity())));
        return chart;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static XYSeries series(String name, double[] values) {
        XYSeries s = new XYSeries(name, false, true);
        for (int k = 0; k < values.length; k++) s.add(k, values[k]);
        return s;
    }

    private static JFreeChart lines(String title, String xLabel, String yLabel, XYSeriesCollection data, boolean logY) {
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        style(renderer, data.getSeriesCount());
        NumberAxis x = new NumberAxis(xLabel);
        x.setAutoRangeIncludesZero(true);
        XYPlot plot;
        if (logY) {
            LogAxis y = new LogAxis(yLabel);
            y.setBase(10);
            y.setSmallestValue(1e-4);
            y.setNumberFormatOverride(new DecimalFormat("0.###", DecimalFormatSymbols.getInstance(Locale.ROOT)));
            plot = new XYPlot(data, x, y, renderer);
        } else {
            NumberAxis y = new NumberAxis(yLabel);
            y.setAutoRangeIncludesZero(false);
            plot = new XYPlot(data, x, y, renderer);
        }
        return chart(title, plot);
    }

    private static void style(XYLineAndShapeRenderer renderer, int series) {
        for (int s = 0; s < series; s++) {
            renderer.setSeriesPaint(s, PALETTE[s % PALETTE.length]);
            renderer.setSeriesStroke(s, new BasicStroke(2f));
            renderer.setSeriesShape(s, new Ellipse2D.Double(-3, -3, 6, 6));
        }
    }

    private static JFreeChart chart(String title, XYPlot plot) {
        return Charts.withLegend(title, plot);
    }

    static double units(TourData.Regression d, double standardised) {
        return d.targetMean() + standardised * d.targetSd();
    }

    private static double last(double[] values) {
        return values[values.length - 1];
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static double[] doubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) out[i] = values[i];
        return out;
    }

    private static double min(float[] values) {
        double m = Double.POSITIVE_INFINITY;
        for (float v : values) m = Math.min(m, v);
        return m;
    }

    private static double max(float[] values) {
        double m = Double.NEGATIVE_INFINITY;
        for (float v : values) m = Math.max(m, v);
        return m;
    }
}
