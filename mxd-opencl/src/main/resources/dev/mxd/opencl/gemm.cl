// Tiled SGEMM with the two epilogues of an MxD layer (DESIGN §1):
//   encoder  z = act(x·W_enc + b_enc) [⊙ (x·W_gluᵀ + b_glu)]
//   decoder  y = (z·W_dec) ⊙ m [+ x·W_skipᵀ] + b_dec_out       (MxD)
//            y = m [+ x·W_skipᵀ] + b_dec_out                   (TC, STC: m already holds z_topK·W_dec)
//
// Every product is C[rows, cols] = A[rows, depth] · B[depth, cols], all row-major. The host packs each
// weight once at upload so that B is always [depth, cols]: W_enc [I, H], W_gluᵀ [I, H], W_dec [H, O],
// W_skipᵀ [I, O], gateᵀ [I, N] (topk.cl uses the same product for the gate).
//
// Build options (set by the host): TILE_M × TILE_N outputs per work-group, TILE_K deep per step; each
// work-item owns WPT_M × WPT_N outputs. ACTIVATION (one of ACT_*), GLU, SKIP and MXD are 0/1 switches.
// The encoder with GLU = 0 and ACTIVATION = ACT_NONE or an activation is also the dense layer of DenseOps.
// Accumulation is float; no -cl-fast-relaxed-math, so erfc, tanh and exp keep their specified accuracy.

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_GELU 2
#define ACT_GELU_TANH 3
#define ACT_SIGMOID 4
#define ACT_SILU 5

#define LOCAL_N (TILE_N / WPT_N)      // work-items along columns, dimension 0
#define LOCAL_M (TILE_M / WPT_M)      // work-items along rows, dimension 1
#define GROUP_SIZE (LOCAL_N * LOCAL_M)

// A work-item owns rows lm + i·LOCAL_M and columns ln + j·LOCAL_N of the tile: strided rather than
// blocked, so that neighbouring work-items read neighbouring local-memory words and store neighbouring
// columns of C.
#define ROW_OF(i) (get_local_id(1) + (i) * LOCAL_M)
#define COL_OF(j) (get_local_id(0) + (j) * LOCAL_N)

float activate(float h) {
#if ACTIVATION == ACT_RELU
    return h > 0.0f ? h : 0.0f;
#elif ACTIVATION == ACT_GELU
    // x·Φ(x) written with erfc: 1 + erf(u) = erfc(−u), which keeps its relative accuracy for negative x
    // where 1 + erf(u) would cancel.
    return 0.5f * h * erfc(-h * M_SQRT1_2_F);
#elif ACTIVATION == ACT_GELU_TANH
    return 0.5f * h * (1.0f + tanh(0.7978845608028654f * (h + 0.044715f * h * h * h)));
#elif ACTIVATION == ACT_SIGMOID
    return 1.0f / (1.0f + exp(-h));
#elif ACTIVATION == ACT_SILU
    return h / (1.0f + exp(-h));
#elif defined(ACTIVATION) && ACTIVATION == ACT_NONE
    return h;   // a dense layer without activation (DenseOps)
#else
#error "ACTIVATION must be one of ACT_RELU, ACT_GELU, ACT_GELU_TANH, ACT_SIGMOID, ACT_SILU"
#endif
}

void clear(float acc[WPT_M][WPT_N]) {
    for (int i = 0; i < WPT_M; i++) {
        for (int j = 0; j < WPT_N; j++) {
            acc[i][j] = 0.0f;
        }
    }
}

