// Multi-head scaled dot-product self-attention with no mask, for models outside mxd's own layers (DenseOps):
// for each row i of a sequence and head h,
//   context[i, h·d .. h·d + d) = Σ_j softmax_j(q_i·k_j / divisor) · v_j   over the rows j of i's sequence.
// qkv [rows, 3·heads·d] row-major: per row the queries, then the keys, then the values, each [heads, d].
// starts [sequences + 1]: the first row of each sequence, then rows (a sequence may be empty).
//
// One work-item per (row, head), grid (rows, heads), the work-group size left to the driver. It finds its
// sequence by bisection of starts, takes the largest score in a first pass over the keys, then sums
// exp(score − max) and exp(score − max)·v in a second, and divides by the sum. Both passes compute a score the
// same way (a float chain in order of the head's dimensions, then / divisor), so every exponent is ≤ 0.
// Float throughout; no relaxed-math build options, so exp keeps its specified accuracy (DESIGN §6).

float score(const __global float* q, const __global float* k, int d, float divisor) {
    float dot = 0.0f;
    for (int c = 0; c < d; c++) {
        dot += q[c] * k[c];
    }
    return dot / divisor;
}

__kernel void self_attention(const __global float* qkv, const __global int* starts, int sequences, int heads,
                             int d, float divisor, __global float* context, int rows) {
    const int i = get_global_id(0), h = get_global_id(1);
    if (i >= rows) {
        return;
    }
    int lo = 0, hi = sequences;   // invariant: starts[lo] <= i < starts[hi]
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (starts[mid] <= i) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const int from = starts[lo], to = starts[lo + 1];
    const int width = heads * d, stride = 3 * width;
    const __global float* q = qkv + (size_t) i * stride + h * d;
    float max = -INFINITY;
    for (int j = from; j < to; j++) {
        max = fmax(max, score(q, qkv + (size_t) j * stride + width + h * d, d, divisor));
    }
    __global float* out = context + (size_t) i * width + h * d;
    for (int c = 0; c < d; c++) {
        out[c] = 0.0f;
    }
    float sum = 0.0f;
    for (int j = from; j < to; j++) {
        const float p = exp(score(q, qkv + (size_t) j * stride + width + h * d, d, divisor) - max);
        const __global float* v = qkv + (size_t) j * stride + 2 * width + h * d;
        sum += p;
        for (int c = 0; c < d; c++) {
            out[c] += p * v[c];
        }
    }
    const float inv = 1.0f / sum;
    for (int c = 0; c < d; c++) {
        out[c] *= inv;
    }
}
