// Per-token TopK in two stages (DESIGN §1): exactly k (value, index) pairs per token, value descending,
// ties to the lower index.
//   MxD      scores = relu(x·gateᵀ + gate_bias), computed tile by tile in partial_topk and never
//            written to global memory (the T×N gate matrix does not exist anywhere);
//   TC, STC  scores = z, the encoder's output [T, H] (no relu: GELU codes may be negative).
// Stage 1, partial_topk: work-group (s, b) keeps, for each of the TILE_M tokens of block b, the best k
//   scores among the columns of slice s, in a sorted running list.
// Stage 2, merge_topk: a work-group per token merges its sorted slice lists into the final k codes. With
//   a single slice the host points stage 1 at the codes and skips stage 2.
//
// The running lists live in local memory (TOPK_LISTS_LOCAL=1) when TILE_M·k pairs fit beside the tiles,
// else in the partial-list buffer in global memory (TOPK_LISTS_LOCAL=0); only the address space differs.

#if GROUP_SIZE < TILE_M
#error "partial_topk needs a work-item per tile row: TILE_M <= (TILE_M / WPT_M) * (TILE_N / WPT_N)"
#endif

#if TOPK_LISTS_LOCAL
#define LIST __local
#else
#define LIST __global
#endif

// A list slot no real score loses to: every real pair has index < INT_MAX, and NaN scores enter as
// -INFINITY, so with at least k columns no sentinel survives into the codes.
#define SENTINEL_VALUE (-INFINITY)
#define SENTINEL_INDEX INT_MAX

// The TopK order: (v, i) comes before (w, j).
bool precedes(float v, int i, float w, int j) {
    return v > w || (v == w && i < j);
}

// Inserts (v, i), which must come before the last pair, into the sorted full list of k pairs; the last
// pair drops out.
void list_insert(LIST float* values, LIST int* indices, int k, float v, int i) {
    int p = k - 1;
    while (p > 0 && precedes(v, i, values[p - 1], indices[p - 1])) {
        values[p] = values[p - 1];
        indices[p] = indices[p - 1];
        p--;
    }
    values[p] = v;
    indices[p] = i;
}