// acc += A[row0 .. row0+TILE_M, :] · B[:, col0 .. col0+TILE_N] for this work-item's outputs.
// Every work-item of the group must call it (it synchronises on barriers). Elements outside
// [rows, cols, depth] read as zero, so any size works; a work-item whose first row is already padding
// skips the arithmetic (all its rows are padding), which matters when there are fewer tokens than TILE_M.
void tile_product(float acc[WPT_M][WPT_N],
                  const __global float* a, int lda, const __global float* b, int ldb,
                  int rows, int cols, int depth, int row0, int col0,
                  __local float* a_tile, __local float* b_tile) {
    const int lid = get_local_id(1) * LOCAL_N + get_local_id(0);
    const bool active = row0 + (int) get_local_id(1) < rows;
    for (int k0 = 0; k0 < depth; k0 += TILE_K) {
        // a_tile is [TILE_K][TILE_M] (transposed) so the inner loop reads it along rows.
        for (int e = lid; e < TILE_M * TILE_K; e += GROUP_SIZE) {
            const int r = e / TILE_K, kk = e % TILE_K;
            const int gr = row0 + r, gk = k0 + kk;
            a_tile[kk * TILE_M + r] = gr < rows && gk < depth ? a[(size_t) gr * lda + gk] : 0.0f;
        }
        for (int e = lid; e < TILE_K * TILE_N; e += GROUP_SIZE) {
            const int kk = e / TILE_N, c = e % TILE_N;
            const int gk = k0 + kk, gc = col0 + c;
            b_tile[kk * TILE_N + c] = gk < depth && gc < cols ? b[(size_t) gk * ldb + gc] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            for (int kk = 0; kk < TILE_K; kk++) {
                float bv[WPT_N];
                for (int j = 0; j < WPT_N; j++) {
                    bv[j] = b_tile[kk * TILE_N + COL_OF(j)];
                }
                for (int i = 0; i < WPT_M; i++) {
                    const float av = a_tile[kk * TILE_M + ROW_OF(i)];
                    for (int j = 0; j < WPT_N; j++) {
                        acc[i][j] += av * bv[j];
                    }
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// z [tokens, hidden] = act(x·W_enc + b_enc), times (x·W_gluᵀ + b_glu) with GLU.
// x [tokens, in_dim]; w_enc and w_glu_t [in_dim, hidden]; w_glu_t and b_glu are unused (may be NULL)
// without GLU. Grid: (⌈hidden/TILE_N⌉·LOCAL_N, ⌈tokens/TILE_M⌉·LOCAL_M).
__kernel __attribute__((reqd_work_group_size(LOCAL_N, LOCAL_M, 1)))
void encoder(const __global float* x, const __global float* w_enc, const __global float* b_enc,
             const __global float* w_glu_t, const __global float* b_glu,
             __global float* z, int tokens, int in_dim, int hidden) {
    __local float a_tile[TILE_K * TILE_M];
    __local float b_tile[TILE_K * TILE_N];
    const int row0 = get_group_id(1) * TILE_M, col0 = get_group_id(0) * TILE_N;

    float h[WPT_M][WPT_N];
    clear(h);
    tile_product(h, x, in_dim, w_enc, hidden, tokens, hidden, in_dim, row0, col0, a_tile, b_tile);
#if GLU
    float g[WPT_M][WPT_N];
    clear(g);
    tile_product(g, x, in_dim, w_glu_t, hidden, tokens, hidden, in_dim, row0, col0, a_tile, b_tile);
#endif
    for (int i = 0; i < WPT_M; i++) {
        const int r = row0 + ROW_OF(i);
        for (int j = 0; j < WPT_N; j++) {
            const int c = col0 + COL_OF(j);
            if (r < tokens && c < hidden) {
                float v = activate(h[i][j] + b_enc[c]);
#if GLU
                v *= g[i][j] + b_glu[c];
#endif
                z[(size_t) r * hidden + c] = v;
            }
        }
    }
}

// y [tokens, out_dim] from m [tokens, out_dim] (the gather's output):
//   MxD      y = (z·W_dec) ⊙ m [+ x·W_skipᵀ] + b_dec_out,  z [tokens, hidden], w_dec [hidden, out_dim]
//   TC, STC  y = m [+ x·W_skipᵀ] + b_dec_out              (z and w_dec unused, may be NULL)
// x [tokens, in_dim] and w_skip_t [in_dim, out_dim] are used only with SKIP (may be NULL otherwise).
// Grid: (⌈out_dim/TILE_N⌉·LOCAL_N, ⌈tokens/TILE_M⌉·LOCAL_M).
__kernel __attribute__((reqd_work_group_size(LOCAL_N, LOCAL_M, 1)))
void decoder(const __global float* z, const __global float* w_dec, const __global float* m,
             const __global float* x, const __global float* w_skip_t, const __global float* b_dec_out,
             __global float* y, int tokens, int in_dim, int hidden, int out_dim) {
    __local float a_tile[TILE_K * TILE_M];
    __local float b_tile[TILE_K * TILE_N];
    const int row0 = get_group_id(1) * TILE_M, col0 = get_group_id(0) * TILE_N;

    float acc[WPT_M][WPT_N];
    clear(acc);
#if MXD
    tile_product(acc, z, hidden, w_dec, out_dim, tokens, out_dim, hidden, row0, col0, a_tile, b_tile);
#endif
    for (int i = 0; i < WPT_M; i++) {
        const int r = row0 + ROW_OF(i);
        for (int j = 0; j < WPT_N; j++) {
            const int c = col0 + COL_OF(j);
            const float mv = r < tokens && c < out_dim ? m[(size_t) r * out_dim + c] : 0.0f;
#if MXD
            acc[i][j] *= mv;
#else
            acc[i][j] = mv;
#endif
        }
    }
#if SKIP
    tile_product(acc, x, in_dim, w_skip_t, out_dim, tokens, out_dim, in_dim, row0, col0, a_tile, b_tile);
#endif
    for (int i = 0; i < WPT_M; i++) {
        const int r = row0 + ROW_OF(i);
        for (int j = 0; j < WPT_N; j++) {
            const int c = col0 + COL_OF(j);
            if (r < tokens && c < out_dim) {
                y[(size_t) r * out_dim + c] = acc[i][j] + b_dec_out[c];
            }
        }
    }
}
