package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;

/**
 * What every pass over one layer's weights is built from: the layer's shape and kind, copied out of its
 * {@link MxdConfig} into final fields (the kernels' loops read them per row, where a record accessor chain would
 * not be hoisted as reliably), the kernel set and the worker pool the pass runs on.
 */
abstract class LayerPass {
    final Kernels kern;
    final WorkerPool pool;
    /** I, H, O, N (0 for a TC/STC), K. */
    final int inDim, hidden, outDim, experts, k;
    final Activation act;
    /** Whether the layer is an MxD (else a TC or STC), has a GLU branch, has a skip connection. */
    final boolean mxd, glu, skip;

    LayerPass(MxdConfig cfg, Kernels kern, WorkerPool pool) {
        this.kern = kern;
        this.pool = pool;
        this.inDim = cfg.inputDim();
        this.hidden = cfg.hiddenDim();
        this.outDim = cfg.outputDim();
        this.experts = cfg.experts();
        this.k = cfg.k();
        this.act = cfg.activation();
        this.mxd = cfg.kind() == Kind.MXD;
        this.glu = cfg.glu();
        this.skip = cfg.skip();
    }
}
