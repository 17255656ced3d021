package dev.mxd.text.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.DenseOps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java forward of all-MiniLM-L6-v2 against ONNX Runtime on the same model file and tokens: Europarl documents in
 * English, German, French, Spanish, Finnish, Italian, Romanian and Greek (the token fixture's documents 800, 2000,
 * 400, 6400, 1600, 0, 1200, 9200), each cut at 128 tokens, the Greek one also at 512 (the longest the model takes),
 * and document 10364, a single period (3 tokens). The model runs on the cpu backend; {@code MiniLmBackendsTest}
 * holds the other backends to the same model on the reference backend.
 */
class MiniLmTest {
    /** DESIGN §7: max|ours − ort| ≤ 1e-4 · max|ort| per sequence. */
    private static final double TOLERANCE = 1e-4;

    private static byte[] onnx;
    private static DenseOps ops;
    private static MiniLm model;
    private static OrtReference reference;
    private static List<TokenFixture> sequences;

    @BeforeAll
    static void load() throws OrtException {
        onnx = MiniLm.modelBytes();
        ops = Backends.select("cpu").denseOps();
        model = MiniLm.fromOnnx(onnx, ops);
        reference = new OrtReference(onnx);
        sequences = TokenFixture.all();
    }

    @AfterAll
    static void close() throws OrtException {
        reference.close();
        ops.close();
    }

    @Test
    void lastHiddenStateMatchesOnnxRuntime() throws OrtException {
        for (TokenFixture s : sequences) {
            float[] ours = model.lastHiddenState(s.ids(), 0, null);
            assertClose(ort(s.ids()), ours, s.toString());
        }
    }

    @Test
    void batchedSequencesGiveWhatEachGivesAlone() throws OrtException {
        List<int[]> ids = sequences.stream().map(TokenFixture::ids).toList();
        List<float[]> batched = model.lastHiddenStates(ids, 0, null);
        assertEquals(ids.size(), batched.size());
        for (int s = 0; s < ids.size(); s++) {
            float[] alone = model.lastHiddenState(ids.get(s), 0, null);
            assertArrayEquals(alone, batched.get(s), sequences.get(s).toString());
        }
        assertClose(ort(ids.getFirst()), batched.getFirst(), "batched " + sequences.getFirst());
    }

    @Test
    void aHookThatWritesTheOutputBackUnchangedChangesNothing() {
        int[] ids = sequences.getFirst().ids();
        float[] plain = model.lastHiddenState(ids, 0, null);
        for (int layer = 0; layer < model.layers(); layer++) {
            int[] calls = {0};
            float[] hooked = model.lastHiddenState(ids, layer, (tokens, in, out) -> {
                calls[0]++;
                float[] copy = out.clone();
                System.arraycopy(copy, 0, out, 0, out.length);
            });
            assertEquals(1, calls[0], "calls at layer " + layer);
            assertArrayEquals(plain, hooked, "layer " + layer);
        }
        assertArrayEquals(plain, model.lastHiddenState(ids, 2, (tokens, in, out) -> Arrays.fill(in, 0f)),
                "the hook's input is a copy");
        float[] zeroed = model.lastHiddenState(ids, 2, (tokens, in, out) -> Arrays.fill(out, 0f));
        assertFalse(Arrays.equals(plain, zeroed), "a hook that replaces the MLP output changes the result");
    }

    /** The early-stopping MLP input is, bit for bit, what a hook at that layer sees in the whole pass. */
    @Test
    void mlpInputIsWhatTheHookSees() {
        int[] ids = sequences.getFirst().ids();
        for (int layer = 0; layer < model.layers(); layer++) {
            float[][] seen = new float[1][];
            model.lastHiddenState(ids, layer, (tokens, in, out) -> seen[0] = in.clone());
            assertArrayEquals(seen[0], model.mlpInput(ids, layer), "layer " + layer);
        }
        assertThrows(IllegalArgumentException.class, () -> model.mlpInput(ids, model.layers()));
    }

