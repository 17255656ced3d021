package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.MxdBackendException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A dense layer {@code y = act(x·W + b)} on the cpu backend's GEMM, with W packed once at construction (where
 * {@link Sgemm} packs its B on every call): for models outside mxd's own layers, e.g. the transformer that
 * activations are harvested from. Bias and activation are applied to each C tile while it is in cache.
 *
 * <p>Reached through {@link CpuDenseOps}: {@link dev.mxd.DenseOps#dense} has checked the arguments of {@link #of}.
 * Holds heap arrays only (nothing to close). Immutable and safe to call from several threads at once: every
 * call makes its own scratch.
 */
final class PackedDense {
    private final Kernels kern;
    private final PackedMatrix weight;
    private final float[] bias;
    private final Activation activation;

    private PackedDense(Kernels kern, PackedMatrix weight, float[] bias, Activation activation) {
        this.kern = kern;
        this.weight = weight;
        this.bias = bias;
        this.activation = activation;
    }

    /**
     * Packs a weight for {@link #apply}.
     *
     * @param name       what the layer is, for error messages
     * @param weight     W [inputs, outputs] row-major (the layout of an ONNX {@code MatMul} initializer, i.e. the
     *                   transpose of a PyTorch {@code Linear.weight}); copied, not kept
     * @param bias       b [outputs], or null for none; copied
     * @param activation applied after the bias, or null for none (the {@link Activation} float kernels, within
     *                   DESIGN §6 of its double definition)
     * @throws MxdBackendException when the cpu kernels are unavailable in this JVM, with the fix
     */
    static PackedDense of(String name, float[] weight, int inputs, int outputs, float[] bias,
                                 Activation activation) {
        Kernels kern = Sgemm.kernels();
        PackedMatrix packed = PackedMatrix.ofRows(name, MemorySegment.ofArray(weight), ValueLayout.JAVA_FLOAT_UNALIGNED,
                inputs, outputs, kern.nr, WorkerPool.shared());
        return new PackedDense(kern, packed, bias == null ? null : bias.clone(), activation);
    }

    /** Columns of x. */
    public int inputs() {
        return weight.k;
    }

    /** Columns of y. */
    public int outputs() {
        return weight.n;
    }

    /**
     * {@code y = act(x·W + b)} for {@code rows} rows, spread over the {@code mxd.threads} worker threads.
     *
     * @param x [rows, inputs] row-major; read only
     * @param y [rows, outputs] row-major; overwritten (not x: {@link dev.mxd.DenseOps.Dense#apply} has checked the
     *          arguments, and that rows ≥ 1)
     */
    void apply(int rows, float[] x, float[] y) {
        int n = outputs();
        BlockedGemm.multiply(kern, WorkerPool.shared(), rows, weight, BlockedGemm.rowsOf(x, inputs(), kern.mr),
                Blocking.DENSE_TILE_COLS, (tile, ld, row0, count, col0, cols) -> {
                    for (int r = 0; r < count; r++) {
                        if (bias != null) {
                            kern.add(tile, r * ld, bias, col0, cols);
                        }
                        if (activation != null) {
                            kern.activate(activation, tile, r * ld, cols);
                        }
                        System.arraycopy(tile, r * ld, y, (row0 + r) * n + col0, cols);
                    }
                });
    }
}
