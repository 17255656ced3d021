package dev.mxd.cpu;

import dev.mxd.Activation;
import dev.mxd.DenseOps;

/**
 * The dense operations of the cpu backend: {@link PackedDense} (W packed once, bias and activation applied to each
 * tile while it is in cache) and {@link Attention}, both over the shared worker threads. Holds heap arrays only:
 * closing releases nothing, the packed weights go with the garbage collector.
 */
final class CpuDenseOps extends DenseOps {

    CpuDenseOps() {
        super(CpuBackend.NAME);
    }

    @Override
    protected Dense denseImpl(String name, float[] weight, int inputs, int outputs, float[] bias,
                              Activation activation) {
        PackedDense packed = PackedDense.of(name, weight, inputs, outputs, bias, activation);
        return new Dense(this, name, inputs, outputs) {
            @Override
            protected void applyImpl(int rows, float[] x, float[] y) {
                packed.apply(rows, x, y);
            }
        };
    }

    @Override
    protected void selfAttentionImpl(float[] qkv, int[] starts, int heads, int d, float divisor, float[] context) {
        Attention.selfAttention(qkv, starts, heads, d, divisor, context);
    }

    @Override
    protected void closeImpl() {
    }
}
