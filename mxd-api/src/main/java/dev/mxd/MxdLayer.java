package dev.mxd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A model loaded onto a backend: the forward pass, fused or in the two steps of DESIGN §1.
 *
 * <p>Every tensor argument is a row-major float32 table in native byte order: {@code x} [T, I] inputs,
 * {@code y} [T, O] outputs, and {@link Codes} [T, width]. Segments may be native or heap; the caller owns
 * them. This class checks every argument once (sizes, token count, code range, closed state, and with
 * {@code -Dmxd.checkFinite=true} NaN/Inf inputs) and then hands over to the backend, so backends see only
 * valid calls.
 *
 * <p>Thread safety: one layer may be called from several threads at once; each call writes only its own
 * outputs. Close the layer (it frees what the backend packed or uploaded) before its {@link MxdModel}.
 */
public abstract class MxdLayer implements AutoCloseable {
    /**
     * {@code -Dmxd.checkFinite=true}: reject NaN or infinite weights (at {@link Backend#load}), inputs and code
     * values, naming the position. Off (the default), nothing is scanned and a non-finite value propagates to the
     * outputs as IEEE arithmetic takes it (DESIGN §6); it never crashes.
     */
    public static final boolean CHECK_FINITE = Boolean.getBoolean("mxd.checkFinite");

