package dev.mxd.cpu;

import static dev.mxd.cpu.VectorKernels.F;
import static dev.mxd.cpu.VectorKernels.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * {@link VectorKernels}' kernels over rows of a table picked by index (the gather of {@code Cᵀa}, the sparse
 * gradients' rows of dm and x): four rows in flight at a time, since a row of a large table comes from memory and
 * several outstanding reads hide more of the wait. Rows left over after the fours go through {@code one}'s one-row
 * kernels ({@link Kernels#dot}, {@link Kernels#axpy}), whose results the fours match bit for bit.
 */
final class VectorTableRows {
    private VectorTableRows() {
    }

    /** Four rows a pass, each row's lanes accumulated and summed exactly as {@link Kernels#dot} does. */
    static void dotRows(Kernels one, float[] table, int ld, int[] rows, int count, float[] b, int bo, int n,
                        float[] out) {
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            int o0 = rows[i] * ld, o1 = rows[i + 1] * ld, o2 = rows[i + 2] * ld, o3 = rows[i + 3] * ld;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int j = 0;
            for (int bound = F.loopBound(n); j < bound; j += L) {
                FloatVector bv = FloatVector.fromArray(F, b, bo + j);
                a0 = FloatVector.fromArray(F, table, o0 + j).fma(bv, a0);
                a1 = FloatVector.fromArray(F, table, o1 + j).fma(bv, a1);
                a2 = FloatVector.fromArray(F, table, o2 + j).fma(bv, a2);
                a3 = FloatVector.fromArray(F, table, o3 + j).fma(bv, a3);
            }
            if (j < n) {
                VectorMask<Float> m = F.indexInRange(j, n);
                FloatVector bv = FloatVector.fromArray(F, b, bo + j, m);
                a0 = FloatVector.fromArray(F, table, o0 + j, m).fma(bv, a0);
                a1 = FloatVector.fromArray(F, table, o1 + j, m).fma(bv, a1);
                a2 = FloatVector.fromArray(F, table, o2 + j, m).fma(bv, a2);
                a3 = FloatVector.fromArray(F, table, o3 + j, m).fma(bv, a3);
            }
            out[i] = laneSum(a0);
            out[i + 1] = laneSum(a1);
            out[i + 2] = laneSum(a2);
            out[i + 3] = laneSum(a3);
        }
        for (; i < count; i++) {
            out[i] = one.dot(table, rows[i] * ld, b, bo, n);
        }
    }

    /**
     * Four rows a pass, each vector of them loaded once for its four dot accumulators (as {@link Kernels#dotRows})
     * and the destination's four fused multiply-adds (as {@link Kernels#scaledRowSum}).
     */
    static void dotRowsAndScaledRowSum(Kernels one, float[] table, int ld, int[] rows, int count, float[] b, int bo,
                                       int n, float[] dots, float[] scale, float[] dst, int dOff) {
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            int o0 = rows[i] * ld, o1 = rows[i + 1] * ld, o2 = rows[i + 2] * ld, o3 = rows[i + 3] * ld;
            FloatVector s0 = FloatVector.broadcast(F, scale[i]), s1 = FloatVector.broadcast(F, scale[i + 1]);
            FloatVector s2 = FloatVector.broadcast(F, scale[i + 2]), s3 = FloatVector.broadcast(F, scale[i + 3]);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int j = 0;
            for (int bound = F.loopBound(n); j < bound; j += L) {
                FloatVector bv = FloatVector.fromArray(F, b, bo + j);
                FloatVector r0 = FloatVector.fromArray(F, table, o0 + j), r1 = FloatVector.fromArray(F, table, o1 + j);
                FloatVector r2 = FloatVector.fromArray(F, table, o2 + j), r3 = FloatVector.fromArray(F, table, o3 + j);
                a0 = r0.fma(bv, a0);
                a1 = r1.fma(bv, a1);
                a2 = r2.fma(bv, a2);
                a3 = r3.fma(bv, a3);
                FloatVector acc = FloatVector.fromArray(F, dst, dOff + j);
                acc = s0.fma(r0, acc);
                acc = s1.fma(r1, acc);
                acc = s2.fma(r2, acc);
                s3.fma(r3, acc).intoArray(dst, dOff + j);
            }
            if (j < n) {
                VectorMask<Float> m = F.indexInRange(j, n);
                FloatVector bv = FloatVector.fromArray(F, b, bo + j, m);
                FloatVector r0 = FloatVector.fromArray(F, table, o0 + j, m);
                FloatVector r1 = FloatVector.fromArray(F, table, o1 + j, m);
                FloatVector r2 = FloatVector.fromArray(F, table, o2 + j, m);
                FloatVector r3 = FloatVector.fromArray(F, table, o3 + j, m);
                a0 = r0.fma(bv, a0);
                a1 = r1.fma(bv, a1);
                a2 = r2.fma(bv, a2);
                a3 = r3.fma(bv, a3);
                FloatVector acc = FloatVector.fromArray(F, dst, dOff + j, m);
                acc = s0.fma(r0, acc);
                acc = s1.fma(r1, acc);
                acc = s2.fma(r2, acc);
                s3.fma(r3, acc).intoArray(dst, dOff + j, m);
            }
            dots[i] = laneSum(a0);
            dots[i + 1] = laneSum(a1);
            dots[i + 2] = laneSum(a2);
            dots[i + 3] = laneSum(a3);
        }
        for (; i < count; i++) {
            dots[i] = one.dot(table, rows[i] * ld, b, bo, n);
            one.axpy(scale[i], table, rows[i] * ld, dst, dOff, n);
        }
    }

    /** The lanes of v summed in lane order, as the vector {@link Kernels#dot} ends its sum. */
    private static float laneSum(FloatVector v) {
        float s = 0f;
        for (int l = 0; l < L; l++) {
            s += v.lane(l);
        }
        return s;
    }

    /** Four rows a pass: each element's four fused multiply-adds in order of i, as four {@link Kernels#axpy} calls. */
    static void scaledRowSum(Kernels one, float[] table, int ld, int c0, int[] rows, float[] scale, int count,
                             float[] dst, int dOff, int cols) {
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            int o0 = rows[i] * ld + c0, o1 = rows[i + 1] * ld + c0;
            int o2 = rows[i + 2] * ld + c0, o3 = rows[i + 3] * ld + c0;
            FloatVector s0 = FloatVector.broadcast(F, scale[i]), s1 = FloatVector.broadcast(F, scale[i + 1]);
            FloatVector s2 = FloatVector.broadcast(F, scale[i + 2]), s3 = FloatVector.broadcast(F, scale[i + 3]);
            int j = 0;
            for (; j <= cols - L; j += L) {
                FloatVector acc = FloatVector.fromArray(F, dst, dOff + j);
                acc = s0.fma(FloatVector.fromArray(F, table, o0 + j), acc);
                acc = s1.fma(FloatVector.fromArray(F, table, o1 + j), acc);
                acc = s2.fma(FloatVector.fromArray(F, table, o2 + j), acc);
                s3.fma(FloatVector.fromArray(F, table, o3 + j), acc).intoArray(dst, dOff + j);
            }
            if (j < cols) {
                VectorMask<Float> m = F.indexInRange(j, cols);
                FloatVector acc = FloatVector.fromArray(F, dst, dOff + j, m);
                acc = s0.fma(FloatVector.fromArray(F, table, o0 + j, m), acc);
                acc = s1.fma(FloatVector.fromArray(F, table, o1 + j, m), acc);
                acc = s2.fma(FloatVector.fromArray(F, table, o2 + j, m), acc);
                s3.fma(FloatVector.fromArray(F, table, o3 + j, m), acc).intoArray(dst, dOff + j, m);
            }
        }
        for (; i < count; i++) {
            one.axpy(scale[i], table, rows[i] * ld + c0, dst, dOff, cols);
        }
    }
}
