package dev.mxd.text.probe;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.text.harvest.Provenance;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.ActivationSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Per document, the mean of a layer's codes over the document's tokens in a harvested activation directory: the
 * document representation a sparse probe reads (DESIGN §7). Each token's K codes from {@link MxdLayer#encode}
 * count as a sparse vector over the code space (N experts for an MxD, H hidden units for a TC or STC; absent
 * indices are 0); a document's vector is their mean over its real tokens (the harvest keeps no {@code [CLS]} or
 * {@code [SEP]}). Only non-zero means are stored, so memory is that of the documents' distinct codes, never
 * [T, N]. The encode runs over both splits in chunks, a document's rows may lie in either split or be split across
 * shards.
 *
 * <p>Immutable once built.
 */
public final class PooledCodes {
    /** Tokens encoded together. */
    static final int CHUNK = 4096;

    private final int codeSpace;
    private final Map<Integer, Vector> documents;

    /**
     * One document's mean codes: {@code index} ascending, without repeats, each with its mean {@code value} (not
     * 0), over {@code tokens} tokens.
     */
    public record Vector(int[] index, float[] value, int tokens) {
        public Vector {
            index = index.clone();
            value = value.clone();
            if (index.length != value.length) {
                throw new IllegalArgumentException(index.length + " indices but " + value.length + " values");
            }
        }

        /** The mean value of code {@code i}; 0 when the document never had it. */
        public double get(int i) {
            int at = Arrays.binarySearch(index, i);
            return at < 0 ? 0 : value[at];
        }

        /** The number of non-zero codes. */
        public int size() {
            return index.length;
        }

        /** The j-th non-zero code's index (ascending in j). */
        public int indexAt(int j) {
            return index[j];
        }

        /** The j-th non-zero code's mean value. */
        public float valueAt(int j) {
            return value[j];
        }
    }

    /**
     * Builds from per-document vectors, e.g. a synthetic set.
     *
     * @param codeSpace N (MxD) or H (TC, STC): every index is in [0, codeSpace)
     * @throws IllegalArgumentException for an index out of range
     */
    public PooledCodes(int codeSpace, Map<Integer, Vector> documents) {
        if (codeSpace < 1) {
            throw new IllegalArgumentException("the code space must hold at least one code, got " + codeSpace);
        }
        for (Map.Entry<Integer, Vector> e : documents.entrySet()) {
            for (int i : e.getValue().index()) {
                if (i < 0 || i >= codeSpace) {
                    throw new IllegalArgumentException("document " + e.getKey() + " has code " + i
                            + ", outside [0, " + codeSpace + ")");
                }
            }
        }
        this.codeSpace = codeSpace;
        this.documents = Collections.unmodifiableMap(new LinkedHashMap<>(documents));
    }

    /** N (MxD) or H (TC, STC). */
    public int codeSpace() {
        return codeSpace;
    }

    /** Each document's mean codes, by document index, in the order first seen. */
    public Map<Integer, Vector> documents() {
        return documents;
    }

    /**
     * Encodes every token of {@code data} (training split, then held-out split) with {@code layer} and pools by
     * the shards' {@code doc} tensor.
     *
     * @param layer loaded model; the caller keeps ownership
     * @param data  opened on {@code dir}; the caller keeps ownership
     * @throws IllegalArgumentException when the model's input width is not the data's, or a shard has no
     *                                  {@code doc} tensor (I32 [T]) with a value per row
     */
    public static PooledCodes encode(MxdLayer layer, ActivationDirectory data) throws IOException {
        MxdConfig cfg = layer.config();
        if (data.inputDim() != cfg.inputDim()) {
            throw new IllegalArgumentException(data.directory() + " has x rows of " + data.inputDim()
                    + " values, but the model has d_in = " + cfg.inputDim());
        }
        Pooler pooler = new Pooler(cfg.codeSpace());
        for (String name : new String[] {"train", "eval"}) {
            ActivationSource.Split split = name.equals("train") ? data.train() : data.eval();
            if (split.tokens() == 0) {
                continue;
            }
            try (Provenance provenance = provenance(data, name)) {
                int chunk = (int) Math.min(CHUNK, split.tokens());
                float[] x = new float[chunk * cfg.inputDim()];
                float[] t = new float[chunk * data.outputDim()];
                for (long row = 0; row < split.tokens(); row += chunk) {
                    int n = (int) Math.min(chunk, split.tokens() - row);
                    split.read(row, n, x, t, 0);
                    Codes codes = layer.encode(n == chunk ? x : Arrays.copyOf(x, n * cfg.inputDim()));
                    for (int r = 0; r < n; r++) {
                        pooler.token(provenance.doc(row + r), codes, r);
                    }
                }
            }
        }
        return new PooledCodes(cfg.codeSpace(), pooler.finish());
    }

