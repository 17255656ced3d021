package dev.mxd.text.harvest;

import dev.mxd.checkpoint.AtomicDirectory;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.text.minilm.SentenceEncoder;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Harvests the activation directory of DESIGN §4 from a {@link TextSource}: for every real token (not
 * {@code [CLS]} or {@code [SEP]}, unless {@link Settings#specialTokens()}; sequences are never padded) of the
 * corpus's documents that have a real token, read in index order,
 * the MLP input {@code x} and output {@code t} of one layer, with its provenance {@code doc}, {@code pos},
 * {@code token}. Documents go whole to {@code DIR/train} or {@code DIR/eval} by {@link DocumentSplit}; reading
 * stops after exactly the requested number of tokens (the last document may be cut short), or at the end of
 * the corpus.
 *
 * <p>Shards are {@code DIR/<split>/00000.safetensors}, {@code 00001}, ..., each of at most
 * {@code shardTokens} rows, written by {@link SafetensorsWriter}. The whole directory is built under a
 * temporary name beside {@code DIR} and renamed to it at the end, so {@code DIR} is never seen half-written;
 * a failure deletes the temporary directory. The output is a function of the source and the settings: the
 * same seed gives the same files, byte for byte (documents are encoded in fixed groups, rows placed in order).
 */
public final class Harvester {
    /**
     * Documents run through the encoder together ({@link SentenceEncoder#lastHiddenStates}). A constant, not a
     * function of the machine, so that the same documents are always batched together.
     */
    static final int GROUP = 16;

    private Harvester() {
    }

    /**
     * What to harvest.
     *
     * @param layer        the 0-based layer whose MLP is read
     * @param tokens       rows to read (real tokens, plus the special ones with {@code specialTokens}), both
     *                     splits together, ≥ 1
     * @param seed         seed of the document split
     * @param evalFraction the fraction of documents held out, in [0, 1)
     * @param shardTokens  the most rows per shard, ≥ 1
     * @param specialTokens whether to keep the rows of {@code [CLS]} and {@code [SEP]} too (they then count
     *                      towards {@code tokens}); the documents are the same either way
     */
    public record Settings(int layer, long tokens, long seed, double evalFraction, int shardTokens,
                           boolean specialTokens) {
        /** The default shard size: 65,536 rows (at width 384, 96 MiB of x and t per shard). */
        public static final int DEFAULT_SHARD_TOKENS = 65_536;

        public Settings {
            if (tokens < 1) {
                throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
            }
            if (shardTokens < 1) {
                throw new IllegalArgumentException("shard size must be >= 1 token, got " + shardTokens);
            }
            new DocumentSplit(seed, evalFraction);  // checks the fraction
        }

        /** The real tokens only. */
        public Settings(int layer, long tokens, long seed, double evalFraction, int shardTokens) {
            this(layer, tokens, seed, evalFraction, shardTokens, false);
        }
    }

    /** Reports progress after each group of documents. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param tokens    real tokens written so far
         * @param requested the tokens asked for
         * @param seconds   time since the harvest started
         */
        void onProgress(long tokens, long requested, double seconds);
    }

    /**
     * Harvests into {@code out}.
     *
     * @param replace whether an existing {@code out} is replaced (after the new directory is complete); when
     *                false, an existing {@code out} is an error
     * @return the manifest written to {@code out/manifest.json}
     * @throws IllegalArgumentException for a layer out of range, or an existing {@code out} without
     *                                  {@code replace}
     * @throws IOException              when a file cannot be written or the corpus read; {@code out} is then as it
     *                                  was
     */
    public static HarvestManifest harvest(TextSource source, Settings settings, Path out, boolean replace,
                                          Listener listener) throws IOException {
        SentenceEncoder encoder = source.encoder();
        if (settings.layer() < 0 || settings.layer() >= encoder.layers()) {
            throw new IllegalArgumentException("--layer must be in 0.." + (encoder.layers() - 1) + " for "
                    + source.model() + ", got " + settings.layer());
        }
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target) && !replace) {
            throw new IllegalArgumentException(out + " already exists; remove it or choose another directory");
        }
        return AtomicDirectory.replace(target, "harvest", dir -> {
            HarvestManifest manifest = new Run(source, settings, dir, listener).run();
            manifest.write(dir);
            return manifest;
        });
    }

    /**
     * One document's harvested rows: its ids, the position of its first row ({@code first}: 1 for the real tokens,
     * 0 with the special tokens) and the rows of x and t.
     */
    private record DocRows(int doc, int[] ids, int first, int rows, float[] x, float[] t) {
    }

    /** The state of one harvest. */
    private static final class Run {
        private final TextSource source;
        private final Settings settings;
        private final DocumentSplit split;
        private final ShardWriter train, eval;
        private final Listener listener;
        private final long started = System.nanoTime();
        private final List<Map.Entry<Integer, String>> pending = new ArrayList<>();
        private long written;
        private int documentsRead;

        Run(TextSource source, Settings settings, Path dir, Listener listener) throws IOException {
            this.source = source;
            this.settings = settings;
            this.split = new DocumentSplit(settings.seed(), settings.evalFraction());
            this.listener = listener;
            int width = source.encoder().width();
            int buffer = (int) Math.min(settings.shardTokens(), settings.tokens());
            this.train = new ShardWriter(Files.createDirectory(dir.resolve("train")), width, buffer);
            this.eval = new ShardWriter(Files.createDirectory(dir.resolve("eval")), width, buffer);
        }

        HarvestManifest run() throws IOException {
            try {
                source.corpus().forEach((index, text) -> {
                    pending.add(Map.entry(index, text));
                    if (pending.size() == GROUP) {
                        runPending();
                    }
                    return written < settings.tokens();
                });
                if (written < settings.tokens()) {
                    runPending();
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            train.flush();
            eval.flush();
            return new HarvestManifest(HarvestManifest.FORMAT_VERSION, source.model(), settings.layer(),
                    source.encoder().width(), source.corpus().name(), settings.seed(), settings.evalFraction(),
                    source.maxTokens(), settings.tokens(), train.rows, eval.rows, train.documents, eval.documents,
                    documentsRead, settings.shardTokens(),
                    source.corpus() instanceof TextFileCorpus f ? f.file().toString() : null,
                    source.corpus() instanceof TextFileCorpus f ? f.sha256() : null, settings.specialTokens());
        }

        /** Encodes the pending documents as one group, then appends their rows in document order. */
        private void runPending() {
            List<DocRows> done = encode(pending);
            pending.clear();
            for (DocRows d : done) {
                if (written == settings.tokens()) {
                    break;
                }
                documentsRead = d.doc() + 1;
                int rows = (int) Math.min(d.rows(), settings.tokens() - written);
                if (rows > 0) {
                    try {
                        (split.isEval(d.doc()) ? eval : train).append(d, rows);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    written += rows;
                }
            }
            if (listener != null) {
                listener.onProgress(written, settings.tokens(), (System.nanoTime() - started) / 1e9);
            }
        }

        /** The rows of each document; documents without a real token are not run through the encoder. */
        private List<DocRows> encode(List<Map.Entry<Integer, String>> docs) {
            int width = source.encoder().width();
            List<int[]> ids = new ArrayList<>(docs.size());
            List<int[]> run = new ArrayList<>(docs.size());
            for (Map.Entry<Integer, String> e : docs) {
                int[] seq = source.tokens(e.getKey(), e.getValue());
                ids.add(seq);
                if (seq.length > 2) {
                    run.add(seq);
                }
            }
            List<float[][]> hooked = new ArrayList<>(run.size());
            int first = settings.specialTokens() ? 0 : 1;
            if (!run.isEmpty()) {
                source.encoder().lastHiddenStates(run, settings.layer(), (n, input, output) -> hooked.add(
                        new float[][] {Arrays.copyOfRange(input, first * width, (n - first) * width),
                                Arrays.copyOfRange(output, first * width, (n - first) * width)}));
            }
            if (hooked.size() != run.size()) {
                throw new IllegalStateException(source.model() + " called the MLP hook of layer " + settings.layer()
                        + " " + hooked.size() + " times for " + run.size() + " sequences");
            }
            List<DocRows> out = new ArrayList<>(docs.size());
            int next = 0;
            for (int i = 0; i < docs.size(); i++) {
                int doc = docs.get(i).getKey();
                if (ids.get(i).length > 2) {
                    float[][] io = hooked.get(next++);
                    out.add(new DocRows(doc, ids.get(i), first, ids.get(i).length - 2 * first, io[0], io[1]));
                } else {
                    out.add(new DocRows(doc, ids.get(i), first, 0, new float[0], new float[0]));
                }
            }
            return out;
        }
    }

    /** Buffers one split's rows and writes them as numbered shards. */
    private static final class ShardWriter {
        private final Path dir;
        private final int width, capacity;
        private float[] x, t;
        private int[] doc, pos, token;
        private int count, shards;
        long rows;
        int documents;

        ShardWriter(Path dir, int width, int capacity) {
            this.dir = dir;
            this.width = width;
            this.capacity = capacity;
        }

        /** Appends the first {@code n} rows of a document. */
        void append(DocRows d, int n) throws IOException {
            if (x == null) {
                x = new float[capacity * width];
                t = new float[capacity * width];
                doc = new int[capacity];
                pos = new int[capacity];
                token = new int[capacity];
            }
            documents++;
            for (int r = 0; r < n; ) {
                int take = Math.min(n - r, capacity - count);
                System.arraycopy(d.x(), r * width, x, count * width, take * width);
                System.arraycopy(d.t(), r * width, t, count * width, take * width);
                for (int i = 0; i < take; i++) {
                    doc[count + i] = d.doc();
                    pos[count + i] = r + i + d.first();       // position 0 is [CLS]
                    token[count + i] = d.ids()[r + i + d.first()];
                }
                count += take;
                r += take;
                rows += take;
                if (count == capacity) {
                    flush();
                }
            }
        }

        /** Writes the buffered rows as the next shard (nothing when none are buffered). */
        void flush() throws IOException {
            if (count == 0) {
                return;
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("x", matrix(x));
            tensors.put("t", matrix(t));
            tensors.put("doc", vector(doc));
            tensors.put("pos", vector(pos));
            tensors.put("token", vector(token));
            SafetensorsWriter.write(dir.resolve(String.format("%05d.safetensors", shards)), tensors, Map.of());
            shards++;
            count = 0;
        }

        private Tensor matrix(float[] a) {
            return new Tensor(DType.F32, new long[] {count, width},
                    MemorySegment.ofArray(a).asSlice(0, (long) count * width * Float.BYTES));
        }

        private Tensor vector(int[] a) {
            return new Tensor(DType.I32, new long[] {count}, MemorySegment.ofArray(a).asSlice(0, (long) count * Integer.BYTES));
        }
    }
}
