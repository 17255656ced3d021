package dev.mxd.cpu;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A layer's weights in the cpu kernels' layouts (null: a part this kind of layer does not have):
 * <ul>
 *   <li>GEMM right-hand operands packed into column panels ({@link PackedMatrix}): {@code enc} = W_enc [I, H],
 *       {@code glu} = W_gluᵀ [I, H], {@code gate} = gateᵀ [I, N], {@code dec} = W_dec [H, O] (MxD),
 *       {@code skip} = W_skipᵀ [I, O];</li>
 *   <li>{@code cond} = C = W_condᵀ [N, O] rows, {@code decRows} = W_dec [H, O] rows of a TC/STC (gathered);</li>
 *   <li>bias vectors as they are.</li>
 * </ul>
 * Inference packs them once at load and only reads them; training owns one set and updates it in place, and
 * {@link #exportTo} writes them back in the model's layout.
 */
record LayerWeights(PackedMatrix enc, float[] bEnc, PackedMatrix glu, float[] bGlu, PackedMatrix gate,
                    float[] gateBias, float[] cond, PackedMatrix dec, float[] decRows, PackedMatrix skip,
                    float[] bOut) {

    /** Packs every weight of {@code model}; nothing of the model is kept. */
    static LayerWeights pack(MxdModel model, Kernels kern, WorkerPool pool) {
        MxdConfig cfg = model.config();
        int i = cfg.inputDim(), h = cfg.hiddenDim(), o = cfg.outputDim(), n = cfg.experts();
        int nr = kern.nr;
        ValueLayout.OfFloat le = Tensor.F32_LE;
        boolean mxd = cfg.kind() == Kind.MXD;
        return new LayerWeights(
                PackedMatrix.ofRows("W_enc", data(model, "W_enc"), le, i, h, nr, pool),
                vector(model, "b_enc"),
                cfg.glu() ? PackedMatrix.ofTransposed("W_glu.weight", data(model, "W_glu.weight"), le, i, h, nr, pool)
                        : null,
                cfg.glu() ? vector(model, "W_glu.bias") : null,
                mxd ? PackedMatrix.ofTransposed("gate", data(model, "gate"), le, i, n, nr, pool) : null,
                mxd ? vector(model, "gate_bias") : null,
                mxd ? Transpose.rowsOf(data(model, "W_cond"), o, n, pool) : null,
                mxd ? PackedMatrix.ofRows("W_dec", data(model, "W_dec"), le, h, o, nr, pool) : null,
                mxd ? null : vector(model, "W_dec"),
                cfg.skip() ? PackedMatrix.ofTransposed("W_skip.weight", data(model, "W_skip.weight"), le, i, o, nr, pool)
                        : null,
                vector(model, "b_dec_out"));
    }

    static MemorySegment data(MxdModel model, String name) {
        return model.tensor(name).data();
    }

    private static float[] vector(MxdModel model, String name) {
        return data(model, name).toArray(Tensor.F32_LE);
    }
}
