package dev.mxd.explore;

import dev.mxd.checkpoint.AtomicDirectory;
import dev.mxd.checkpoint.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;

/**
 * Writes the explorer's static site: {@code index.html} (every expert in a sortable, filterable, paginated table
 * drawn by a script from {@code data/index.js}), {@code experts/<n>.html} per expert (its histogram as inline SVG,
 * its top contexts with the firing token marked and shaded by value, samples of lower quantiles), {@code live.html}
 * (the live page, active when {@code ./mxd serve} serves the site) and the scripts and style under {@code assets/}.
 * Nothing is fetched from the network: the site opens from {@code file://}.
 *
 * <p>The site is built in a temporary directory beside the target and renamed to it at the end; an existing
 * target is replaced only when it is an explorer site (it holds {@link #MARKER}).
 */
public final class SiteWriter {
    /** The file that marks a directory as an explorer site, so that {@link #write} may replace it. */
    public static final String MARKER = ".mxd-explorer";
    /** The static files shipped inside the site, from this package's resources. */
    private static final List<String> ASSETS = List.of("explorer.css", "index.js", "live.js");

    private SiteWriter() {
    }

    /** What was written: the site's directory, the experts and the seconds taken. */
    public record Summary(Path site, int experts, double seconds) {
    }

    /**
     * Writes the site of {@code atlas} to {@code out}.
     *
     * @param labels per expert a short label shown beside it (e.g. the language its probe detects), may be empty
     * @throws IllegalArgumentException when {@code out} exists and is not an explorer site
     * @throws IOException              when a file cannot be written; {@code out} is then as it was
     */
    public static Summary write(Atlas atlas, Map<Integer, String> labels, Path out) throws IOException {
        Objects.requireNonNull(atlas, "atlas");
        Objects.requireNonNull(labels, "labels");
        long started = System.nanoTime();
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target) && !Files.isRegularFile(target.resolve(MARKER))) {
            throw new IllegalArgumentException(out + " exists and is not an explorer site (no " + MARKER
                    + "); remove it or choose another directory");
        }
        AtomicDirectory.replace(target, "explore", dir -> {
            build(atlas, labels, dir);
            return null;
        });
        return new Summary(target, atlas.experts(), (System.nanoTime() - started) / 1e9);
    }

    private static void build(Atlas atlas, Map<Integer, String> labels, Path dir) throws IOException {
        int n = atlas.experts();
        double[] edges = atlas.binEdges();
        Files.createDirectories(dir.resolve("assets"));
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("experts"));
        for (String asset : ASSETS) {
            Files.write(dir.resolve("assets").resolve(asset), resource(asset));
        }
        double[] frequency = new double[n], mean = new double[n], max = new double[n];
        long[] count = new long[n];
        List<String> spark = new ArrayList<>(n);
        Path experts = dir.resolve("experts");
        // The atlas is read on this thread, in order; pages are made and written on all cores, a bounded number
        // in flight so that memory holds a few experts, not N.
        int threads = Runtime.getRuntime().availableProcessors();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Semaphore inFlight = new Semaphore(4 * threads);
        List<Future<?>> pages = new ArrayList<>(n);
        try {
            for (int e = 0; e < n; e++) {
                Atlas.Expert x = atlas.expert(e);
                if (x.id() != e || x.histogram().length != edges.length - 1) {
                    throw new IllegalArgumentException("the atlas gave expert " + x.id() + " with "
                            + x.histogram().length + " bins for expert " + e + " (" + (edges.length - 1) + " bins)");
                }
                count[e] = x.count();
                frequency[e] = atlas.tokens() == 0 ? 0 : (double) x.count() / atlas.tokens();
                mean[e] = x.mean();
                max[e] = x.max();
                spark.add(spark(x.histogram()));
                String label = labels.get(e);
                inFlight.acquireUninterruptibly();
                pages.add(pool.submit(() -> {
                    try {
                        writeUtf8(experts.resolve(x.id() + ".html"), Pages.expert(atlas, x, edges, label));
                        return null;
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            for (Future<?> f : pages) {
                f.get();
            }
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IllegalStateException(e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while writing the site");
        } finally {
            pool.shutdownNow();
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("model", atlas.model());
        index.put("experts", n);
        index.put("tokens", atlas.tokens());
        index.put("edges", rounded(edges));
        index.put("count", count);
        index.put("frequency", rounded(frequency));
        index.put("mean", rounded(mean));
        index.put("max", rounded(max));
        index.put("spark", spark);
        Map<String, String> labelObject = new LinkedHashMap<>();
        labels.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(l -> labelObject.put(Integer.toString(l.getKey()), l.getValue()));
        index.put("labels", labelObject);
        writeUtf8(dir.resolve("data").resolve("index.js"),
                "window.MXD_INDEX = " + Html.scriptJson(Json.writeCompact(index)) + ";\n");
        writeUtf8(dir.resolve("index.html"), Pages.index(atlas.model(), n, atlas.tokens()));
        writeUtf8(dir.resolve("live.html"), Pages.live(atlas.model(), n));
        Files.writeString(dir.resolve(MARKER), "an explorer site written by ./mxd explore\n");
    }

    /**
     * The histogram as one digit per bin for the index's small chart: 0 for an empty bin, else 1 to 9 by
     * log(1 + count) relative to the fullest bin.
     */
    static String spark(long[] histogram) {
        long top = 0;
        for (long c : histogram) {
            top = Math.max(top, c);
        }
        StringBuilder b = new StringBuilder(histogram.length);
        for (long c : histogram) {
            b.append(c == 0 ? '0' : (char) ('1' + (int) Math.round(8 * Math.log1p(c) / Math.log1p(top))));
        }
        return b.toString();
    }

    /** Values to 4 significant digits: the index shows no more, and the data file stays small. */
    private static double[] rounded(double[] values) {
        double[] r = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            r[i] = v == 0 || !Double.isFinite(v) ? 0 : Double.parseDouble(Pages.num(v));
        }
        return r;
    }

    static byte[] resource(String name) {
        try (InputStream in = SiteWriter.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the explorer's resource " + name + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeUtf8(Path file, String text) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(text);
        }
    }

    /**
     * Deletes a site {@link #write} wrote.
     *
     * @throws IllegalArgumentException when {@code site} is not an explorer site (it is left alone)
     */
    public static void delete(Path site) throws IOException {
        if (Files.notExists(site)) {
            return;
        }
        if (!Files.isRegularFile(site.resolve(MARKER))) {
            throw new IllegalArgumentException(site + " is not an explorer site (no " + MARKER + "); not deleted");
        }
        AtomicDirectory.deleteTree(site);
    }
}
