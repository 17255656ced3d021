package dev.mxd.cpu;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import dev.mxd.train.AdamW;
import dev.mxd.train.DecoderNorm;
import dev.mxd.train.ParameterTensors;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameters a cpu trainer owns, in the layout its kernels want, with their gradient and AdamW's moments in
 * the same layout (one {@link Slot} per trainable tensor): GEMM operands packed ({@link LayerWeights}), C = W_condᵀ
 * as [N, O] rows. Packed panels pad their last columns with zeros; the gradient there is zero too, so AdamW keeps
 * them zero and the passes below may run over whole arrays. The checkpoint layout (the model's tensors) is read by
 * {@link #importFrom} and written by {@link #exportTo} only.
 *
 * <p>The passes over parameters (decoder-norm, AdamW) are spread over the pool; every element (every row, for the
 * norms) is computed alone, in the order of the backend-neutral definitions, so results are bit-identical to
 * {@link DecoderNorm} and {@link AdamW#updateRange} whatever the thread count.
 */
final class TrainingParameters {
    /** How a slot's array relates to its tensor in the checkpoint layout. */
    private enum Layout {
        /** The same: a vector, or rows ([H, O] W_dec of a TC). */
        PLAIN,
        /** Packed panels of the tensor as B [k, n]. */
        PACKED,
        /** Packed panels of the tensor's transpose: the tensor is [n, k], B = tensorᵀ. */
        PACKED_TRANSPOSED,
        /** Rows of the tensor's transpose: W_cond [k, n] kept as C [n, k]. */
        ROWS_TRANSPOSED
    }

    /**
     * One trainable tensor: its values, gradient and moments, arrays of the same length and layout; {@code k},
     * {@code n} are B's dimensions for a packed slot, the tensor's [rows, cols] for W_cond.
     */
    record Slot(String name, Layout layout, int k, int n, float[] value, float[] grad, float[] m, float[] v) {
    }

    private final Kernels kern;
    private final WorkerPool pool;
    private final MxdConfig cfg;
    private final Map<String, Slot> slots;
    /** The values as the forward pass reads them. */
    final LayerWeights weights;
    /**
     * Per decoder row, its sum of squares as {@link #normaliseDecoder} computes it, taken by {@link #update} while
     * the rows it has just written are in cache, so that the next decoder-norm is one scaling pass; null when the
     * rows changed since (a decoder-norm, an import).
     */
    private double[] decoderSums;

    TrainingParameters(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        this.kern = kern;
        this.pool = pool;
        this.cfg = cfg;
        int i = cfg.inputDim(), h = cfg.hiddenDim(), o = cfg.outputDim(), n = cfg.experts(), nr = kern.nr;
        boolean mxd = cfg.kind() == Kind.MXD;
        Map<String, Slot> s = new LinkedHashMap<>();
        for (String name : cfg.trainableTensorNames()) {
            Slot slot = switch (name) {
                case "W_enc" -> slot(name, Layout.PACKED, i, h, PackedMatrix.size(name, i, h, nr));
                case "W_glu.weight" -> slot(name, Layout.PACKED_TRANSPOSED, i, h, PackedMatrix.size(name, i, h, nr));
                case "gate" -> slot(name, Layout.PACKED_TRANSPOSED, i, n, PackedMatrix.size(name, i, n, nr));
                case "W_cond" -> slot(name, Layout.ROWS_TRANSPOSED, o, n, Math.multiplyExact(o, n));
                case "W_dec" -> mxd ? slot(name, Layout.PACKED, h, o, PackedMatrix.size(name, h, o, nr))
                        : slot(name, Layout.PLAIN, h, o, h * o);
                case "W_skip.weight" -> slot(name, Layout.PACKED_TRANSPOSED, i, o, PackedMatrix.size(name, i, o, nr));
                default -> {
                    int len = Math.toIntExact(Tensor.elementCount(cfg.tensorShapes().get(name)));
                    yield slot(name, Layout.PLAIN, 1, len, len);
                }
            };
            s.put(name, slot);
        }
        this.slots = Collections.unmodifiableMap(s);
        this.weights = new LayerWeights(packed("W_enc", false), value("b_enc"), packed("W_glu.weight", false),
                value("W_glu.bias"), packed("gate", false), value("gate_bias"), value("W_cond"),
                mxd ? packed("W_dec", false) : null, mxd ? null : value("W_dec"), packed("W_skip.weight", false),
                value("b_dec_out"));
    }

    private static Slot slot(String name, Layout layout, int k, int n, int size) {
        return new Slot(name, layout, k, n, new float[size], new float[size], new float[size], new float[size]);
    }

    Slot slot(String name) {
        return slots.get(name);
    }

    /** The values of a plain or W_cond slot, or null when this config has no such tensor. */
    private float[] value(String name) {
        Slot s = slots.get(name);
        return s == null ? null : s.value;
    }

    /** A packed slot's values (or gradient) as a GEMM operand, or null when this config has no such tensor. */
    PackedMatrix packed(String name, boolean gradient) {
        Slot s = slots.get(name);
        return s == null ? null : PackedMatrix.over(s.k, s.n, kern.nr, gradient ? s.grad : s.value);
    }

    /** Every slot's gradient into {@code grads}, checkpoint layout. */
    void gradientsTo(ParameterTensors grads) {
        for (Slot s : slots.values()) {
            store(s, s.grad, grads.tensor(s.name).data());
        }
    }

    /** Values into {@code model}, and the moments when given. */
    void exportTo(MxdModel model, ParameterTensors first, ParameterTensors second) {
        for (Slot s : slots.values()) {
            store(s, s.value, model.tensor(s.name).data());
            if (first != null) {
                store(s, s.m, first.tensor(s.name).data());
            }
            if (second != null) {
                store(s, s.v, second.tensor(s.name).data());
            }
        }
    }

    /** Values from {@code model}, and the moments from the given tensors (zero when null). */
    void importFrom(MxdModel model, ParameterTensors first, ParameterTensors second) {
        if (!model.config().equals(cfg)) {
            throw new IllegalArgumentException("cannot import a model of another config (" + model.config() + ")");
        }
        decoderSums = null;
        for (Slot s : slots.values()) {
            load(s, model.tensor(s.name).data(), s.value);
            load(s, first == null ? null : first.tensor(s.name).data(), s.m);
            load(s, second == null ? null : second.tensor(s.name).data(), s.v);
        }
    }

    private void load(Slot s, MemorySegment src, float[] dst) {
        if (src == null) {
            java.util.Arrays.fill(dst, 0f);
            return;
        }
        switch (s.layout) {
            case PLAIN -> MemorySegment.copy(src, Tensor.F32_LE, 0, dst, 0, dst.length);
            case PACKED -> PackedMatrix.ofRows(s.name, src, Tensor.F32_LE, s.k, s.n, kern.nr, pool, dst);
            case PACKED_TRANSPOSED -> PackedMatrix.ofTransposed(s.name, src, Tensor.F32_LE, s.k, s.n, kern.nr, pool, dst);
            case ROWS_TRANSPOSED -> Transpose.toRows(src, s.k, s.n, dst, pool);
        }
    }

    private void store(Slot s, float[] src, MemorySegment dst) {
        switch (s.layout) {
            case PLAIN -> MemorySegment.copy(src, 0, dst, Tensor.F32_LE, 0, src.length);
            case PACKED -> PackedMatrix.over(s.k, s.n, kern.nr, src).unpackRows(dst);
            case PACKED_TRANSPOSED -> PackedMatrix.over(s.k, s.n, kern.nr, src).unpackTransposed(dst, new float[s.k]);
            case ROWS_TRANSPOSED -> Transpose.toColumns(src, s.k, s.n, dst, pool);
        }
    }

    /**
     * Decoder-norm ({@link DecoderNorm#normalise}, bit for bit): every decoder row (C's rows for an MxD, W_dec's for
     * a TC) scaled to unit norm, its sum of squares in double in order of o.
     *
     * @throws IllegalStateException naming the first row of zero (or non-finite) norm; nothing is then changed
     */
    void normaliseDecoder() {
        float[] rows = decoderRows();
        int count = decoderRowCount();
        int len = cfg.outputDim();
        double[] norms = decoderSums;
        decoderSums = null;
        if (norms == null) {
            double[] sums = new double[count];
            forRowBlocks(count, (r0, r1) -> DecoderRows.squares(rows, r0 * len, len, r1 - r0, sums, r0));
            norms = sums;
        }
        for (int r = 0; r < count; r++) {
            norms[r] = Math.sqrt(norms[r]);
            DecoderNorm.checkNorm(cfg, r, norms[r]);
        }
        double[] finalNorms = norms;
        forRowBlocks(count, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                double norm = finalNorms[r];
                for (int j = r * len, end = j + len; j < end; j++) {
                    rows[j] = (float) (rows[j] / norm);
                }
            }
        });
    }

    /** The decoder rows: C [N, O] for an MxD, W_dec [H, O] for a TC. */
    float[] decoderRows() {
        return cfg.kind() == Kind.MXD ? slots.get("W_cond").value : slots.get("W_dec").value;
    }

    private int decoderRowCount() {
        return cfg.kind() == Kind.MXD ? cfg.experts() : cfg.hiddenDim();
    }

    /**
     * One AdamW update of every slot from its gradient ({@link AdamW#updateRange}, bit for bit). The decoder rows
     * are updated in chunks of whole rows, each chunk's sums of squares taken right after (see {@link #decoderSums}).
     */
    void update(AdamW.Coefficients c) {
        float[] rows = decoderRows();
        int len = cfg.outputDim();
        double[] sums = new double[decoderRowCount()];
        for (Slot s : slots.values()) {
            MemorySegment p = MemorySegment.ofArray(s.value);
            MemorySegment g = MemorySegment.ofArray(s.grad);
            MemorySegment m = MemorySegment.ofArray(s.m);
            MemorySegment v = MemorySegment.ofArray(s.v);
            int count = s.value.length;
            boolean decoder = s.value == rows;
            int chunk = decoder ? Math.max(1, Blocking.PARAMETER_CHUNK / len) * len : Blocking.PARAMETER_CHUNK;
            pool.forEachBlock(Math.ceilDiv(count, chunk), () -> Boolean.TRUE, (unused, b) -> {
                int from = b * chunk, to = Math.min(count, from + chunk);
                kern.adamw(p, g, m, v, from, to, c);
                if (decoder) {
                    DecoderRows.squares(rows, from, len, (to - from) / len, sums, from / len);
                }
            });
        }
        decoderSums = sums;
    }

    @FunctionalInterface
    interface RowRange {
        void run(int r0, int r1);
    }

    private void forRowBlocks(int rows, RowRange body) {
        int per = Blocking.EXPERT_BLOCK;
        pool.forEachBlock(Math.ceilDiv(rows, per), () -> Boolean.TRUE,
                (unused, b) -> body.run(b * per, Math.min(rows, (b + 1) * per)));
    }
}