    /**
     * With {@link #CHECK_FINITE} on, checks that every floating-point tensor of {@code model} is finite; each
     * backend's {@link Backend#load} calls it first. Off, it does nothing.
     *
     * @throws IllegalArgumentException naming the tensor, its shape and the element's row and column
     */
    public static void checkFiniteWeights(MxdModel model) {
        if (!CHECK_FINITE) {
            return;
        }
        for (var e : model.tensors().entrySet()) {
            dev.mxd.tensor.Tensor t = e.getValue();
            if (t.dtype() != dev.mxd.tensor.DType.F32) {
                continue;
            }
            long[] shape = t.shape();
            long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
            for (long i = 0, n = t.elementCount(); i < n; i++) {
                float v = t.data().getAtIndex(dev.mxd.tensor.Tensor.F32_LE, i);
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("weight " + e.getKey() + java.util.Arrays.toString(shape)
                            + " holds " + v + " at " + (shape.length > 1 ? "row " + i / cols + ", column " + i % cols
                            : "element " + i) + " (mxd.checkFinite is on)");
                }
            }
        }
    }

    private final MxdConfig config;
    private final String backendName;
    private final CloseOnce closed = new CloseOnce();

    protected MxdLayer(MxdConfig config, String backendName) {
        this.config = Objects.requireNonNull(config, "config");
        this.backendName = Objects.requireNonNull(backendName, "backendName");
    }

    public final MxdConfig config() {
        return config;
    }

    /** The name of the backend that runs this layer. */
    public final String backendName() {
        return backendName;
    }

    /**
     * The fused forward pass: {@code y} [T, O] and the K codes per token, exactly what {@link #encode}
     * followed by {@link #decode} gives.
     *
     * @param x      [tokens, I] inputs
     * @param tokens T ≥ 1
     * @param y      [tokens, O], overwritten
     * @param codes  [tokens, K], overwritten with the codes that produced {@code y}
     */
    public final void forward(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        checkOpen();
        checkInput(x, tokens);
        checkOutput(y, tokens);
        checkCodeTable(codes, tokens, true);
        forwardImpl(x, tokens, y, codes);
    }

    /**
     * The first step: the K codes per token (for an MxD the top K of {@code relu(x·gateᵀ + gate_bias)}; for a
     * TC or STC the top K hidden units), sorted by value descending, ties to the lower index.
     *
     * @param codes [tokens, K], overwritten
     */
    public final void encode(MemorySegment x, int tokens, Codes codes) {
        checkOpen();
        checkInput(x, tokens);
        checkCodeTable(codes, tokens, true);
        encodeImpl(x, tokens, codes);
    }

    /**
     * The second step with caller-supplied codes of any width: for an MxD
     * {@code y = (z·W_dec) ⊙ Σⱼ value·C[index] [+ skip] + b_dec_out}; for a TC or STC
     * {@code y = Σⱼ value·W_dec[index] [+ skip] + b_dec_out}.
     *
     * @param codes [tokens, any width]; every index in [0, N) for an MxD, [0, H) otherwise
     * @param y     [tokens, O], overwritten
     * @throws IllegalArgumentException naming the token and slot of an index out of range
     */
    public final void decode(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
        checkOpen();
        checkInput(x, tokens);
        checkOutput(y, tokens);
        checkCodeTable(codes, tokens, false);
        checkCodeContents(codes);
        decodeImpl(x, tokens, codes, y);
    }

    /** The fused forward on heap arrays: {@code x} holds T·I floats row-major; returns y and the codes. */
    public final Output forward(float[] x) {
        int tokens = tokensOf(x);
        float[] y = new float[Math.multiplyExact(tokens, config.outputDim())];
        Codes codes = Codes.onHeap(tokens, config.k());
        forward(MemorySegment.ofArray(x), tokens, MemorySegment.ofArray(y), codes);
        return new Output(y, codes);
    }

    /** {@link #encode} on a heap array of T·I floats; returns heap codes [T, K]. */
    public final Codes encode(float[] x) {
        int tokens = tokensOf(x);
        Codes codes = Codes.onHeap(tokens, config.k());
        encode(MemorySegment.ofArray(x), tokens, codes);
        return codes;
    }

    /** {@link #decode} on a heap array of T·I floats; returns y as T·O floats. */
    public final float[] decode(float[] x, Codes codes) {
        int tokens = tokensOf(x);
        float[] y = new float[Math.multiplyExact(tokens, config.outputDim())];
        decode(MemorySegment.ofArray(x), tokens, codes, MemorySegment.ofArray(y));
        return y;
    }

    /** The output of a heap forward: {@code y} [T, O] row-major and the codes [T, K]. */
    public record Output(float[] y, Codes codes) {
    }

    public final boolean isClosed() {
        return closed.isClosed();
    }

    /** Frees what the backend holds for this layer. Idempotent; calls after close throw. */
    @Override
    public final void close() {
        if (closed.close()) {
            closeImpl();
        }
    }

    /** Backend implementation of {@link #forward}; arguments are already checked. */
    protected abstract void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes);

    /** Backend implementation of {@link #encode}; arguments are already checked. */
    protected abstract void encodeImpl(MemorySegment x, int tokens, Codes codes);

    /** Backend implementation of {@link #decode}; arguments, code indices included, are already checked. */
    protected abstract void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y);

    /** Releases backend resources; called once. */
    protected abstract void closeImpl();

    private void checkOpen() {
        if (closed.isClosed()) {
            throw new IllegalStateException("this MxdLayer (backend " + backendName + ") is closed");
        }
    }

    private int tokensOf(float[] x) {
        int i = config.inputDim();
        if (x.length % i != 0) {
            throw new IllegalArgumentException("input x has " + x.length + " floats, not a multiple of the input width I = " + i);
        }
        return x.length / i;
    }

    private void checkInput(MemorySegment x, int tokens) {
        Objects.requireNonNull(x, "x");
        if (tokens < 1) {
            throw new IllegalArgumentException("tokens (T) = " + tokens + ": a forward pass needs at least one token");
        }
        long expected = (long) tokens * config.inputDim() * Float.BYTES;
        if (x.byteSize() != expected) {
            String width = x.byteSize() % ((long) tokens * Float.BYTES) == 0
                    ? "width " + x.byteSize() / Float.BYTES / tokens : x.byteSize() + " bytes";
            throw new IllegalArgumentException("input x [" + tokens + ", ?] has " + width
                    + " but this model's input width is I = " + config.inputDim() + " (" + expected + " bytes expected)");
        }
        if (CHECK_FINITE) {
            long n = (long) tokens * config.inputDim();
            for (long e = 0; e < n; e++) {
                float v = x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e);
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("input x holds " + v + " at token " + e / config.inputDim()
                            + ", column " + e % config.inputDim() + " (mxd.checkFinite is on)");
                }
            }
        }
    }

    private void checkOutput(MemorySegment y, int tokens) {
        Objects.requireNonNull(y, "y");
        long expected = (long) tokens * config.outputDim() * Float.BYTES;
        if (y.byteSize() != expected) {
            throw new IllegalArgumentException("output y must be [" + tokens + ", " + config.outputDim() + "] floats ("
                    + expected + " bytes), got " + y.byteSize() + " bytes");
        }
        if (y.isReadOnly()) {
            throw new IllegalArgumentException("output y is a read-only segment");
        }
    }

    private void checkCodeTable(Codes codes, int tokens, boolean widthMustBeK) {
        Objects.requireNonNull(codes, "codes");
        if (codes.tokens() != tokens) {
            throw new IllegalArgumentException("codes hold " + codes.tokens() + " tokens, the input " + tokens);
        }
        if (widthMustBeK && codes.width() != config.k()) {
            throw new IllegalArgumentException("codes have width " + codes.width() + " but encode writes K = "
                    + config.k() + " per token");
        }
        if (widthMustBeK && (codes.indexSegment().isReadOnly() || codes.valueSegment().isReadOnly())) {
            throw new IllegalArgumentException("codes are read-only segments");
        }
    }

    private void checkCodeContents(Codes codes) {
        int space = config.codeSpace();
        for (int t = 0; t < codes.tokens(); t++) {
            for (int j = 0; j < codes.width(); j++) {
                int idx = codes.index(t, j);
                if (idx < 0 || idx >= space) {
                    throw new IllegalArgumentException("code index " + idx + " at token " + t + ", slot " + j
                            + " is out of range [0, " + space + ") (" + (config.kind() == Kind.MXD ? "n_experts" : "d_sae") + ")");
                }
                if (CHECK_FINITE && !Float.isFinite(codes.value(t, j))) {
                    throw new IllegalArgumentException("code value " + codes.value(t, j) + " at token " + t + ", slot "
                            + j + " is not finite (mxd.checkFinite is on)");
                }
            }
        }
    }
}
