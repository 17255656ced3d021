package dev.mxd.text.minilm;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** ONNX Runtime running an ONNX file of the model: the reference for the Java forward. Close it. */
final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtReference(byte[] onnx) throws OrtException {
        this(onnx, 0);
    }

    /** @param threads ONNX Runtime's intra-op threads, 0 for its default (one per core) */
    OrtReference(byte[] onnx, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
            }
            session = env.createSession(onnx, options);
        }
    }

    /**
     * last_hidden_state for equal-length sequences stacked into one [b, n] input (attention mask all ones, token
     * types 0).
     *
     * @return [b, n, 384] row-major
     */
    float[] lastHiddenState(List<int[]> sequences) throws OrtException {
        int n = sequences.getFirst().length;
        long[][] ids = new long[sequences.size()][];
        long[][] mask = new long[sequences.size()][n];
        long[][] types = new long[sequences.size()][n];
        for (int i = 0; i < ids.length; i++) {
            if (sequences.get(i).length != n) {
                throw new IllegalArgumentException("sequences of different lengths: " + n + " and "
                        + sequences.get(i).length);
            }
            ids[i] = Arrays.stream(sequences.get(i)).asLongStream().toArray();
            Arrays.fill(mask[i], 1);
        }
        try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
             OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor c = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            FloatBuffer fb = ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
