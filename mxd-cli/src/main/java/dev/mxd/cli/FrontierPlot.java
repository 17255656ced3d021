package dev.mxd.cli;

import dev.mxd.checkpoint.AtomicWrite;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.DefaultDrawingSupplier;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The sparsity–accuracy frontier of {@code ./mxd demo} as a PNG, drawn with JFreeChart without a display: x is
 * L0 (non-zero codes per token, log scale), the upper panel FVU (lower is better), the lower panel the
 * embedding cosine (higher is better, drawn when measured); one series per layer kind. A point measured over
 * several seeds is their mean, its FVU drawn with a bar of ± one sample standard deviation.
 */
final class FrontierPlot {
    private static final Color[] COLOURS = {new Color(0xD6, 0x27, 0x28), new Color(0x1F, 0x77, 0xB4),
            new Color(0x2C, 0xA0, 0x2C), new Color(0x94, 0x67, 0xBD)};

    private FrontierPlot() {
    }

    /**
     * One point: a kind's L0, FVU, the FVU's standard deviation over seeds (NaN for one seed: no bar) and embedding
     * cosine (null when not measured).
     */
    record Point(String kind, double l0, double fvu, double fvuSd, Double cosine) {
    }

    /** Writes the plot to {@code file} (replaced), {@code width} × {@code height} pixels. */
    static void write(Path file, String title, List<Point> points, int width, int height) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, YIntervalSeries> fvu = new LinkedHashMap<>();
        Map<String, YIntervalSeries> cosine = new LinkedHashMap<>();
        List<String> kinds = points.stream().map(p -> p.kind().toUpperCase(Locale.ROOT)).distinct().toList();
        for (Point p : points) {
            String name = p.kind().toUpperCase(Locale.ROOT);
            if (p.l0() > 0 && Double.isFinite(p.fvu())) {
                double sd = Double.isFinite(p.fvuSd()) ? p.fvuSd() : 0;
                fvu.computeIfAbsent(name, YIntervalSeries::new).add(p.l0(), p.fvu(), p.fvu() - sd, p.fvu() + sd);
            }
            if (p.l0() > 0 && p.cosine() != null && Double.isFinite(p.cosine())) {
                cosine.computeIfAbsent(name, YIntervalSeries::new).add(p.l0(), p.cosine(), p.cosine(), p.cosine());
            }
        }
        LogAxis x = new LogAxis("L0 (non-zero codes per token)");
        x.setBase(2);
        x.setTickUnit(new NumberTickUnit(1));
        x.setSmallestValue(0.5);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(x);
        plot.setGap(12);
        boolean bars = points.stream().anyMatch(p -> Double.isFinite(p.fvuSd()) && p.fvuSd() > 0);
        plot.add(panel(fvu, kinds, "FVU on held-out tokens (lower is better)" + (bars ? ", ± 1 sd over seeds" : ""),
                true), 3);
        if (!cosine.isEmpty()) {
            plot.add(panel(cosine, kinds, "embedding cosine (higher is better)", false), 2);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        Files.createDirectories(file.toAbsolutePath().getParent());
        AtomicWrite.write(file, out -> ChartUtils.writeChartAsPNG(Channels.newOutputStream(out), chart, width, height));
    }

    /** One panel; a kind has the same colour and marker in every panel, and only the first has a legend. */
    private static XYPlot panel(Map<String, YIntervalSeries> series, List<String> kinds, String label, boolean legend) {
        YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        series.values().forEach(data::addSeries);
        NumberAxis y = new NumberAxis(label);
        y.setAutoRangeIncludesZero(false);
        XYErrorRenderer r = new XYErrorRenderer();
        r.setDrawXError(false);
        r.setDefaultLinesVisible(true);
        r.setErrorStroke(new BasicStroke(1.5f));
        r.setCapLength(8);
        Shape[] shapes = DefaultDrawingSupplier.createStandardSeriesShapes();
        for (int i = 0; i < data.getSeriesCount(); i++) {
            int kind = kinds.indexOf((String) data.getSeriesKey(i));
            r.setSeriesPaint(i, COLOURS[kind % COLOURS.length]);
            r.setSeriesShape(i, shapes[kind % shapes.length]);
            r.setSeriesStroke(i, new BasicStroke(2f));
            r.setSeriesVisibleInLegend(i, legend);
        }
        XYPlot p = new XYPlot(data, null, y, r);
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(Color.LIGHT_GRAY);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return p;
    }
}
