package dev.mxd.text.minilm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import dev.mxd.Availability;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.DenseOps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model on the cpu and opencl backends against the same model on {@code reference} (float64 loops, rounded to
 * float after each operation), on three sequences of the token fixture: two cut at 24 tokens and the 3-token one.
 * Stated tolerances: the last hidden state, and the MLP input and output that a harvest reads at layer 3, within
 * 1e-5 · max|reference| per sequence (a tenth of the rule of DESIGN §7 against ONNX Runtime; measured: at most
 * 1.4e-6 on cpu and opencl), and the sentence embeddings (unit vectors) within 2e-6 per element (measured: at most
 * 2.9e-7). The opencl backend runs on PoCL in CI; there, an unavailable OpenCL fails the test, elsewhere it is
 * skipped with the reason.
 */
class MiniLmBackendsTest {
    private static final double HIDDEN_TOLERANCE = 1e-5;
    private static final double EMBEDDING_TOLERANCE = 2e-6;
    private static final int HOOKED_LAYER = 3;

    private static byte[] onnx;
    private static List<int[]> sequences;
    private static Run reference;

    /** What the model gives for {@link #sequences}: last hidden states, and the MLP input and output at layer 3. */
    private record Run(List<float[]> hidden, List<float[]> mlpIn, List<float[]> mlpOut) {
    }

    @BeforeAll
    static void runReference() {
        onnx = MiniLm.modelBytes();
        List<TokenFixture> all = TokenFixture.all();
        sequences = List.of(Arrays.copyOf(all.get(0).ids(), 24), Arrays.copyOf(all.get(1).ids(), 24),
                all.getLast().ids());
        reference = run(Backends.select("reference"));
    }

    @AfterAll
    static void release() {
        onnx = null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "opencl"})
    void agreesWithTheReferenceBackend(String name) {
        Backend backend = Backends.installed().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
        requireAvailable(backend);
        Run got = run(backend);
        for (int s = 0; s < sequences.size(); s++) {
            String what = name + ", sequence " + s + " (" + sequences.get(s).length + " tokens)";
            MiniLmTest.assertClose(reference.hidden().get(s), got.hidden().get(s), what + ", last hidden state",
                    HIDDEN_TOLERANCE);
            MiniLmTest.assertClose(reference.mlpIn().get(s), got.mlpIn().get(s), what + ", MLP input at layer "
                    + HOOKED_LAYER, HIDDEN_TOLERANCE);
            MiniLmTest.assertClose(reference.mlpOut().get(s), got.mlpOut().get(s), what + ", MLP output at layer "
                    + HOOKED_LAYER, HIDDEN_TOLERANCE);
            int n = sequences.get(s).length;
            float[] want = SentenceEncoder.sentenceEmbedding(reference.hidden().get(s), n, MiniLm.WIDTH);
            float[] have = SentenceEncoder.sentenceEmbedding(got.hidden().get(s), n, MiniLm.WIDTH);
            for (int j = 0; j < MiniLm.WIDTH; j++) {
                double err = Math.abs(have[j] - want[j]);
                assertTrue(err <= EMBEDDING_TOLERANCE, what + ": sentence embedding [" + j + "] is " + have[j]
                        + ", the reference backend's " + want[j]);
            }
        }
    }

    /** The sequences batched through the model on {@code backend}, the MLP of layer 3 recorded on the way. */
    private static Run run(Backend backend) {
        List<float[]> in = new ArrayList<>(), out = new ArrayList<>();
        try (DenseOps ops = backend.denseOps()) {
            MiniLm model = MiniLm.fromOnnx(onnx, ops);
            List<float[]> hidden = model.lastHiddenStates(sequences, HOOKED_LAYER, (tokens, i, o) -> {
                in.add(i.clone());
                out.add(o.clone());
            });
            return new Run(hidden, in, out);
        }
    }

    private static void requireAvailable(Backend backend) {
        Availability a = backend.availability();
        if (!a.available()) {
            String message = "backend " + backend.name() + " unavailable: " + a.detail();
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(message + " (CI=true: an unavailable backend fails the build)");
            }
            abort(message);
        }
    }
}
