package dev.mxd.cli;

import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.text.steer.SplicedSteering;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The steering trade-off of {@code ./mxd steer --probes} as a PNG, drawn headless as {@link FrontierPlot} draws the
 * frontier: x the cosine to the unsteered embedding (1 at value 0, falling as the edit grows), y the move toward the
 * language's centroid; per model one thick line, the mean over languages at each value, and one thin line per
 * language in the same colour.
 */
final class SteerPlot {
    private static final Color[] COLOURS = {new Color(0xD6, 0x27, 0x28), new Color(0x1F, 0x77, 0xB4),
            new Color(0x2C, 0xA0, 0x2C), new Color(0x94, 0x67, 0xBD)};

    private SteerPlot() {
    }

    static void write(Path file, SteerCommand.Experiment e, int width, int height) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        int series = 0;
        for (int m = 0; m < e.curves().size(); m++) {
            SteerCommand.Curve c = e.curves().get(m);
            Color colour = COLOURS[m % COLOURS.length];
            Map<String, XYSeries> perLanguage = new LinkedHashMap<>();
            Map<Float, double[]> mean = new TreeMap<>();
            for (SplicedSteering.Point p : c.points()) {
                perLanguage.computeIfAbsent(p.label(), l -> new XYSeries(c.name() + " " + l, false, true))
                        .add(p.cosineToUnsteered(), p.towardClass());
                double[] s = mean.computeIfAbsent(p.value(), v -> new double[3]);
                s[0] += p.cosineToUnsteered();
                s[1] += p.towardClass();
                s[2]++;
            }
            XYSeries avg = new XYSeries(String.format(Locale.ROOT, "%s (%s, K %d), mean of %d languages", c.name(),
                    c.kind().name(), c.k(), perLanguage.size()), false, true);
            mean.values().forEach(s -> avg.add(s[0] / s[2], s[1] / s[2]));
            data.addSeries(avg);
            r.setSeriesPaint(series, colour);
            r.setSeriesStroke(series, new BasicStroke(3f));
            series++;
            for (XYSeries s : perLanguage.values()) {
                data.addSeries(s);
                r.setSeriesPaint(series, new Color(colour.getRed(), colour.getGreen(), colour.getBlue(), 70));
                r.setSeriesStroke(series, new BasicStroke(1f));
                r.setSeriesShapesVisible(series, false);
                r.setSeriesVisibleInLegend(series, false);
                series++;
            }
        }
        NumberAxis x = new NumberAxis("cosine to the unsteered embedding (1: unchanged)");
        x.setAutoRangeIncludesZero(false);
        x.setInverted(true);
        NumberAxis y = new NumberAxis("Δ cosine toward the language's centroid");
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(String.format(Locale.ROOT, "Steering %d English documents toward each language"
                + " (layer %d; values %s)", e.englishDocuments(), e.layer(), values(e)),
                new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        AtomicWrite.write(file, out -> ChartUtils.writeChartAsPNG(Channels.newOutputStream(out), chart, width, height));
    }

    private static String values(SteerCommand.Experiment e) {
        List<Float> vs = e.curves().isEmpty() ? List.of() : e.curves().get(0).points().stream()
                .map(SplicedSteering.Point::value).distinct().toList();
        return vs.stream().map(v -> String.format(Locale.ROOT, "%g", v).replaceAll("\\.?0+$", "")).toList().toString();
    }
}