// Stage 1. a is x [tokens, depth] for an MxD (with gate_t [depth, cols] = gateᵀ and gate_bias [cols]) or
// z [tokens, cols] for a TC/STC (gate_t, gate_bias and depth unused). Writes the sorted list of token t,
// slice s to part_val/part_idx [tokens, slices, k]. slice_width is a multiple of TILE_N.
// list_val/list_idx: local scratch of TILE_M·k pairs with TOPK_LISTS_LOCAL (the last two arguments, absent
// otherwise). Grid: (slices·LOCAL_N, ⌈tokens/TILE_M⌉·LOCAL_M).
__kernel __attribute__((reqd_work_group_size(LOCAL_N, LOCAL_M, 1)))
void partial_topk(const __global float* a, const __global float* gate_t, const __global float* gate_bias,
                  int tokens, int depth, int cols, int k, int slice_width,
                  __global float* part_val, __global int* part_idx
#if TOPK_LISTS_LOCAL
                  , __local float* list_val, __local int* list_idx
#endif
                  ) {
    __local float a_tile[TILE_K * TILE_M];
    __local float b_tile[TILE_K * TILE_N];
    // One score tile; the row stride is padded by one so that the list keepers, each walking its own
    // row, hit different banks.
    __local float scores[TILE_M * (TILE_N + 1)];

    const int slice = get_group_id(0), slices = get_num_groups(0);
    const int row0 = get_group_id(1) * TILE_M;
    const int lid = get_local_id(1) * LOCAL_N + get_local_id(0);
    const int col_begin = slice * slice_width, col_end = min(cols, col_begin + slice_width);

    // Work-item r < TILE_M keeps the list of token row0 + r (the others only help with the tiles).
    const bool keeper = lid < TILE_M && row0 + lid < tokens;
    const int kept = keeper ? lid : 0;
    const size_t part = ((size_t) (row0 + kept) * slices + slice) * k;
#if TOPK_LISTS_LOCAL
    LIST float* my_val = list_val + kept * k;
    LIST int* my_idx = list_idx + kept * k;
#else
    LIST float* my_val = part_val + part;
    LIST int* my_idx = part_idx + part;
#endif
    if (keeper) {
        for (int q = 0; q < k; q++) {
            my_val[q] = SENTINEL_VALUE;
            my_idx[q] = SENTINEL_INDEX;
        }
    }
    // The list's last pair, the bar a score must pass, kept in registers: most scores fail it, and
    // reading it from the list would make the keepers (k words apart) collide on the same bank.
    float bar_val = SENTINEL_VALUE;
    int bar_idx = SENTINEL_INDEX;

    for (int col0 = col_begin; col0 < col_end; col0 += TILE_N) {
#if MXD
        float g[WPT_M][WPT_N];
        clear(g);
        tile_product(g, a, depth, gate_t, cols, tokens, cols, depth, row0, col0, a_tile, b_tile);
        for (int i = 0; i < WPT_M; i++) {
            for (int j = 0; j < WPT_N; j++) {
                const int c = col0 + COL_OF(j);
                const float s = c < cols ? g[i][j] + gate_bias[c] : 0.0f;
                scores[ROW_OF(i) * (TILE_N + 1) + COL_OF(j)] = s > 0.0f ? s : 0.0f;  // relu; NaN -> 0
            }
        }
#else
        for (int e = lid; e < TILE_M * TILE_N; e += GROUP_SIZE) {
            const int r = e / TILE_N, c = e % TILE_N;
            scores[r * (TILE_N + 1) + c] =
                    row0 + r < tokens && col0 + c < cols ? a[(size_t) (row0 + r) * cols + col0 + c] : 0.0f;
        }
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
        if (keeper) {
            const int n = min(TILE_N, col_end - col0);
            for (int c = 0; c < n; c++) {
                float v = scores[lid * (TILE_N + 1) + c];
                v = isnan(v) ? -INFINITY : v;
                if (precedes(v, col0 + c, bar_val, bar_idx)) {
                    list_insert(my_val, my_idx, k, v, col0 + c);
                    bar_val = my_val[k - 1];
                    bar_idx = my_idx[k - 1];
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#if TOPK_LISTS_LOCAL
    if (keeper) {
        for (int q = 0; q < k; q++) {
            part_val[part + q] = my_val[q];
            part_idx[part + q] = my_idx[q];
        }
    }
#endif
}

// Stage 2. Token t = group id merges slices sorted lists of k pairs, part_val/part_idx
// [tokens, slices, k], into code_val/code_idx [tokens, k]. Each round every work-item offers the best head
// among the lists it watches, a tree reduction in local memory picks the winner, and the winning list's
// cursor advances. cursor: local scratch of `slices` ints. The local size is a power of two <= MERGE_GROUP.
__kernel void merge_topk(const __global float* part_val, const __global int* part_idx, int slices, int k,
                         __global float* code_val, __global int* code_idx, __local int* cursor) {
    __local float best_val[MERGE_GROUP];
    __local int best_idx[MERGE_GROUP];
    __local int best_list[MERGE_GROUP];

    const int t = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    const size_t lists = (size_t) t * slices * k;
    for (int s = lid; s < slices; s += size) {
        cursor[s] = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (int q = 0; q < k; q++) {
        float bv = SENTINEL_VALUE;
        int bi = SENTINEL_INDEX, bl = -1;
        for (int s = lid; s < slices; s += size) {
            const int c = cursor[s];
            if (c < k) {
                const float v = part_val[lists + (size_t) s * k + c];
                const int i = part_idx[lists + (size_t) s * k + c];
                if (bl < 0 || precedes(v, i, bv, bi)) {
                    bv = v;
                    bi = i;
                    bl = s;
                }
            }
        }
        best_val[lid] = bv;
        best_idx[lid] = bi;
        best_list[lid] = bl;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int stride = size / 2; stride > 0; stride /= 2) {
            if (lid < stride && best_list[lid + stride] >= 0
                    && (best_list[lid] < 0 || precedes(best_val[lid + stride], best_idx[lid + stride], best_val[lid], best_idx[lid]))) {
                best_val[lid] = best_val[lid + stride];
                best_idx[lid] = best_idx[lid + stride];
                best_list[lid] = best_list[lid + stride];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (lid == 0) {
            code_val[(size_t) t * k + q] = best_val[0];
            code_idx[(size_t) t * k + q] = best_idx[0];
            cursor[best_list[0]]++;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}