    /**
     * What the hook sees is what the graph computes there: its output is the MLP applied to its input (ONNX weights,
     * in double), and at the last layer LayerNorm(input + output) is ONNX Runtime's last_hidden_state.
     */
    @Test
    void theHookSeesTheMlpInputAndOutput() throws OrtException {
        OnnxWeights w = OnnxWeights.parse(onnx);
        for (TokenFixture s : List.of(sequences.get(1), sequences.getLast())) {
            int n = s.ids().length;
            for (int layer : new int[] {0, 3, MiniLm.LAYERS - 1}) {
                List<float[]> seen = new ArrayList<>();
                model.lastHiddenState(s.ids(), layer, (tokens, in, out) -> {
                    assertEquals(n, tokens);
                    seen.add(in.clone());
                    seen.add(out.clone());
                });
                float[] in = seen.get(0), out = seen.get(1);
                assertEquals(n * MiniLm.WIDTH, in.length);
                String p = "encoder.layer." + layer + ".";
                String node = "/encoder/layer." + layer + "/";
                double[] mlp = mlp64(in, n, w.matMulWeight(node + "intermediate/dense/MatMul", MiniLm.WIDTH,
                        MiniLm.MLP_WIDTH), w.tensor(p + "intermediate.dense.bias", MiniLm.MLP_WIDTH),
                        w.matMulWeight(node + "output/dense/MatMul", MiniLm.MLP_WIDTH, MiniLm.WIDTH),
                        w.tensor(p + "output.dense.bias", MiniLm.WIDTH));
                assertClose(toFloat(mlp), out, s + ", MLP output at layer " + layer);
                if (layer == MiniLm.LAYERS - 1) {
                    float[] normed = layerNorm64(in, out, n, w.tensor(p + "output.LayerNorm.weight", MiniLm.WIDTH),
                            w.tensor(p + "output.LayerNorm.bias", MiniLm.WIDTH));
                    assertClose(ort(s.ids()), normed, s + ", LayerNorm(MLP input + output) at the last layer");
                }
            }
        }
    }

    @Test
    void badInputIsNamed() {
        var empty = assertThrows(IllegalArgumentException.class, () -> model.lastHiddenState(new int[0], 0, null));
        assertTrue(empty.getMessage().contains("tokenIds is empty"), empty.getMessage());
        var vocab = assertThrows(IllegalArgumentException.class,
                () -> model.lastHiddenState(new int[] {101, MiniLm.VOCABULARY, 102}, 0, null));
        assertTrue(vocab.getMessage().contains("token id 30522 at position 1"), vocab.getMessage());
        var negative = assertThrows(IllegalArgumentException.class,
                () -> model.lastHiddenState(new int[] {101, -1, 102}, 0, null));
        assertTrue(negative.getMessage().contains("token id -1 at position 1"), negative.getMessage());
        var tooLong = assertThrows(IllegalArgumentException.class,
                () -> model.lastHiddenState(new int[MiniLm.MAX_POSITIONS + 1], 0, null));
        assertTrue(tooLong.getMessage().contains("513 tokens"), tooLong.getMessage());
        for (int layer : new int[] {-1, MiniLm.LAYERS}) {
            var range = assertThrows(IllegalArgumentException.class,
                    () -> model.lastHiddenState(new int[] {101, 102}, layer, (t, in, out) -> { }));
            assertTrue(range.getMessage().contains("layer " + layer + " is out of range"), range.getMessage());
        }
        var second = assertThrows(IllegalArgumentException.class,
                () -> model.lastHiddenStates(List.of(new int[] {101, 102}, new int[0]), 0, null));
        assertTrue(second.getMessage().contains("(sequence 1)"), second.getMessage());
    }

