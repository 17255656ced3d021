package dev.mxd.bench.regress;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.StatisticalLineAndShapeRenderer;
import org.jfree.data.statistics.DefaultStatisticalCategoryDataset;

/**
 * The history as one PNG: a panel per benchmark (its secondary score where it has one, tokens/s or GFLOPS, the
 * unit one reads; else its primary), the score of each run over the runs in file order, labelled by commit
 * ({@code *} when the checkout had uncommitted changes, {@code #2} for a second run of one commit), with JMH's
 * 99.9 % error as error bars. Three panels a row.
 */
final class HistoryPlot {
    private static final int COLUMNS = 3;
    private static final int PANEL_WIDTH = 520;
    private static final int PANEL_HEIGHT = 340;

    static {
        // drawn into an image, never shown: no display needed
        System.setProperty("java.awt.headless", "true");
    }

    private HistoryPlot() {
    }

    /** Draws {@code runs} to {@code png}; returns the number of panels. */
    static int write(List<RunDocument> runs, Path png) throws IOException {
        Map<String, DefaultStatisticalCategoryDataset> panels = new LinkedHashMap<>();
        Map<String, String> units = new HashMap<>();
        Map<String, Integer> seen = new HashMap<>();
        for (RunDocument run : runs) {
            String commit = run.env("commit");
            String label = (commit.isEmpty() ? "?" : commit.substring(0, Math.min(7, commit.length())))
                    + (run.env("dirty").equals("true") ? "*" : "");
            int n = seen.merge(label, 1, Integer::sum);
            String column = n == 1 ? label : label + " #" + n;
            for (Score s : plotted(run.scores())) {
                String title = s.benchmarkLabel();
                units.put(title, (s.metric().isEmpty() ? "" : s.metric() + ", ") + s.unit());
                double error = Double.isNaN(s.error()) ? 0 : s.error();
                panels.computeIfAbsent(title, t -> new DefaultStatisticalCategoryDataset())
                        .add(s.score(), error, "score", column);
            }
        }
        if (panels.isEmpty()) {
            throw new BadInputException("the history holds no benchmark results to plot");
        }
        int rows = (panels.size() + COLUMNS - 1) / COLUMNS;
        int columns = Math.min(COLUMNS, panels.size());
        BufferedImage image = new BufferedImage(columns * PANEL_WIDTH, rows * PANEL_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            int i = 0;
            for (var e : panels.entrySet()) {
                JFreeChart chart = chart(e.getKey(), units.get(e.getKey()), e.getValue());
                chart.draw(g, new Rectangle2D.Double((i % COLUMNS) * PANEL_WIDTH, (i / COLUMNS) * PANEL_HEIGHT,
                        PANEL_WIDTH, PANEL_HEIGHT));
                i++;
            }
        } finally {
            g.dispose();
        }
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", png.toFile())) {
            throw new IOException("no PNG writer in this JDK");
        }
        return panels.size();
    }

    /** Per benchmark (key without metric), its first secondary score if it has one, else its primary. */
    private static List<Score> plotted(List<Score> scores) {
        Map<String, Score> chosen = new LinkedHashMap<>();
        for (Score s : scores) {
            Score before = chosen.get(s.benchmarkLabel());
            if (before == null || before.metric().isEmpty() && !s.metric().isEmpty()) {
                chosen.put(s.benchmarkLabel(), s);
            }
        }
        return List.copyOf(chosen.values());
    }

    private static JFreeChart chart(String title, String unit, DefaultStatisticalCategoryDataset data) {
        JFreeChart chart = ChartFactory.createLineChart(title, "commit", unit, data, PlotOrientation.VERTICAL,
                false, false, false);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        CategoryPlot plot = chart.getCategoryPlot();
        StatisticalLineAndShapeRenderer renderer = new StatisticalLineAndShapeRenderer(true, true);
        renderer.setSeriesPaint(0, new Color(0x1f77b4));
        renderer.setErrorIndicatorPaint(new Color(0xd62728));
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        plot.getRangeAxis().setAutoRange(true);
        return chart;
    }
}
