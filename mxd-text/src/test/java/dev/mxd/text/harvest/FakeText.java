package dev.mxd.text.harvest;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.text.minilm.MlpHook;
import dev.mxd.text.minilm.SentenceEncoder;
import dev.mxd.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small deterministic stand-in for the real model and text: a 2-layer encoder of width 8 (a position-mixing
 * step, a parameter-free LayerNorm and a GELU MLP 16 wide per layer, residual adds), a word-hashing tokenizer and
 * a corpus of generated sentences.
 */
public final class FakeText {
    public static final String MODEL = "fake-encoder";
    public static final int WIDTH = 8, HIDDEN = 16, LAYERS = 2, VOCAB = 50, CLS = 1, SEP = 2;

    private FakeText() {
    }

    /** A source over {@code documents} generated documents, at most {@code maxTokens} ids each. */
    public static TextSource source(int documents, int maxTokens) {
        return new TextSource(MODEL, new Encoder(7), tokenizer(maxTokens), maxTokens, corpus(documents), null);
    }

    /** Word ids from a hash of the word, {@code [CLS]} first, {@code [SEP]} last, truncated to {@code maxTokens}. */
    public static IntTokenizer tokenizer(int maxTokens) {
        return text -> {
            String[] words = text.isBlank() ? new String[0] : text.trim().split("\\s+");
            int n = Math.min(words.length, maxTokens - 2);
            int[] ids = new int[n + 2];
            ids[0] = CLS;
            for (int i = 0; i < n; i++) {
                ids[i + 1] = 3 + Math.floorMod(words[i].hashCode(), VOCAB - 3);
            }
            ids[n + 1] = SEP;
            return ids;
        };
    }

    /** The texts of the generated corpus: 0 to 40 words from a small lexicon; every 7th document is empty. */
    public static List<String> texts(int documents) {
        String[] lexicon = "the parliament council vote report motion agenda member state debate proposal union"
                .split(" ");
        SplittableRandom r = new SplittableRandom(11);
        List<String> texts = new ArrayList<>();
        for (int d = 0; d < documents; d++) {
            int words = d % 7 == 6 ? 0 : 1 + r.nextInt(40);
            StringBuilder b = new StringBuilder();
            for (int w = 0; w < words; w++) {
                b.append(w == 0 ? "" : " ").append(lexicon[r.nextInt(lexicon.length)]).append(r.nextInt(5));
            }
            texts.add(b.toString());
        }
        return texts;
    }

    public static Corpus corpus(int documents) {
        return Corpus.of("fake corpus of " + documents + " documents", texts(documents));
    }

    /** The encoder. Thread-safe: it keeps no state between calls. */
    public static final class Encoder implements SentenceEncoder {
        private final float[] embed = new float[VOCAB * WIDTH];
        private final float[][] w1 = new float[LAYERS][WIDTH * HIDDEN], b1 = new float[LAYERS][HIDDEN];
        private final float[][] w2 = new float[LAYERS][HIDDEN * WIDTH], b2 = new float[LAYERS][WIDTH];

        public Encoder(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            fill(r, embed, 1);
            for (int l = 0; l < LAYERS; l++) {
                fill(r, w1[l], 1 / Math.sqrt(WIDTH));
                fill(r, b1[l], 0.1);
                fill(r, w2[l], 1 / Math.sqrt(HIDDEN));
                fill(r, b2[l], 0.1);
            }
        }

