package dev.mxd.cpu;

import dev.mxd.Codes;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.MemorySegment;

/**
 * An MxD, TC or STC layer on the cpu backend: the model's weights packed once ({@link LayerWeights}) and the
 * backend's forward pass ({@link LayerForward}) over them. Encode followed by decode gives the forward's results
 * bit for bit, and a token's results do not depend on the other tokens of its call (see {@link LayerForward}).
 *
 * <p>Thread safety: the packed weights are read-only after {@link #load}; every call makes its own scratch.
 */
final class CpuLayer extends MxdLayer {
    private final LayerForward forward;
    /** Null once closed; calls read it once, so a call racing with close finishes on the weights it began with. */
    private volatile LayerWeights weights;

    private CpuLayer(MxdConfig cfg, LayerForward forward, LayerWeights weights) {
        super(cfg, CpuBackend.NAME);
        this.forward = forward;
        this.weights = weights;
    }

    /** Packs every weight of {@code model} for {@code kern}; nothing of the model is kept. */
    static CpuLayer load(MxdModel model, Kernels kern, WorkerPool pool) {
        return new CpuLayer(model.config(), new LayerForward(model.config(), kern, pool),
                LayerWeights.pack(model, kern, pool));
    }

    @Override
    protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
        forward.run(LayerForward.Op.FORWARD, weights(), x, tokens, codes, y, null);
    }

    @Override
    protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
        forward.run(LayerForward.Op.ENCODE, weights(), x, tokens, codes, null, null);
    }

    @Override
    protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
        forward.run(LayerForward.Op.DECODE, weights(), x, tokens, codes, y, null);
    }

    private LayerWeights weights() {
        LayerWeights w = weights;
        if (w == null) {
            throw new IllegalStateException("this MxdLayer (backend " + CpuBackend.NAME + ") is closed");
        }
        return w;
    }

    @Override
    protected void closeImpl() {
        weights = null;
    }
}
