package dev.mxd;

import java.util.Arrays;
import java.util.Objects;

/**
 * The dense operations of a transformer that is not an MxD layer, on one backend: the model whose activations mxd
 * harvests and whose MLP a trained layer replaces (DESIGN §7) runs on them, so it runs where {@code -Dmxd.backend}
 * says. Two operations: a dense layer {@code y = act(x·W + b)} with W prepared once ({@link #dense}), and multi-head
 * scaled dot-product self-attention with no mask ({@link #selfAttention}).
 *
 * <p>Every matrix is a row-major float32 heap array. This class checks every argument once (nulls, sizes, closed
 * state) and then hands over to the backend, so backends see only valid calls. Numerics: within DESIGN §6 of the
 * float64 definitions (the {@code reference} backend computes them in double).
 *
 * <p>Ownership: the caller of {@link Backend#denseOps()} owns the ops and closes them; closing releases what the
 * backend holds for the ops and for every {@link Dense} they made (device buffers, a context), after which neither
 * may be called. A {@link Dense} may be closed earlier to release its weights alone. Thread safety: the ops and
 * their layers may be called from several threads at once; a backend may serialise the calls.
 */
public abstract class DenseOps implements AutoCloseable {
    private final String backendName;
    private final CloseOnce closed = new CloseOnce();

    protected DenseOps(String backendName) {
        this.backendName = Objects.requireNonNull(backendName, "backendName");
    }

    /** The name of the backend that runs these operations. */
    public final String backendName() {
        return backendName;
    }

