package dev.mxd.text.experts;

import dev.mxd.Codes;
import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Per-expert statistics of one streamed pass over a split (DESIGN §7, "Reading the experts"): for each of the N
 * experts (TC, STC: hidden units) how many tokens it fired on (in the token's top K with a non-zero value, as
 * {@code Metrics} counts L0), its frequency over the window of {@link #tokens()} tokens, the mean and the largest
 * of its firing values, how many were negative, and a histogram of |value| in log-spaced bins ({@link #BINS}).
 * Memory O(N·BINS), whatever the window.
 *
 * <p>Files: {@link #write} puts the tensors in a safetensors file and a JSON summary beside it
 * ({@link #summaryPath}); {@link #read} reads the safetensors file back. Immutable once built.
 */
public final class ExpertStatistics {
    /** The {@code format} metadata of the file. */
    public static final String FORMAT = "mxd-expert-statistics/1";
    /** An expert firing on more than this fraction of the window's tokens is dense. */
    public static final double DENSE_FREQUENCY = 0.10;
    /** |value| below this goes to bin 0. */
    public static final double HISTOGRAM_LOW = 1e-4;
    /** Log-spaced bins per decade. */
    public static final int BINS_PER_DECADE = 4;
    /** Bin 0: |v| &lt; 1e-4; bins 1..32: quarter decades from 1e-4 to 1e4; bin 33: |v| ≥ 1e4. */
    public static final int BINS = 2 + 8 * BINS_PER_DECADE;

    private final Map<String, String> about;
    private final long tokens;
    private final long[] count;
    private final long[] negative;
    private final float[] mean;
    private final float[] max;
    private final long[] histogram;   // [N, BINS]

    private ExpertStatistics(Map<String, String> about, long tokens, long[] count, long[] negative, float[] mean,
                             float[] max, long[] histogram) {
        this.about = Map.copyOf(about);
        this.tokens = tokens;
        this.count = count;
        this.negative = negative;
        this.mean = mean;
        this.max = max;
        this.histogram = histogram;
    }

    /** The histogram bin of a value: by |v|, see {@link #BINS}. */
    public static int bin(float v) {
        double a = Math.abs((double) v);
        if (!(a >= HISTOGRAM_LOW)) {
            return 0;
        }
        int b = 1 + (int) Math.floor(BINS_PER_DECADE * Math.log10(a / HISTOGRAM_LOW));
        return Math.min(Math.max(b, 1), BINS - 1);
    }

    /** The lower edge of each bin's |value| range: 0 for bin 0, then 1e-4·10^((i−1)/4). */
    public static double[] binLowerEdges() {
        double[] e = new double[BINS];
        for (int i = 1; i < BINS; i++) {
            e[i] = HISTOGRAM_LOW * Math.pow(10, (i - 1) / (double) BINS_PER_DECADE);
        }
        return e;
    }

    /** A fresh accumulator for a code space of {@code codeSpace} experts (N; H for a TC or STC). */
    public static Accumulator accumulator(int codeSpace) {
        return new Accumulator(codeSpace);
    }

    /** Adds the codes of a pass, chunk by chunk, in any order of chunks; the result depends only on the rows. */
    public static final class Accumulator implements ExpertPass.Sink {
        private final long[] count, negative, histogram;
        private final double[] sum;
        private final float[] max;
        private long tokens;

        private Accumulator(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("code space must be >= 1, got " + n);
            }
            count = new long[n];
            negative = new long[n];
            histogram = new long[Math.multiplyExact(n, BINS)];
            sum = new double[n];
            max = new float[n];
            java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
        }

        @Override
        public void accept(long firstRow, Codes codes) {
            for (int r = 0; r < codes.tokens(); r++) {
                for (int j = 0; j < codes.width(); j++) {
                    float v = codes.value(r, j);
                    if (v == 0) {
                        continue;
                    }
                    int n = codes.index(r, j);
                    count[n]++;
                    sum[n] += v;
                    max[n] = Math.max(max[n], v);
                    if (v < 0) {
                        negative[n]++;
                    }
                    histogram[n * BINS + bin(v)]++;
                }
            }
            tokens += codes.tokens();
        }

        /**
         * The statistics so far.
         *
         * @param about what was measured, kept as the file's metadata (e.g. {@code model}, {@code data},
         *              {@code split}, {@code kind}, {@code k})
         */
        public ExpertStatistics finish(Map<String, String> about) {
            int n = count.length;
            float[] mean = new float[n];
            float[] mx = new float[n];
            for (int e = 0; e < n; e++) {
                // an expert that never fired has no mean or maximum
                mean[e] = count[e] == 0 ? Float.NaN : (float) (sum[e] / count[e]);
                mx[e] = count[e] == 0 ? Float.NaN : max[e];
            }
            return new ExpertStatistics(about, tokens, count.clone(), negative.clone(), mean, mx, histogram.clone());
        }
    }

    /** N, the number of experts (H for a TC or STC). */
    public int codeSpace() {
        return count.length;
    }

    /** The window: tokens the pass read. */
    public long tokens() {
        return tokens;
    }

    /** What was measured (model, data, split, ...), as given to {@link Accumulator#finish}. */
    public Map<String, String> about() {
        return about;
    }

    /** Tokens expert {@code n} fired on. */
    public long count(int n) {
        return count[n];
    }

    /** {@code count(n) / tokens()}. */
    public double frequency(int n) {
        return tokens == 0 ? 0 : (double) count[n] / tokens;
    }

    /** The mean of its firing values; NaN when it never fired. */
    public float mean(int n) {
        return mean[n];
    }

    /** The largest of its firing values; NaN when it never fired. */
    public float max(int n) {
        return max[n];
    }

    /** How many of its firing values were negative (a TC's or STC's activation may be). */
    public long negative(int n) {
        return negative[n];
    }

    /** Its histogram of |value|, {@link #BINS} counts (a new array). */
    public long[] histogram(int n) {
        long[] h = new long[BINS];
        System.arraycopy(histogram, n * BINS, h, 0, BINS);
        return h;
    }

    /** Experts that never fired in the window. */
    public int dead() {
        int d = 0;
        for (long c : count) {
            d += c == 0 ? 1 : 0;
        }
        return d;
    }

    /** Experts that fired on more than {@link #DENSE_FREQUENCY} of the window's tokens. */
    public int dense() {
        int d = 0;
        for (int n = 0; n < count.length; n++) {
            d += frequency(n) > DENSE_FREQUENCY ? 1 : 0;
        }
        return d;
    }

    /** Mean firing experts per token (L0). */
    public double l0() {
        long s = 0;
        for (long c : count) {
            s += c;
        }
        return tokens == 0 ? 0 : (double) s / tokens;
    }

    /** The summary JSON's path for a statistics file: {@code X.safetensors} → {@code X.json}. */
    public static Path summaryPath(Path file) {
        String name = file.getFileName().toString();
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return file.resolveSibling(stem + ".json");
    }

    /**
     * Writes the safetensors file ({@code count} [N] I64, {@code frequency} [N] F32, {@code mean} [N] F32,
     * {@code max} [N] F32, {@code negative} [N] I64, {@code histogram} [N, BINS] I64, {@code histogram_edges}
     * [BINS] F32; metadata {@code format}, {@code tokens}, {@code dense_frequency} and {@link #about()}), then the
     * summary JSON beside it, each atomically.
     */
    public void write(Path file) throws IOException {
        int n = count.length;
        float[] freq = new float[n];
        for (int e = 0; e < n; e++) {
            freq[e] = (float) frequency(e);
        }
        double[] edges = binLowerEdges();
        float[] edges32 = new float[BINS];
        for (int i = 0; i < BINS; i++) {
            edges32[i] = (float) edges[i];
        }
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("count", new Tensor(DType.I64, new long[] {n}, MemorySegment.ofArray(count)));
        t.put("frequency", new Tensor(DType.F32, new long[] {n}, MemorySegment.ofArray(freq)));
        t.put("mean", new Tensor(DType.F32, new long[] {n}, MemorySegment.ofArray(mean)));
        t.put("max", new Tensor(DType.F32, new long[] {n}, MemorySegment.ofArray(max)));
        t.put("negative", new Tensor(DType.I64, new long[] {n}, MemorySegment.ofArray(negative)));
        t.put("histogram", new Tensor(DType.I64, new long[] {n, BINS}, MemorySegment.ofArray(histogram)));
        t.put("histogram_edges", new Tensor(DType.F32, new long[] {BINS}, MemorySegment.ofArray(edges32)));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("tokens", Long.toString(tokens));
        meta.put("dense_frequency", Double.toString(DENSE_FREQUENCY));
        new java.util.TreeMap<>(about).forEach(meta::putIfAbsent);
        SafetensorsWriter.write(file, t, meta);
        AtomicWrite.writeString(summaryPath(file), Json.writePretty(summary()) + "\n");
    }

    /**
     * The JSON summary: {@code format}, what was measured ({@link #about()}), {@code experts} (N), {@code tokens}
     * (the window), {@code l0}, {@code dead}, {@code dense}, {@code dense_frequency}, {@code histogram_edges} and the
     * ten most frequent experts as {@code most_frequent} [{@code expert}, {@code frequency}].
     */
    public Map<String, Object> summary() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("format", FORMAT);
        new java.util.TreeMap<>(about).forEach(o::put);
        o.put("experts", count.length);
        o.put("tokens", tokens);
        o.put("l0", Json.finiteOrNull(l0()));
        o.put("dead", dead());
        o.put("dense", dense());
        o.put("dense_frequency", DENSE_FREQUENCY);
        List<Double> edges = new ArrayList<>();
        for (double e : binLowerEdges()) {
            edges.add(e);
        }
        o.put("histogram_edges", edges);
        List<Map<String, Object>> top = new ArrayList<>();
        java.util.stream.IntStream.range(0, count.length).boxed()
                .sorted((a, b) -> count[a] != count[b] ? Long.compare(count[b], count[a]) : Integer.compare(a, b))
                .limit(10).forEach(e -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("expert", e);
                    m.put("frequency", frequency(e));
                    top.add(m);
                });
        o.put("most_frequent", top);
        return o;
    }

    /**
     * Reads a file {@link #write} wrote.
     *
     * @throws IllegalArgumentException when it is not a statistics file or its tensors disagree, naming the file
     */
    public static ExpertStatistics read(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get("format"))) {
                throw new IllegalArgumentException(file + " is not an expert-statistics file (format "
                        + meta.get("format") + ", expected " + FORMAT + ")");
            }
            long[] count = longs(f, "count", -1);
            int n = count.length;
            long[] negative = longs(f, "negative", n);
            long[] histogram = longs(f, "histogram", (long) n * BINS);
            float[] mean = floats(f, "mean", n);
            float[] max = floats(f, "max", n);
            Map<String, String> about = new LinkedHashMap<>(meta);
            about.remove("format");
            about.remove("tokens");
            about.remove("dense_frequency");
            long tokens;
            try {
                tokens = Long.parseLong(Objects.requireNonNull(meta.get("tokens"), "tokens"));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ": metadata 'tokens' is " + meta.get("tokens")
                        + ", expected an integer");
            }
            return new ExpertStatistics(about, tokens, count, negative, mean, max, histogram);
        }
    }

    private static Tensor tensor(SafetensorsFile f, String name, DType dtype, long elements) {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(f.path() + " has no tensor '" + name + "'");
        }
        Tensor t = f.tensor(name);
        if (t.dtype() != dtype || (elements >= 0 && t.elementCount() != elements)) {
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' is " + t + ", expected " + dtype
                    + (elements >= 0 ? " with " + elements + " elements" : ""));
        }
        return t;
    }

    private static long[] longs(SafetensorsFile f, String name, long elements) {
        Tensor t = tensor(f, name, DType.I64, elements);
        long[] a = new long[Math.toIntExact(t.elementCount())];
        MemorySegment.copy(t.data(), Tensor.I64_LE, 0, a, 0, a.length);
        return a;
    }

    private static float[] floats(SafetensorsFile f, String name, long elements) {
        Tensor t = tensor(f, name, DType.F32, elements);
        float[] a = new float[Math.toIntExact(t.elementCount())];
        MemorySegment.copy(t.data(), Tensor.F32_LE, 0, a, 0, a.length);
        return a;
    }
}