    /**
     * The documents of a harvested directory, both splits, ascending.
     *
     * @throws IllegalArgumentException when a shard has no {@code doc}, {@code pos} or {@code token} tensor (I32 [T])
     *                                  with a value per row
     */
    public static TreeSet<Integer> documents(ActivationDirectory data) throws IOException {
        TreeSet<Integer> docs = new TreeSet<>();
        for (String name : new String[] {"train", "eval"}) {
            long tokens = (name.equals("train") ? data.train() : data.eval()).tokens();
            if (tokens == 0) {
                continue;
            }
            try (Provenance provenance = provenance(data, name)) {
                for (long r = 0; r < tokens; r++) {
                    docs.add(provenance.doc(r));
                }
            }
        }
        return docs;
    }

    /** The provenance of a split, checked to have a row per activation row (the same shards, in the same order). */
    private static Provenance provenance(ActivationDirectory data, String split) throws IOException {
        Provenance p = Provenance.open(data.directory().resolve(split));
        long rows = (split.equals("train") ? data.train() : data.eval()).tokens();
        if (p.tokens() != rows) {
            p.close();
            throw new IllegalArgumentException(data.directory().resolve(split) + ": the doc tensors hold " + p.tokens()
                    + " rows, the activations " + rows);
        }
        return p;
    }

    /**
     * Sums a run of tokens of one document in a dense scratch row, emitting a sparse sum when the document
     * changes (the harvest writes a document's rows together, so this is once per document).
     */
    private static final class Pooler {
        private final double[] scratch;
        private final boolean[] touched;
        private final List<Integer> used = new ArrayList<>();
        private final Map<Integer, Run> sums = new LinkedHashMap<>();
        private int current = Integer.MIN_VALUE;
        private int tokens;

        /** The sums of a document's codes over {@code tokens} tokens, {@code index} ascending. */
        private record Run(int[] index, double[] sum, int tokens) {
            Run merge(Run o) {
                Map<Integer, Double> m = new TreeMap<>();
                for (Run r : List.of(this, o)) {
                    for (int j = 0; j < r.index.length; j++) {
                        m.merge(r.index[j], r.sum[j], Double::sum);
                    }
                }
                int[] idx = new int[m.size()];
                double[] s = new double[m.size()];
                int j = 0;
                for (Map.Entry<Integer, Double> e : m.entrySet()) {
                    idx[j] = e.getKey();
                    s[j++] = e.getValue();
                }
                return new Run(idx, s, tokens + o.tokens);
            }
        }

        Pooler(int space) {
            scratch = new double[space];
            touched = new boolean[space];
        }

        void token(int doc, Codes codes, int row) {
            if (doc != current) {
                flush();
                current = doc;
            }
            tokens++;
            for (int j = 0; j < codes.width(); j++) {
                float v = codes.value(row, j);
                if (v != 0) {
                    int i = codes.index(row, j);
                    if (!touched[i]) {
                        touched[i] = true;
                        used.add(i);
                    }
                    scratch[i] += v;
                }
            }
        }

        private void flush() {
            if (tokens == 0) {
                return;
            }
            Collections.sort(used);
            int[] idx = new int[used.size()];
            double[] sum = new double[used.size()];
            for (int j = 0; j < idx.length; j++) {
                idx[j] = used.get(j);
                sum[j] = scratch[idx[j]];
                scratch[idx[j]] = 0;
                touched[idx[j]] = false;
            }
            used.clear();
            sums.merge(current, new Run(idx, sum, tokens), Run::merge);
            tokens = 0;
        }

        Map<Integer, Vector> finish() {
            flush();
            Map<Integer, Vector> out = new LinkedHashMap<>();
            for (Map.Entry<Integer, Run> e : sums.entrySet()) {
                Run r = e.getValue();
                int nonZero = 0;
                for (double s : r.sum) {
                    nonZero += s != 0 ? 1 : 0;
                }
                int[] idx = new int[nonZero];
                float[] val = new float[nonZero];
                int j = 0;
                for (int q = 0; q < r.index.length; q++) {
                    if (r.sum[q] != 0) {
                        idx[j] = r.index[q];
                        val[j++] = (float) (r.sum[q] / r.tokens);
                    }
                }
                out.put(e.getKey(), new Vector(idx, val, r.tokens));
            }
            return out;
        }
    }

    @Override
    public String toString() {
        return "PooledCodes[" + documents.size() + " documents over " + codeSpace + " codes]";
    }
}
