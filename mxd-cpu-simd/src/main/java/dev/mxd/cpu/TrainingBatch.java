package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.Codes;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import java.lang.foreign.MemorySegment;

/**
 * The workspace of a cpu trainer: every array one step of a batch of up to {@link #capacity} tokens reads or
 * writes, row-major, allocated once (at GPT-2 size hundreds of MB, which fresh allocations would hand the GC and the
 * page-fault handler every step) and dropped with the kernels. A larger batch replaces it with a larger one.
 * Null fields are parts this kind of layer does not have.
 */
final class TrainingBatch {
    final int capacity;
    final float[] x;          // [T, I]
    final float[] t;          // [T, O]
    final float[] norms;      // [T] ‖t‖ per row
    final double[] normSums;  // [T] Σ t² per row, in double
    final float[] y;          // [T, O]
    final int[] codeIndex;    // [T, K]
    final float[] codeValue;  // [T, K]
    final Codes codes;        // over codeIndex, codeValue
    final LayerForward.Intermediates kept;
    final float[] dy;         // [T, O]
    final float[] dBase;      // [T, O] MxD: dy ⊙ m
    final float[] dm;         // [T, O] MxD: dy ⊙ base
    final float[] dz;         // [T, H]
    final float[] dh;         // [T, H]
    final float[] du;         // [T, H] GLU
    /** Panels of the GEMM operands built from this step's rows: dh, du, dy, dBase [T, ·] and W_decᵀ [O, H]. */
    final float[] dhPanels, duPanels, dyPanels, dBasePanels, decTransposed;

    TrainingBatch(MxdConfig cfg, int capacity, int nr) {
        int i = cfg.inputDim(), h = cfg.hiddenDim(), o = cfg.outputDim(), k = cfg.k();
        boolean mxd = cfg.kind() == Kind.MXD;
        boolean glu = cfg.glu();
        this.capacity = capacity;
        x = new float[capacity * i];
        t = new float[capacity * o];
        norms = new float[capacity];
        normSums = new double[capacity];
        y = new float[capacity * o];
        codeIndex = new int[capacity * k];
        codeValue = new float[capacity * k];
        codes = new Codes(capacity, k, MemorySegment.ofArray(codeIndex), MemorySegment.ofArray(codeValue));
        kept = new LayerForward.Intermediates(new float[capacity * h], glu ? new float[capacity * h] : null,
                new float[capacity * h], mxd ? new float[capacity * o] : null, mxd ? new float[capacity * o] : null,
                cfg.activation() == Activation.GELU ? new float[capacity * h] : null);
        dy = new float[capacity * o];
        dBase = mxd ? new float[capacity * o] : null;
        dm = mxd ? new float[capacity * o] : null;
        dz = new float[capacity * h];
        dh = new float[capacity * h];
        du = glu ? new float[capacity * h] : null;
        dhPanels = new float[PackedMatrix.size("dh", capacity, h, nr)];
        duPanels = glu ? new float[PackedMatrix.size("du", capacity, h, nr)] : null;
        dyPanels = cfg.skip() ? new float[PackedMatrix.size("dy", capacity, o, nr)] : null;
        dBasePanels = mxd ? new float[PackedMatrix.size("dbase", capacity, o, nr)] : null;
        decTransposed = mxd ? new float[PackedMatrix.size("W_dec", o, h, nr)] : null;
    }
}