        private static void fill(SplittableRandom r, float[] a, double scale) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (scale * r.nextGaussian());
            }
        }

        @Override
        public int width() {
            return WIDTH;
        }

        @Override
        public int layers() {
            return LAYERS;
        }

        @Override
        public float[] lastHiddenState(int[] tokenIds, int layer, MlpHook hook) {
            return run(tokenIds, layer, hook, -1);
        }

        /** The forward pass with the MLP of {@code zeroLayer} contributing nothing, computed without any hook. */
        public float[] withoutMlp(int[] tokenIds, int zeroLayer) {
            return run(tokenIds, -1, null, zeroLayer);
        }

        private float[] run(int[] ids, int layer, MlpHook hook, int zeroLayer) {
            int n = ids.length;
            if (n < 1 || (hook != null && (layer < 0 || layer >= LAYERS))) {
                throw new IllegalArgumentException("bad sequence or layer");
            }
            float[] res = new float[n * WIDTH];
            for (int i = 0; i < n; i++) {
                if (ids[i] < 0 || ids[i] >= VOCAB) {
                    throw new IllegalArgumentException("id " + ids[i] + " outside the vocabulary");
                }
                for (int j = 0; j < WIDTH; j++) {
                    res[i * WIDTH + j] = embed[ids[i] * WIDTH + j] + 0.05f * i;
                }
            }
            for (int l = 0; l < LAYERS; l++) {
                float[] mean = new float[WIDTH];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < WIDTH; j++) {
                        mean[j] += res[i * WIDTH + j] / n;
                    }
                }
                float[] h = new float[n * WIDTH];
                for (int i = 0; i < n; i++) {
                    double mu = 0, var = 0;
                    for (int j = 0; j < WIDTH; j++) {
                        res[i * WIDTH + j] += 0.25f * mean[j];
                        mu += res[i * WIDTH + j];
                    }
                    mu /= WIDTH;
                    for (int j = 0; j < WIDTH; j++) {
                        double d = res[i * WIDTH + j] - mu;
                        var += d * d;
                    }
                    double inv = 1 / Math.sqrt(var / WIDTH + 1e-5);
                    for (int j = 0; j < WIDTH; j++) {
                        h[i * WIDTH + j] = (float) ((res[i * WIDTH + j] - mu) * inv);
                    }
                }
                float[] out = l == zeroLayer ? new float[n * WIDTH] : mlp(l, h, n);
                if (hook != null && l == layer) {
                    hook.atMlp(n, h, out);
                }
                for (int e = 0; e < res.length; e++) {
                    res[e] += out[e];
                }
            }
            return res;
        }

        /** The MLP of layer {@code l} on {@code n} rows of {@code h}: gelu(h·W1 + b1)·W2 + b2. */
        public float[] mlp(int l, float[] h, int n) {
            float[] out = new float[n * WIDTH];
            for (int i = 0; i < n; i++) {
                for (int u = 0; u < HIDDEN; u++) {
                    double a = b1[l][u];
                    for (int j = 0; j < WIDTH; j++) {
                        a += h[i * WIDTH + j] * w1[l][j * HIDDEN + u];
                    }
                    float z = (float) Activation.GELU.apply(a);
                    for (int o = 0; o < WIDTH; o++) {
                        out[i * WIDTH + o] += z * w2[l][u * WIDTH + o];
                    }
                }
                for (int o = 0; o < WIDTH; o++) {
                    out[i * WIDTH + o] += b2[l][o];
                }
            }
            return out;
        }

        /**
         * A TC that computes layer {@code l}'s MLP exactly: the MLP's weights, K = H (every unit kept), GELU. The
         * caller closes it.
         */
        public MxdModel exactTranscoder(int l) {
            MxdModel m = MxdModel.zeros(MxdConfig.transcoder(WIDTH, HIDDEN, WIDTH, HIDDEN, Activation.GELU, false));
            copy(w1[l], m.tensor("W_enc"));
            copy(b1[l], m.tensor("b_enc"));
            copy(w2[l], m.tensor("W_dec"));
            copy(b2[l], m.tensor("b_dec_out"));
            return m;
        }

        private static void copy(float[] a, Tensor t) {
            if (t.elementCount() != a.length) {
                throw new IllegalStateException("shape " + Arrays.toString(t.shape()));
            }
            for (int i = 0; i < a.length; i++) {
                t.data().setAtIndex(Tensor.F32_LE, i, a[i]);
            }
        }
    }
}