    /**
     * Prepares a dense layer {@code y = act(x·W + b)} (packed or uploaded once, so calls do no per-call packing).
     *
     * @param name       what the layer is, for error messages
     * @param weight     W [inputs, outputs] row-major (the layout of an ONNX {@code MatMul} initializer, the
     *                   transpose of a PyTorch {@code Linear.weight}); read during this call only
     * @param bias       b [outputs], or null for none; read during this call only
     * @param activation applied after the bias, or null for none
     * @return a layer owned by these ops (see the class comment)
     * @throws IllegalArgumentException when a size is not positive or an array does not match it
     * @throws IllegalStateException    when the ops are closed
     */
    public final Dense dense(String name, float[] weight, int inputs, int outputs, float[] bias,
                             Activation activation) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(weight, name + " weight");
        checkOpen();
        if (inputs < 1 || outputs < 1) {
            throw new IllegalArgumentException(name + ": sizes must be >= 1, got inputs = " + inputs + ", outputs = "
                    + outputs);
        }
        if (weight.length != (long) inputs * outputs) {
            throw new IllegalArgumentException(name + ": weight has " + weight.length + " values, expected ["
                    + inputs + ", " + outputs + "]");
        }
        if (bias != null && bias.length != outputs) {
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " values, expected [" + outputs
                    + "]");
        }
        return denseImpl(name, weight, inputs, outputs, bias, activation);
    }

    /**
     * For every sequence s and head h, {@code context[i, h·d .. h·d + d) = Σ_j softmax_j(q_i·k_j / divisor) · v_j}
     * over the positions i, j of s, with q, k, v the head's d columns of the query, key and value blocks of
     * {@code qkv}. Positions attend only within their own sequence; there is no mask.
     *
     * @param qkv       [rows, 3·heads·d] row-major: per row the queries, then the keys, then the values, each
     *                  [heads, d]; read only
     * @param starts    the first row of each sequence, then the total row count rows: {@code starts[0] = 0},
     *                  {@code starts[s] ≤ starts[s + 1]} (a sequence may be empty)
     * @param heads     heads per row, ≥ 1
     * @param d         width of one head, ≥ 1
     * @param divisor   the scores are divided by it (√d for scaled dot-product attention); positive and finite
     * @param context   [rows, heads·d] row-major; overwritten
     * @throws IllegalArgumentException for sizes that do not fit the arrays, unordered starts or a bad divisor
     * @throws IllegalStateException    when the ops are closed
     */
    public final void selfAttention(float[] qkv, int[] starts, int heads, int d, float divisor, float[] context) {
        Objects.requireNonNull(qkv, "qkv");
        Objects.requireNonNull(starts, "starts");
        Objects.requireNonNull(context, "context");
        checkOpen();
        if (heads < 1 || d < 1) {
            throw new IllegalArgumentException("heads and d must be >= 1, got heads = " + heads + ", d = " + d);
        }
        if (!(divisor > 0) || Float.isInfinite(divisor)) {
            throw new IllegalArgumentException("divisor must be positive and finite, got " + divisor);
        }
        if (starts.length < 2 || starts[0] != 0) {
            throw new IllegalArgumentException("starts must begin with 0 and end with the row count, got "
                    + Arrays.toString(starts));
        }
        for (int s = 1; s < starts.length; s++) {
            if (starts[s] < starts[s - 1]) {
                throw new IllegalArgumentException("starts must not decrease: starts[" + s + "] = " + starts[s]
                        + " < starts[" + (s - 1) + "] = " + starts[s - 1]);
            }
        }
        long width = (long) heads * d;
        long rows = starts[starts.length - 1];
        if (qkv.length < rows * 3 * width || context.length < rows * width) {
            throw new IllegalArgumentException("qkv [" + rows + ", " + 3 * width + "] and context [" + rows + ", "
                    + width + "] need " + rows * 3 * width + " and " + rows * width + " values, got " + qkv.length
                    + " and " + context.length);
        }
        if (rows > 0) {
            selfAttentionImpl(qkv, starts, heads, d, divisor, context);
        }
    }

    /** Releases what the backend holds for these ops and their layers; idempotent. */
    @Override
    public final void close() {
        if (closed.close()) {
            closeImpl();
        }
    }

    public final boolean isClosed() {
        return closed.isClosed();
    }

    private void checkOpen() {
        if (closed.isClosed()) {
            throw new IllegalStateException("these DenseOps (backend " + backendName + ") are closed");
        }
    }

    /** {@link #dense} after its checks; must not keep {@code weight} or {@code bias}. */
    protected abstract Dense denseImpl(String name, float[] weight, int inputs, int outputs, float[] bias,
                                       Activation activation);

    /** {@link #selfAttention} after its checks, with at least one row. */
    protected abstract void selfAttentionImpl(float[] qkv, int[] starts, int heads, int d, float divisor,
                                              float[] context);

    /** Releases the backend's resources; called once. */
    protected abstract void closeImpl();

    /**
     * A dense layer {@code y = act(x·W + b)} of some {@link DenseOps}; immutable, its weights prepared at creation.
     */
    public abstract static class Dense implements AutoCloseable {
        private final DenseOps owner;
        private final String name;
        private final int inputs;
        private final int outputs;
        private final CloseOnce closed = new CloseOnce();

        protected Dense(DenseOps owner, String name, int inputs, int outputs) {
            this.owner = Objects.requireNonNull(owner, "owner");
            this.name = Objects.requireNonNull(name, "name");
            this.inputs = inputs;
            this.outputs = outputs;
        }

        /** What the layer is, as given to {@link DenseOps#dense}. */
        public final String name() {
            return name;
        }

        /** Columns of x, rows of W. */
        public final int inputs() {
            return inputs;
        }

        /** Columns of y and W. */
        public final int outputs() {
            return outputs;
        }

        /**
         * {@code y = act(x·W + b)} for {@code rows} rows.
         *
         * @param x [rows, inputs] row-major (at least that many values); read only
         * @param y [rows, outputs] row-major (at least that many values); overwritten, and not the array x
         * @throws IllegalArgumentException for a negative row count, an array shorter than its matrix, or x = y
         * @throws IllegalStateException    when the layer or its ops are closed
         */
        public final void apply(int rows, float[] x, float[] y) {
            Objects.requireNonNull(x, "x");
            Objects.requireNonNull(y, "y");
            if (closed.isClosed() || owner.isClosed()) {
                throw new IllegalStateException("dense layer " + name + " (backend " + owner.backendName
                        + ") is closed");
            }
            if (rows < 0) {
                throw new IllegalArgumentException(name + ": rows must be >= 0, got " + rows);
            }
            if (x.length < (long) rows * inputs || y.length < (long) rows * outputs) {
                throw new IllegalArgumentException(name + ": x [" + rows + ", " + inputs + "] and y [" + rows + ", "
                        + outputs + "] need " + (long) rows * inputs + " and " + (long) rows * outputs
                        + " values, got " + x.length + " and " + y.length);
            }
            if (x == y) {
                throw new IllegalArgumentException(name + ": x and y must be different arrays");
            }
            if (rows > 0) {
                applyImpl(rows, x, y);
            }
        }

        /** Releases this layer's weights ahead of its ops; idempotent, and a no-op once the ops are closed. */
        @Override
        public final void close() {
            if (closed.close() && !owner.isClosed()) {
                closeImpl();
            }
        }

        /** {@link #apply} after its checks, with at least one row. */
        protected abstract void applyImpl(int rows, float[] x, float[] y);

        /** Releases what the backend holds for this layer alone; by default nothing. */
        protected void closeImpl() {
        }
    }
}