    @Test
    void aBrokenModelFileIsNamed() {
        var garbage = assertThrows(IllegalArgumentException.class, () -> MiniLm.fromOnnx(new byte[] {1, 2, 3}, ops));
        assertTrue(garbage.getMessage().startsWith("not an ONNX model"), garbage.getMessage());
        OnnxWeights w = OnnxWeights.parse(onnx);
        var missing = assertThrows(IllegalArgumentException.class, () -> w.tensor("encoder.layer.6.output.dense.bias", 384));
        assertTrue(missing.getMessage().contains("no initializer 'encoder.layer.6.output.dense.bias'"),
                missing.getMessage());
        var shape = assertThrows(IllegalArgumentException.class,
                () -> w.matMulWeight("/encoder/layer.0/output/dense/MatMul", 384, 1536));
        assertTrue(shape.getMessage().contains("has shape [1536, 384], expected [384, 1536]"), shape.getMessage());
        var node = assertThrows(IllegalArgumentException.class, () -> w.matMulWeight("/encoder/layer.9/x/MatMul"));
        assertTrue(node.getMessage().contains("no node '/encoder/layer.9/x/MatMul'"), node.getMessage());
        assertEquals(1e-12f, w.scalarInput("/encoder/layer.2/output/LayerNorm/Add", "Add", 1));
        assertEquals((float) Math.sqrt(MiniLm.HEAD_WIDTH), w.scalarInput("/encoder/layer.2/attention/self/Div", "Div", 1));
    }

    /** ONNX Runtime's last_hidden_state [n, 384] for one sequence. */
    static float[] ort(int[] ids) throws OrtException {
        float[] out = reference.lastHiddenState(List.of(ids));
        assertEquals(ids.length * MiniLm.WIDTH, out.length);
        return out;
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertClose(want, got, what, TOLERANCE);
    }

    /** max|got − want| ≤ tolerance · max|want|. */
    static void assertClose(float[] want, float[] got, String what, double tolerance) {
        assertEquals(want.length, got.length, what);
        double maxWant = 0, maxErr = 0;
        for (int i = 0; i < want.length; i++) {
            maxWant = Math.max(maxWant, Math.abs(want[i]));
            maxErr = Math.max(maxErr, Math.abs((double) got[i] - want[i]));
        }
        assertTrue(maxErr <= tolerance * maxWant, what + ": max|error| = " + maxErr + " > " + tolerance + " · " + maxWant);
    }

    /** GELU(x·W1 + b1)·W2 + b2 in double. */
    private static double[] mlp64(float[] x, int n, float[] w1, float[] b1, float[] w2, float[] b2) {
        int d = MiniLm.WIDTH, h = MiniLm.MLP_WIDTH;
        double[] y = new double[n * d];
        double[] z = new double[h];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < h; j++) {
                double s = b1[j];
                for (int p = 0; p < d; p++) {
                    s += (double) x[i * d + p] * w1[p * h + j];
                }
                z[j] = Activation.GELU.apply(s);
            }
            for (int j = 0; j < d; j++) {
                double s = b2[j];
                for (int p = 0; p < h; p++) {
                    s += z[p] * w2[p * d + j];
                }
                y[i * d + j] = s;
            }
        }
        return y;
    }

    private static float[] layerNorm64(float[] a, float[] b, int n, float[] gamma, float[] beta) {
        int d = MiniLm.WIDTH;
        float[] out = new float[n * d];
        for (int i = 0; i < n; i++) {
            double mean = 0, var = 0;
            for (int j = 0; j < d; j++) {
                mean += (double) a[i * d + j] + b[i * d + j];
            }
            mean /= d;
            for (int j = 0; j < d; j++) {
                double v = (double) a[i * d + j] + b[i * d + j] - mean;
                var += v * v;
            }
            var /= d;
            for (int j = 0; j < d; j++) {
                double v = (double) a[i * d + j] + b[i * d + j] - mean;
                out[i * d + j] = (float) (v / Math.sqrt(var + 1e-12) * gamma[j] + beta[j]);
            }
        }
        return out;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
