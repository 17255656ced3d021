package dev.mxd.text.experts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Allocations;
import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.oracle.OracleBackend;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import dev.mxd.text.harvest.Provenance;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.ActivationSource;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The streamed statistics and top firings equal a brute-force computation over every firing of a small directory
 * (three shards, one empty, x rows drawn from a pool of 9 so that equal values abound: ties included), for an MxD,
 * a TC with K = H and an STC, at chunk sizes that cut across shards; and the pass's memory does not grow with T.
 */
class ExpertPassTest {
    private static final int I = 5, O = 4, POOL = 9;
    private static final int[] SHARD_ROWS = {23, 0, 40};

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        MxdConfig[] cfgs = {
                MxdConfig.mxd(I, 6, 13, O, 3, Activation.GELU, false, false),
                MxdConfig.transcoder(I, 7, O, 7, Activation.SILU, false),       // K = H: negative values fire too
                MxdConfig.skipTranscoder(I, 11, O, 1, Activation.RELU, true)};
        return Stream.of(cfgs).flatMap(c -> Stream.of(1, 7, 64).map(b -> Arguments.of(c, b)));
    }

    @ParameterizedTest(name = "{0} batch {1}")
    @MethodSource("cases")
    void streamedEqualsBruteForce(MxdConfig cfg, int batch) throws IOException {
        writeDirectory(dir);
        int m = 4, s = 5;
        try (MxdModel model = MxdModel.random(cfg, 5);
             MxdLayer layer = new OracleBackend().load(model);
             ActivationDirectory data = ActivationDirectory.open(dir)) {
            ActivationSource.Split split = data.train();
            int n = cfg.codeSpace();
            ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(n);
            TopActivations top = new TopActivations(n, m, s);
            long rows = ExpertPass.run(layer, split, I, O, 0, batch, List.of(acc, top));
            ExpertStatistics stats = acc.finish(Map.of("split", "train"));

            // brute force: every row encoded at once, every firing listed
            int t = (int) split.tokens();
            assertEquals(t, rows);
            float[] x = new float[t * I];
            split.read(0, t, x, new float[t * O], 0);
            Codes codes = layer.encode(x);
            List<List<TopActivations.Hit>> firings = new ArrayList<>();
            for (int e = 0; e < n; e++) {
                firings.add(new ArrayList<>());
            }
            for (int r = 0; r < t; r++) {
                for (int j = 0; j < cfg.k(); j++) {
                    if (codes.value(r, j) != 0) {
                        firings.get(codes.index(r, j)).add(new TopActivations.Hit(r, codes.value(r, j)));
                    }
                }
            }
            boolean ties = false;
            for (int expert = 0; expert < n; expert++) {
                int e = expert;
                List<TopActivations.Hit> all = firings.get(e);
                assertEquals(all.size(), stats.count(e), "count of " + e);
                assertEquals((double) all.size() / t, stats.frequency(e), "frequency of " + e);
                double sum = 0;
                float max = Float.NEGATIVE_INFINITY;
                long negative = 0;
                long[] hist = new long[ExpertStatistics.BINS];
                for (TopActivations.Hit h : all) {
                    sum += h.value();
                    max = Math.max(max, h.value());
                    negative += h.value() < 0 ? 1 : 0;
                    hist[ExpertStatistics.bin(h.value())]++;
                }
                assertEquals(all.isEmpty() ? Float.NaN : (float) (sum / all.size()), stats.mean(e), "mean of " + e);
                assertEquals(all.isEmpty() ? Float.NaN : max, stats.max(e), "max of " + e);
                assertEquals(negative, stats.negative(e), "negative of " + e);
                assertArrayEquals(hist, stats.histogram(e), "histogram of " + e);

                List<TopActivations.Hit> sorted = new ArrayList<>(all);
                sorted.sort(TopActivations.BY_VALUE);
                assertEquals(sorted.subList(0, Math.min(m, sorted.size())), top.top(e), "top of " + e);
                for (int i = 1; i < sorted.size(); i++) {
                    ties |= sorted.get(i).value() == sorted.get(i - 1).value();
                }
                List<TopActivations.Hit> sampled = new ArrayList<>(all);
                sampled.sort(Comparator.comparingLong((TopActivations.Hit h) -> TopActivations.key(e, h.row()))
                        .thenComparingLong(TopActivations.Hit::row));
                List<TopActivations.Hit> expected = new ArrayList<>(sampled.subList(0, Math.min(s, sampled.size())));
                expected.sort(TopActivations.BY_VALUE);
                assertEquals(expected, top.sample(e), "sample of " + e);
            }
            assertTrue(ties, "the pool of rows gives equal values, so the tie order is tested");
            assertEquals(java.util.stream.IntStream.range(0, n).filter(e -> firings.get(e).isEmpty()).count(),
                    stats.dead());
            assertEquals(java.util.stream.IntStream.range(0, n).filter(e -> firings.get(e).size() > 0.1 * t).count(),
                    stats.dense());
        }
    }

    @Test
    void histogramBinsAreQuarterDecades() {
        assertEquals(0, ExpertStatistics.bin(0f));
        assertEquals(0, ExpertStatistics.bin(9e-5f));
        assertEquals(1, ExpertStatistics.bin(1.0001e-4f));
        assertEquals(17, ExpertStatistics.bin(1.01f));   // 1e-4 · 10^(16/4) = 1
        assertEquals(17, ExpertStatistics.bin(-1.5f));   // by |v|
        assertEquals(18, ExpertStatistics.bin(1.8f));    // 10^0.25 ≈ 1.778
        assertEquals(ExpertStatistics.BINS - 1, ExpertStatistics.bin(1e9f));
        double[] edges = ExpertStatistics.binLowerEdges();
        assertEquals(1.0, edges[17], 1e-12);
        for (int b = 1; b < edges.length; b++) {
            assertEquals(b, ExpertStatistics.bin((float) (edges[b] * 1.001)), "just above edge " + b);
        }
    }

    @Test
    void filesReadBack() throws IOException {
        writeDirectory(dir);
        MxdConfig cfg = MxdConfig.mxd(I, 6, 13, O, 3, Activation.GELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 5);
             MxdLayer layer = new OracleBackend().load(model);
             ActivationDirectory data = ActivationDirectory.open(dir);
             Provenance provenance = Provenance.open(dir.resolve("train"))) {
            ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(13);
            TopActivations top = new TopActivations(13, 3, 8);
            ExpertPass.run(layer, data.train(), I, O, 0, 10, List.of(acc, top));
            ExpertStatistics stats = acc.finish(Map.of("model", "m", "split", "train"));
            Path file = dir.resolve("stats.safetensors");
            stats.write(file);
            ExpertStatistics back = ExpertStatistics.read(file);
            assertEquals(stats.tokens(), back.tokens());
            assertEquals(Map.of("model", "m", "split", "train"), back.about());
            for (int e = 0; e < 13; e++) {
                assertEquals(stats.count(e), back.count(e));
                assertEquals(stats.mean(e), back.mean(e));
                assertArrayEquals(stats.histogram(e), back.histogram(e));
            }
            Map<String, Object> summary = dev.mxd.checkpoint.Json.parseObject(
                    Files.readString(dir.resolve("stats.json")), "summary");
            assertEquals(stats.dead(), summary.get("dead"));
            assertEquals((int) stats.tokens(), summary.get("tokens"));

            TopContexts contexts = TopContexts.build(top, stats, provenance, null, Map.of("split", "train"));
            Path out = dir.resolve("top.jsonl");
            contexts.write(out);
            TopContexts read = TopContexts.read(out);
            assertEquals(13, read.experts().size());
            assertEquals(contexts.experts(), read.experts());
            assertEquals("train", read.header().get("split"));
            for (TopContexts.Expert e : contexts.experts()) {
                for (TopContexts.Example x : e.examples()) {
                    // provenance of the pool directory: doc = row / 5, pos = 1 + row % 5, token = 1000 + row
                    long row = x.token() - 1000;
                    assertEquals(row / 5, x.doc());
                    assertEquals(1 + row % 5, x.pos());
                }
                assertTrue(e.samples().stream().noneMatch(sm -> e.examples().stream()
                        .anyMatch(x -> x.doc() == sm.doc() && x.pos() == sm.pos())), "samples are not examples");
            }
            Files.writeString(out, "{\"format\": \"other\"}\n");
            assertThrows(IllegalArgumentException.class, () -> TopContexts.read(out));
        }
    }

    /**
     * The pass's heap allocation over 4,000 and 64,000 rows (a layer that writes codes without allocating, rows held
     * in memory): the same, where a [T, K] table of the larger pass would be over 1 MB. Steady state: the fewest
     * bytes of several passes, after a few to compile the loops (interpreted memory access boxes).
     */
    @Test
    void memoryDoesNotGrowWithTokens() {
        allocatedByPass(64_000);
        long small = allocatedByPass(4_000), large = allocatedByPass(64_000);
        long table = 60_000L * 4 * 8;
        assertTrue(large - small < table / 16, "4,000 -> 64,000 rows: the pass allocated " + small + " -> " + large
                + " bytes; a [ΔT, K] code table is " + table);
    }

    private static long allocatedByPass(int rows) {
        MxdConfig cfg = MxdConfig.mxd(I, 6, 500, O, 4, Activation.RELU, false, false);
        float[] x = new float[rows * I];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i);
        }
        ActivationSource data = ActivationSource.inMemory(I, O, x, new float[rows * O], new float[0], new float[0]);
        try (MxdLayer layer = new HashLayer(cfg)) {
            long fewest = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 6; attempt++) {
                ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(500);
                TopActivations top = new TopActivations(500, 20, 32);
                long before = Allocations.allocatedByAllThreads();
                ExpertPass.run(layer, data.train(), I, O, 0, 1000, List.of(acc, top));
                fewest = Math.min(fewest, Allocations.allocatedByAllThreads() - before);
            }
            return fewest;
        }
    }

    /** Codes from a hash of each x row, written in place: a layer that allocates nothing. */
    private static final class HashLayer extends MxdLayer {
        HashLayer(MxdConfig cfg) {
            super(cfg, "hash");
        }

        @Override
        protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
            int n = config().experts();
            for (int t = 0; t < tokens; t++) {
                int h = Float.floatToIntBits(x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, (long) t * I));
                for (int j = 0; j < codes.width(); j++) {
                    codes.set(t, j, Math.floorMod(h + 97 * j, n), 1f + Math.floorMod(h >> j, 1000) / 10f);
                }
            }
        }

        @Override
        protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected void closeImpl() {
        }
    }

    /** DIR/train: shards of SHARD_ROWS rows whose x rows come from a pool of POOL rows; doc = row / 5. */
    static void writeDirectory(Path dir) throws IOException {
        SplittableRandom r = new SplittableRandom(3);
        float[][] pool = new float[POOL][I];
        for (float[] p : pool) {
            for (int i = 0; i < I; i++) {
                p[i] = (float) (2 * r.nextDouble() - 1);
            }
        }
        Path train = Files.createDirectories(dir.resolve("train"));
        int row = 0;
        for (int s = 0; s < SHARD_ROWS.length; s++) {
            int n = SHARD_ROWS[s];
            float[] x = new float[n * I], t = new float[n * O];
            int[] doc = new int[n], pos = new int[n], token = new int[n];
            for (int i = 0; i < n; i++, row++) {
                System.arraycopy(pool[r.nextInt(POOL)], 0, x, i * I, I);
                for (int o = 0; o < O; o++) {
                    t[i * O + o] = 1;
                }
                doc[i] = row / 5;
                pos[i] = 1 + row % 5;
                token[i] = 1000 + row;
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("x", new Tensor(DType.F32, new long[] {n, I}, MemorySegment.ofArray(x)));
            tensors.put("t", new Tensor(DType.F32, new long[] {n, O}, MemorySegment.ofArray(t)));
            tensors.put("doc", new Tensor(DType.I32, new long[] {n}, MemorySegment.ofArray(doc)));
            tensors.put("pos", new Tensor(DType.I32, new long[] {n}, MemorySegment.ofArray(pos)));
            tensors.put("token", new Tensor(DType.I32, new long[] {n}, MemorySegment.ofArray(token)));
            SafetensorsWriter.write(train.resolve(String.format("%05d.safetensors", s)), tensors, Map.of());
        }
    }
}
