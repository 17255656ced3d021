package dev.mxd;

/**
 * What kind of sparse layer a model is. The kind is derived from the reference configuration fields
 * ({@code use_conditional}, {@code use_skip}), never stored on its own.
 */
public enum Kind {
    /** Mixture of Decoders: {@code y = (z·W_dec) ⊙ (Cᵀa) [+ skip] + b_dec_out}, K of N experts per token. */
    MXD,
    /** TopK transcoder: the top K of the H hidden units per token, {@code y = z_topK·W_dec + b_dec_out}. */
    TC,
    /** Skip transcoder: a TC plus the linear skip term {@code x·W_skipᵀ}. */
    STC;

    /** The kind the reference's fields describe: conditional → MXD, else STC with a skip, else TC. */
    public static Kind fromReferenceFlags(boolean useConditional, boolean useSkip) {
        if (useConditional) {
            return MXD;
        }
        return useSkip ? STC : TC;
    }
}
