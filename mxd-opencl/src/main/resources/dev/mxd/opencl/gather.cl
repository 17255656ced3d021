// The sparse product of DESIGN §1: for each token t,
//   m[t, o] = Σ_j value[t, j] · rows[index[t, j], o]
// over the token's `width` codes. For an MxD rows = C = W_condᵀ [N, O] (packed at upload), so m = Cᵀa
// touches K rows of C, never all N; for a TC or STC rows = W_dec [H, O] and m = z_topK·W_dec.
// Codes are caller-supplied in decode: any width (0 included), repeated indices add, a value of 0
// contributes nothing. Indices were range-checked on the host.
//
// index, value [tokens, width] row-major; rows [*, out_dim]; m [tokens, out_dim].
// Grid: (out_dim rounded up to the local size, tokens); a work-item per output, so a work-group reads
// whole rows of C in neighbouring words.
__kernel void gather_rows(const __global int* index, const __global float* value, int width,
                          const __global float* rows, __global float* m, int tokens, int out_dim) {
    const int o = get_global_id(0), t = get_global_id(1);
    if (o >= out_dim || t >= tokens) {
        return;
    }
    const size_t codes = (size_t) t * width;
    float acc = 0.0f;
    for (int j = 0; j < width; j++) {
        acc += value[codes + j] * rows[(size_t) index[codes + j] * out_dim + o];
    }
    m[(size_t) t * out_dim + o] = acc;
}
