// The training step on the device (DESIGN §2), built after gemm.cl (activate), gather.cl and topk.cl with
// the same options, MXD=0 (the training forward writes the gate scores itself, so partial_topk reads them).
// The notation is the float64 oracle's (OracleBackward).
//
// Determinism: every output element is written by exactly one work-item, which sums its terms in a fixed
// order (the reduction index ascending; tokens ascending for the sparse rows). No atomics: the sparse
// expert rows are a segmented reduction over (token, slot) pairs the host sorts by expert (a counting sort
// of the codes it downloads anyway), so a step is bit-reproducible run to run on the same device.
//
// The parameter passes (decoder-norm, its gradient projection, AdamW) compute in double, rounded once per
// stored value, exactly as DecoderNorm and AdamW.updateRange do on the host; FP_CONTRACT is off so that no
// compiler fuses a multiply and an add there.

#ifndef cl_khr_fp64
#error "training on OpenCL needs double precision (cl_khr_fp64) for decoder-norm and AdamW; this device lacks it"
#endif
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

// c[r, col] = bias[col] + Σ_d a[r·a_rs + d·a_ds] · b[d·b_ds + col·b_cs], d ascending; bias may be NULL.
// Strides let one kernel read either operand transposed (xᵀ·dh, x·gateᵀ, dbase·W_decᵀ, ...). A work-group
// computes a PRODUCT_TILE² block of c through local-memory tiles of a and b; each work-item sums its output
// over d in order, never over padding, so the result is that of the plain loop whatever the tile.
// Grid: (cols, rows) rounded up to PRODUCT_TILE, groups of PRODUCT_TILE × PRODUCT_TILE.
#define PRODUCT_TILE 16
__kernel __attribute__((reqd_work_group_size(PRODUCT_TILE, PRODUCT_TILE, 1)))
void strided_product(const __global float* a, int a_rs, int a_ds, const __global float* b, int b_ds, int b_cs,
                     const __global float* bias, __global float* c, int rows, int cols, int depth) {
    __local float a_tile[PRODUCT_TILE][PRODUCT_TILE + 1];   // [row][d]
    __local float b_tile[PRODUCT_TILE][PRODUCT_TILE + 1];   // [d][col]
    const int lc = get_local_id(0), lr = get_local_id(1);
    const int col = get_group_id(0) * PRODUCT_TILE + lc, r = get_group_id(1) * PRODUCT_TILE + lr;
    float acc = bias && col < cols ? bias[col] : 0.0f;
    for (int d0 = 0; d0 < depth; d0 += PRODUCT_TILE) {
        const int da = d0 + lc, db = d0 + lr;
        a_tile[lr][lc] = r < rows && da < depth ? a[(size_t) r * a_rs + (size_t) da * a_ds] : 0.0f;
        b_tile[lr][lc] = db < depth && col < cols ? b[(size_t) db * b_ds + (size_t) col * b_cs] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        const int n = min(PRODUCT_TILE, depth - d0);
        for (int q = 0; q < n; q++) {
            acc += a_tile[lr][q] * b_tile[q][lc];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (r < rows && col < cols) {
        c[(size_t) r * cols + col] = acc;
    }
}

// dst[0 .. n) = 0. Grid: (n).
__kernel void zero_fill(__global float* dst, int n) {
    const int i = get_global_id(0);
    if (i < n) {
        dst[i] = 0.0f;
    }
}

// dst[col] = Σ_r v[r, col], r ascending. Grid: (cols).
__kernel void column_sums(const __global float* v, int rows, int cols, __global float* dst) {
    const int col = get_global_id(0);
    if (col >= cols) {
        return;
    }
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) {
        acc += v[(size_t) r * cols + col];
    }
    dst[col] = acc;
}

// z = act(h) [⊙ u]. Grid: (n).
__kernel void activate_hidden(const __global float* h, const __global float* u, __global float* z, int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float a = activate(h[i]);
    z[i] = u ? a * u[i] : a;
}

// The MxD's TopK scores relu(g), NaN to 0 as partial_topk's fused relu. Grid: (n).
__kernel void relu_scores(const __global float* g, __global float* s, int n) {
    const int i = get_global_id(0);
    if (i < n) {
        s[i] = g[i] > 0.0f ? g[i] : 0.0f;
    }
}

// y = (base ⊙ m or m) [+ skip] + b_dec_out; base and skip may be NULL. Grid: (out, tokens).
__kernel void output_rows(const __global float* base, const __global float* m, const __global float* skip,
                          const __global float* b_dec_out, __global float* y, int tokens, int out) {
    const int o = get_global_id(0), t = get_global_id(1);
    if (o >= out || t >= tokens) {
        return;
    }
    const size_t at = (size_t) t * out + o;
    float v = base ? base[at] * m[at] : m[at];
    if (skip) {
        v += skip[at];
    }
    y[at] = v + b_dec_out[o];
}

// dy = (y − t)·f_t with f_t = 2 / (T·O·‖t‖) (per_token[t], rounded once on the host); for an MxD also
// dbase = dy ⊙ m and dm = dy ⊙ base. Grid: (out, tokens).
__kernel void output_gradient(const __global float* y, const __global float* target, const __global float* per_token,
                              const __global float* m, const __global float* base, __global float* dy,
                              __global float* dbase, __global float* dm, int tokens, int out) {
    const int o = get_global_id(0), t = get_global_id(1);
    if (o >= out || t >= tokens) {
        return;
    }
    const size_t at = (size_t) t * out + o;
    const float d = (y[at] - target[at]) * per_token[t];
    dy[at] = d;
    if (dbase) {
        dbase[at] = d * m[at];
        dm[at] = d * base[at];
    }
}

// Per (token t, slot j) with unit n = index[t, j]: dot[t, j] = Σ_o src[t, o]·rows[n, o], o ascending; with g
// (an MxD: g [tokens, units] the gate pre-activations) the dot is kept only where g[t, n] > 0 (relu').
// MxD: da·[g > 0] = dg from dm and C; TC: dz of the selected units from dy and W_dec. Grid: (k, tokens).
__kernel void code_dots(const __global int* index, int k, const __global float* src, const __global float* rows,
                        int cols, const __global float* g, int units, __global float* dot, int tokens) {
    const int j = get_global_id(0), t = get_global_id(1);
    if (j >= k || t >= tokens) {
        return;
    }
    const int n = index[(size_t) t * k + j];
    const __global float* s = src + (size_t) t * cols;
    const __global float* w = rows + (size_t) n * cols;
    float acc = 0.0f;
    for (int o = 0; o < cols; o++) {
        acc += s[o] * w[o];
    }
    dot[(size_t) t * k + j] = g && !(g[(size_t) t * units + n] > 0.0f) ? 0.0f : acc;
}

// dst[t, index[t, j]] = value[t, j] for every code, into dst zeroed before (a token's K indices are distinct,
// so no two work-items write one element). Grid: (tokens).
__kernel void scatter_codes(const __global int* index, const __global float* value, int k, __global float* dst,
                            int width, int tokens) {
    const int t = get_global_id(0);
    if (t >= tokens) {
        return;
    }
    for (int j = 0; j < k; j++) {
        dst[(size_t) t * width + index[(size_t) t * k + j]] = value[(size_t) t * k + j];
    }
}

// The sparse rows: dst[n, col] = Σ_p weight[p]·src[token(p), col] over the pairs p of unit n, pairs[start[n] ..
// start[n+1]) (p = t·k + j, sorted by token), or Σ_p weight[p] when src is NULL (a bias). A unit no token
// selected gets exactly 0. Grid: (cols, units).
__kernel void sparse_rows(const __global int* start, const __global int* pairs, int k, const __global float* weight,
                          const __global float* src, int cols, __global float* dst, int units) {
    const int col = get_global_id(0), n = get_global_id(1);
    if (col >= cols || n >= units) {
        return;
    }
    float acc = 0.0f;
    for (int q = start[n], end = start[n + 1]; q < end; q++) {
        const int p = pairs[q];
        acc += src ? weight[p] * src[(size_t) (p / k) * cols + col] : weight[p];
    }
    dst[(size_t) n * cols + col] = acc;
}

// The activation's derivative, as Activation.derivative defines it (in float here).
float activate_derivative(float h) {
#if ACTIVATION == ACT_RELU
    return h > 0.0f ? 1.0f : 0.0f;
#elif ACTIVATION == ACT_GELU
    const float cdf = 0.5f * erfc(-h * M_SQRT1_2_F);
    const float pdf = exp(-0.5f * h * h) * 0.3989422804014327f;
    return cdf + h * pdf;
#elif ACTIVATION == ACT_GELU_TANH
    const float beta = 0.7978845608028654f, kappa = 0.044715f;
    const float th = tanh(beta * (h + kappa * h * h * h));
    return 0.5f * (1.0f + th) + 0.5f * h * (1.0f - th * th) * beta * (1.0f + 3.0f * kappa * h * h);
#elif ACTIVATION == ACT_SIGMOID
    const float s = 1.0f / (1.0f + exp(-h));
    return s * (1.0f - s);
#elif ACTIVATION == ACT_SILU
    const float s = 1.0f / (1.0f + exp(-h));
    return s * (1.0f + h * (1.0f - s));
#else
#error "training needs an activation"
#endif
}

// dact = dz [⊙ u];  du = dz ⊙ act(h) (GLU);  dh = dact ⊙ act'(h). A zero dz gives exactly zero dh and du.
// Grid: (n).
__kernel void activation_gradient(const __global float* dz, const __global float* h, const __global float* u,
                                  __global float* dh, __global float* du, int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float d = dz[i];
    if (d == 0.0f) {
        dh[i] = 0.0f;
        if (u) {
            du[i] = 0.0f;
        }
        return;
    }
    float dact = d;
    if (u) {
        du[i] = d * activate(h[i]);
        dact = d * u[i];
    }
    dh[i] = dact * activate_derivative(h[i]);
}

// sums[n] = Σ_o a[n, o]·b[n, o] in double, o ascending (DecoderNorm's row sums). Grid: (rows).
__kernel void row_dots(const __global float* a, const __global float* b, __global double* sums, int rows, int cols) {
    const int n = get_global_id(0);
    if (n >= rows) {
        return;
    }
    double acc = 0.0;
    for (int o = 0; o < cols; o++) {
        acc += (double) a[(size_t) n * cols + o] * b[(size_t) n * cols + o];
    }
    sums[n] = acc;
}

// w[n, :] = (float) (w[n, :] / norm[n]) with norm[n] = sqrt(sums[n]), the host having checked every norm.
// Grid: (cols, rows).
__kernel void scale_rows(__global float* w, const __global double* sums, int rows, int cols) {
    const int o = get_global_id(0), n = get_global_id(1);
    if (o >= cols || n >= rows) {
        return;
    }
    const size_t at = (size_t) n * cols + o;
    w[at] = (float) ((double) w[at] / sqrt(sums[n]));
}

// g[n, :] −= dot[n]·w[n, :] where dot[n] ≠ 0 (DecoderNorm.removeParallelGradient). Grid: (cols, rows).
__kernel void project_rows(__global float* g, const __global float* w, const __global double* dots, int rows,
                           int cols) {
    const int o = get_global_id(0), n = get_global_id(1);
    if (o >= cols || n >= rows || dots[n] == 0.0) {
        return;
    }
    const size_t at = (size_t) n * cols + o;
    g[at] = (float) ((double) g[at] - dots[n] * (double) w[at]);
}

// One AdamW update of n elements, AdamW.updateRange's arithmetic. c = {decay, β1, β2, stepSize, √(1 − β2ˢ), ε}.
// Grid: (n).
__kernel void adamw(__global float* p, const __global float* g, __global float* m, __global float* v,
                    const __global double* c, int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const double beta1 = c[1], beta2 = c[2];
    const double gi = g[i];
    const float pi = (float) ((double) p[i] * c[0]);
    const float mi = (float) (beta1 * (double) m[i] + (1.0 - beta1) * gi);
    const float vi = (float) (beta2 * (double) v[i] + (1.0 - beta2) * gi * gi);
    const double denom = sqrt((double) vi) / c[4] + c[5];
    m[i] = mi;
    v[i] = vi;
    p[i] = (float) ((double) pi - c[3] * (double) mi / denom);
}
